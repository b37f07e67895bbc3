//! The dealer: registrations (exact, prefix, wildcard; shared with an invocation policy) and
//! the life of a call: INVOCATION, progressive results, YIELD/ERROR, cancel, timeout, and what
//! happens when either side leaves mid-call.
//!
//! Precedence when several registrations match a procedure: the exact one, else the longest
//! prefix (a plain string prefix), else the wildcard whose leftmost differing component is
//! concrete (Crossbar's rule, see `wamp_proto::uri::wildcard_rank`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rand::Rng;
use tokio::task::AbortHandle;
use wamp_proto::message::code;
use wamp_proto::time::{iso8601, now_ns};
use wamp_proto::uri::{self, MatchPolicy};
use wamp_proto::{dict, wamp_errors as err, Dict, Id, Message, Value};

use crate::limits::Limit;
use crate::pattern::PatternIndex;
use crate::realm::RealmState;
use crate::role::Action;
use crate::session::SessionInfo;
use crate::util::{random_id, Members};

/// How a shared registration picks its callee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invoke {
    Single,
    RoundRobin,
    Random,
    First,
    Last,
}

impl Invoke {
    pub fn parse(s: Option<&str>) -> Option<Invoke> {
        Some(match s {
            None | Some("single") => Invoke::Single,
            Some("roundrobin") => Invoke::RoundRobin,
            Some("random") => Invoke::Random,
            Some("first") => Invoke::First,
            Some("last") => Invoke::Last,
            Some(_) => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Invoke::Single => "single",
            Invoke::RoundRobin => "roundrobin",
            Invoke::Random => "random",
            Invoke::First => "first",
            Invoke::Last => "last",
        }
    }
}

/// One registration and its callees. Kept compact: a master holds about a hundred per node.
#[derive(Debug)]
pub struct Registration {
    pub id: Id,
    /// Shared with the URI index.
    pub uri: Arc<str>,
    pub policy: MatchPolicy,
    pub invoke: Invoke,
    /// Nanoseconds since the Unix epoch (formatted only for the meta API).
    pub created: u64,
    /// Callees in registration order.
    pub callees: Members,
    next: u32,
}

impl Registration {
    /// The details dict of the registration meta API.
    pub fn details(&self) -> Dict {
        dict! {
            "id" => self.id,
            "created" => iso8601(self.created),
            "uri" => &*self.uri,
            "match" => self.policy.as_str(),
            "invoke" => self.invoke.as_str(),
        }
    }

    pub(crate) fn pick(&mut self) -> Option<Id> {
        let n = self.callees.len();
        if n == 0 {
            return None;
        }
        let i = match self.invoke {
            Invoke::Single | Invoke::First => 0,
            Invoke::Last => n - 1,
            Invoke::Random => rand::thread_rng().gen_range(0..n),
            Invoke::RoundRobin => {
                let i = self.next as usize % n;
                self.next = (i + 1) as u32;
                i
            }
        };
        self.callees.get(i).copied()
    }
}

/// A call in flight, keyed by its invocation id.
#[derive(Debug)]
pub struct Pending {
    pub caller: Id,
    pub call_request: Id,
    pub callee: Id,
    pub receive_progress: bool,
    /// Set once the caller canceled with mode `kill`: the callee's answer ends the call.
    pub canceling: bool,
    pub timer: Option<AbortHandle>,
}

/// Registration indices and calls in flight of one realm.
#[derive(Debug, Default)]
pub struct Dealer {
    pub regs: HashMap<Id, Registration>,
    /// The registrations by URI and policy; finds those matching a procedure without a scan.
    pub index: PatternIndex,
    pub by_session: HashMap<Id, Vec<Id>>,
    pub pending: HashMap<Id, Pending>,
    pub by_call: HashMap<(Id, Id), Id>,
    /// Invocation ids of the calls in flight per caller and per callee (for the session limits,
    /// and so that a leave visits only the session's own calls).
    pub calls_of: HashMap<Id, HashSet<Id>>,
    pub invocations_of: HashMap<Id, HashSet<Id>>,
}

impl Dealer {
    /// The registration that serves `procedure`, by WAMP precedence.
    pub fn best_match(&self, procedure: &str) -> Option<Id> {
        if let Some(id) = self.index.get(procedure, MatchPolicy::Exact) {
            return Some(id);
        }
        if let Some(id) = self.index.prefixes(procedure).next() {
            return Some(id);
        }
        self.index
            .wildcards(procedure)
            .into_iter()
            .filter_map(|id| self.regs.get(&id))
            .max_by_key(|r| uri::wildcard_rank(&r.uri))
            .map(|r| r.id)
    }

    pub fn lookup(&self, procedure: &str, policy: MatchPolicy) -> Option<Id> {
        self.index.get(procedure, policy)
    }

    /// Records a call in flight.
    pub(crate) fn add_pending(&mut self, invocation: Id, p: Pending) {
        self.calls_of
            .entry(p.caller)
            .or_default()
            .insert(invocation);
        self.invocations_of
            .entry(p.callee)
            .or_default()
            .insert(invocation);
        self.by_call.insert((p.caller, p.call_request), invocation);
        self.pending.insert(invocation, p);
    }

    pub(crate) fn take_pending(&mut self, invocation: Id) -> Option<Pending> {
        let p = self.pending.remove(&invocation)?;
        self.by_call.remove(&(p.caller, p.call_request));
        forget(&mut self.calls_of, p.caller, invocation);
        forget(&mut self.invocations_of, p.callee, invocation);
        if let Some(t) = &p.timer {
            t.abort();
        }
        Some(p)
    }
}

/// Removes `invocation` from `session`'s set, dropping an empty set.
fn forget(sets: &mut HashMap<Id, HashSet<Id>>, session: Id, invocation: Id) {
    if let Some(set) = sets.get_mut(&session) {
        set.remove(&invocation);
        if set.is_empty() {
            sets.remove(&session);
        }
    }
}

// === impl RealmState: registrations ===

impl RealmState {
    pub(crate) fn on_register(
        &mut self,
        s: &SessionInfo,
        request: Id,
        options: Dict,
        procedure: String,
    ) {
        let fail = |st: &mut Self, uri: &str, msg: String| {
            st.error(s.id, code::REGISTER, request, uri, &msg)
        };
        let policy = match MatchPolicy::parse(options.get("match").and_then(Value::as_str)) {
            Ok(p) => p,
            Err(e) => return fail(self, err::INVALID_ARGUMENT, e.to_string()),
        };
        let Some(invoke) = Invoke::parse(options.get("invoke").and_then(Value::as_str)) else {
            return fail(
                self,
                err::INVALID_ARGUMENT,
                "invalid 'invoke' policy".into(),
            );
        };
        if let Err(msg) = self.check_uri(s, &procedure, policy, "procedure") {
            return fail(self, err::INVALID_URI, msg);
        }
        if procedure.starts_with("wamp.") && s.authrole != crate::realm::TRUSTED {
            let msg = format!("register for restricted procedure URI '{procedure}'");
            return fail(self, err::INVALID_URI, msg);
        }
        if let Err(e) = self.authorize(s, Action::Register, &procedure) {
            return fail(self, err::NOT_AUTHORIZED, e);
        }
        let held = self.dealer.by_session.get(&s.id).map_or(0, Vec::len);
        let max = self.limits.max_registrations;
        if let Err(msg) = self.within_limit(s, held, max, Limit::Registrations) {
            return fail(self, crate::limits::TOO_MANY_REGISTRATIONS, msg);
        }
        let d = &mut self.dealer;
        let existing = d.index.get(&procedure, policy);
        let (reg_id, created) = match existing.and_then(|id| d.regs.get_mut(&id)) {
            Some(reg) => {
                if reg.invoke == Invoke::Single || reg.callees.contains(&s.id) {
                    let msg = format!("register for already registered procedure '{procedure}'");
                    return fail(self, err::PROCEDURE_ALREADY_EXISTS, msg);
                }
                if reg.invoke != invoke {
                    let msg = format!(
                        "register for already registered procedure '{procedure}' with conflicting invocation policy (has {} and {} was requested)",
                        reg.invoke.as_str(),
                        invoke.as_str()
                    );
                    return fail(
                        self,
                        "wamp.error.procedure_exists_with_different_invocation_policy",
                        msg,
                    );
                }
                reg.callees.push(s.id);
                (reg.id, false)
            }
            None => {
                let id = random_id();
                let reg = Registration {
                    id,
                    uri: procedure.into(),
                    policy,
                    invoke,
                    created: now_ns(),
                    callees: Members::One(s.id),
                    next: 0,
                };
                d.index.insert(reg.uri.clone(), policy, id);
                d.regs.insert(id, reg);
                (id, true)
            }
        };
        d.by_session.entry(s.id).or_default().push(reg_id);
        self.send(
            s.id,
            Message::Registered {
                request,
                registration: reg_id,
            },
        );
        if created {
            let details = self
                .dealer
                .regs
                .get(&reg_id)
                .map(Registration::details)
                .unwrap_or_default();
            self.publish_meta(
                "wamp.registration.on_create",
                vec![s.id.into(), details.into()],
            );
        }
        self.publish_meta(
            "wamp.registration.on_register",
            vec![s.id.into(), reg_id.into()],
        );
    }

    pub(crate) fn on_unregister(&mut self, s: &SessionInfo, request: Id, reg_id: Id) {
        let mine = self
            .dealer
            .regs
            .get(&reg_id)
            .is_some_and(|r| r.callees.contains(&s.id));
        if !mine {
            let msg = format!("session {} has no registration {reg_id}", s.id);
            return self.error(
                s.id,
                code::UNREGISTER,
                request,
                err::NO_SUCH_REGISTRATION,
                &msg,
            );
        }
        self.remove_callee(s.id, reg_id);
        self.send(
            s.id,
            Message::Unregistered {
                request,
                details: None,
            },
        );
    }

    /// Removes one callee; deletes the registration when it was the last one.
    pub(crate) fn remove_callee(&mut self, session: Id, reg_id: Id) {
        crate::util::unlink(&mut self.dealer.by_session, session, reg_id);
        self.drop_callee(session, reg_id);
    }

    /// [`RealmState::remove_callee`] without the session's own list.
    fn drop_callee(&mut self, session: Id, reg_id: Id) {
        let d = &mut self.dealer;
        let Some(reg) = d.regs.get_mut(&reg_id) else {
            return;
        };
        reg.callees.remove(session);
        let deleted = reg.callees.is_empty();
        if deleted {
            if let Some(reg) = d.regs.remove(&reg_id) {
                d.index.remove(&reg.uri, reg.policy);
            }
        }
        self.publish_meta(
            "wamp.registration.on_unregister",
            vec![session.into(), reg_id.into()],
        );
        if deleted {
            self.publish_meta(
                "wamp.registration.on_delete",
                vec![session.into(), reg_id.into()],
            );
        }
    }

    /// Cleans up the dealer after a session left: its registrations and its calls in flight
    /// (linear in what the session held).
    pub(crate) fn dealer_detach(&mut self, session: Id) {
        let held = self.dealer.by_session.remove(&session).unwrap_or_default();
        for reg in held {
            self.drop_callee(session, reg);
        }
        let d = &mut self.dealer;
        let mut involved: Vec<Id> = d.calls_of.remove(&session).into_iter().flatten().collect();
        involved.extend(d.invocations_of.remove(&session).into_iter().flatten());
        for inv in involved {
            let Some(p) = self.dealer.take_pending(inv) else {
                continue;
            };
            if p.callee == session {
                let msg = "callee disconnected from in-flight request";
                self.error(p.caller, code::CALL, p.call_request, err::CANCELED, msg);
            } else {
                self.interrupt(p.callee, inv, "killnowait", err::CANCELED);
            }
        }
    }
}
