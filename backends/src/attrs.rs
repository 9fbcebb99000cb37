//! [`Attrs`]: what a store keeps with an object (content type, headers, user metadata),
//! to and from `object_store`'s attributes.

use object_store::{Attribute, Attributes};

/// Object attributes as plain strings: `content-type`, `cache-control`,
/// `content-disposition`, `content-encoding`, `content-language`, and `meta:NAME` for
/// user metadata.
pub type Attrs = std::collections::BTreeMap<String, String>;

pub(crate) fn to_store_attrs(attrs: &Attrs) -> Attributes {
    let mut out = Attributes::new();
    for (k, v) in attrs {
        let key = match k.as_str() {
            "content-type" => Attribute::ContentType,
            "cache-control" => Attribute::CacheControl,
            "content-disposition" => Attribute::ContentDisposition,
            "content-encoding" => Attribute::ContentEncoding,
            "content-language" => Attribute::ContentLanguage,
            other => match other.strip_prefix("meta:") {
                Some(name) => Attribute::Metadata(name.to_owned().into()),
                None => continue,
            },
        };
        out.insert(key, v.clone().into());
    }
    out
}

pub(crate) fn from_store_attrs(attrs: &Attributes) -> Attrs {
    attrs
        .iter()
        .filter_map(|(k, v)| {
            let key = match k {
                Attribute::ContentType => "content-type".to_owned(),
                Attribute::CacheControl => "cache-control".to_owned(),
                Attribute::ContentDisposition => "content-disposition".to_owned(),
                Attribute::ContentEncoding => "content-encoding".to_owned(),
                Attribute::ContentLanguage => "content-language".to_owned(),
                Attribute::Metadata(name) => format!("meta:{}", name.to_ascii_lowercase()),
                _ => return None,
            };
            Some((key, v.as_ref().to_owned()))
        })
        .collect()
}
