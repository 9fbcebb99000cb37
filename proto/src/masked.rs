//! `Debug` of the messages that carry secrets, masked: a `{:?}` in a log never shows one.

use std::fmt;

use crate::raft::{MountEntry, RootCredentials};

impl fmt::Debug for RootCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RootCredentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"****")
            .finish()
    }
}

impl fmt::Debug for MountEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options: Vec<_> = self.options.keys().map(|k| format!("{k}=****")).collect();
        f.debug_struct("MountEntry")
            .field("path", &self.path)
            .field("uri", &self.uri)
            .field("options", &options)
            .field("readonly", &self.readonly)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_show() {
        let creds = RootCredentials {
            access_key: "ak".into(),
            secret_key: "s3cr3t".into(),
        };
        let mount = MountEntry {
            path: "p".into(),
            uri: "s3://b".into(),
            options: [("secret_access_key".to_owned(), "s3cr3t".to_owned())].into(),
            readonly: false,
        };
        let shown = format!("{creds:?} {mount:?}");
        assert!(
            !shown.contains("s3cr3t") && shown.contains("secret_access_key"),
            "{shown}"
        );
    }
}
