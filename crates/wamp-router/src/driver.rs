//! The per-connection session state machine, shared by every transport: HELLO → (CHALLENGE →
//! AUTHENTICATE →) WELCOME, then hands each message to the realm until the session ends.
//!
//! Anything a client sends out of turn ends its session with ABORT
//! `wamp.error.protocol_violation`; other sessions are not affected.

use std::sync::Arc;

use tracing::{debug, info};
use wamp_proto::{dict, wamp_errors as err, Dict, Message, Value};

use crate::auth::{AuthStep, HelloRequest, PendingAuth, Principal};
use crate::error::Abort;
use crate::outgoing::{close, OutTx, Outgoing};
use crate::ratelog::warn_limited;
use crate::realm::{Handled, Realm};
use crate::session::{router_roles, Features, SessionInfo};
use crate::util::random_id;
use crate::Router;

/// Whether the connection stays open after a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Close,
}

enum State {
    Fresh,
    Challenged {
        pending: Box<dyn PendingAuth>,
        hello: Hello,
    },
    Joined {
        realm: Arc<Realm>,
        info: Arc<SessionInfo>,
    },
    Closed,
}

/// What we keep from HELLO while a challenge is out.
struct Hello {
    features: Features,
}

/// Drives one session over one connection.
pub struct Driver {
    router: Arc<Router>,
    tx: OutTx,
    transport: Dict,
    tls_unique: Option<Vec<u8>>,
    state: State,
}

impl Driver {
    pub fn new(
        router: Arc<Router>,
        tx: OutTx,
        transport: Dict,
        tls_unique: Option<Vec<u8>>,
    ) -> Self {
        Driver {
            router,
            tx,
            transport,
            tls_unique,
            state: State::Fresh,
        }
    }

    /// The joined session's id, if any.
    pub fn session_id(&self) -> Option<u64> {
        match &self.state {
            State::Joined { info, .. } => Some(info.id),
            _ => None,
        }
    }

    /// Handles one message from the client.
    pub fn handle(&mut self, msg: Message) -> Flow {
        let state = std::mem::replace(&mut self.state, State::Closed);
        let (next, flow) = match state {
            State::Fresh => self.on_fresh(msg),
            State::Challenged { pending, hello } => self.on_challenged(pending, hello, msg),
            State::Joined { realm, info } => match realm.handle(&info, msg) {
                Ok(Handled::Continue) => (State::Joined { realm, info }, Flow::Continue),
                Ok(Handled::Gone) => (State::Closed, Flow::Close),
                Err(abort) => {
                    realm.leave(info.id);
                    (State::Closed, self.abort(abort))
                }
            },
            State::Closed => (State::Closed, Flow::Close),
        };
        self.state = next;
        flow
    }

    /// Ends the session with ABORT (a protocol violation found by the transport, for instance).
    pub fn abort(&mut self, abort: Abort) -> Flow {
        warn_limited!(reason = %abort.reason, message = %abort.message, "aborting session");
        if let State::Joined { realm, info } = std::mem::replace(&mut self.state, State::Closed) {
            realm.leave(info.id);
        }
        let code = match abort.reason.as_str() {
            err::PROTOCOL_VIOLATION => close::PROTOCOL_ERROR,
            err::PAYLOAD_SIZE_EXCEEDED => close::TOO_BIG,
            _ => close::NORMAL,
        };
        let details = dict! { "message" => abort.message };
        let _ = self.tx.msg(Message::Abort {
            details,
            reason: abort.reason,
        });
        let _ = self.tx.send(Outgoing::Close(code));
        Flow::Close
    }

    /// The transport is gone: leave the realm.
    pub fn closed(&mut self) {
        if let State::Joined { realm, info } = std::mem::replace(&mut self.state, State::Closed) {
            debug!(session = info.id, "transport closed");
            realm.leave(info.id);
        }
    }

    fn on_fresh(&mut self, msg: Message) -> (State, Flow) {
        let Message::Hello { realm, details } = msg else {
            let text = format!("expected HELLO, got {}", msg.name());
            return (State::Closed, self.abort(Abort::protocol(text)));
        };
        // before the authenticator sees it
        let max = self.router.config().max_uri_length;
        if let Err(text) =
            crate::limits::check_uri_length(realm.as_deref().unwrap_or(""), max, "realm")
        {
            return (
                State::Closed,
                self.abort(Abort::new(err::INVALID_URI, text)),
            );
        }
        let authmethods: Vec<String> = match details.get("authmethods") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::List(l)) => l
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(_) => {
                return (
                    State::Closed,
                    self.abort(Abort::protocol("HELLO.Details.authmethods must be a list")),
                )
            }
        };
        let empty = Dict::new();
        let authextra = details
            .get("authextra")
            .and_then(Value::as_dict)
            .unwrap_or(&empty);
        let req = HelloRequest {
            realm: realm.as_deref(),
            authid: details.get("authid").and_then(Value::as_str),
            authrole: details.get("authrole").and_then(Value::as_str),
            authmethods,
            authextra,
            transport: &self.transport,
            tls_unique: self.tls_unique.as_deref(),
        };
        let step = self.router.authenticator().hello(&req);
        // The authenticator's own refusal wins; otherwise a named realm or role must exist.
        if let (false, Err(abort)) = (
            matches!(step, AuthStep::Reject(_)),
            self.check_requested(&req),
        ) {
            return (State::Closed, self.abort(abort));
        }
        let features = details
            .get("roles")
            .and_then(Value::as_dict)
            .map(Features::from_roles)
            .unwrap_or_default();
        let hello = Hello { features };
        match step {
            AuthStep::Welcome(p) => self.welcome(p, hello),
            AuthStep::Reject(a) => (State::Closed, self.abort(a)),
            AuthStep::Challenge {
                authmethod,
                extra,
                pending,
            } => {
                let _ = self.tx.msg(Message::Challenge { authmethod, extra });
                (State::Challenged { pending, hello }, Flow::Continue)
            }
        }
    }

    /// Refuses a HELLO whose named realm or role does not exist (unless the authenticator
    /// already refused it with a more specific reason).
    fn check_requested(&self, req: &HelloRequest<'_>) -> Result<(), Abort> {
        let Some(name) = req.realm else { return Ok(()) };
        if !wamp_proto::uri::validate(name, wamp_proto::MatchPolicy::Exact, false) {
            return Err(Abort::new(
                err::INVALID_URI,
                format!("invalid realm name \"{name}\""),
            ));
        }
        let Some(realm) = self.router.realm(name) else {
            return Err(Abort::new(
                err::NO_SUCH_REALM,
                format!("no realm \"{name}\" exists on this router"),
            ));
        };
        match req.authrole {
            Some(role) if !realm.has_role(role) => Err(Abort::new(
                err::NO_SUCH_ROLE,
                format!("realm \"{name}\" has no role \"{role}\""),
            )),
            _ => Ok(()),
        }
    }

    fn on_challenged(
        &mut self,
        pending: Box<dyn PendingAuth>,
        hello: Hello,
        msg: Message,
    ) -> (State, Flow) {
        match msg {
            Message::Authenticate { signature, extra } => {
                match pending.authenticate(&signature, &extra) {
                    Ok(p) => self.welcome(p, hello),
                    Err(a) => (State::Closed, self.abort(a)),
                }
            }
            Message::Abort { .. } => (State::Closed, Flow::Close),
            other => {
                let text = format!("expected AUTHENTICATE, got {}", other.name());
                (State::Closed, self.abort(Abort::protocol(text)))
            }
        }
    }

    fn welcome(&mut self, p: Principal, hello: Hello) -> (State, Flow) {
        let Some(realm) = self.router.realm(&p.realm) else {
            let text = format!("no realm \"{}\" exists on this router", p.realm);
            return (
                State::Closed,
                self.abort(Abort::new(err::NO_SUCH_REALM, text)),
            );
        };
        if !realm.has_role(&p.authrole) {
            let text = format!("realm \"{}\" has no role \"{}\"", p.realm, p.authrole);
            return (
                State::Closed,
                self.abort(Abort::new(err::NO_SUCH_ROLE, text)),
            );
        }
        let info = Arc::new(SessionInfo {
            id: random_id(),
            realm: p.realm,
            authid: p.authid,
            authrole: p.authrole,
            authmethod: p.authmethod,
            authprovider: p.authprovider,
            authextra: p.authextra,
            // the session keeps the transport details; the driver no longer needs them
            transport: std::mem::take(&mut self.transport),
            features: hello.features,
        });
        let details = dict! {
            "realm" => info.realm.clone(),
            "authid" => info.authid.clone(),
            "authrole" => info.authrole.clone(),
            "authmethod" => info.authmethod.clone(),
            "authprovider" => info.authprovider.clone(),
            "authextra" => Value::Dict(info.authextra.clone()),
            "roles" => router_roles(),
        };
        let auth = self.router.authenticator();
        let admit = |s: &SessionInfo, joined: &dyn Fn() -> usize| auth.admit(s, joined);
        if let Err(abort) = realm.join(info.clone(), self.tx.clone(), details, admit) {
            info!(realm = %info.realm, authid = %info.authid, reason = %abort.reason, "session refused at WELCOME");
            return (State::Closed, self.abort(abort));
        }
        info!(session = info.id, realm = %info.realm, authid = %info.authid, authrole = %info.authrole, "session joined");
        (State::Joined { realm, info }, Flow::Continue)
    }
}
