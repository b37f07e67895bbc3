//! The crate's error type, and [`WampError`]: an application error as it travels in an ERROR
//! message (URI plus payload), returned by handlers and received by callers.

use std::fmt;

use wamp_proto::{Dict, Value};

/// An application error in WAMP form: the error URI and an optional payload.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WampError {
    pub uri: String,
    pub args: Vec<Value>,
    pub kwargs: Dict,
}

impl WampError {
    /// An error with a URI and no payload.
    pub fn new(uri: impl Into<String>) -> Self {
        WampError {
            uri: uri.into(),
            args: Vec::new(),
            kwargs: Dict::new(),
        }
    }

    /// An error with a URI and a single human-readable message argument.
    pub fn with_message(uri: impl Into<String>, message: impl Into<String>) -> Self {
        WampError {
            uri: uri.into(),
            args: vec![Value::Str(message.into())],
            kwargs: Dict::new(),
        }
    }

    /// Replaces the positional arguments.
    pub fn args(mut self, args: Vec<Value>) -> Self {
        self.args = args;
        self
    }

    /// Replaces the keyword arguments.
    pub fn kwargs(mut self, kwargs: Dict) -> Self {
        self.kwargs = kwargs;
        self
    }

    /// The first positional argument if it is a string (the usual error message).
    pub fn message(&self) -> Option<&str> {
        self.args.first().and_then(Value::as_str)
    }
}

impl fmt::Display for WampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(m) => write!(f, "{}: {m}", self.uri),
            None => write!(f, "{}", self.uri),
        }
    }
}

impl std::error::Error for WampError {}

/// Everything that can go wrong in a client session.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The peer answered a request with an ERROR message.
    #[error("WAMP error {uri}{}", fmt_args(args))]
    Wamp {
        uri: String,
        args: Vec<Value>,
        kwargs: Dict,
    },
    /// The router refused to open the session (ABORT during the handshake).
    #[error("session aborted: {reason}{}", message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Aborted {
        reason: String,
        message: Option<String>,
        details: Dict,
    },
    /// The session is closed (GOODBYE, ABORT, transport closed); `reason` says why.
    #[error("session closed: {reason}")]
    Closed { reason: String },
    /// No answer arrived in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// A CHALLENGE arrived that the session cannot answer.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The peer broke the WAMP protocol.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// A message could not be encoded or decoded.
    #[error(transparent)]
    Codec(#[from] wamp_proto::ProtoError),
    /// The WebSocket connection failed.
    #[error("websocket: {0}")]
    WebSocket(#[from] Box<tokio_tungstenite::tungstenite::Error>),
    /// The transport could not be set up (bad URL, no subprotocol agreed, ...).
    #[error("transport: {0}")]
    Transport(String),
}

impl Error {
    /// The WAMP error URI, if this is an error from the peer.
    pub fn uri(&self) -> Option<&str> {
        match self {
            Error::Wamp { uri, .. } => Some(uri),
            Error::Aborted { reason, .. } => Some(reason),
            _ => None,
        }
    }

    pub(crate) fn closed(reason: impl Into<String>) -> Self {
        Error::Closed {
            reason: reason.into(),
        }
    }
}

impl From<WampError> for Error {
    fn from(e: WampError) -> Self {
        Error::Wamp {
            uri: e.uri,
            args: e.args,
            kwargs: e.kwargs,
        }
    }
}

impl From<tokio_tungstenite::tungstenite::Error> for Error {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        Error::WebSocket(Box::new(e))
    }
}

fn fmt_args(args: &[Value]) -> String {
    match args.first().and_then(Value::as_str) {
        Some(m) => format!(": {m}"),
        None if args.is_empty() => String::new(),
        None => format!(" {args:?}"),
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
