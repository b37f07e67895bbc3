//! The WAMP meta API procedures (`wamp.session.*`, `wamp.registration.*`,
//! `wamp.subscription.*`), answered by the router from the realm's own state with Crossbar's
//! argument conventions and result shapes. The meta events are published where the state
//! changes (realm, broker and dealer modules).

use wamp_proto::message::code;
use wamp_proto::uri::MatchPolicy;
use wamp_proto::{dict, wamp_errors as err, Dict, Id, Message, Payload, Value};

use crate::realm::{RealmState, TRUSTED};
use crate::session::SessionInfo;

/// A meta procedure's outcome: a result payload or an error URI with a message.
type MetaResult = Result<Value, (&'static str, String)>;

fn arg_id(args: &[Value], i: usize, name: &str) -> Result<Id, (&'static str, String)> {
    args.get(i).and_then(Value::as_u64).ok_or_else(|| {
        (
            err::INVALID_ARGUMENT,
            format!("argument '{name}' must be an integer id"),
        )
    })
}

fn arg_str<'a>(args: &'a [Value], i: usize, name: &str) -> Result<&'a str, (&'static str, String)> {
    args.get(i).and_then(Value::as_str).ok_or_else(|| {
        (
            err::INVALID_ARGUMENT,
            format!("argument '{name}' must be a string"),
        )
    })
}

/// The `filter_authroles` argument (positional or keyword).
fn authrole_filter(p: &Payload) -> Result<Option<Vec<String>>, (&'static str, String)> {
    let v = p.args.first().or_else(|| p.kwargs.get("filter_authroles"));
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::List(l)) => l
            .iter()
            .map(|x| x.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| {
                (
                    err::INVALID_ARGUMENT,
                    "filter_authroles must be a list of strings".into(),
                )
            }),
        Some(_) => Err((
            err::INVALID_ARGUMENT,
            "filter_authroles must be a list of strings".into(),
        )),
    }
}

/// The match policy in a lookup's `options` (second positional argument or keyword).
fn lookup_policy(p: &Payload) -> Result<MatchPolicy, (&'static str, String)> {
    let options = p.args.get(1).or_else(|| p.kwargs.get("options"));
    let m = options.and_then(|o| o.get("match")).and_then(Value::as_str);
    MatchPolicy::parse(m).map_err(|e| (err::INVALID_ARGUMENT, e.to_string()))
}

fn ids(list: impl IntoIterator<Item = Id>) -> Value {
    Value::List(list.into_iter().map(Value::from).collect())
}

// === impl RealmState: meta procedures ===

impl RealmState {
    /// Answers a `wamp.*` procedure for session `s`.
    pub(crate) fn meta_call(
        &mut self,
        s: &SessionInfo,
        request: Id,
        procedure: &str,
        payload: Payload,
    ) {
        let out = match procedure.strip_prefix("wamp.") {
            Some(p) if p.starts_with("session.") => self.meta_session(s, &p[8..], &payload),
            Some(p) if p.starts_with("registration.") => self.meta_registration(&p[13..], &payload),
            Some(p) if p.starts_with("subscription.") => self.meta_subscription(&p[13..], &payload),
            _ => Err((
                err::NO_SUCH_PROCEDURE,
                format!("no callee registered for procedure <{procedure}>"),
            )),
        };
        let msg = match out {
            Ok(v) => Message::Result {
                request,
                details: Dict::new(),
                payload: Payload::args(vec![v]),
            },
            Err((uri, text)) => Message::Error {
                request_type: code::CALL,
                request,
                details: Dict::new(),
                error: uri.into(),
                payload: Payload::args(vec![text.into()]),
            },
        };
        self.send(s.id, msg);
    }

    fn sessions_with_roles(&self, filter: &Option<Vec<String>>) -> Vec<Id> {
        let mut out: Vec<Id> = self
            .sessions
            .values()
            .filter(|e| filter.as_ref().is_none_or(|f| f.contains(&e.info.authrole)))
            .map(|e| e.info.id)
            .collect();
        out.sort_unstable();
        out
    }

    fn meta_session(&mut self, caller: &SessionInfo, name: &str, p: &Payload) -> MetaResult {
        let no_such = |id: Id| {
            (
                err::NO_SUCH_SESSION,
                format!("no session with ID {id} exists on this router"),
            )
        };
        match name {
            "count" => Ok(self.sessions_with_roles(&authrole_filter(p)?).len().into()),
            "list" => Ok(ids(self.sessions_with_roles(&authrole_filter(p)?))),
            "get" => {
                let id = arg_id(&p.args, 0, "session_id")?;
                let e = self.sessions.get(&id).ok_or_else(|| no_such(id))?;
                Ok(e.info.details_for(caller.authrole == TRUSTED).into())
            }
            "kill" => {
                let id = arg_id(&p.args, 0, "session_id")?;
                if id == caller.id {
                    return Err((err::NO_SUCH_SESSION, "a session cannot kill itself".into()));
                }
                let (reason, message) = kill_reason(p);
                if !self.kill_session(id, &reason, &message) {
                    return Err(no_such(id));
                }
                Ok(Value::Null)
            }
            "kill_by_authid" | "kill_by_authrole" => {
                let key = arg_str(
                    &p.args,
                    0,
                    if name == "kill_by_authid" {
                        "authid"
                    } else {
                        "authrole"
                    },
                )?;
                let victims: Vec<Id> = self
                    .sessions
                    .values()
                    .filter(|e| e.info.id != caller.id)
                    .filter(|e| {
                        if name == "kill_by_authid" {
                            e.info.authid == key
                        } else {
                            e.info.authrole == key
                        }
                    })
                    .map(|e| e.info.id)
                    .collect();
                let (reason, message) = kill_reason(p);
                for id in &victims {
                    self.kill_session(*id, &reason, &message);
                }
                Ok(ids(victims))
            }
            _ => Err((
                err::NO_SUCH_PROCEDURE,
                format!("no callee registered for procedure <wamp.session.{name}>"),
            )),
        }
    }

    fn meta_registration(&mut self, name: &str, p: &Payload) -> MetaResult {
        let d = &self.dealer;
        let no_such = |id: Id| {
            (
                err::NO_SUCH_REGISTRATION,
                format!("no registration with ID {id} exists on this dealer"),
            )
        };
        match name {
            "list" => {
                let by = |policy: MatchPolicy| {
                    ids(d.regs.values().filter(|r| r.policy == policy).map(|r| r.id))
                };
                Ok(dict! {
                    "exact" => by(MatchPolicy::Exact),
                    "prefix" => by(MatchPolicy::Prefix),
                    "wildcard" => by(MatchPolicy::Wildcard),
                }
                .into())
            }
            "lookup" => Ok(d
                .lookup(arg_str(&p.args, 0, "procedure")?, lookup_policy(p)?)
                .into()),
            "match" => Ok(d.best_match(arg_str(&p.args, 0, "procedure")?).into()),
            "get" | "list_callees" | "count_callees" => {
                let id = arg_id(&p.args, 0, "registration_id")?;
                let r = d.regs.get(&id).ok_or_else(|| no_such(id))?;
                Ok(match name {
                    "get" => r.details().into(),
                    "list_callees" => ids(r.callees.iter().copied()),
                    _ => r.callees.len().into(),
                })
            }
            _ => Err((
                err::NO_SUCH_PROCEDURE,
                format!("no callee registered for procedure <wamp.registration.{name}>"),
            )),
        }
    }

    fn meta_subscription(&mut self, name: &str, p: &Payload) -> MetaResult {
        let b = &self.broker;
        let no_such = |id: Id| {
            (
                err::NO_SUCH_SUBSCRIPTION,
                format!("no subscription with ID {id} exists on this broker"),
            )
        };
        match name {
            "list" => {
                // Subscriptions to meta topics (`wamp.*`) are hidden, as in Crossbar.
                let by = |policy: MatchPolicy| {
                    let visible = b.subs.values().filter(|s| !s.uri.starts_with("wamp."));
                    ids(visible.filter(|s| s.policy == policy).map(|s| s.id))
                };
                Ok(dict! {
                    "exact" => by(MatchPolicy::Exact),
                    "prefix" => by(MatchPolicy::Prefix),
                    "wildcard" => by(MatchPolicy::Wildcard),
                }
                .into())
            }
            "lookup" => Ok(b
                .lookup(arg_str(&p.args, 0, "topic")?, lookup_policy(p)?)
                .into()),
            "match" => {
                let found = b.matching(arg_str(&p.args, 0, "topic")?);
                Ok(if found.is_empty() {
                    Value::Null
                } else {
                    ids(found)
                })
            }
            "get" | "list_subscribers" | "count_subscribers" => {
                let id = arg_id(&p.args, 0, "subscription_id")?;
                let s = b.subs.get(&id).ok_or_else(|| no_such(id))?;
                Ok(match name {
                    "get" => s.details().into(),
                    "list_subscribers" => ids(s.subscribers.iter().copied()),
                    _ => s.subscribers.len().into(),
                })
            }
            _ => Err((
                err::NO_SUCH_PROCEDURE,
                format!("no callee registered for procedure <wamp.subscription.{name}>"),
            )),
        }
    }
}

/// `reason` and `message` of the kill procedures (keyword arguments).
fn kill_reason(p: &Payload) -> (String, String) {
    let reason = p
        .kwargs
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or(err::CLOSE_NORMAL)
        .to_owned();
    let message = p
        .kwargs
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    (reason, message)
}
