//! [`MetaCmd`]: every change to the cluster-wide state.

use arustio_namespace::MountEntry;
use serde::{Deserialize, Serialize};

use crate::users::{Grant, User};

/// The root credentials of the S3 endpoint and the admin API.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootCredentials {
    /// Access key id.
    pub access_key: String,
    /// Secret key.
    pub secret_key: String,
}

impl std::fmt::Debug for RootCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootCredentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"****")
            .finish()
    }
}

impl From<RootCredentials> for arustio_proto::auth::Key {
    fn from(c: RootCredentials) -> Self {
        Self {
            id: c.access_key,
            secret: c.secret_key,
        }
    }
}

/// A change to the cluster-wide state. Commands are serialisable and applying one is
/// deterministic, so a replicated log can carry them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MetaCmd {
    /// Mounts a store at a path.
    Mount(MountEntry),
    /// Removes the mount at a path (normalised).
    Unmount {
        /// The mount point.
        path: String,
    },
    /// Sets the root credentials, replacing any stored pair.
    SetRootCredentials(RootCredentials),
    /// Registers a cache node (the distributed cache's hash ring reads these).
    AddCacheNode {
        /// The node's id.
        id: u64,
        /// Its address for peer block fetches.
        addr: String,
    },
    /// Forgets a node removed from the cluster: its cache node and its S3 endpoint. (Named
    /// as before in the log and snapshots, when it removed the cache node only.)
    #[serde(rename = "RemoveCacheNode")]
    RemoveNode {
        /// The node's id.
        id: u64,
    },
    /// Where a cluster node's S3 endpoint is: requests for a multipart upload staged on that
    /// node are passed there.
    SetNodeEndpoint {
        /// The node's id.
        id: u64,
        /// HOST:PORT of its S3 endpoint.
        s3_addr: String,
    },
    /// Adds a user (refused when the name or the access key is taken).
    AddUser(User),
    /// Removes a user.
    RemoveUser {
        /// The user's name.
        name: String,
    },
    /// Replaces a user's (sealed) secret.
    SetUserSecret {
        /// The user's name.
        name: String,
        /// The new secret, sealed.
        sealed_secret: String,
    },
    /// Grants a user a right, replacing the one it held on the same bucket and prefix.
    Grant {
        /// The user's name.
        name: String,
        /// The right.
        grant: Grant,
    },
    /// Takes back a user's right on a bucket and prefix.
    Revoke {
        /// The user's name.
        name: String,
        /// The bucket.
        bucket: String,
        /// The prefix.
        prefix: String,
    },
}
