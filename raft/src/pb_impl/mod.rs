//! Conversions between this crate's types (and openraft's) and their proto messages, one
//! module per message family, as openraft's `raft-kv-memstore-grpc` example keeps them.

mod leader;
mod meta_cmd;
mod raft_rpc;

pub(crate) use raft_rpc::Reply;
mod status;

/// A message that lacks a field its type needs, or holds a value it cannot.
#[derive(Debug, thiserror::Error)]
#[error("malformed {0}")]
pub(crate) struct Malformed(pub(crate) &'static str);

/// `field`, which a message must have.
pub(crate) fn need<T>(field: Option<T>, what: &'static str) -> Result<T, Malformed> {
    field.ok_or(Malformed(what))
}

/// A value as its proto message.
pub(crate) trait IntoPb {
    /// The message.
    type Pb;
    /// Converts.
    fn into_pb(self) -> Self::Pb;
}

/// A value read back from its proto message.
pub(crate) trait FromPb: Sized {
    /// The message.
    type Pb;
    /// Converts, refusing a malformed message.
    fn from_pb(m: Self::Pb) -> Result<Self, Malformed>;
}
