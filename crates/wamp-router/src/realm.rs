//! A realm: its sessions, broker and dealer, and the dispatch of session messages to them.
//!
//! State ownership: all of a realm's routing state sits in one `RealmState` behind a
//! `std::sync::Mutex`. Every operation (publish, call, yield, ...) takes the lock, updates the
//! indices, queues the resulting messages on the receivers' bounded outbound queues (never
//! waiting) and releases it; the lock is never held across an `.await`. Decoding happens before
//! and encoding after, in the connections' own tasks, so the critical sections are short and both
//! cores work in parallel. A realm-task-with-a-channel design was the alternative; it adds a
//! hop and a wake-up per message for no gain in a process with two cores.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, TryLockError};
use std::time::{Duration, Instant};

use wamp_proto::message::code;
use wamp_proto::{dict, wamp_errors as err, Dict, Id, IdSeq, Message, Payload};

use crate::broker::Broker;
use crate::dealer::Dealer;
use crate::error::Abort;
use crate::limits::SessionLimits;
use crate::outgoing::{close, OutTx, Outgoing, SendError};
use crate::ratelog::warn_limited;
use crate::role::{Action, Authorizer, Decision, Role};
use crate::session::{SessionEntry, SessionInfo};

/// The authrole of the router's own service sessions: allowed everything, always disclosed.
pub const TRUSTED: &str = "trusted";

/// How long a task spins for a contended realm lock before it gives its worker thread away.
const SPIN: Duration = Duration::from_micros(50);

/// How to set up a realm.
#[derive(Debug, Clone, PartialEq)]
pub struct RealmConfig {
    pub name: String,
    pub roles: Vec<Role>,
}

impl RealmConfig {
    pub fn new(name: impl Into<String>, roles: Vec<Role>) -> Self {
        RealmConfig {
            name: name.into(),
            roles,
        }
    }
}

/// A routing realm.
pub struct Realm {
    pub name: String,
    roles: RwLock<HashMap<String, Role>>,
    state: Mutex<RealmState>,
    /// Joined sessions, readable without the lock (the status page).
    joined: Arc<AtomicUsize>,
}

/// Everything that changes while routing, behind the realm's lock.
pub(crate) struct RealmState {
    pub realm: String,
    pub sessions: HashMap<Id, SessionEntry>,
    pub broker: Broker,
    pub dealer: Dealer,
    pub invocation_ids: IdSeq,
    /// Role rules, copied in at each operation's start (cheap `Arc` clone).
    pub roles: Arc<HashMap<String, Role>>,
    /// The dynamic authorizer, asked before the role rules.
    pub authorizer: Option<Arc<dyn Authorizer>>,
    /// Sessions whose queue overflowed during this operation: killed when it ends.
    pub overloaded: Vec<Id>,
    /// What one session may hold here.
    pub limits: SessionLimits,
    /// Set once the realm is removed: no session joins it any more.
    pub closed: bool,
    /// Longest URI accepted, bytes.
    pub max_uri_length: usize,
    /// Mirrors `sessions.len()` for [`Realm::session_count`].
    joined: Arc<AtomicUsize>,
}

// === impl Realm ===

impl Realm {
    pub fn new(config: RealmConfig) -> Arc<Realm> {
        let roles: HashMap<String, Role> = config
            .roles
            .into_iter()
            .map(|r| (r.name.clone(), r))
            .collect();
        let joined = Arc::new(AtomicUsize::new(0));
        Arc::new(Realm {
            name: config.name.clone(),
            roles: RwLock::new(roles.clone()),
            joined: joined.clone(),
            state: Mutex::new(RealmState {
                realm: config.name,
                sessions: HashMap::new(),
                broker: Broker::default(),
                dealer: Dealer::default(),
                invocation_ids: IdSeq::new(),
                roles: Arc::new(roles),
                authorizer: None,
                overloaded: Vec::new(),
                limits: SessionLimits::default(),
                closed: false,
                max_uri_length: usize::MAX,
                joined,
            }),
        })
    }

    /// Takes the realm's lock. Waiting for it must not stall the runtime: a task that has
    /// spun for [`SPIN`] without getting it hands its worker thread's other tasks (other
    /// realms, other connections) to another thread before it blocks (multi-threaded runtime).
    pub(crate) fn lock(&self) -> MutexGuard<'_, RealmState> {
        // A panic while holding the lock leaves state that is still structurally valid.
        let started = Instant::now();
        loop {
            match self.state.try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(e)) => return e.into_inner(),
                Err(TryLockError::WouldBlock) if started.elapsed() < SPIN => std::hint::spin_loop(),
                Err(TryLockError::WouldBlock) => break,
            }
        }
        let wait = || self.state.lock().unwrap_or_else(|e| e.into_inner());
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi_thread {
            tokio::task::block_in_place(wait)
        } else {
            wait()
        }
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles
            .read()
            .map(|r| r.contains_key(role))
            .unwrap_or(false)
    }

    /// Adds or replaces a role at run time.
    pub fn set_role(&self, role: Role) {
        let mut roles = self.roles.write().unwrap_or_else(|e| e.into_inner());
        roles.insert(role.name.clone(), role);
        self.lock().roles = Arc::new(roles.clone());
    }

    /// Sets what one session may hold here (calls in flight, registrations, subscriptions).
    pub fn set_limits(&self, limits: SessionLimits) {
        self.lock().limits = limits;
    }

    /// Sets the longest URI (topic, procedure, error) accepted here, in bytes.
    pub fn set_max_uri_length(&self, max: usize) {
        self.lock().max_uri_length = max;
    }

    /// Installs a dynamic authorizer (replacing any previous one).
    pub fn set_authorizer(&self, authorizer: Arc<dyn Authorizer>) {
        self.lock().authorizer = Some(authorizer);
    }

    /// Number of joined sessions (without taking the realm's lock).
    pub fn session_count(&self) -> usize {
        self.joined.load(Ordering::Relaxed)
    }

    /// Adds a session that completed the handshake, sends WELCOME and announces it — if the
    /// realm is still open and `admit` (the authenticator's last word, asked under the lock with
    /// a counter of the sessions that share the new one's authid and authrole) agrees.
    pub fn join(
        &self,
        info: Arc<SessionInfo>,
        tx: OutTx,
        welcome_details: Dict,
        admit: impl FnOnce(&SessionInfo, &dyn Fn() -> usize) -> Result<(), Abort>,
    ) -> Result<(), Abort> {
        let mut st = self.lock();
        if st.closed {
            let text = format!("realm \"{}\" was removed", st.realm);
            return Err(Abort::new(wamp_proto::wamp_errors::NO_SUCH_REALM, text));
        }
        let joined = || {
            st.sessions
                .values()
                .filter(|e| e.info.authid == info.authid && e.info.authrole == info.authrole)
                .count()
        };
        admit(&info, &joined)?;
        let id = info.id;
        let _ = tx.msg(Message::Welcome {
            session: id,
            details: welcome_details,
        });
        st.sessions.insert(
            id,
            SessionEntry {
                info: info.clone(),
                tx,
            },
        );
        st.joined.store(st.sessions.len(), Ordering::Relaxed);
        st.publish_session_meta("wamp.session.on_join", &info);
        st.reap();
        Ok(())
    }

    /// Removes a session (transport closed, GOODBYE, ABORT) and cleans up after it.
    pub fn leave(&self, session: Id) {
        let mut st = self.lock();
        st.remove_session(session);
        st.reap();
    }

    /// Ids of the joined sessions with `authid` (and, if given, `authrole`).
    pub fn sessions_of(&self, authid: &str, authrole: Option<&str>) -> Vec<Id> {
        let st = self.lock();
        let mut ids: Vec<Id> = st
            .sessions
            .values()
            .filter(|e| e.info.authid == authid && authrole.is_none_or(|r| e.info.authrole == r))
            .map(|e| e.info.id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Closes a session from the router side: GOODBYE with `reason`, then the connection closes.
    pub fn kill(&self, session: Id, reason: &str, message: &str) -> bool {
        let mut st = self.lock();
        let found = st.kill_session(session, reason, message);
        st.reap();
        found
    }

    /// Closes every session (realm removed, router shutting down).
    pub fn close_all(&self, reason: &str, message: &str) {
        let mut st = self.lock();
        st.closed = true;
        let ids: Vec<Id> = st.sessions.keys().copied().collect();
        for id in ids {
            st.kill_session(id, reason, message);
        }
    }

    /// Handles one message of a joined session. An `Err` means: ABORT the session.
    pub fn handle(self: &Arc<Self>, s: &Arc<SessionInfo>, msg: Message) -> Result<Handled, Abort> {
        let mut st = self.lock();
        if !st.sessions.contains_key(&s.id) {
            return Ok(Handled::Gone);
        }
        let out = st.dispatch(self, s, msg);
        st.reap();
        out
    }
}

/// What became of a session after one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// The session goes on.
    Continue,
    /// The session left (GOODBYE) or was removed: close the transport.
    Gone,
}

// === impl RealmState: session bookkeeping ===

impl RealmState {
    fn dispatch(
        &mut self,
        realm: &Arc<Realm>,
        s: &Arc<SessionInfo>,
        msg: Message,
    ) -> Result<Handled, Abort> {
        use Message as M;
        match msg {
            M::Publish {
                request,
                options,
                topic,
                payload,
            } => self.on_publish(s, request, options, topic, payload),
            M::Subscribe {
                request,
                options,
                topic,
            } => self.on_subscribe(s, request, options, topic),
            M::Unsubscribe {
                request,
                subscription,
            } => self.on_unsubscribe(s, request, subscription),
            M::Call {
                request,
                options,
                procedure,
                payload,
            } => self.on_call(realm, s, request, options, procedure, payload)?,
            M::Cancel { request, options } => self.on_cancel(s, request, options),
            M::Register {
                request,
                options,
                procedure,
            } => self.on_register(s, request, options, procedure),
            M::Unregister {
                request,
                registration,
            } => self.on_unregister(s, request, registration),
            M::Yield {
                request,
                options,
                payload,
            } => self.on_yield(s, request, options, payload)?,
            M::Error {
                request_type: code::INVOCATION,
                request,
                details,
                error,
                payload,
            } => self.on_invocation_error(s, request, details, error, payload)?,
            M::Goodbye { .. } => {
                let bye = dict! {};
                self.send(
                    s.id,
                    Message::Goodbye {
                        details: bye,
                        reason: err::GOODBYE_AND_OUT.into(),
                    },
                );
                self.send_out(s.id, Outgoing::Close(close::NORMAL));
                self.remove_session(s.id);
                return Ok(Handled::Gone);
            }
            M::Abort { .. } => {
                self.remove_session(s.id);
                return Ok(Handled::Gone);
            }
            other => {
                return Err(Abort::protocol(format!(
                    "unexpected {} message after WELCOME",
                    other.name()
                )));
            }
        }
        Ok(Handled::Continue)
    }

    /// Queues a message for a session; overflow marks the session for removal.
    pub(crate) fn send(&mut self, to: Id, msg: Message) {
        self.send_out(to, Outgoing::msg(msg));
    }

    pub(crate) fn send_out(&mut self, to: Id, out: Outgoing) {
        let Some(entry) = self.sessions.get(&to) else {
            return;
        };
        if entry.tx.send(out) == Err(SendError::Full) && !self.overloaded.contains(&to) {
            warn_limited!(session = to, realm = %self.realm,
                "outbound queue full: disconnecting slow session");
            self.overloaded.push(to);
        }
    }

    /// Sends ERROR for a request.
    pub(crate) fn error(
        &mut self,
        to: Id,
        request_type: u64,
        request: Id,
        uri: &str,
        message: &str,
    ) {
        let payload = Payload::args(vec![message.into()]);
        self.send(
            to,
            Message::Error {
                request_type,
                request,
                details: Dict::new(),
                error: uri.into(),
                payload,
            },
        );
    }

    /// Checks the session's role for `action` on `uri`; `Ok(disclose)` when allowed.
    pub(crate) fn authorize(
        &self,
        s: &SessionInfo,
        action: Action,
        uri: &str,
    ) -> Result<bool, String> {
        let perm = self
            .roles
            .get(&s.authrole)
            .and_then(|r| r.permission_for(uri));
        if s.authrole == TRUSTED {
            return Ok(true);
        }
        if let Some(authorizer) = &self.authorizer {
            match authorizer.authorize(s, action, uri) {
                Decision::Allow { disclose } => return Ok(disclose),
                Decision::Deny(reason) => return Err(reason),
                Decision::UseRoles => {}
            }
        }
        match perm {
            Some(p) if p.allows(action) => Ok(match action {
                Action::Call => p.disclose_caller,
                Action::Publish => p.disclose_publisher,
                _ => false,
            }),
            _ => Err(format!(
                "session (session_id={}, authid=\"{}\", authrole=\"{}\") is not authorized to {} \"{uri}\" on realm \"{}\"",
                s.id,
                s.authid,
                s.authrole,
                action.phrase(),
                self.realm
            )),
        }
    }

    /// Removes a session and everything it held; announces the leave.
    pub(crate) fn remove_session(&mut self, id: Id) -> Option<SessionEntry> {
        let entry = self.sessions.remove(&id)?;
        self.joined.store(self.sessions.len(), Ordering::Relaxed);
        self.broker_detach(id);
        self.dealer_detach(id);
        // One argument, as Crossbar sends it: clients subscribe with `on_leave(session_id)`.
        self.publish_meta("wamp.session.on_leave", vec![id.into()]);
        Some(entry)
    }

    pub(crate) fn kill_session(&mut self, id: Id, reason: &str, message: &str) -> bool {
        let Some(entry) = self.remove_session(id) else {
            return false;
        };
        // Crossbar sends `{}` when there is no message.
        let details = if message.is_empty() {
            dict! {}
        } else {
            dict! { "message" => message }
        };
        let _ = entry.tx.msg(Message::Goodbye {
            details,
            reason: reason.into(),
        });
        let _ = entry.tx.send(Outgoing::Close(close::NORMAL));
        true
    }

    /// Drops the sessions that overflowed their queues.
    fn reap(&mut self) {
        while let Some(id) = self.overloaded.pop() {
            if let Some(entry) = self.remove_session(id) {
                entry.tx.close_now(close::INTERNAL);
            }
        }
    }
}

impl Realm {
    /// A call's timer fired.
    pub(crate) fn call_timed_out(&self, invocation: Id) {
        let mut st = self.lock();
        st.on_call_timeout(invocation);
        st.reap();
    }
}
