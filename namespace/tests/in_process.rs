//! The namespace in process: listing, copy and multipart edge cases over memory and
//! local-directory stores, through the public API, with no gateway and no network.

use std::collections::BTreeMap;

use arustio_backends::MountOptions;
use arustio_namespace::{
    Conditions, ListEntry, ListRequest, MetadataDirective, MountEntry, Namespace, NsError, PutCondition, PutOptions,
};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};

/// A namespace over `mounts` (path, URI), staging under its own temporary directory.
struct Fixture {
    ns: Namespace,
    _dir: tempfile::TempDir,
}

fn fixture(mounts: &[(&str, &str)]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let entries = mounts
        .iter()
        .map(|(path, uri)| MountEntry {
            path: (*path).to_owned(),
            uri: uri.replace("{dir}", &dir.path().display().to_string()),
            options: MountOptions::default(),
            readonly: false,
        })
        .collect();
    let ns = Namespace::in_memory(entries, dir.path().join("staging"));
    Fixture { ns, _dir: dir }
}

fn body(bytes: &[u8]) -> arustio_namespace::BodyStream {
    let bytes = Bytes::copy_from_slice(bytes);
    futures::stream::once(async move { Ok(bytes) }).boxed()
}

async fn put(ns: &Namespace, bucket: &str, key: &str, bytes: &[u8]) {
    ns.put(bucket, key, body(bytes), PutOptions::default()).await.unwrap();
}

async fn read(ns: &Namespace, bucket: &str, key: &str) -> Vec<u8> {
    let h = ns.head(bucket, key).await.unwrap();
    let chunks: Vec<Bytes> = ns.open(&h, None).await.unwrap().try_collect().await.unwrap();
    chunks.concat()
}

/// Every entry of a listing, walked a page of `page` at a time as a client would.
async fn walk(ns: &Namespace, bucket: &str, prefix: &str, delimiter: Option<&str>, page: usize) -> Vec<String> {
    let mut req = ListRequest {
        bucket: Some(bucket.to_owned()),
        prefix: prefix.to_owned(),
        delimiter: delimiter.map(str::to_owned),
        max_keys: page,
        ..ListRequest::default()
    };
    let mut out = Vec::new();
    for _ in 0..100 {
        let got = ns.list(&req).await.unwrap();
        let Some(last) = got.entries.last() else { break };
        req.after = Some(last.key().to_owned());
        req.after_is_prefix = matches!(last, ListEntry::Prefix(_));
        out.extend(got.entries.iter().map(|e| e.key().to_owned()));
        if !got.truncated {
            break;
        }
    }
    out
}

#[tokio::test]
async fn a_listing_merges_a_nested_mount_and_pages_past_common_prefixes() {
    let f = fixture(&[("lake", "mem://lake"), ("lake/deep", "local://{dir}/deep")]);
    std::fs::create_dir_all(f._dir.path().join("deep")).unwrap();
    for key in ["a.txt", "dir/1", "dir/2", "dir/3", "z.txt"] {
        put(&f.ns, "lake", key, key.as_bytes()).await;
    }
    put(&f.ns, "lake", "deep/x/y", b"on local").await;
    let whole = ["a.txt", "deep/", "dir/", "z.txt"];
    for page in [1, 2, 1000] {
        assert_eq!(walk(&f.ns, "lake", "", Some("/"), page).await, whole, "page of {page}");
    }
    assert_eq!(
        walk(&f.ns, "lake", "d", None, 2).await,
        ["deep/x/y", "dir/1", "dir/2", "dir/3"]
    );
    assert_eq!(read(&f.ns, "lake", "deep/x/y").await, b"on local");
    assert!(
        std::fs::read(f._dir.path().join("deep/x/y")).is_ok(),
        "the nested mount's store holds it"
    );
}

#[tokio::test]
async fn a_copy_crosses_stores_keeps_or_replaces_metadata_and_never_copies_onto_itself() {
    let f = fixture(&[("src", "mem://src"), ("dst", "local://{dir}/dst")]);
    std::fs::create_dir_all(f._dir.path().join("dst")).unwrap();
    let opts = PutOptions {
        content_type: Some("text/plain".into()),
        user_meta: BTreeMap::from([("owner".to_owned(), "ana".to_owned())]),
        ..PutOptions::default()
    };
    f.ns.put("src", "k", body(b"payload"), opts).await.unwrap();
    let none = Conditions::default();
    f.ns.copy(("src", "k"), ("dst", "kept"), MetadataDirective::Copy, &none)
        .await
        .unwrap();
    let kept = f.ns.head("dst", "kept").await.unwrap().info;
    assert_eq!(
        (
            kept.content_type.as_deref(),
            kept.user_meta.get("owner").map(String::as_str)
        ),
        (Some("text/plain"), Some("ana"))
    );
    assert_eq!(read(&f.ns, "dst", "kept").await, b"payload");

    let replaced = PutOptions {
        content_type: Some("application/json".into()),
        ..PutOptions::default()
    };
    let directive = MetadataDirective::Replace(Box::new(replaced));
    f.ns.copy(("src", "k"), ("src", "k"), directive, &none).await.unwrap();
    let now = f.ns.head("src", "k").await.unwrap().info;
    assert_eq!(
        now.content_type.as_deref(),
        Some("application/json"),
        "a copy onto itself may replace metadata"
    );
    assert!(now.user_meta.is_empty());

    let onto_itself =
        f.ns.copy(("src", "k"), ("src", "k"), MetadataDirective::Copy, &none)
            .await;
    assert!(
        matches!(onto_itself, Err(NsError::CopyToSelf { .. })),
        "{onto_itself:?}"
    );
    let etag_mismatch = Conditions {
        if_match: Some(vec!["\"not-it\"".into()]),
        ..Conditions::default()
    };
    let refused =
        f.ns.copy(("src", "k"), ("dst", "c"), MetadataDirective::Copy, &etag_mismatch)
            .await;
    assert!(
        matches!(refused, Err(NsError::PreconditionFailed { .. })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_multipart_upload_refuses_bad_part_lists_and_completes_a_good_one() {
    let f = fixture(&[("bkt", "mem://bkt")]);
    let up =
        f.ns.create_upload("bkt", "big", &PutOptions::default(), None)
            .await
            .unwrap();
    let small = f.ns.upload_part(&up, 1, body(b"tiny"), None).await.unwrap();
    let last = f.ns.upload_part(&up, 2, body(b"end"), None).await.unwrap();
    let listed = |parts: &[(i32, &str)]| parts.iter().map(|(n, e)| (*n, (*e).to_owned())).collect::<Vec<_>>();

    let out_of_order =
        f.ns.complete_upload(&up, &listed(&[(2, &last.etag), (1, &small.etag)]), PutCondition::None)
            .await;
    assert!(
        matches!(out_of_order, Err(NsError::InvalidPartOrder)),
        "{out_of_order:?}"
    );
    let wrong_etag =
        f.ns.complete_upload(&up, &listed(&[(1, "0000"), (2, &last.etag)]), PutCondition::None)
            .await;
    assert!(matches!(wrong_etag, Err(NsError::InvalidPart { .. })), "{wrong_etag:?}");
    let too_small =
        f.ns.complete_upload(&up, &listed(&[(1, &small.etag), (2, &last.etag)]), PutCondition::None)
            .await;
    assert!(
        matches!(too_small, Err(NsError::EntityTooSmall { part: 1, .. })),
        "{too_small:?}"
    );

    let one =
        f.ns.complete_upload(&up, &listed(&[(2, &last.etag)]), PutCondition::None)
            .await
            .unwrap();
    assert!(one.etag.ends_with("-1"), "{}", one.etag);
    assert_eq!(read(&f.ns, "bkt", "big").await, b"end");

    let gone =
        f.ns.create_upload("bkt", "other", &PutOptions::default(), None)
            .await
            .unwrap();
    f.ns.abort_upload(&gone).await.unwrap();
    let lookup = f.ns.upload("bkt", "other", &gone.upload_id).await;
    assert!(matches!(lookup, Err(NsError::NoSuchUpload { .. })), "{lookup:?}");
}
