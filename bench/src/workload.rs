//! Workloads: which operation a worker runs next, the objects reads use (put first, or
//! listed with `--list-existing`), and one operation against a target.

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use rand::Rng;
use rand::rngs::StdRng;

/// One S3 operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Op {
    Get,
    Put,
    Delete,
    List,
    Stat,
    Ranged,
}

impl Op {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "get" => Self::Get,
            "put" => Self::Put,
            "delete" => Self::Delete,
            "list" => Self::List,
            "stat" => Self::Stat,
            "ranged" => Self::Ranged,
            _ => return None,
        })
    }
}

/// Operations by weight: `get=45,stat=30,put=15,delete=10` (warp's mixed default).
#[derive(Debug, Clone)]
pub(crate) struct Mix(Vec<(Op, u32)>);

impl Mix {
    /// A mix of one operation.
    pub(crate) fn only(op: Op) -> Self {
        Self(vec![(op, 1)])
    }

    /// Parses `op=weight,...`; an error says what is wrong.
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for part in s.split(',') {
            let (op, w) = part
                .split_once('=')
                .ok_or_else(|| format!("--mix {s:?}: parts are op=weight"))?;
            let op = Op::parse(op.trim()).ok_or_else(|| format!("--mix: unknown operation {op:?}"))?;
            let w: u32 = w
                .trim()
                .parse()
                .map_err(|_| format!("--mix: weight {w:?} is not a number"))?;
            if w > 0 {
                out.push((op, w));
            }
        }
        if out.is_empty() {
            return Err(format!("--mix {s:?}: no operation has a weight"));
        }
        Ok(Self(out))
    }

    /// The next operation, by weight.
    pub(crate) fn pick(&self, rng: &mut StdRng) -> Op {
        let total: u32 = self.0.iter().map(|(_, w)| w).sum();
        let mut at = rng.random_range(0..total);
        for (op, w) in &self.0 {
            if at < *w {
                return *op;
            }
            at -= w;
        }
        self.0[0].0
    }

    /// Whether any operation reads objects (or lists them) that must be there first.
    pub(crate) fn reads(&self) -> bool {
        self.0
            .iter()
            .any(|(op, _)| matches!(op, Op::Get | Op::Stat | Op::Ranged | Op::List))
    }
}

/// What every worker of a run shares.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub mix: Mix,
    /// Key prefix of every object the run makes.
    pub prefix: String,
    /// The body of every PUT.
    pub body: Bytes,
    /// Bytes per ranged GET.
    pub range: u64,
    /// Distinct keys PUT cycles over, per worker.
    pub put_keys: usize,
    /// Reads take the objects in order, the `seq`-th read the `seq`-th object.
    pub each_once: bool,
}

/// The objects reads pick from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Objects {
    pub keys: Vec<(String, u64)>,
}

impl Objects {
    fn pick(&self, spec: &Spec, seq: u64, rng: &mut StdRng) -> Option<&(String, u64)> {
        if self.keys.is_empty() {
            return None;
        }
        let at = if spec.each_once {
            usize::try_from(seq).unwrap_or(usize::MAX) % self.keys.len()
        } else {
            rng.random_range(0..self.keys.len())
        };
        self.keys.get(at)
    }
}

/// Puts `count` objects of `spec.body` under `spec.prefix` for reads to use.
pub(crate) async fn seed(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    spec: &Spec,
    count: usize,
) -> Result<Objects, String> {
    use futures::stream::{StreamExt, TryStreamExt};
    let size = spec.body.len() as u64;
    let keys: Vec<(String, u64)> = (0..count)
        .map(|i| (format!("{}obj-{i:06}", spec.prefix), size))
        .collect();
    futures::stream::iter(keys.clone())
        .map(|(key, _)| put(client, bucket, key, spec.body.clone()))
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(Objects { keys })
}

/// Every key under `prefix`, with its size.
async fn list_all(client: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<Vec<(String, u64)>, String> {
    let mut keys = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| describe(&e))?;
        for o in page.contents() {
            if let (Some(k), Some(size)) = (o.key(), o.size()) {
                keys.push((k.to_owned(), u64::try_from(size).unwrap_or(0)));
            }
        }
    }
    Ok(keys)
}

/// The objects already under `prefix`, for a cold read of what another tool put.
pub(crate) async fn existing(client: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<Objects, String> {
    let keys = list_all(client, bucket, prefix).await?;
    if keys.is_empty() {
        return Err(format!("--list-existing: no objects under {bucket}/{prefix}"));
    }
    Ok(Objects { keys })
}

/// Reads every object of `objects` once.
pub(crate) async fn warm(client: &aws_sdk_s3::Client, bucket: &str, objects: &Objects) -> Result<(), String> {
    for (key, _) in &objects.keys {
        let mut body = client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| describe(&e))?
            .body;
        while let Some(chunk) = body.next().await {
            chunk.map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Makes `bucket`, unless it is there already.
pub(crate) async fn create_bucket(client: &aws_sdk_s3::Client, bucket: &str) -> Result<(), String> {
    if client.head_bucket().bucket(bucket).send().await.is_ok() {
        return Ok(());
    }
    client
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    Ok(())
}

/// Removes every object under `prefix` (what the run put), 1000 at a time.
pub(crate) async fn clean(client: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<(), String> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let keys = list_all(client, bucket, prefix).await?;
    for batch in keys.chunks(1000) {
        let ids: Vec<ObjectIdentifier> = batch
            .iter()
            .filter_map(|(k, _)| ObjectIdentifier::builder().key(k).build().ok())
            .collect();
        let delete = Delete::builder()
            .set_objects(Some(ids))
            .build()
            .map_err(|e| e.to_string())?;
        client
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| describe(&e))?;
    }
    Ok(())
}

async fn put(client: &aws_sdk_s3::Client, bucket: &str, key: String, body: Bytes) -> Result<u64, String> {
    let len = body.len() as u64;
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_length(i64::try_from(len).unwrap_or(i64::MAX))
        .body(ByteStream::from(body))
        .customize()
        .disable_payload_signing()
        .send()
        .await
        .map_err(|e| describe(&e))?;
    Ok(len)
}

/// What one worker runs against.
pub(crate) struct Worker<'a> {
    pub client: &'a aws_sdk_s3::Client,
    pub bucket: &'a str,
    pub spec: &'a Spec,
    pub objects: &'a Objects,
    /// The worker's number: its PUT keys are its own.
    pub id: usize,
}

/// Runs `op` once, the worker's `seq`-th; the bytes it moved.
pub(crate) async fn run(w: &Worker<'_>, op: Op, seq: u64, rng: &mut StdRng) -> Result<u64, String> {
    let (client, bucket, spec, objects, worker) = (w.client, w.bucket, w.spec, w.objects, w.id);
    let own_key = || {
        let n = seq % spec.put_keys.max(1) as u64;
        format!("{}put-{worker:03}-{n:06}", spec.prefix)
    };
    match op {
        Op::Put => put(client, bucket, own_key(), spec.body.clone()).await,
        Op::Delete => {
            client
                .delete_object()
                .bucket(bucket)
                .key(own_key())
                .send()
                .await
                .map_err(|e| describe(&e))?;
            Ok(0)
        }
        Op::List => {
            let mut pages = client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(&spec.prefix)
                .max_keys(1000)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                page.map_err(|e| describe(&e))?;
            }
            Ok(0)
        }
        Op::Stat => {
            let (key, _) = objects.pick(spec, seq, rng).ok_or("no objects to read")?;
            client
                .head_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| describe(&e))?;
            Ok(0)
        }
        Op::Get | Op::Ranged => {
            let (key, size) = objects.pick(spec, seq, rng).ok_or("no objects to read")?;
            let mut req = client.get_object().bucket(bucket).key(key);
            if op == Op::Ranged && *size > 0 {
                let len = spec.range.clamp(1, *size);
                let first = rng.random_range(0..=size - len);
                req = req.range(format!("bytes={first}-{}", first + len - 1));
            }
            let mut body = req.send().await.map_err(|e| describe(&e))?.body;
            let mut n = 0u64;
            while let Some(chunk) = body.next().await {
                n += chunk.map_err(|e| e.to_string())?.len() as u64;
            }
            Ok(n)
        }
    }
}

/// An SDK error in one line: the service's code and message, or the transport failure.
fn describe<E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static>(
    e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> String {
    use aws_sdk_s3::error::SdkError;
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            format!(
                "{} ({}): {}",
                err.code().unwrap_or("unknown"),
                s.raw().status().as_u16(),
                err.message().unwrap_or_default()
            )
        }
        other => match std::error::Error::source(other) {
            Some(cause) => format!("{other}: {cause}"),
            None => other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn mix_parses_and_picks_by_weight() {
        let m = Mix::parse("get=3,put=1,delete=0").unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let gets = (0..4000).filter(|_| m.pick(&mut rng) == Op::Get).count();
        assert!((2700..3300).contains(&gets), "{gets} gets of 4000");
        assert!(Mix::parse("get=1,fly=2").is_err());
        assert!(Mix::parse("get=0").is_err());
        assert!(m.reads() && Mix::only(Op::List).reads() && !Mix::only(Op::Put).reads());
    }
}
