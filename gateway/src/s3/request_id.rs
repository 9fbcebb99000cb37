//! One id per S3 request: minted when the request arrives, held in a task-local request
//! context while it is served, and written to the `x-amz-request-id` header, the error
//! body's `RequestId` and the request's tracing span (so each log line of it carries it).

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// A new request id: 32 hex digits.
pub(super) fn mint() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The id of the request being served; a fresh one outside any request.
pub(super) fn current() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| mint())
}

/// Serves `f` as the request `id`.
pub(super) async fn scope<F: Future>(id: String, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}

/// Runs `f`, a synchronous part of the request `id`.
pub(super) fn sync_scope<R>(id: String, f: impl FnOnce() -> R) -> R {
    REQUEST_ID.sync_scope(id, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_holds_for_the_whole_request_only() {
        let id = mint();
        assert_eq!(scope(id.clone(), async { current() }).await, id);
        assert_eq!(sync_scope(id.clone(), current), id);
        assert_ne!(current(), id, "outside the request, a fresh id");
        assert_eq!(current().len(), 32);
    }
}
