//! Errors of the protocol layer: bytes that are not a valid WAMP message.

/// Why a frame could not be turned into a message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProtoError {
    /// The bytes are not valid in the serializer's format.
    #[error("cannot decode {format} payload: {reason}")]
    Decode {
        format: &'static str,
        reason: String,
    },
    /// The value decoded but is not a well-formed WAMP message.
    #[error("malformed message: {0}")]
    Shape(String),
    /// A message type code that WAMP v2 does not define.
    #[error("unknown message type {0}")]
    UnknownMessageType(u64),
    /// Batched framing that does not add up.
    #[error("bad batch framing: {0}")]
    Framing(String),
    /// The message could not be serialized.
    #[error("cannot encode message: {0}")]
    Encode(String),
}

impl ProtoError {
    pub fn shape(msg: impl Into<String>) -> Self {
        ProtoError::Shape(msg.into())
    }
}
