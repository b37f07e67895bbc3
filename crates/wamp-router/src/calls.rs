//! The life of a call: CALL → INVOCATION, progressive results, YIELD/ERROR back to the
//! caller, cancel (`skip`, `kill`, `killnowait`) and the dealer-side timeout.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::AbortHandle;
use wamp_proto::message::code;
use wamp_proto::uri::MatchPolicy;
use wamp_proto::{dict, wamp_errors as err, Dict, Id, Message, Payload, Value};

use crate::dealer::Pending;
use crate::error::Abort;
use crate::limits::{self, Limit};
use crate::outgoing::{Outgoing, SendError};
use crate::realm::{Realm, RealmState};
use crate::role::Action;
use crate::session::SessionInfo;

fn timeout_ms(options: &Dict) -> Result<u64, String> {
    match options.get("timeout") {
        None | Some(Value::Null) => Ok(0),
        Some(v) => match v.as_f64() {
            Some(t) if t >= 0.0 => Ok(t as u64),
            _ => Err("option 'timeout' must be a non-negative number of milliseconds".into()),
        },
    }
}

// === impl RealmState: calls ===

/// A call refused before it reached a callee: the ERROR's URI and message.
type Refusal = (&'static str, String);

impl RealmState {
    pub(crate) fn on_call(
        &mut self,
        realm: &Arc<Realm>,
        s: &Arc<SessionInfo>,
        request: Id,
        options: Dict,
        procedure: String,
        payload: Payload,
    ) -> Result<(), Abort> {
        if self.dealer.by_call.contains_key(&(s.id, request)) {
            let text = format!("CALL with request id {request} already in flight");
            return Err(Abort::protocol(text));
        }
        if let Err((uri, msg)) = self.route_call(realm, s, request, options, procedure, payload) {
            self.error(s.id, code::CALL, request, uri, &msg);
        }
        Ok(())
    }

    /// Checks a call and sends its INVOCATION (or answers a meta procedure).
    fn route_call(
        &mut self,
        realm: &Arc<Realm>,
        s: &Arc<SessionInfo>,
        request: Id,
        options: Dict,
        procedure: String,
        payload: Payload,
    ) -> Result<(), Refusal> {
        self.check_uri(s, &procedure, MatchPolicy::Exact, "procedure")
            .map_err(|e| (err::INVALID_URI, e))?;
        let disclosed = self
            .authorize(s, Action::Call, &procedure)
            .map_err(|e| (err::NOT_AUTHORIZED, e))?;
        if procedure.starts_with("wamp.") {
            self.meta_call(s, request, &procedure, payload);
            return Ok(());
        }
        let timeout = timeout_ms(&options).map_err(|e| (err::INVALID_ARGUMENT, e))?;
        let no_callee = || {
            (
                err::NO_SUCH_PROCEDURE,
                format!("no callee registered for procedure <{procedure}>"),
            )
        };
        let reg_id = self.dealer.best_match(&procedure).ok_or_else(no_callee)?;
        let reg = self.dealer.regs.get_mut(&reg_id).ok_or_else(no_callee)?;
        let pattern = reg.policy != MatchPolicy::Exact;
        let callee = reg.pick().ok_or_else(no_callee)?;
        self.check_pending_limits(s, callee)?;
        let wants_progress = matches!(options.get("receive_progress"), Some(Value::Bool(true)));
        let mut details = Dict::new();
        if pattern {
            details.insert("procedure".into(), procedure.clone().into());
        }
        if disclosed || matches!(options.get("disclose_me"), Some(Value::Bool(true))) {
            details.insert("caller".into(), s.id.into());
            details.insert("caller_authid".into(), s.authid.clone().into());
            details.insert("caller_authrole".into(), s.authrole.clone().into());
        }
        if wants_progress {
            details.insert("receive_progress".into(), true.into());
        }
        if timeout > 0 {
            details.insert("timeout".into(), timeout.into());
        }
        let invocation = self.invocation_ids.next();
        let msg = Message::Invocation {
            request: invocation,
            registration: reg_id,
            details,
            payload,
        };
        match self
            .sessions
            .get(&callee)
            .map(|e| e.tx.send(Outgoing::msg(msg)))
        {
            Some(Ok(())) => {}
            Some(Err(SendError::Full)) => {
                return Err(("wamp.error.unavailable", "callee is overloaded".into()))
            }
            _ => return Err(no_callee()),
        }
        let timer = (timeout > 0).then(|| spawn_timeout(realm, invocation, timeout));
        let pending = Pending {
            caller: s.id,
            call_request: request,
            callee,
            receive_progress: wants_progress,
            canceling: false,
            timer,
        };
        self.dealer.add_pending(invocation, pending);
        Ok(())
    }

    /// Refuses a call beyond the caller's or the callee's limit of calls in flight.
    fn check_pending_limits(&self, s: &SessionInfo, callee: Id) -> Result<(), Refusal> {
        let l = self.limits;
        let calls = self.dealer.calls_of.get(&s.id).map_or(0, HashSet::len);
        self.within_limit(s, calls, l.max_pending_calls, Limit::PendingCalls)
            .map_err(|m| (limits::TOO_MANY_PENDING_CALLS, m))?;
        let trusted_callee = self
            .sessions
            .get(&callee)
            .is_some_and(|e| e.info.authrole == crate::realm::TRUSTED);
        let invocations = self
            .dealer
            .invocations_of
            .get(&callee)
            .map_or(0, HashSet::len);
        if !trusted_callee && invocations >= l.max_pending_invocations {
            let msg = format!(
                "the callee has {invocations} invocations in flight (limit {}): try again later",
                l.max_pending_invocations
            );
            return Err((limits::TOO_MANY_PENDING_INVOCATIONS, msg));
        }
        Ok(())
    }

    pub(crate) fn on_yield(
        &mut self,
        s: &SessionInfo,
        request: Id,
        options: Dict,
        payload: Payload,
    ) -> Result<(), Abort> {
        let Some(p) = self.dealer.pending.get(&request) else {
            return Ok(()); // canceled or timed out meanwhile: the late answer is dropped
        };
        if p.callee != s.id {
            return Err(Abort::protocol(format!(
                "YIELD for invocation {request} of another session"
            )));
        }
        let progress = matches!(options.get("progress"), Some(Value::Bool(true)));
        if progress {
            if p.receive_progress && !p.canceling {
                let (caller, call_request) = (p.caller, p.call_request);
                let details = dict! { "progress" => true };
                self.send(
                    caller,
                    Message::Result {
                        request: call_request,
                        details,
                        payload,
                    },
                );
            }
            return Ok(());
        }
        if let Some(p) = self.dealer.take_pending(request) {
            let details = Dict::new();
            self.finish_call(
                p,
                Message::Result {
                    request: 0,
                    details,
                    payload,
                },
            );
        }
        Ok(())
    }

    pub(crate) fn on_invocation_error(
        &mut self,
        s: &SessionInfo,
        request: Id,
        details: Dict,
        error: String,
        payload: Payload,
    ) -> Result<(), Abort> {
        match self.dealer.pending.get(&request) {
            None => return Ok(()),
            Some(p) if p.callee != s.id => {
                return Err(Abort::protocol(format!(
                    "ERROR for invocation {request} of another session"
                )));
            }
            Some(_) => {}
        }
        if let Err(e) = self.check_uri(s, &error, MatchPolicy::Exact, "error") {
            return Err(Abort::protocol(e));
        }
        if let Some(p) = self.dealer.take_pending(request) {
            let request_type = code::CALL;
            self.finish_call(
                p,
                Message::Error {
                    request_type,
                    request: 0,
                    details,
                    error,
                    payload,
                },
            );
        }
        Ok(())
    }

    pub(crate) fn on_cancel(&mut self, s: &SessionInfo, request: Id, options: Dict) {
        let Some(&inv) = self.dealer.by_call.get(&(s.id, request)) else {
            return;
        };
        // No mode: `killnowait`, as Crossbar does.
        let mode = options
            .get("mode")
            .and_then(Value::as_str)
            .unwrap_or("killnowait");
        let Some(p) = self.dealer.pending.get_mut(&inv) else {
            return;
        };
        let callee = p.callee;
        let interruptible = self
            .sessions
            .get(&callee)
            .is_some_and(|e| e.info.has_feature("callee", "call_canceling"));
        match mode {
            "kill" if interruptible => {
                p.canceling = true;
                self.interrupt(callee, inv, "kill", err::CANCELED);
            }
            "skip" | "kill" | "killnowait" => {
                if let Some(p) = self.dealer.take_pending(inv) {
                    self.error(
                        p.caller,
                        code::CALL,
                        p.call_request,
                        err::CANCELED,
                        "call canceled",
                    );
                }
                if mode == "killnowait" {
                    self.interrupt(callee, inv, "killnowait", err::CANCELED);
                }
            }
            other => {
                let msg = format!("invalid cancel mode '{other}'");
                self.error(s.id, code::CANCEL, request, err::INVALID_ARGUMENT, &msg);
            }
        }
    }

    /// The call's timeout expired: the caller gets an error, the callee an INTERRUPT.
    pub(crate) fn on_call_timeout(&mut self, invocation: Id) {
        let Some(p) = self.dealer.take_pending(invocation) else {
            return;
        };
        self.error(
            p.caller,
            code::CALL,
            p.call_request,
            err::TIMEOUT,
            "timeout reached",
        );
        self.interrupt(p.callee, invocation, "killnowait", err::TIMEOUT);
    }

    /// Ends a call with the callee's answer (RESULT or ERROR, its request id filled in here).
    /// A call canceled with mode `kill` ends as `wamp.error.canceled` whatever the answer.
    fn finish_call(&mut self, p: Pending, mut answer: Message) {
        if p.canceling {
            let payload = Payload::args(vec!["call canceled".into()]);
            let (request_type, details, error) = (code::CALL, Dict::new(), err::CANCELED.into());
            answer = Message::Error {
                request_type,
                request: p.call_request,
                details,
                error,
                payload,
            };
        }
        match &mut answer {
            Message::Result { request, .. } | Message::Error { request, .. } => {
                *request = p.call_request
            }
            _ => {}
        }
        self.send(p.caller, answer);
    }

    /// Sends INTERRUPT if the callee announced call canceling.
    pub(crate) fn interrupt(&mut self, callee: Id, invocation: Id, mode: &str, reason: &str) {
        let can = self
            .sessions
            .get(&callee)
            .is_some_and(|e| e.info.has_feature("callee", "call_canceling"));
        if can {
            let options = dict! { "mode" => mode, "reason" => reason };
            self.send(
                callee,
                Message::Interrupt {
                    request: invocation,
                    options,
                },
            );
        }
    }
}

fn spawn_timeout(realm: &Arc<Realm>, invocation: Id, ms: u64) -> AbortHandle {
    let realm = Arc::downgrade(realm);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        if let Some(realm) = realm.upgrade() {
            realm.call_timed_out(invocation);
        }
    })
    .abort_handle()
}
