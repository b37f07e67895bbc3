//! Static authentication: per realm, who may join by which method and with which role.
//!
//! The methods the client offers in HELLO are tried in its order; the first one this realm has
//! principals for is used. A client offering nothing usable gets `wamp.error.no_auth_method`.

use std::collections::HashMap;

use wamp_proto::cryptosign::LEN;
use wamp_proto::wamp_errors as err;

use super::anonymous::anonymous_principal;
use super::{cryptosign, ticket, AuthStep, Authenticator, HelloRequest, Principal};
use crate::error::Abort;

/// Who may join one realm.
#[derive(Debug, Clone, Default)]
pub struct RealmAuth {
    /// Role of anonymous sessions; `None` refuses anonymous.
    pub anonymous: Option<String>,
    /// authid → (ticket secret, role).
    pub tickets: HashMap<String, (String, String)>,
    /// Ed25519 public key → (authid, role).
    pub cryptosign: HashMap<[u8; LEN], (String, String)>,
}

/// Static principals for each realm.
#[derive(Debug, Clone, Default)]
pub struct StaticAuth {
    pub realms: HashMap<String, RealmAuth>,
}

impl StaticAuth {
    /// The realm's entry, created empty on first use (for building the configuration).
    pub fn realm(&mut self, name: &str) -> &mut RealmAuth {
        self.realms.entry(name.to_owned()).or_default()
    }
}

fn principal(realm: &str, authid: &str, authrole: &str, method: &str) -> Principal {
    Principal {
        realm: realm.to_owned(),
        authid: authid.to_owned(),
        authrole: authrole.to_owned(),
        authmethod: method.to_owned(),
        authprovider: "static".into(),
        authextra: Default::default(),
    }
}

impl Authenticator for StaticAuth {
    fn hello(&self, req: &HelloRequest<'_>) -> AuthStep {
        let Some(realm) = req.realm else {
            return AuthStep::Reject(Abort::new(err::NO_SUCH_REALM, "no realm requested"));
        };
        let Some(conf) = self.realms.get(realm) else {
            let msg = format!("no realm \"{realm}\" exists on this router");
            return AuthStep::Reject(Abort::new(err::NO_SUCH_REALM, msg));
        };
        let anonymous = vec!["anonymous".to_owned()];
        let methods = if req.authmethods.is_empty() {
            &anonymous
        } else {
            &req.authmethods
        };
        for method in methods {
            match method.as_str() {
                "anonymous" => {
                    if let Some(role) = &conf.anonymous {
                        return AuthStep::Welcome(anonymous_principal(realm, role));
                    }
                }
                "ticket" if !conf.tickets.is_empty() => return ticket_step(realm, conf, req),
                "cryptosign" if !conf.cryptosign.is_empty() => {
                    return cryptosign_step(realm, conf, req)
                }
                _ => {}
            }
        }
        let msg = format!("cannot authenticate using any of the offered authmethods {methods:?}");
        AuthStep::Reject(Abort::new(err::NO_AUTH_METHOD, msg))
    }
}

fn ticket_step(realm: &str, conf: &RealmAuth, req: &HelloRequest<'_>) -> AuthStep {
    let Some(authid) = req.authid else {
        return AuthStep::Reject(Abort::new(
            err::INVALID_ARGUMENT,
            "ticket: HELLO.Details.authid is required",
        ));
    };
    match conf.tickets.get(authid) {
        Some((secret, role)) => {
            ticket::challenge(secret.clone(), principal(realm, authid, role, "ticket"))
        }
        None => {
            let msg = format!("ticket: no principal with authid '{authid}' on realm '{realm}'");
            AuthStep::Reject(Abort::new("wamp.error.no_such_principal", msg))
        }
    }
}

fn cryptosign_step(realm: &str, conf: &RealmAuth, req: &HelloRequest<'_>) -> AuthStep {
    let pubkey = match cryptosign::requested_pubkey(req) {
        Ok(k) => k,
        Err(a) => return AuthStep::Reject(a),
    };
    match conf.cryptosign.get(&pubkey) {
        Some((authid, role)) => {
            cryptosign::challenge(req, pubkey, principal(realm, authid, role, "cryptosign"))
        }
        None => {
            let msg = format!(
                "cryptosign: no principal with public key {} on realm '{realm}'",
                hex::encode(pubkey)
            );
            AuthStep::Reject(Abort::new("wamp.error.no_such_principal", msg))
        }
    }
}
