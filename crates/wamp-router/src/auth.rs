//! Authentication hooks: what decides, from a HELLO, who a session is.
//!
//! The router asks its [`Authenticator`] once per HELLO. The answer is a [`Principal`] to
//! welcome, a challenge to send (and a [`PendingAuth`] that checks the answer), or a rejection
//! sent as ABORT. The hooks are synchronous: decisions are lookups and signature checks, both
//! quick; anything slow belongs in a cache the authenticator keeps.

use wamp_proto::{wamp_errors as err, Dict};

use crate::error::Abort;

/// What the client asked for in HELLO, plus what the transport knows.
#[derive(Debug, Clone)]
pub struct HelloRequest<'a> {
    pub realm: Option<&'a str>,
    pub authid: Option<&'a str>,
    pub authrole: Option<&'a str>,
    pub authmethods: Vec<String>,
    pub authextra: &'a Dict,
    /// Transport details (type, peer, websocket_protocol, ...).
    pub transport: &'a Dict,
    /// The TLS `tls-unique` channel binding value, when the transport is TLS.
    pub tls_unique: Option<&'a [u8]>,
}

/// Who a session is once authenticated.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub realm: String,
    pub authid: String,
    pub authrole: String,
    pub authmethod: String,
    pub authprovider: String,
    pub authextra: Dict,
}

/// The first answer to a HELLO.
pub enum AuthStep {
    Welcome(Principal),
    Challenge {
        authmethod: String,
        extra: Dict,
        pending: Box<dyn PendingAuth>,
    },
    Reject(Abort),
}

/// A challenge in flight; consumed by the client's AUTHENTICATE.
pub trait PendingAuth: Send {
    fn authenticate(self: Box<Self>, signature: &str, extra: &Dict) -> Result<Principal, Abort>;
}

/// Decides who a HELLO is.
pub trait Authenticator: Send + Sync {
    fn hello(&self, req: &HelloRequest<'_>) -> AuthStep;
}

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
        AuthStep::Welcome(Principal {
            realm: realm.to_owned(),
            authid: random_authid(),
            authrole: self.authrole.clone(),
            authmethod: "anonymous".into(),
            authprovider: "static".into(),
            authextra: Dict::new(),
        })
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
