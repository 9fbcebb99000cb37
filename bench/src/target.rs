//! Targets: named S3 endpoints with their credentials and bucket, each with its own client.

use std::time::Duration;

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    StalledStreamProtectionConfig,
};

/// One endpoint the workload runs against.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The row's name in the table.
    pub name: String,
    /// `http://host:port`.
    pub url: String,
    /// The bucket the workload uses.
    pub bucket: String,
    /// The key prefix this target works under, as it is, instead of `<--prefix><name>/`.
    pub prefix: Option<String>,
    access_key: String,
    secret_key: String,
    /// A process whose RSS and CPU time are sampled while this target runs.
    pub watch_pid: Option<u32>,
}

/// What a `--target` was given wrong, in one line.
#[derive(Debug, thiserror::Error)]
#[error("--target {spec:?}: {reason}")]
pub(crate) struct TargetError {
    spec: String,
    reason: String,
}

/// The defaults a `--target` leaves out.
#[derive(Debug, Clone, Default)]
pub(crate) struct Defaults {
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub bucket: Option<String>,
}

impl Target {
    /// Parses `name=direct,url=http://127.0.0.1:9000,access-key=K,secret-key=S,bucket=B,pid=N,prefix=P`;
    /// `name` and `url` are needed, the rest fall back to `defaults`.
    pub(crate) fn parse(spec: &str, defaults: &Defaults) -> Result<Self, TargetError> {
        let bad = |reason: &str| TargetError {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
        };
        let (mut name, mut url, mut pid, mut prefix) = (None, None, None, None);
        let (mut access_key, mut secret_key, mut bucket) = (
            defaults.access_key.clone(),
            defaults.secret_key.clone(),
            defaults.bucket.clone(),
        );
        for field in spec.split(',') {
            let (k, v) = field.split_once('=').ok_or_else(|| bad("fields are key=value"))?;
            let v = v.to_owned();
            match k.trim() {
                "name" => name = Some(v),
                "url" => url = Some(v),
                "access-key" => access_key = Some(v),
                "secret-key" => secret_key = Some(v),
                "bucket" => bucket = Some(v),
                "prefix" => prefix = Some(v),
                "pid" => pid = Some(v.parse().map_err(|_| bad("pid is a process id"))?),
                other => return Err(bad(&format!("unknown field {other:?}"))),
            }
        }
        let url = url.ok_or_else(|| bad("url is missing"))?;
        if !url.starts_with("http://") && !url.starts_with("https://") {
            return Err(bad("url must start with http:// or https://"));
        }
        Ok(Self {
            name: name.ok_or_else(|| bad("name is missing"))?,
            url,
            bucket: bucket.ok_or_else(|| bad("no bucket: give bucket= or --bucket"))?,
            prefix,
            access_key: access_key.ok_or_else(|| bad("no access key: give access-key= or --access-key"))?,
            secret_key: secret_key.ok_or_else(|| bad("no secret key: give secret-key= or --secret-key"))?,
            watch_pid: pid,
        })
    }

    /// A client for this endpoint: path-style, checksums only where S3 requires them (as
    /// the gateway's own S3 client), no stalled-stream aborts, `timeout` per attempt.
    pub(crate) fn client(&self, timeout: Duration) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .force_path_style(true)
            .credentials_provider(Credentials::new(
                &self.access_key,
                &self.secret_key,
                None,
                None,
                "arustio-bench",
            ))
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .timeout_config(
                aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(timeout)
                    .build(),
            )
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_defaults() {
        let d = Defaults {
            access_key: Some("AK".into()),
            secret_key: Some("SK".into()),
            bucket: Some("b".into()),
        };
        let t = Target::parse("name=gw,url=http://127.0.0.1:9000,bucket=other,pid=42,prefix=d7/", &d).unwrap();
        assert_eq!(
            (t.name.as_str(), t.bucket.as_str(), t.watch_pid, t.prefix.as_deref()),
            ("gw", "other", Some(42), Some("d7/"))
        );
        assert!(Target::parse("name=gw", &d).is_err());
        assert!(Target::parse("name=gw,url=ftp://x", &d).is_err());
        assert!(Target::parse("name=gw,url=http://x,colour=red", &d).is_err());
        assert!(Target::parse("name=gw,url=http://x", &Defaults::default()).is_err());
    }
}
