//! Plain data handed to users: WELCOME details, CHALLENGEs, call results and events.

use wamp_proto::{Dict, Id, Payload, Value};

/// A CHALLENGE from the router during the opening handshake.
#[derive(Debug, Clone, PartialEq)]
pub struct Challenge {
    pub authmethod: String,
    pub extra: Dict,
}

/// The answer to a [`Challenge`] (the AUTHENTICATE message).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuthenticateResponse {
    pub signature: String,
    pub extra: Dict,
}

impl AuthenticateResponse {
    pub fn new(signature: impl Into<String>) -> Self {
        AuthenticateResponse {
            signature: signature.into(),
            extra: Dict::new(),
        }
    }
}

/// What the router said in WELCOME.
#[derive(Debug, Clone, PartialEq)]
pub struct Welcome {
    pub session: Id,
    pub realm: Option<String>,
    pub authid: Option<String>,
    pub authrole: Option<String>,
    pub authmethod: Option<String>,
    /// The full WELCOME details.
    pub details: Dict,
}

impl Welcome {
    pub(crate) fn new(session: Id, details: Dict) -> Self {
        let s = |k: &str| details.get(k).and_then(Value::as_str).map(str::to_owned);
        Welcome {
            session,
            realm: s("realm"),
            authid: s("authid"),
            authrole: s("authrole"),
            authmethod: s("authmethod"),
            details,
        }
    }
}

/// A RESULT: the answer to a call (final or progressive).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CallResult {
    pub args: Vec<Value>,
    pub kwargs: Dict,
    pub details: Dict,
}

impl CallResult {
    pub(crate) fn new(details: Dict, payload: Payload) -> Self {
        CallResult {
            args: payload.args,
            kwargs: payload.kwargs,
            details,
        }
    }

    /// Whether this is a progressive (non-final) result.
    pub fn is_progress(&self) -> bool {
        is_progress(&self.details)
    }

    /// The first positional argument, the usual single return value.
    pub fn first(&self) -> Option<&Value> {
        self.args.first()
    }
}

/// An EVENT received on a subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub subscription: Id,
    pub publication: Id,
    pub args: Vec<Value>,
    pub kwargs: Dict,
    pub details: Dict,
}

impl Event {
    /// The concrete topic (sent by routers for prefix and wildcard subscriptions).
    pub fn topic(&self) -> Option<&str> {
        self.details.get("topic").and_then(Value::as_str)
    }

    /// The publisher's session id, if the router disclosed it.
    pub fn publisher(&self) -> Option<Id> {
        self.details.get("publisher").and_then(Value::as_u64)
    }
}

/// Whether a RESULT or YIELD details/options dict has `progress: true`.
pub(crate) fn is_progress(details: &Dict) -> bool {
    details
        .get("progress")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}
