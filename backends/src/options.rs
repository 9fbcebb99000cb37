//! Mount options (`-o key=value`): validated per scheme, secrets masked when shown.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{BackendError, StoreKind};

/// Option keys whose values are secrets and are never shown.
const SECRET_KEYS: &[&str] = &[
    "secret_access_key",
    "session_token",
    "access_key",
    "sas_token",
    "service_account_key",
];

/// Options valid on every store.
const COMMON_KEYS: &[&str] = &["readonly"];

/// The options of one mount, keyed by canonical name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountOptions(pub BTreeMap<String, String>);

impl MountOptions {
    /// Checks every key against the keys valid for `kind`.
    pub fn validate(&self, kind: StoreKind) -> Result<(), BackendError> {
        for (key, value) in &self.0 {
            if !COMMON_KEYS.contains(&key.as_str()) {
                return Err(BackendError::InvalidOption {
                    scheme: kind.scheme().to_owned(),
                    key: key.clone(),
                    reason: format!("unknown option; valid options are: {}", COMMON_KEYS.join(", ")),
                });
            }
            if key == "readonly" && !matches!(value.as_str(), "true" | "false") {
                return Err(BackendError::InvalidOption {
                    scheme: kind.scheme().to_owned(),
                    key: key.clone(),
                    reason: "expected true or false".to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Whether the options make the mount read-only.
    pub fn readonly(&self) -> bool {
        self.0.get("readonly").is_some_and(|v| v == "true")
    }

    /// The options as `k=v,...` with secrets shown as `****`.
    pub fn masked(&self) -> String {
        if self.0.is_empty() {
            return "-".to_owned();
        }
        self.0
            .iter()
            .map(|(k, v)| {
                if SECRET_KEYS.contains(&k.as_str()) {
                    format!("{k}=****")
                } else {
                    format!("{k}={v}")
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Display for MountOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secrets_and_rejects_unknown_keys() {
        let mut o = MountOptions::default();
        o.0.insert("secret_access_key".into(), "hunter2".into());
        assert_eq!(o.masked(), "secret_access_key=****");
        let err = o.validate(StoreKind::Local).unwrap_err().to_string();
        assert!(err.contains("readonly"), "{err}");
        assert!(!err.contains("hunter2"));
    }
}
