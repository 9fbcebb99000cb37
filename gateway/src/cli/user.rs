//! `arustio user ...`: users of the S3 endpoint and their grants. The root pair stays the
//! superuser, and the only pair the admin API takes.

use arustio_proto::admin::{GrantRequest, ListUsersRequest, UserCredentials, UserList, UserName};

use super::table::print_table;
use super::{CliError, Client};

/// Commands of `arustio user`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum UserCmd {
    /// Add a user; its access key and secret are printed this once.
    #[command(after_help = "Example:\n  arustio user add analyst")]
    Add {
        /// The user's name (letters, digits, '.', '_', '-').
        name: String,
        /// Machine-readable output: {"name", "access_key", "secret_key"}.
        #[arg(long)]
        json: bool,
    },
    /// Every user with its access key and grants (never a secret).
    #[command(after_help = "Example:\n  arustio user list --json")]
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Remove a user: its key stops working at once.
    #[command(after_help = "Example:\n  arustio user remove analyst")]
    Remove {
        /// The user's name.
        name: String,
    },
    /// Give a user a new secret, printed this once; the old one stops working.
    #[command(after_help = "Example:\n  arustio user rotate analyst")]
    Rotate {
        /// The user's name.
        name: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Grant read, write or admin on a bucket, or on the keys under a prefix of it.
    #[command(after_help = "Example:\n  arustio user grant analyst lake/events/ read")]
    Grant {
        /// The user's name.
        name: String,
        /// BUCKET, or BUCKET/PREFIX.
        target: String,
        /// read (GET, HEAD, list), write (and PUT, DELETE, uploads) or admin (and create
        /// and delete the bucket).
        access: String,
    },
    /// Take a grant back.
    #[command(after_help = "Example:\n  arustio user revoke analyst lake/events/")]
    Revoke {
        /// The user's name.
        name: String,
        /// BUCKET, or BUCKET/PREFIX, as granted.
        target: String,
    },
}

fn split(target: &str) -> (String, String) {
    let t = target.trim_start_matches('/');
    match t.split_once('/') {
        Some((b, p)) => (b.to_owned(), p.to_owned()),
        None => (t.to_owned(), String::new()),
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<(), CliError> {
    println!(
        "{}",
        serde_json::to_string(v).map_err(|e| CliError::Status(e.to_string()))?
    );
    Ok(())
}

#[derive(serde::Serialize)]
struct Shown<'a> {
    name: &'a str,
    access_key: &'a str,
    grants: Vec<ShownGrant<'a>>,
}

#[derive(serde::Serialize)]
struct ShownGrant<'a> {
    bucket: &'a str,
    prefix: &'a str,
    access: &'a str,
}

fn print_users(list: &UserList, as_json: bool) -> Result<(), CliError> {
    if as_json {
        let shown: Vec<Shown<'_>> = list
            .users
            .iter()
            .map(|u| Shown {
                name: &u.name,
                access_key: &u.access_key,
                grants: u
                    .grants
                    .iter()
                    .map(|g| ShownGrant {
                        bucket: &g.bucket,
                        prefix: &g.prefix,
                        access: &g.access,
                    })
                    .collect(),
            })
            .collect();
        return json(&shown);
    }
    let rows: Vec<[String; 3]> = list
        .users
        .iter()
        .map(|u| {
            let grants: Vec<String> = u
                .grants
                .iter()
                .map(|g| format!("{}/{}:{}", g.bucket, g.prefix, g.access))
                .collect();
            let grants = if grants.is_empty() {
                "-".to_owned()
            } else {
                grants.join(" ")
            };
            [u.name.clone(), u.access_key.clone(), grants]
        })
        .collect();
    print_table(["NAME", "ACCESS KEY", "GRANTS"], &rows);
    Ok(())
}

fn print_credentials(c: &UserCredentials, as_json: bool, what: &str) -> Result<(), CliError> {
    if as_json {
        #[derive(serde::Serialize)]
        struct Creds<'a> {
            name: &'a str,
            access_key: &'a str,
            secret_key: &'a str,
        }
        return json(&Creds {
            name: &c.name,
            access_key: &c.access_key,
            secret_key: &c.secret_key,
        });
    }
    println!("{what} {}; its secret is shown this once:", c.name);
    println!(
        "export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}",
        c.access_key, c.secret_key
    );
    Ok(())
}

pub(crate) async fn run(cmd: UserCmd, c: &mut Client) -> Result<(), CliError> {
    match cmd {
        UserCmd::Add { name, json } => {
            let creds = c.add_user(UserName { name }).await?.into_inner();
            print_credentials(&creds, json, "added user")
        }
        UserCmd::Rotate { name, json } => {
            let creds = c.rotate_user(UserName { name }).await?.into_inner();
            print_credentials(&creds, json, "new secret for")
        }
        UserCmd::List { json } => {
            let list = c.list_users(ListUsersRequest {}).await?.into_inner();
            print_users(&list, json)
        }
        UserCmd::Remove { name } => {
            c.remove_user(UserName { name: name.clone() }).await?;
            println!("removed user {name}");
            Ok(())
        }
        UserCmd::Grant { name, target, access } => {
            let (bucket, prefix) = split(&target);
            let list = c
                .grant_user(GrantRequest {
                    name,
                    bucket,
                    prefix,
                    access,
                })
                .await?
                .into_inner();
            print_users(&list, false)
        }
        UserCmd::Revoke { name, target } => {
            let (bucket, prefix) = split(&target);
            let list = c
                .revoke_user(GrantRequest {
                    name,
                    bucket,
                    prefix,
                    access: String::new(),
                })
                .await?
                .into_inner();
            print_users(&list, false)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_target_is_a_bucket_and_a_prefix() {
        assert_eq!(super::split("lake"), ("lake".into(), String::new()));
        assert_eq!(super::split("/lake/events/"), ("lake".into(), "events/".into()));
    }
}
