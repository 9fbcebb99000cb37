//! Users of the S3 endpoint and their grants, as the replicated state holds them. A
//! user's secret is kept sealed (the gateway seals and opens it); the log, snapshots and
//! RocksDB never hold it in the clear.

use serde::{Deserialize, Serialize};

/// What a grant allows, each level including the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Read objects, list them, head the bucket.
    Read,
    /// Read, and write and delete objects (multipart uploads too).
    Write,
    /// Write, and create and delete the bucket itself.
    Admin,
}

impl Access {
    /// The level's name, as the CLI takes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Access {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            "admin" => Ok(Self::Admin),
            other => Err(format!("{other:?} is not an access level: read, write or admin")),
        }
    }
}

/// A user's right on a bucket, or on the keys under a prefix of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The bucket.
    pub bucket: String,
    /// The key prefix (empty: the whole bucket).
    pub prefix: String,
    /// What it allows.
    pub access: Access,
}

impl Grant {
    /// Whether this grant covers `key` of `bucket` at `access` or more.
    pub fn covers(&self, bucket: &str, key: &str, access: Access) -> bool {
        self.bucket == bucket && self.access >= access && key.starts_with(&self.prefix)
    }
}

/// A user: a name, an access key, a sealed secret, grants.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's name.
    pub name: String,
    /// The S3 access key id.
    pub access_key: String,
    /// The secret key, sealed by the gateway.
    pub sealed_secret: String,
    /// What the user may do, in the order granted.
    pub grants: Vec<Grant>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("access_key", &self.access_key)
            .field("grants", &self.grants)
            .finish_non_exhaustive()
    }
}

impl User {
    /// Whether the user may act at `access` on `key` of `bucket`.
    pub fn may(&self, bucket: &str, key: &str, access: Access) -> bool {
        self.grants.iter().any(|g| g.covers(bucket, key, access))
    }

    /// The prefixes of `bucket` the user may read (`""`: all of it), for listings.
    pub fn readable_prefixes(&self, bucket: &str) -> Vec<&str> {
        self.grants
            .iter()
            .filter(|g| g.bucket == bucket)
            .map(|g| g.prefix.as_str())
            .collect()
    }

    /// Whether the user holds any grant on `bucket` (it shows in ListBuckets).
    pub fn sees(&self, bucket: &str) -> bool {
        self.grants.iter().any(|g| g.bucket == bucket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(grants: Vec<Grant>) -> User {
        User {
            name: "u".into(),
            access_key: "AK".into(),
            sealed_secret: String::new(),
            grants,
        }
    }

    fn grant(bucket: &str, prefix: &str, access: Access) -> Grant {
        Grant {
            bucket: bucket.into(),
            prefix: prefix.into(),
            access,
        }
    }

    #[test]
    fn a_grant_covers_its_bucket_prefix_and_lower_levels() {
        let u = user(vec![grant("b", "team/", Access::Write), grant("c", "", Access::Read)]);
        assert!(u.may("b", "team/x", Access::Read));
        assert!(u.may("b", "team/x", Access::Write));
        assert!(!u.may("b", "team/x", Access::Admin));
        assert!(!u.may("b", "other/x", Access::Read));
        assert!(!u.may("bb", "team/x", Access::Read));
        assert!(u.may("c", "anything", Access::Read));
        assert!(!u.may("c", "anything", Access::Write));
        assert!(u.sees("b") && u.sees("c") && !u.sees("d"));
        assert_eq!(u.readable_prefixes("b"), ["team/"]);
        assert!("owner".parse::<Access>().is_err());
        assert_eq!("admin".parse::<Access>(), Ok(Access::Admin));
        assert!(!format!("{u:?}").contains("sealed"), "no secret in Debug");
    }
}
