//! Whole directory listings over the admin API, page by page.

use arustio_proto::admin::{FileInfo, ListRequest};

use super::{CliError, Client};

/// Every entry of a directory, page by page.
pub(super) async fn list_all(c: &mut Client, path: &str) -> Result<Vec<FileInfo>, CliError> {
    let mut out = Vec::new();
    let (mut after, mut after_is_dir) = (String::new(), false);
    loop {
        let page = c
            .list(ListRequest {
                path: path.to_owned(),
                after: after.clone(),
                after_is_dir,
                limit: 1000,
                consistent: false,
            })
            .await?
            .into_inner();
        if let Some(last) = page.entries.last() {
            after = last.path.rsplit('/').next().unwrap_or_default().to_owned();
            after_is_dir = last.is_dir;
        }
        out.extend(page.entries);
        if !page.truncated {
            return Ok(out);
        }
    }
}
