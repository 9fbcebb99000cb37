//! One id per S3 request: minted when the request arrives, held in a task-local request
//! context while it is served, and written to the `x-amz-request-id` header, the error
//! body's `RequestId` and the request's tracing span (so each log line of it carries it).
//! The context also learns the request's operation and bucket once s3s has routed it,
//! for the request's figures.

use std::future::Future;
use std::sync::{Arc, Mutex};

/// What s3s routed a request to: the operation and its bucket and key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Route {
    /// The S3 operation (`GetObject`).
    pub op: String,
    /// The bucket, if the request names one.
    pub bucket: Option<String>,
    /// The key, if the request names one.
    pub key: Option<String>,
}

struct Context {
    id: String,
    route: Mutex<Option<Route>>,
}

tokio::task_local! {
    static REQUEST: Arc<Context>;
}

/// A new request id: 32 hex digits.
pub(super) fn mint() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The id of the request being served; a fresh one outside any request.
pub(super) fn current() -> String {
    REQUEST.try_with(|c| c.id.clone()).unwrap_or_else(|_| mint())
}

/// Records what the request being served was routed to.
pub(super) fn set_route(route: Route) {
    let _ = REQUEST.try_with(|c| {
        *c.route.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(route);
    });
}

/// What the request being served was routed to, if s3s got that far.
pub(super) fn route() -> Option<Route> {
    REQUEST
        .try_with(|c| {
            c.route
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        })
        .ok()
        .flatten()
}

fn context(id: String) -> Arc<Context> {
    Arc::new(Context {
        id,
        route: Mutex::new(None),
    })
}

/// Serves `f` as the request `id`.
pub(super) async fn scope<F: Future>(id: String, f: F) -> F::Output {
    REQUEST.scope(context(id), f).await
}

/// Runs `f`, a synchronous part of the request `id`.
pub(super) fn sync_scope<R>(id: String, f: impl FnOnce() -> R) -> R {
    REQUEST.sync_scope(context(id), f)
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

    #[tokio::test]
    async fn the_route_is_the_requests_own() {
        let route = Route {
            op: "GetObject".into(),
            bucket: Some("b".into()),
            key: Some("k".into()),
        };
        let seen = scope(mint(), async {
            assert_eq!(super::route(), None);
            set_route(route.clone());
            super::route()
        })
        .await;
        assert_eq!(seen, Some(route));
        assert_eq!(scope(mint(), async { super::route() }).await, None);
        set_route(Route::default());
        assert_eq!(super::route(), None, "outside a request nothing is kept");
    }
}
