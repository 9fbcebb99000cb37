//! Conversions between s3s's types and the namespace's: times, conditions, metadata.

use std::collections::BTreeMap;

use arustio_namespace::Conditions;
use chrono::{DateTime, Utc};
use s3s::dto::{ETagCondition, Metadata, Timestamp};

/// chrono → s3s time. S3 dates have four-digit years: a file dated past 9999 (a local
/// store can hold one) shows as the last second of 9999, and one before year 0 as its first.
pub(super) fn ts(t: DateTime<Utc>) -> Timestamp {
    let (min, max) = (-62_167_219_200, 253_402_300_799); // 0000-01-01, 9999-12-31T23:59:59
    let secs = t.timestamp().clamp(min, max);
    let nanos = if secs == t.timestamp() {
        t.timestamp_subsec_nanos()
    } else {
        0
    };
    let t = time::OffsetDateTime::from_unix_timestamp(secs)
        .map(|t| t + time::Duration::nanoseconds(i64::from(nanos)))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    Timestamp::from(t)
}

/// s3s → chrono time.
pub(crate) fn chrono_of(t: Timestamp) -> DateTime<Utc> {
    let t: time::OffsetDateTime = t.into();
    DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or_default()
}

pub(super) fn etags(c: Option<ETagCondition>) -> Option<Vec<String>> {
    c.map(|c| match c {
        ETagCondition::Any => vec!["*".to_owned()],
        ETagCondition::ETag(e) => vec![e.into_value()],
    })
}

pub(super) fn conditions(
    if_match: Option<ETagCondition>,
    if_none_match: Option<ETagCondition>,
    if_modified_since: Option<Timestamp>,
    if_unmodified_since: Option<Timestamp>,
) -> Conditions {
    Conditions {
        if_match: etags(if_match),
        if_none_match: etags(if_none_match),
        if_modified_since: if_modified_since.map(chrono_of),
        if_unmodified_since: if_unmodified_since.map(chrono_of),
    }
}

pub(super) fn to_btree(m: Option<Metadata>) -> BTreeMap<String, String> {
    m.map(|m| m.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect())
        .unwrap_or_default()
}

pub(super) fn to_metadata(m: &BTreeMap<String, String>) -> Option<Metadata> {
    (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn dates_past_year_9999_are_clamped_not_a_panic() {
        let far = DateTime::from_timestamp(253_402_300_800 * 4, 0).unwrap();
        let mut out = Vec::new();
        ts(far).format(s3s::dto::TimestampFormat::DateTime, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "9999-12-31T23:59:59.000Z");
        let early = DateTime::from_timestamp(-62_167_219_200 * 2, 0).unwrap();
        assert_eq!(chrono_of(ts(early)).timestamp(), -62_167_219_200);
        let now = DateTime::from_timestamp(1_700_000_000, 123_000_000).unwrap();
        assert_eq!(chrono_of(ts(now)), now);
    }
}
