//! Cloud credentials from a shell's environment: the options the `arustio fs mount` CLI
//! fills from `AWS_*`, `AZURE_STORAGE_*` and `GOOGLE_APPLICATION_CREDENTIALS` when `-o`
//! did not give them, beside the option names they stand for.

use std::collections::HashMap;

use crate::StoreKind;

/// One option that an environment variable may give.
struct EnvOption {
    /// The option it fills, under the name the original design uses.
    option: &'static str,
    /// Every name of the option (given under any of them, the variable is not read).
    aliases: &'static [&'static str],
    /// The variable.
    var: &'static str,
}

const S3: &[EnvOption] = &[
    EnvOption {
        option: "access_key_id",
        aliases: &["access_key_id", "aws_access_key_id"],
        var: "AWS_ACCESS_KEY_ID",
    },
    EnvOption {
        option: "secret_access_key",
        aliases: &["secret_access_key", "aws_secret_access_key"],
        var: "AWS_SECRET_ACCESS_KEY",
    },
    EnvOption {
        option: "session_token",
        aliases: &["session_token", "aws_session_token", "token", "aws_token"],
        var: "AWS_SESSION_TOKEN",
    },
    EnvOption {
        option: "region",
        aliases: &["region", "aws_region"],
        var: "AWS_REGION",
    },
    EnvOption {
        option: "endpoint",
        aliases: &["endpoint", "aws_endpoint", "endpoint_url", "aws_endpoint_url"],
        var: "S3_ENDPOINT",
    },
];

const AZURE: &[EnvOption] = &[
    EnvOption {
        option: "account",
        aliases: &["account", "account_name", "azure_storage_account_name"],
        var: "AZURE_STORAGE_ACCOUNT",
    },
    EnvOption {
        option: "access_key",
        aliases: &[
            "access_key",
            "account_key",
            "azure_storage_account_key",
            "azure_storage_access_key",
        ],
        var: "AZURE_STORAGE_KEY",
    },
];

/// The names of a GCS service account option.
const GCS_ACCOUNT: &[&str] = &[
    "service_account_path",
    "service_account_key",
    "google_service_account",
    "google_service_account_key",
];

/// Fills the credentials a store of `kind` needs from `env` (a variable's value, if set)
/// where `opts` lacks them, and says where each came from (never its value). A GCS
/// service account file named by `GOOGLE_APPLICATION_CREDENTIALS` is read here and sent
/// whole: it is on the caller's machine, not the server's.
pub fn fill_from_env(
    kind: StoreKind,
    opts: &mut HashMap<String, String>,
    env: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let mut said = Vec::new();
    if kind == StoreKind::Gcs {
        if GCS_ACCOUNT.iter().any(|a| opts.contains_key(*a)) {
            said.push("service account: from -o".to_owned());
        } else if let Some(path) = env("GOOGLE_APPLICATION_CREDENTIALS")
            && let Ok(key) = std::fs::read_to_string(&path)
        {
            opts.insert("service_account_key".to_owned(), key);
            said.push("service account: from $GOOGLE_APPLICATION_CREDENTIALS".to_owned());
        }
    }
    let table = match kind {
        StoreKind::S3 => S3,
        StoreKind::Azure => AZURE,
        _ => &[],
    };
    for o in table {
        if o.aliases.iter().any(|a| opts.contains_key(*a)) {
            said.push(format!("{}: from -o", o.option));
        } else if let Some(v) = env(o.var).map(|v| v.trim().to_owned())
            && !v.is_empty()
        {
            opts.insert(o.option.to_owned(), v);
            said.push(format!("{}: from ${}", o.option, o.var));
        }
    }
    said
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_options_win_and_variables_fill_the_rest() {
        let env = |var: &str| match var {
            "AWS_ACCESS_KEY_ID" => Some("from-env".to_owned()),
            "AWS_REGION" => Some(" eu-west-1 ".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("env-secret".to_owned()),
            _ => None,
        };
        let mut opts = HashMap::from([("aws_secret_access_key".to_owned(), "given".to_owned())]);
        let said = fill_from_env(StoreKind::S3, &mut opts, env);
        assert_eq!(opts["access_key_id"], "from-env");
        assert_eq!(opts["region"], "eu-west-1");
        assert_eq!(opts["aws_secret_access_key"], "given");
        assert!(!opts.contains_key("secret_access_key"));
        assert!(said.contains(&"secret_access_key: from -o".to_owned()), "{said:?}");
        assert!(
            said.iter()
                .all(|l| !l.contains("env-secret") && !l.contains("from-env"))
        );
        assert!(fill_from_env(StoreKind::Local, &mut HashMap::new(), env).is_empty());
    }
}
