//! `wamp-proto`: the WAMP v2 protocol as pure data — messages, ids, URIs, payload values and
//! serializers. No I/O, no async: every function here is safe to feed hostile bytes (it returns
//! a [`ProtoError`], never panics), which makes the crate fuzzable.

pub mod codec;
pub mod cryptosign;
pub mod error;
pub mod id;
pub mod keyfile;
pub mod message;
pub mod time;
pub mod uri;
pub mod value;
pub mod wamp_errors;

pub use codec::{Format, Serializer};
pub use error::ProtoError;
pub use id::{Id, IdSeq, MAX_ID};
pub use message::{Message, Payload};
pub use uri::MatchPolicy;
pub use value::{Dict, Value};
