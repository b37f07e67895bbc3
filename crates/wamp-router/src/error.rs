//! Errors of the router layer.

use wamp_proto::ProtoError;

/// What can go wrong while serving a connection or managing realms.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error(transparent)]
    Proto(#[from] ProtoError),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("WebSocket error: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("realm '{0}' already exists")]
    RealmExists(String),
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// A reason to end a session with ABORT: the URI and a human-readable message.
#[derive(Debug, Clone, PartialEq)]
pub struct Abort {
    pub reason: String,
    pub message: String,
}

impl Abort {
    pub fn new(reason: &str, message: impl Into<String>) -> Self {
        Abort {
            reason: reason.to_owned(),
            message: message.into(),
        }
    }
    pub fn protocol(message: impl Into<String>) -> Self {
        Abort::new(wamp_proto::wamp_errors::PROTOCOL_VIOLATION, message)
    }
}
