//! Multipart uploads as the cluster lists them: ids that name the node staging them
//! (`<node>-<id>`), and their typed admin message, which nodes exchange to answer
//! ListMultipartUploads for the whole cluster.

use arustio_proto::admin as pb;
use chrono::{DateTime, Utc};

/// An upload in flight somewhere in the cluster, as ListMultipartUploads shows it.
#[derive(Debug, Clone)]
pub struct ListedUpload {
    /// The cluster-wide id, `<node>-<id>`.
    pub upload_id: String,
    pub key: String,
    pub initiated: DateTime<Utc>,
}

impl ListedUpload {
    /// An upload staged on `node`.
    pub fn new(node: u64, u: &arustio_namespace::UploadInfo) -> Self {
        Self {
            upload_id: format!("{node}-{}", u.upload_id),
            key: u.key.clone(),
            initiated: u.initiated,
        }
    }
}

impl From<ListedUpload> for pb::ListedUpload {
    fn from(u: ListedUpload) -> Self {
        Self {
            upload_id: u.upload_id,
            key: u.key,
            initiated_micros: u.initiated.timestamp_micros(),
        }
    }
}

impl From<pb::ListedUpload> for ListedUpload {
    fn from(u: pb::ListedUpload) -> Self {
        Self {
            upload_id: u.upload_id,
            key: u.key,
            initiated: DateTime::from_timestamp_micros(u.initiated_micros).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_survives_its_message() {
        let u = ListedUpload {
            upload_id: "3-abc".into(),
            key: "a/b".into(),
            initiated: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap_or_default(),
        };
        let back = ListedUpload::from(pb::ListedUpload::from(u.clone()));
        assert_eq!(
            (back.upload_id, back.key, back.initiated),
            (u.upload_id, u.key, u.initiated)
        );
    }
}
