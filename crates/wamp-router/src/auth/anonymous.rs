//! Anonymous authentication: any realm, one configured role, a random authid.

use wamp_proto::{wamp_errors as err, Dict};

use super::{AuthStep, Authenticator, HelloRequest, Principal};
use crate::error::Abort;

/// Anonymous authentication on every realm that has the configured role.
#[derive(Debug, Clone)]
pub struct AnonymousAuth {
    pub authrole: String,
}

impl Authenticator for AnonymousAuth {
    fn hello(&self, req: &HelloRequest<'_>) -> AuthStep {
        let offered =
            req.authmethods.is_empty() || req.authmethods.iter().any(|m| m == "anonymous");
        if !offered {
            let msg = format!(
                "cannot authenticate using any of the offered authmethods {:?}",
                req.authmethods
            );
            return AuthStep::Reject(Abort::new(err::NO_AUTH_METHOD, msg));
        }
        let Some(realm) = req.realm else {
            return AuthStep::Reject(Abort::new(err::NO_SUCH_REALM, "no realm assigned"));
        };
        AuthStep::Welcome(anonymous_principal(realm, &self.authrole))
    }
}

/// A random authid in Crossbar's style: `6NHT-YYAS-...`, six groups of four.
pub fn random_authid() -> String {
    const CHARS: &[u8] = b"345679ACEFGHJKLMNPQRSTUVWXY";
    let groups: Vec<String> = (0..6)
        .map(|_| {
            (0..4)
                .map(|_| CHARS[rand::random::<usize>() % CHARS.len()] as char)
                .collect()
        })
        .collect();
    groups.join("-")
}

/// The WELCOME of an anonymous session on `realm` with `authrole`.
pub(crate) fn anonymous_principal(realm: &str, authrole: &str) -> Principal {
    Principal {
        realm: realm.to_owned(),
        authid: random_authid(),
        authrole: authrole.to_owned(),
        authmethod: "anonymous".into(),
        authprovider: "static".into(),
        authextra: Dict::new(),
    }
}
