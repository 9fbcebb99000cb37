//! A local file's bytes as a body stream: tokio-util's `ReaderStream` over the range, and
//! an error, never a short body, when the file shrinks while read.

use std::io::SeekFrom;
use std::ops::Range;
use std::path::Path;

use bytes::Bytes;
use futures::stream::{StreamExt, TryStreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::{BackendError, ByteStream};

/// Read buffer for local files.
const LOCAL_READ_CHUNK: usize = 256 * 1024;

/// Streams `range` of `file` (at `path`) with a large buffer.
pub(crate) fn local_file_stream(file: std::fs::File, path: &Path, range: Range<u64>) -> ByteStream {
    let shown = path.display().to_string();
    let io_err = move |source| BackendError::Io {
        path: shown.clone(),
        source,
    };
    let len = range.end.saturating_sub(range.start);
    let opened = async move {
        let mut file = tokio::fs::File::from_std(file);
        file.seek(SeekFrom::Start(range.start)).await?;
        Ok::<_, std::io::Error>(ReaderStream::with_capacity(file.take(len), LOCAL_READ_CHUNK))
    };
    // `None` marks the end, where the bytes read are counted against the range.
    let chunks = futures::stream::once(opened).try_flatten().map(Some);
    chunks
        .chain(futures::stream::once(async { None }))
        .scan(0u64, move |read, item| {
            let out = match item {
                Some(Ok(b)) => {
                    *read += b.len() as u64;
                    Some(Ok::<Bytes, _>(b))
                }
                Some(Err(e)) => Some(Err(io_err(e))),
                None if *read < len => Some(Err(io_err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "file shrank while read",
                )))),
                None => None,
            };
            futures::future::ready(Some(out))
        })
        .filter_map(futures::future::ready)
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(path: &Path, range: Range<u64>) -> Result<Vec<u8>, BackendError> {
        let file = std::fs::File::open(path).unwrap();
        let chunks: Vec<Bytes> = local_file_stream(file, path, range).try_collect().await?;
        Ok(chunks.concat())
    }

    #[tokio::test]
    async fn a_range_is_read_whole_and_a_shrunk_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        assert_eq!(read(&path, 0..600_000).await.unwrap(), data);
        assert_eq!(read(&path, 300_000..300_010).await.unwrap(), &data[300_000..300_010]);
        assert!(read(&path, 5..5).await.unwrap().is_empty());
        let e = read(&path, 599_000..700_000).await.unwrap_err();
        assert!(e.to_string().contains("shrank"), "{e}");
    }
}
