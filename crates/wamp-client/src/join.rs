//! The opening handshake: HELLO, optional CHALLENGE/AUTHENTICATE rounds, then WELCOME or ABORT.
//!
//! It runs before the reader task starts, reading the transport directly, so the session only
//! exists once it is established.

use std::time::Duration;

use tokio::sync::mpsc;
use wamp_proto::{Dict, Message, Value};

use crate::error::{Error, Result};
use crate::options::JoinOptions;
use crate::transport::Incoming;
use crate::types::{Challenge, Welcome};

const DEFAULT_JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the handshake with a time limit.
pub(crate) async fn handshake(
    out: &mpsc::Sender<Message>,
    incoming: &mut Incoming,
    opts: &JoinOptions,
) -> Result<Welcome> {
    let limit = opts.timeout.unwrap_or(DEFAULT_JOIN_TIMEOUT);
    tokio::time::timeout(limit, exchange(out, incoming, opts))
        .await
        .map_err(|_| Error::Timeout(format!("no WELCOME within {limit:?}")))?
}

async fn exchange(
    out: &mpsc::Sender<Message>,
    incoming: &mut Incoming,
    opts: &JoinOptions,
) -> Result<Welcome> {
    let hello = Message::Hello {
        realm: opts.realm.clone(),
        details: hello_details(opts),
    };
    send(out, hello).await?;
    loop {
        let msg = match incoming.next().await {
            Some(msg) => msg?,
            None => return Err(Error::closed("transport closed during the handshake")),
        };
        match msg {
            Message::Welcome { session, details } => return Ok(Welcome::new(session, details)),
            Message::Abort { details, reason } => return Err(aborted(reason, details)),
            Message::Challenge { authmethod, extra } => {
                let answer = answer_challenge(opts, Challenge { authmethod, extra }).await;
                let reply = match answer {
                    Ok(r) => Message::Authenticate {
                        signature: r.signature,
                        extra: r.extra,
                    },
                    Err(e) => {
                        abort_handshake(out, &e).await;
                        return Err(e);
                    }
                };
                send(out, reply).await?;
            }
            other => {
                let e = Error::Protocol(format!("{} during the handshake", other.name()));
                abort_handshake(out, &e).await;
                return Err(e);
            }
        }
    }
}

async fn answer_challenge(
    opts: &JoinOptions,
    challenge: Challenge,
) -> Result<crate::types::AuthenticateResponse> {
    let Some(handler) = &opts.on_challenge else {
        return Err(Error::Auth(format!(
            "router sent a {} challenge and no challenge handler is set",
            challenge.authmethod
        )));
    };
    handler(challenge).await
}

/// Tells the router we give up (best effort).
async fn abort_handshake(out: &mpsc::Sender<Message>, e: &Error) {
    let reason = match e {
        Error::Protocol(_) => wamp_proto::wamp_errors::PROTOCOL_VIOLATION,
        _ => wamp_proto::wamp_errors::AUTHENTICATION_FAILED,
    };
    let mut details = Dict::new();
    details.insert("message".into(), e.to_string().into());
    let _ = out
        .send(Message::Abort {
            details,
            reason: reason.into(),
        })
        .await;
}

async fn send(out: &mpsc::Sender<Message>, msg: Message) -> Result<()> {
    out.send(msg)
        .await
        .map_err(|_| Error::closed("transport closed during the handshake"))
}

/// Turns an ABORT into the error returned by `join`.
fn aborted(reason: String, details: Dict) -> Error {
    let message = details
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Error::Aborted {
        reason,
        message,
        details,
    }
}

/// The HELLO details: credentials and the roles with the features this client implements.
pub(crate) fn hello_details(opts: &JoinOptions) -> Dict {
    let mut d = Dict::new();
    d.insert("roles".into(), roles().into());
    if !opts.authmethods.is_empty() {
        let methods = opts
            .authmethods
            .iter()
            .map(|m| Value::from(m.as_str()))
            .collect::<Vec<_>>();
        d.insert("authmethods".into(), methods.into());
    }
    if let Some(authid) = &opts.authid {
        d.insert("authid".into(), authid.as_str().into());
    }
    if let Some(authrole) = &opts.authrole {
        d.insert("authrole".into(), authrole.as_str().into());
    }
    if !opts.authextra.is_empty() {
        d.insert("authextra".into(), opts.authextra.clone().into());
    }
    d
}

fn roles() -> Dict {
    let role = |features: &[&str]| {
        let f: Dict = features
            .iter()
            .map(|f| ((*f).to_owned(), Value::Bool(true)))
            .collect();
        let mut r = Dict::new();
        r.insert("features".into(), f.into());
        Value::Dict(r)
    };
    let mut roles = Dict::new();
    roles.insert(
        "caller".into(),
        role(&[
            "caller_identification",
            "progressive_call_results",
            "call_canceling",
            "call_timeout",
        ]),
    );
    roles.insert(
        "callee".into(),
        role(&[
            "caller_identification",
            "progressive_call_results",
            "call_canceling",
            "call_timeout",
            "pattern_based_registration",
            "shared_registration",
        ]),
    );
    roles.insert(
        "publisher".into(),
        role(&[
            "publisher_identification",
            "subscriber_blackwhite_listing",
            "publisher_exclusion",
        ]),
    );
    roles.insert(
        "subscriber".into(),
        role(&[
            "publisher_identification",
            "pattern_based_subscription",
            "event_retention",
        ]),
    );
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_hello_has_roles_only() {
        let d = hello_details(&JoinOptions::realm("realm1"));
        assert_eq!(d.keys().collect::<Vec<_>>(), ["roles"]);
        let callee = d
            .get("roles")
            .and_then(|r| r.get("callee"))
            .and_then(|c| c.get("features"));
        assert_eq!(
            callee.and_then(|f| f.get("call_canceling")),
            Some(&Value::Bool(true))
        );
    }

    #[test]
    fn credentials_go_into_hello() {
        let opts = JoinOptions::realm("r")
            .authid("joe")
            .authrole("user")
            .authmethods(["ticket"]);
        let d = hello_details(&opts);
        assert_eq!(d.get("authid"), Some(&Value::from("joe")));
        assert_eq!(d.get("authrole"), Some(&Value::from("user")));
        assert_eq!(
            d.get("authmethods"),
            Some(&Value::List(vec!["ticket".into()]))
        );
        assert!(!d.contains_key("authextra"));
    }
}
