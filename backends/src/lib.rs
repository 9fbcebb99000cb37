//! Mount URIs and options, turned into stores behind one [`Backend`] type: S3 on the AWS
//! SDK's client, the others on `object_store`.
//!
//! The namespace talks to stores only through [`Backend`], in mount-relative keys (plain
//! strings); this crate owns the mapping to `object_store` paths, the key rules of each
//! store, and sorted listings.

mod attrs;
mod backend;
pub mod checksum;
mod cloud;
mod env_options;
mod error;
mod file_stream;
mod keys;
mod local_list;
mod local_path;
mod local_temp;
mod options;
mod registry;
mod s3;
mod upstream;
mod uri;
mod writer;

pub use attrs::Attrs;
pub use backend::{Backend, ByteStream, GetSpan, ObjectMeta, ReadRange};
pub use env_options::fill_from_env;
pub use error::{BackendError, StoreCause};
pub use keys::{KeyRule, check_path_segment, has_control_char};
pub use local_temp::reclaim_temp_files;
pub use options::{CachePolicy, MountOptions};
pub use registry::Registry;
pub use upstream::UpstreamMetrics;
pub use uri::{MountUri, StoreKind};
pub use writer::BackendWriter;
