//! Making a mount: one path for the admin API's `Mount` and the config's `[[mounts]]`, from
//! the request to the replicated entry.

use arustio_backends::{MountOptions, MountUri};
use arustio_namespace::{MountEntry, MountTable, Namespace, NsError};
use arustio_raft::{ClusterError, ClusterNode, MetaCmd, MetaStore};

/// Why a mount was not made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MountError {
    /// The URI or the options are not valid.
    #[error("{0}")]
    Invalid(String),
    /// The namespace refused it (a bad path, a store that does not answer, hidden objects).
    #[error(transparent)]
    Refused(#[from] NsError),
    /// It could not be committed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// The entry a mount request makes: the path normalised (a valid bucket name at the top),
/// the options checked against the store kind and under their canonical names.
pub(crate) fn mount_entry(
    path: &str,
    uri: &str,
    options: &MountOptions,
    readonly: bool,
) -> Result<MountEntry, MountError> {
    let path = arustio_namespace::check_mount_path(path)?;
    let kind = MountUri::parse(uri)
        .map_err(|e| MountError::Invalid(e.to_string()))?
        .kind;
    let options = options
        .canonical(kind)
        .map_err(|e| MountError::Invalid(e.to_string()))?;
    Ok(MountEntry {
        path,
        uri: uri.to_owned(),
        readonly: readonly || options.readonly(),
        options,
    })
}

/// How a new mount is checked before it is written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checks {
    /// Mount even where it hides objects of the parent mount's store.
    pub(crate) shadow: bool,
    /// Ask the store to answer first.
    pub(crate) probe: bool,
}

/// Checks `entry` as a new mount (the caller has read the mount table strictly) and
/// commits it. A write retried after a leader change may find its first attempt applied:
/// that counts as done.
pub(crate) async fn mount(
    ns: &Namespace,
    cluster: &ClusterNode,
    meta: &MetaStore,
    entry: &MountEntry,
    checks: Checks,
) -> Result<(), MountError> {
    ns.check_new_mount(entry, checks.shadow, checks.probe).await?;
    if let Err(e) = cluster.write(MetaCmd::Mount(entry.clone())).await {
        let applied = matches!(e, ClusterError::Refused(_))
            && cluster.linearizable_read().await.is_ok()
            && meta.mounts().contains(entry);
        if !applied {
            return Err(e.into());
        }
    }
    Ok(())
}
