//! Authentication hooks: what decides, from a HELLO, who a session is.
//!
//! The router asks its [`Authenticator`] once per HELLO. The answer is a [`Principal`] to
//! welcome, a challenge to send (and a [`PendingAuth`] that checks the answer), or a rejection
//! sent as ABORT. The hooks are synchronous: decisions are lookups and signature checks, both
//! quick; anything slow belongs in a cache the authenticator keeps.
//!
//! Building blocks: [`AnonymousAuth`] (any realm, one role), [`StaticAuth`] (principals per realm
//! for anonymous, ticket and cryptosign) and [`cryptosign::challenge`], which a dynamic
//! authenticator (the master's) uses once it knows whose key it is.

use wamp_proto::Dict;

use crate::error::Abort;
use crate::session::SessionInfo;

mod anonymous;
pub mod cryptosign;
mod static_auth;
mod ticket;

pub use anonymous::{random_authid, AnonymousAuth};
pub use static_auth::{RealmAuth, StaticAuth};

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

    /// The last word before WELCOME, asked under the realm's lock in the same critical section
    /// that adds the session (so whatever revokes a principal and then kills its sessions under
    /// that lock can never miss a session welcomed in between). `joined()` counts the sessions
    /// of the realm that already have the session's authid and authrole (a scan: call it only
    /// when needed). Must be quick: it holds the realm's lock. Default: admit.
    fn admit(&self, session: &SessionInfo, joined: &dyn Fn() -> usize) -> Result<(), Abort> {
        let _ = (session, joined);
        Ok(())
    }
}
