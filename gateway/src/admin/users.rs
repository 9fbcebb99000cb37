//! The admin API's user calls: users of the S3 endpoint and their grants, written as
//! replicated commands; a new secret is sealed before it goes into the log, and shown
//! once, in the call's answer.

use arustio_proto::admin::{GrantRequest, UserCredentials, UserGrantInfo, UserInfo, UserList, UserName};
use arustio_raft::{Access, ClusterNode, Grant, LinearizableReadHandle, MetaCmd, MetaStore, User};
use tonic::{Response, Status};

use super::cluster_status;
use crate::seal::Sealer;

/// What the user calls need.
pub(super) struct Users<'a> {
    pub meta: &'a MetaStore,
    pub cluster: &'a ClusterNode,
    pub reads: &'a LinearizableReadHandle,
    pub sealer: &'a Sealer,
}

/// A user name: letters, digits and `._-`, 1 to 64 of them.
fn check_name(name: &str) -> Result<(), Status> {
    let ok =
        !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Status::invalid_argument(format!(
            "user name {name:?}: use 1 to 64 letters, digits, '.', '_' or '-'"
        )))
    }
}

fn credentials() -> (String, String) {
    (
        format!(
            "AKU{}",
            crate::node::random_string(17, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        ),
        crate::node::random_string(40, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
    )
}

fn info(u: &User) -> UserInfo {
    UserInfo {
        name: u.name.clone(),
        access_key: u.access_key.clone(),
        grants: u
            .grants
            .iter()
            .map(|g| UserGrantInfo {
                bucket: g.bucket.clone(),
                prefix: g.prefix.clone(),
                access: g.access.name().to_owned(),
            })
            .collect(),
    }
}

impl Users<'_> {
    async fn write(&self, cmd: MetaCmd) -> Result<(), Status> {
        self.cluster.write(cmd).await.map_err(cluster_status)
    }

    /// Every user, once this node has applied what was written before.
    pub(super) async fn list(&self) -> Result<Response<UserList>, Status> {
        self.reads.ensure().await.map_err(cluster_status)?;
        Ok(Response::new(UserList {
            users: self.meta.users().iter().map(info).collect(),
        }))
    }

    pub(super) async fn add(&self, r: UserName) -> Result<Response<UserCredentials>, Status> {
        check_name(&r.name)?;
        let (access_key, secret_key) = credentials();
        let root = self.meta.root_credentials().map(|c| c.access_key);
        if root.as_deref() == Some(access_key.as_str()) {
            return Err(Status::aborted("the new access key is the root's: try again"));
        }
        self.write(MetaCmd::AddUser(User {
            name: r.name.clone(),
            access_key: access_key.clone(),
            sealed_secret: self.sealer.seal(&secret_key),
            grants: Vec::new(),
        }))
        .await?;
        tracing::info!(user = %r.name, access_key = %access_key, "user added");
        Ok(Response::new(UserCredentials {
            name: r.name,
            access_key,
            secret_key,
        }))
    }

    pub(super) async fn rotate(&self, r: UserName) -> Result<Response<UserCredentials>, Status> {
        self.reads.ensure().await.map_err(cluster_status)?;
        let user = self
            .meta
            .users()
            .iter()
            .find(|u| u.name == r.name)
            .cloned()
            .ok_or_else(|| Status::not_found(format!("no user {}", r.name)))?;
        let (_, secret_key) = credentials();
        self.write(MetaCmd::SetUserSecret {
            name: r.name.clone(),
            sealed_secret: self.sealer.seal(&secret_key),
        })
        .await?;
        tracing::info!(user = %r.name, "user secret replaced");
        Ok(Response::new(UserCredentials {
            name: r.name,
            access_key: user.access_key,
            secret_key,
        }))
    }

    pub(super) async fn remove(&self, r: UserName) -> Result<Response<UserList>, Status> {
        self.write(MetaCmd::RemoveUser { name: r.name.clone() }).await?;
        tracing::info!(user = %r.name, "user removed");
        self.list().await
    }

    pub(super) async fn grant(&self, r: GrantRequest) -> Result<Response<UserList>, Status> {
        let access: Access = r.access.parse().map_err(Status::invalid_argument)?;
        arustio_namespace::check_bucket_name(&r.bucket).map_err(|e| Status::invalid_argument(e.to_string()))?;
        self.write(MetaCmd::Grant {
            name: r.name.clone(),
            grant: Grant {
                bucket: r.bucket.clone(),
                prefix: r.prefix.clone(),
                access,
            },
        })
        .await?;
        tracing::info!(user = %r.name, bucket = %r.bucket, prefix = %r.prefix, access = access.name(), "granted");
        self.list().await
    }

    pub(super) async fn revoke(&self, r: GrantRequest) -> Result<Response<UserList>, Status> {
        self.write(MetaCmd::Revoke {
            name: r.name.clone(),
            bucket: r.bucket.clone(),
            prefix: r.prefix.clone(),
        })
        .await?;
        tracing::info!(user = %r.name, bucket = %r.bucket, prefix = %r.prefix, "revoked");
        self.list().await
    }
}
