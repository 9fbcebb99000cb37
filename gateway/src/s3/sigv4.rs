//! SigV4 rules AWS applies that s3s does not, checked before s3s sees the request: the
//! limits on a presigned URL's `X-Amz-Expires`, and `Date` standing in for a missing
//! `x-amz-date`.

use chrono::DateTime;
use s3s::S3ErrorCode;

use super::error;
use super::sigv2::Query;

/// The longest a presigned URL may live: seven days.
const MAX_EXPIRES: i64 = 604_800;

/// Refuses a presigned SigV4 URL whose `X-Amz-Expires` AWS refuses (`Some` answer), and
/// gives a header-signed request that dates itself by `Date` alone the `x-amz-date` s3s
/// reads the time from. Reads no body.
pub(super) fn screen<B>(req: &mut http::Request<B>) -> Option<s3s::HttpResponse> {
    if let Some(query) = req.uri().query().and_then(Query::parse)
        && query.unique("X-Amz-Algorithm") == Some("AWS4-HMAC-SHA256")
    {
        let expires = query.unique("X-Amz-Expires")?;
        let refuse = |msg: &str| Some(error::response(S3ErrorCode::AuthorizationQueryParametersError, msg));
        return match expires.parse::<i64>() {
            Ok(n) if n < 0 => refuse("X-Amz-Expires must be non-negative"),
            Ok(n) if n > MAX_EXPIRES => refuse("X-Amz-Expires must be less than a week (in seconds) that is 604800"),
            Ok(_) => None,
            Err(_) => refuse("X-Amz-Expires should be a number"),
        };
    }
    let headers = req.headers();
    let signed_v4 = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "));
    if !signed_v4 || headers.contains_key("x-amz-date") {
        return None;
    }
    // SigV4 takes the request time from `x-amz-date` or, without it, from `Date`; the
    // signature covers whichever the client signed, so adding the other changes nothing.
    let date = headers
        .get(http::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())?;
    let amz = date.with_timezone(&chrono::Utc).format("%Y%m%dT%H%M%SZ").to_string();
    if let Ok(v) = http::HeaderValue::from_str(&amz) {
        req.headers_mut().insert("x-amz-date", v);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(uri: &str) -> Option<u16> {
        let mut req = http::Request::get(uri).body(()).unwrap();
        screen(&mut req).map(|r| r.status().as_u16())
    }

    #[test]
    fn presigned_expiry_limits() {
        let q = "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=";
        assert_eq!(status(&format!("{q}604800")), None);
        assert_eq!(status(&format!("{q}604801")), Some(400));
        assert_eq!(status(&format!("{q}-1")), Some(400));
        assert_eq!(status(&format!("{q}soon")), Some(400));
        assert_eq!(
            status("/b/k?X-Amz-Expires=-1"),
            None,
            "not SigV4 presigned: left to s3s"
        );
    }

    #[test]
    fn date_stands_in_for_a_missing_x_amz_date_and_never_overrides_one() {
        let auth =
            "AWS4-HMAC-SHA256 Credential=AK/20260102/us-east-1/s3/aws4_request, SignedHeaders=date;host, Signature=0";
        let mut req = http::Request::get("/b/k")
            .header("authorization", auth)
            .header("date", "Fri, 02 Jan 2026 03:04:05 GMT")
            .body(())
            .unwrap();
        assert!(screen(&mut req).is_none());
        assert_eq!(req.headers()["x-amz-date"], "20260102T030405Z");
        let mut both = http::Request::get("/b/k")
            .header("authorization", auth)
            .header("date", "Fri, 02 Jan 2026 03:04:05 GMT")
            .header("x-amz-date", "20260102T000000Z")
            .body(())
            .unwrap();
        assert!(screen(&mut both).is_none());
        assert_eq!(both.headers()["x-amz-date"], "20260102T000000Z");
    }
}
