//! The cluster secret: from the config, the environment or a file, and refused when weak
//! (anyone who guesses it can sign peer calls: Raft entries, cache blocks).

use std::path::Path;

use crate::config::Config;
use crate::serve_error::ServeError;

/// Fewest bytes a cluster secret may have.
const MIN_LEN: usize = 16;
/// Fewest distinct characters: `aaaa…` or `abab…` is no secret at any length.
const MIN_DISTINCT: usize = 6;

/// The cluster secret the config gives, checked; `None` for a node that takes no peers.
pub(crate) fn cluster_secret(config: &Config) -> Result<Option<String>, ServeError> {
    let secret = match (&config.cluster_secret, &config.cluster_secret_file) {
        (Some(_), Some(_)) => {
            return Err(ServeError::Other(
                "give the cluster secret with --cluster-secret or --cluster-secret-file, not both".into(),
            ));
        }
        (Some(s), None) => s.0.clone(),
        (None, Some(file)) => read_secret_file(file)?,
        (None, None) => return Ok(None),
    };
    check_strength(&secret)?;
    Ok(Some(secret))
}

fn read_secret_file(file: &Path) -> Result<String, ServeError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| ServeError::Other(format!("cluster secret file {}: {e}", file.display())))?;
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(md) = std::fs::metadata(file)
            && md.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(file = %file.display(), "the cluster secret file is readable by other users; chmod 600 it");
        }
    }
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

fn check_strength(secret: &str) -> Result<(), ServeError> {
    let mut distinct: Vec<char> = secret.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if secret.len() < MIN_LEN || distinct.len() < MIN_DISTINCT {
        return Err(ServeError::Other(format!(
            "the cluster secret is too weak: use at least {MIN_LEN} random characters (e.g. `openssl rand -hex 32`), \
             ideally from a file with --cluster-secret-file"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_secrets_are_refused() {
        for weak in ["", "change-me", "aaaaaaaaaaaaaaaaaaaaaaaa", "abcabcabcabcabcabcabc"] {
            assert!(check_strength(weak).is_err(), "{weak:?}");
        }
        assert!(check_strength("cluster-secret-40211").is_ok());
        assert!(check_strength("3f9a0c7e1b2d4f6a8c0e2b4d6f8a0c1e").is_ok());
    }

    #[test]
    fn a_file_secret_loses_its_newline_and_excludes_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s");
        std::fs::write(&file, "0123456789abcdef-secret\n").unwrap();
        let config = Config {
            cluster_secret_file: Some(file.clone()),
            ..Config::default()
        };
        assert_eq!(
            cluster_secret(&config).unwrap().as_deref(),
            Some("0123456789abcdef-secret")
        );
        let both = Config {
            cluster_secret: Some(crate::config::Secret("0123456789abcdef-secret".into())),
            ..config
        };
        assert!(cluster_secret(&both).is_err());
        assert_eq!(cluster_secret(&Config::default()).unwrap(), None);
    }
}
