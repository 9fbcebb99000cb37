//! Builds an S3 client from a mount's canonical options: the `object_store` names that
//! mounts have always saved (`aws_access_key_id`, `aws_endpoint`, ...) are read as they are,
//! so a mount made before the move to the SDK is served without a remount.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    StalledStreamProtectionConfig,
};
use aws_sdk_s3::types::{ChecksumAlgorithm, ServerSideEncryption};

use super::{Encryption, S3Store};
use crate::{BackendError, MountOptions, MountUri};

/// Time to connect, when the mount does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time to the first byte of an answer and between body chunks, when the mount does not say.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Retries of a failed request, when the mount does not say.
const RETRIES: u32 = 3;

/// Options of `object_store`'s S3 builder that only set up its own credential chain,
/// HTTP pool or features this client does not use: read and ignored, so saved mounts work.
const IGNORED: &[&str] = &[
    "aws_bucket",
    "aws_copy_if_not_exists",
    "aws_disable_tagging",
    "aws_disable_bulk_delete",
    "aws_imdsv1_fallback",
    "allow_http",
    "http1_only",
    "http2_only",
    "http2_keep_alive_interval",
    "http2_keep_alive_timeout",
    "http2_keep_alive_while_idle",
    "http2_max_frame_size",
    "pool_idle_timeout",
    "pool_max_idle_per_host",
    "randomize_addresses",
    "user_agent",
    "default_content_type",
];

fn bad(key: &str, reason: impl Into<String>) -> BackendError {
    BackendError::InvalidOption {
        scheme: "s3".to_owned(),
        key: key.to_owned(),
        reason: reason.into(),
    }
}

fn duration(key: &str, value: &str) -> Result<Duration, BackendError> {
    humantime::parse_duration(value)
        .or_else(|_| value.parse::<u64>().map(Duration::from_secs))
        .map_err(|_| bad(key, "expected a duration such as 30s or 500ms"))
}

fn flag(key: &str, value: &str) -> Result<bool, BackendError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(bad(key, "expected true or false")),
    }
}

/// Builds the client for `uri` (`s3://bucket/prefix`) from canonical `options`.
pub(crate) fn build(uri: &MountUri, options: &MountOptions) -> Result<S3Store, BackendError> {
    let get = |k: &str| options.0.get(k).map(String::as_str);
    let region = get("aws_region")
        .or_else(|| get("aws_default_region"))
        .unwrap_or("us-east-1");
    let endpoint = get("aws_endpoint_url_s3").or_else(|| get("aws_endpoint"));
    let mut conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        // Only what an operation requires: S3-compatible stores that know no CRC32
        // trailers keep working, and responses are not refused for a checksum they lack.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        // A GET body is read as fast as the gateway's client reads it: a slow client must
        // not make the SDK abort the store's response. The idle timeout below bounds a
        // store that stops sending; upload bodies are in memory and never stall.
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
    if let Some(endpoint) = endpoint {
        conf = conf.endpoint_url(endpoint);
    }
    // Path-style for custom endpoints (MinIO, Ceph and friends), virtual hosts on AWS.
    let mut path_style = endpoint.is_some();
    let mut store = Settings {
        idle: IDLE_TIMEOUT,
        encryption: Encryption::default(),
        unsigned_payload: false,
        checksum: None,
        conditional: true,
    };
    let (mut connect, mut retries, mut skip_signature) = (CONNECT_TIMEOUT, RETRIES, false);
    for (key, value) in &options.0 {
        match key.as_str() {
            "readonly"
            | "cache"
            | "consistency"
            | "cache_on_write"
            | "aws_region"
            | "aws_default_region"
            | "aws_endpoint"
            | "aws_endpoint_url_s3"
            | "aws_access_key_id"
            | "aws_secret_access_key"
            | "aws_session_token" => {}
            k if IGNORED.contains(&k) => {}
            "timeout" | "read_timeout" => store.idle = duration(key, value)?,
            "connect_timeout" => connect = duration(key, value)?,
            "retries" => retries = value.parse().map_err(|_| bad(key, "expected a whole number"))?,
            "aws_virtual_hosted_style_request" => path_style = !flag(key, value)?,
            "aws_skip_signature" => skip_signature = flag(key, value)?,
            "aws_unsigned_payload" => store.unsigned_payload = flag(key, value)?,
            "aws_conditional_put" => store.conditional = value != "disabled",
            "aws_checksum_algorithm" => {
                let name = value.to_ascii_lowercase();
                let (_, alg) = super::ALGORITHMS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .ok_or_else(|| bad(key, "expected sha256, sha1, crc32, crc32c or crc64nvme"))?;
                store.checksum = Some(alg.clone());
            }
            "aws_server_side_encryption" => {
                store.encryption.mode = Some(match value.as_str() {
                    "AES256" | "aws:kms" | "aws:kms:dsse" => ServerSideEncryption::from(value.as_str()),
                    _ => {
                        return Err(bad(
                            key,
                            "expected AES256, aws:kms or aws:kms:dsse (sse-c is not supported)",
                        ));
                    }
                });
            }
            "aws_sse_kms_key_id" => store.encryption.kms_key_id = Some(value.clone()),
            "aws_sse_bucket_key_enabled" => store.encryption.bucket_key = Some(flag(key, value)?),
            other => {
                return Err(bad(
                    other,
                    "not supported on S3 mounts (the gateway uses static credentials from the mount \
                     options, and no proxy, instance-metadata or web-identity credentials)",
                ));
            }
        }
    }
    match (get("aws_access_key_id"), get("aws_secret_access_key")) {
        _ if skip_signature => conf = conf.allow_no_auth(),
        (Some(id), Some(secret)) => {
            let token = get("aws_session_token").map(str::to_owned);
            conf = conf.credentials_provider(Credentials::new(id, secret, token, None, "arustio-mount"));
        }
        (None, None) => conf = conf.allow_no_auth(),
        _ => {
            return Err(bad(
                "access_key_id",
                "an access key id and a secret access key go together (or set skip_signature=true)",
            ));
        }
    }
    let conf = conf
        .endpoint_resolver(super::endpoint::PerBucket::default())
        .force_path_style(path_style)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(connect)
                .read_timeout(store.idle)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(retries.saturating_add(1)));
    Ok(S3Store {
        client: aws_sdk_s3::Client::from_conf(conf.build()),
        bucket: uri.location.clone(),
        idle: store.idle,
        encryption: store.encryption,
        unsigned_payload: store.unsigned_payload,
        checksum: store.checksum,
        conditional: store.conditional,
        name: Arc::from(uri.to_string()),
    })
}

/// What the options set besides the client's own configuration.
struct Settings {
    idle: Duration,
    encryption: Encryption,
    unsigned_payload: bool,
    checksum: Option<ChecksumAlgorithm>,
    conditional: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> MountOptions {
        let mut o = MountOptions::default();
        for (k, v) in pairs {
            o.0.insert((*k).into(), (*v).into());
        }
        o.canonical(crate::StoreKind::S3).unwrap()
    }

    #[test]
    fn options_saved_by_the_object_store_builder_are_read() {
        let uri = MountUri::parse("s3://b/p").unwrap();
        let saved = opts(&[
            ("aws_endpoint", "http://127.0.0.1:9000"),
            ("aws_access_key_id", "AK"),
            ("aws_secret_access_key", "SK"),
            ("aws_allow_http", "true"),
            ("aws_virtual_hosted_style_request", "false"),
            ("aws_imdsv1_fallback", "false"),
            ("timeout", "2s"),
            ("retries", "0"),
        ]);
        let s = build(&uri, &saved).unwrap();
        assert_eq!(s.idle, Duration::from_secs(2));
        assert_eq!(s.bucket, "b");
        let ours = opts(&[
            ("endpoint", "http://h:1"),
            ("access_key_id", "A"),
            ("secret_access_key", "S"),
        ]);
        assert!(build(&uri, &ours).is_ok());
        let half = opts(&[("access_key_id", "A")]);
        assert!(build(&uri, &half).unwrap_err().to_string().contains("go together"));
        let chain = opts(&[("aws_role_arn", "arn:aws:iam::1:role/x")]);
        assert!(build(&uri, &chain).unwrap_err().to_string().contains("not supported"));
        let slow = opts(&[("timeout", "soon")]);
        assert!(build(&uri, &slow).unwrap_err().to_string().contains("duration"));
    }
}
