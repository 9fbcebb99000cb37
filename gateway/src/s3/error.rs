//! The one map from every layer's errors to S3 error codes.

use arustio_namespace::{NsError, StoreFault};
use s3s::{S3Error, S3ErrorCode};

/// A pattern: a store failure of this fault.
macro_rules! store {
    ($fault:pat) => {
        NsError::Store { fault: $fault, .. }
    };
}

/// Maps a namespace error to the S3 error a client expects, with a request id.
/// Unexpected failures are logged with that id and answered as InternalError.
pub(super) fn s3_error(err: NsError) -> S3Error {
    use S3ErrorCode as C;
    let msg = err.to_string();
    let (code, msg) = match err {
        NsError::NoSuchBucket { .. } | NsError::NoMount { .. } => (C::NoSuchBucket, msg),
        NsError::NoSuchKey { .. } | store!(StoreFault::NotFound) => (C::NoSuchKey, msg),
        NsError::BucketExists { .. } => (C::BucketAlreadyOwnedByYou, msg),
        NsError::BucketNotEmpty { .. } => (C::BucketNotEmpty, msg),
        NsError::BucketIsMount { .. } => (C::InvalidBucketState, msg),
        NsError::InvalidBucketName { .. } => (C::InvalidBucketName, msg),
        NsError::InvalidKey { .. } | NsError::MarkerWithBody { .. } | NsError::InvalidArgument(_) => {
            (C::InvalidArgument, msg)
        }
        // The client is told which rule its key broke, not where the store is.
        store!(StoreFault::InvalidKey { key, rule }) => {
            tracing::debug!(key = %key, error = %msg, "key refused by its store");
            (
                C::InvalidArgument,
                format!("key {key:?} cannot be stored at this path: {rule}"),
            )
        }
        NsError::KeyTooLong { .. } => (C::KeyTooLongError, msg),
        NsError::MetadataTooLarge { .. } => (C::MetadataTooLarge, msg),
        NsError::ReadOnly { .. } => (C::AccessDenied, msg),
        NsError::PreconditionFailed { .. } | store!(StoreFault::Conflict) => (
            C::PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold".to_owned(),
        ),
        NsError::NotModified {
            etag, last_modified, ..
        } => return not_modified(&etag, last_modified),
        NsError::BadDigest => (C::BadDigest, msg),
        NsError::Body { source } => return body_error(source),
        NsError::NoSuchUpload { .. } => (C::NoSuchUpload, msg),
        NsError::InvalidPart { .. } => (C::InvalidPart, msg),
        NsError::InvalidPartOrder => (C::InvalidPartOrder, msg),
        NsError::EntityTooSmall { .. } => (C::EntityTooSmall, msg),
        NsError::UploadsInFlight { .. } | NsError::CopyToSelf { .. } => (C::InvalidRequest, msg),
        NsError::Changed { .. } => (C::ServiceUnavailable, format!("{msg}; retry")),
        store!(StoreFault::Denied { key }) => {
            tracing::warn!(key = %key, error = %msg, "store denied access");
            (C::AccessDenied, "The store behind this path denied access".to_owned())
        }
        store!(StoreFault::Throttled { key }) => {
            tracing::warn!(key = %key, error = %msg, "store throttling");
            (
                C::SlowDown,
                "The store behind this path is throttling requests; slow down".to_owned(),
            )
        }
        // Not a fault to retry: the store holds a key object_store cannot list. The client is
        // told which (a key of its own data) and why.
        store!(StoreFault::Unlistable) => {
            tracing::warn!(error = %msg, "a listing met a key the store's client cannot represent");
            (C::InternalError, msg)
        }
        store!(StoreFault::Unavailable { key }) => {
            tracing::warn!(key = %key, error = %msg, "store unavailable");
            (
                C::ServiceUnavailable,
                "The store behind this path is unavailable; retry later".to_owned(),
            )
        }
        store!(StoreFault::Full { key }) => {
            tracing::warn!(key = %key, error = %msg, "store full");
            return full("The store behind this path is full; delete objects or free space, then retry");
        }
        NsError::Io { ref source, .. } if arustio_backends::BackendError::is_full(source) => {
            tracing::warn!(error = %msg, "staging full");
            return full("This node's staging space is full; retry later");
        }
        other => return internal(&other),
    };
    with_id(S3Error::with_message(code, msg))
}

/// 507 Insufficient Storage (MinIO's answer on a full drive, under a code that says so).
fn full(msg: &'static str) -> S3Error {
    let mut e = with_id(S3Error::with_message(
        S3ErrorCode::Custom("InsufficientStorage".into()),
        msg,
    ));
    e.set_status_code(http::StatusCode::INSUFFICIENT_STORAGE);
    e
}

/// A 304 carries the ETag and Last-Modified a 200 would (RFC 9110 15.4.5), so that a
/// client revalidating its copy keeps them.
fn not_modified(etag: &str, last_modified: chrono::DateTime<chrono::Utc>) -> S3Error {
    let mut e = with_id(S3Error::new(S3ErrorCode::NotModified));
    let mut headers = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_str(&format!("\"{etag}\"")) {
        headers.insert(http::header::ETAG, v);
    }
    let date = super::object::http_date(last_modified);
    if let Ok(v) = http::HeaderValue::from_str(&date) {
        headers.insert(http::header::LAST_MODIFIED, v);
    }
    e.set_headers(headers);
    e
}

/// A failed request body: our own checksum errors pass through; anything else means
/// the body ended early or broke.
fn body_error(source: Box<dyn std::error::Error + Send + Sync>) -> S3Error {
    match source.downcast::<S3Error>() {
        Ok(e) => with_id(*e),
        Err(other) => {
            tracing::debug!(error = %other, "request body failed");
            with_id(S3Error::with_message(
                S3ErrorCode::IncompleteBody,
                "You did not provide the number of bytes specified by the Content-Length HTTP header",
            ))
        }
    }
}

fn internal(err: &dyn std::error::Error) -> S3Error {
    let e = with_id(S3Error::with_message(
        S3ErrorCode::InternalError,
        "We encountered an internal error. Please try again.",
    ));
    tracing::error!(request_id = e.request_id().unwrap_or_default(), error = %err, "internal error");
    e
}

/// Gives an error the id of the request it answers.
pub(super) fn with_id(mut e: S3Error) -> S3Error {
    e.set_request_id(super::request_id::current());
    e
}

/// Shorthand: an S3 error of `code` with `msg`.
pub(super) fn err(code: S3ErrorCode, msg: impl Into<String>) -> S3Error {
    with_id(S3Error::with_message(code, msg.into()))
}

/// A whole S3 error response, for answers made outside s3s (a failed pass to another node),
/// with the request's id.
pub(super) fn response(code: S3ErrorCode, msg: &str) -> s3s::HttpResponse {
    let mut resp = http::Response::new(s3s::Body::from(error_xml(
        code.as_str(),
        msg,
        &super::request_id::current(),
    )));
    *resp.status_mut() = code.status_code().unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    resp
}

/// An S3 `<Error>` document.
fn error_xml(code: &str, msg: &str, request_id: &str) -> String {
    use quick_xml::events::{BytesDecl, BytesText, Event};
    let mut w = quick_xml::Writer::new(Vec::new());
    // Writing into a Vec cannot fail.
    let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let _ = w.create_element("Error").write_inner_content(|w| {
        for (name, text) in [("Code", code), ("Message", msg), ("RequestId", request_id)] {
            w.create_element(name).write_text_content(BytesText::new(text))?;
        }
        Ok(())
    });
    String::from_utf8(w.into_inner()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_namespace_errors() {
        let cases = [
            (NsError::NoSuchBucket { bucket: "b".into() }, S3ErrorCode::NoSuchBucket),
            (
                NsError::NoSuchKey {
                    bucket: "b".into(),
                    key: "k".into(),
                },
                S3ErrorCode::NoSuchKey,
            ),
            (NsError::KeyTooLong { len: 2000 }, S3ErrorCode::KeyTooLongError),
            (
                NsError::ReadOnly {
                    path: "/a".into(),
                    mount: "/a".into(),
                },
                S3ErrorCode::AccessDenied,
            ),
            (NsError::InvalidPartOrder, S3ErrorCode::InvalidPartOrder),
            (
                NsError::Io {
                    path: "/x".into(),
                    source: std::io::Error::from_raw_os_error(28),
                },
                S3ErrorCode::Custom("InsufficientStorage".into()),
            ),
            (
                NsError::Io {
                    path: "/x".into(),
                    source: std::io::Error::other("boom"),
                },
                S3ErrorCode::InternalError,
            ),
        ];
        for (e, code) in cases {
            let s3 = s3_error(e);
            assert_eq!(s3.code(), &code);
            assert!(s3.request_id().is_some());
        }
    }

    #[test]
    fn checksum_errors_survive_the_body() {
        let inner = S3Error::with_message(S3ErrorCode::BadDigest, "crc32 mismatch");
        let e = s3_error(NsError::Body {
            source: Box::new(inner),
        });
        assert_eq!(e.code(), &S3ErrorCode::BadDigest);
        let e = s3_error(NsError::Body {
            source: Box::new(std::io::Error::other("eof")),
        });
        assert_eq!(e.code(), &S3ErrorCode::IncompleteBody);
    }

    #[test]
    fn error_bodies_are_escaped_and_carry_the_request_id() {
        let xml = error_xml("NoSuchKey", "a <b> & c", "0123abcd");
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code>\
             <Message>a &lt;b&gt; &amp; c</Message><RequestId>0123abcd</RequestId></Error>"
        );
    }
}
