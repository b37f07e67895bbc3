//! What the router knows about one joined session, and the features it announces in WELCOME.

use std::sync::Arc;

use wamp_proto::{dict, Dict, Id, Value};

use crate::outgoing::OutTx;

/// The identity of a joined session; fixed from WELCOME on.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInfo {
    pub id: Id,
    pub realm: String,
    pub authid: String,
    pub authrole: String,
    pub authmethod: String,
    pub authprovider: String,
    pub authextra: Dict,
    /// Transport details (`type`, `peer`, `websocket_protocol`, ...), as in the meta API.
    pub transport: Dict,
    /// The client's `roles` from HELLO.
    pub roles: Dict,
}

impl SessionInfo {
    /// Whether the client announced `feature` for `role` in HELLO.
    pub fn has_feature(&self, role: &str, feature: &str) -> bool {
        self.roles
            .get(role)
            .and_then(|r| r.get("features"))
            .and_then(|f| f.get(feature))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The session details dict of `wamp.session.on_join` and `wamp.session.get`.
    pub fn details(&self) -> Dict {
        dict! {
            "realm" => self.realm.clone(),
            "session" => self.id,
            "resumed" => false,
            "resumable" => false,
            "resume_token" => Value::Null,
            "serializer" => self.transport.get("websocket_protocol").cloned().unwrap_or_default(),
            "authid" => self.authid.clone(),
            "authrole" => self.authrole.clone(),
            "authmethod" => self.authmethod.clone(),
            "authprovider" => self.authprovider.clone(),
            "authextra" => Value::Dict(self.authextra.clone()),
            "transport" => Value::Dict(self.transport.clone()),
        }
    }
}

/// A joined session as the realm holds it.
#[derive(Debug, Clone)]
pub struct SessionEntry {
    pub info: Arc<SessionInfo>,
    pub tx: OutTx,
}

fn features(names: &[&str]) -> Value {
    Value::Dict(
        names
            .iter()
            .map(|n| (n.to_string(), Value::Bool(true)))
            .collect(),
    )
}

/// The `roles` of WELCOME: the broker and dealer features this router implements.
pub fn router_roles() -> Dict {
    dict! {
        "broker" => dict! { "features" => features(&[
            "publisher_identification",
            "pattern_based_subscription",
            "session_meta_api",
            "subscription_meta_api",
            "subscriber_blackwhite_listing",
            "publisher_exclusion",
            "payload_transparency",
        ])},
        "dealer" => dict! { "features" => features(&[
            "caller_identification",
            "pattern_based_registration",
            "session_meta_api",
            "registration_meta_api",
            "shared_registration",
            "progressive_call_results",
            "call_canceling",
            "call_timeout",
            "payload_transparency",
        ])},
    }
}
