//! The SDK's endpoint rules, run once per bucket instead of once per request.
//!
//! The SDK resolves the endpoint twice per request (for the auth scheme and the URL), and
//! its one-entry memo is keyed by every parameter, the object key included, so on a store
//! with many keys it evaluates the rules each time (3 to 4% of the gateway's CPU on 4 KiB
//! objects). The rules never read the key, the prefix or the copy source (1.157: they
//! are bound and unused), so the parameters without them give the same endpoint, and the
//! memo then holds across keys.

use aws_sdk_s3::config::endpoint::{DefaultResolver, EndpointFuture, Params, ResolveEndpoint};
use futures::FutureExt;

/// [`DefaultResolver`] on the parameters the rules read.
#[derive(Debug, Default)]
pub(crate) struct PerBucket(DefaultResolver);

/// `p` without the parameters that name an object.
fn without_key(p: &Params) -> Option<Params> {
    Params::builder()
        .set_bucket(p.bucket().map(str::to_owned))
        .set_region(p.region().map(str::to_owned))
        .set_use_fips(p.use_fips())
        .set_use_dual_stack(p.use_dual_stack())
        .set_endpoint(p.endpoint().map(str::to_owned))
        .set_force_path_style(p.force_path_style())
        .set_accelerate(p.accelerate())
        .set_use_global_endpoint(p.use_global_endpoint())
        .set_use_object_lambda_endpoint(p.use_object_lambda_endpoint())
        .set_disable_access_points(p.disable_access_points())
        .set_disable_multi_region_access_points(p.disable_multi_region_access_points())
        .set_use_arn_region(p.use_arn_region())
        .set_use_s3_express_control_endpoint(p.use_s3_express_control_endpoint())
        .set_disable_s3_express_session_auth(p.disable_s3_express_session_auth())
        .build()
        .ok()
}

impl ResolveEndpoint for PerBucket {
    fn resolve_endpoint<'a>(&'a self, params: &'a Params) -> EndpointFuture<'a> {
        let names_an_object = params.key().is_some() || params.prefix().is_some() || params.copy_source().is_some();
        // The default resolver's memo answers at once (see its `resolve_endpoint`).
        let memoised = names_an_object
            .then(|| without_key(params))
            .flatten()
            .and_then(|p| self.0.resolve_endpoint(&p).now_or_never());
        match memoised {
            Some(done) => EndpointFuture::ready(done),
            None => self.0.resolve_endpoint(params),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(endpoint: Option<&str>, path_style: bool, bucket: &str, key: Option<&str>) -> Params {
        Params::builder()
            .region("eu-west-1")
            .set_endpoint(endpoint.map(str::to_owned))
            .force_path_style(path_style)
            .bucket(bucket)
            .set_key(key.map(str::to_owned))
            .set_copy_source(key.map(|k| format!("{bucket}/{k}")))
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn every_key_gets_the_default_resolvers_endpoint() {
        let (ours, theirs) = (PerBucket::default(), DefaultResolver::new());
        for endpoint in [Some("http://127.0.0.1:9000"), None] {
            for path_style in [true, false] {
                for bucket in ["b1", "my.dotted.bucket", "b2"] {
                    for key in [Some("a"), Some("dir/k y%?"), None, Some("a")] {
                        let p = params(endpoint, path_style, bucket, key);
                        let got = ours.resolve_endpoint(&p).await.unwrap();
                        let want = theirs.resolve_endpoint(&p).await.unwrap();
                        assert_eq!(got, want, "{p:?}");
                    }
                }
            }
        }
    }
}
