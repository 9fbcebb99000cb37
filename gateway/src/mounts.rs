//! Making and removing mounts: one path for the admin API's `Mount` and the config's
//! `[[mounts]]`, from the request to the replicated entry, and the admin API's `Unmount`.

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
    /// `/` is the root mount: it stays.
    #[error("/ is the root mount and cannot be unmounted")]
    Root,
    /// Nothing is mounted at the path.
    #[error("/{0} is not a mount point")]
    NotAMount(String),
    /// Multipart uploads are in flight under the mount and `force` was not set.
    #[error("{count} multipart upload(s) in flight under /{path}; --force aborts them")]
    UploadsInFlight {
        /// The mount path.
        path: String,
        /// How many there are.
        count: usize,
    },
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
    commit(cluster, MetaCmd::Mount(entry.clone()), || meta.mounts().contains(entry)).await
}

/// Removes the mount at `path` (the caller has read the mount table strictly), aborting the
/// multipart uploads in flight under it when `force` is set; returns how many it aborted.
pub(crate) async fn unmount(
    ns: &Namespace,
    cluster: &ClusterNode,
    meta: &MetaStore,
    path: &str,
    force: bool,
) -> Result<usize, MountError> {
    let path = arustio_namespace::normalize_path(path)?;
    if path.is_empty() {
        return Err(MountError::Root);
    }
    let mounted = || meta.mounts().iter().any(|m| m.path == path);
    if !mounted() {
        return Err(MountError::NotAMount(path));
    }
    let uploads = ns.uploads_under(&path).await?;
    if !uploads.is_empty() && !force {
        return Err(MountError::UploadsInFlight {
            path,
            count: uploads.len(),
        });
    }
    for u in &uploads {
        ns.abort_upload(u).await?;
    }
    commit(cluster, MetaCmd::Unmount { path: path.clone() }, || !mounted()).await?;
    tracing::info!(path = %format!("/{path}"), aborted = uploads.len(), "unmounted");
    Ok(uploads.len())
}

/// Writes `cmd` through the leader. A write retried after a leader change may find its first
/// attempt applied (`applied` says so after a strict read): that counts as done.
async fn commit(cluster: &ClusterNode, cmd: MetaCmd, applied: impl Fn() -> bool) -> Result<(), MountError> {
    if let Err(e) = cluster.write(cmd).await {
        let done = matches!(e, ClusterError::Refused(_)) && cluster.linearizable_read().await.is_ok() && applied();
        if !done {
            return Err(e.into());
        }
    }
    Ok(())
}
