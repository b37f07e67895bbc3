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
    /// The features the client announced in HELLO `roles`.
    pub features: Features,
}

impl SessionInfo {
    /// Whether the client announced `feature` for `role` in HELLO.
    pub fn has_feature(&self, role: &str, feature: &str) -> bool {
        self.features.has(role, feature)
    }

    /// The session details dict of `wamp.session.on_join` and `wamp.session.get`, as a session
    /// of the `trusted` role sees it.
    pub fn details(&self) -> Dict {
        self.details_for(true)
    }

    /// The session details as `trusted` (`true`) or any other session sees them: the same keys
    /// (Crossbar's shape), but for the others `authextra` and the transport's
    /// `http_headers_received` (`Authorization`, `Cookie`, ...) are empty.
    pub fn details_for(&self, trusted: bool) -> Dict {
        let (authextra, transport) = if trusted {
            (self.authextra.clone(), self.transport.clone())
        } else {
            let mut transport = self.transport.clone();
            if let Some(headers) = transport.get_mut("http_headers_received") {
                *headers = Value::Dict(Dict::new());
            }
            (Dict::new(), transport)
        };
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
            "authextra" => Value::Dict(authextra),
            "transport" => Value::Dict(transport),
        }
    }
}

/// The client roles whose features [`Features`] keeps.
const CLIENT_ROLES: [&str; 4] = ["caller", "callee", "publisher", "subscriber"];

/// The WAMP features [`Features`] can record (at most 32).
const KNOWN_FEATURES: [&str; 24] = [
    "caller_identification",
    "call_trustlevels",
    "call_timeout",
    "call_canceling",
    "call_reroute",
    "progressive_call_results",
    "progressive_call_invocations",
    "pattern_based_registration",
    "shared_registration",
    "sharded_registration",
    "registration_revocation",
    "registration_meta_api",
    "payload_transparency",
    "payload_passthru_mode",
    "publisher_identification",
    "publication_trustlevels",
    "publisher_exclusion",
    "subscriber_blackwhite_listing",
    "pattern_based_subscription",
    "sharded_subscription",
    "subscription_revocation",
    "subscription_meta_api",
    "event_history",
    "event_retention",
];

/// The features a client announced in HELLO `roles` (`{role: {features: {name: true}}}`), as
/// bits per client role. The announced dict itself is kilobytes per session; unknown roles and
/// features are dropped, as the router never asks about them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features([u32; CLIENT_ROLES.len()]);

impl Features {
    /// Reads HELLO's `roles` dict.
    pub fn from_roles(roles: &Dict) -> Self {
        let mut out = Features::default();
        for (r, bits) in CLIENT_ROLES.iter().zip(out.0.iter_mut()) {
            let Some(announced) = roles
                .get(*r)
                .and_then(|r| r.get("features"))
                .and_then(Value::as_dict)
            else {
                continue;
            };
            for (i, f) in KNOWN_FEATURES.iter().enumerate() {
                if announced.get(*f).and_then(Value::as_bool) == Some(true) {
                    *bits |= 1 << i;
                }
            }
        }
        out
    }

    /// Whether `role` announced `feature`.
    pub fn has(&self, role: &str, feature: &str) -> bool {
        let r = CLIENT_ROLES.iter().position(|x| *x == role);
        let f = KNOWN_FEATURES.iter().position(|x| *x == feature);
        match (r, f) {
            (Some(r), Some(f)) => self.0[r] & (1 << f) != 0,
            _ => false,
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

#[cfg(test)]
mod tests {
    use super::Features;
    use wamp_proto::{dict, Value};

    #[test]
    fn features_from_hello_roles() {
        let roles = dict! {
            "callee" => dict! { "features" => dict! {
                "call_canceling" => true,
                "progressive_call_results" => false,
                "no_such_feature" => true,
            }},
            "subscriber" => dict! { "features" => dict! { "pattern_based_subscription" => true }},
            "caller" => dict! { "features" => Value::Null },
        };
        let f = Features::from_roles(&roles);
        assert!(f.has("callee", "call_canceling"));
        assert!(!f.has("callee", "progressive_call_results"));
        assert!(!f.has("callee", "no_such_feature"));
        assert!(!f.has("caller", "call_canceling"));
        assert!(f.has("subscriber", "pattern_based_subscription"));
        assert!(!f.has("dealer", "call_canceling"));
        assert_eq!(Features::from_roles(&dict! {}), Features::default());
    }
}
