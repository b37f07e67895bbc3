//! The broker: subscriptions (exact, prefix, wildcard) and the delivery of events.
//!
//! One subscription exists per (URI, match policy); sessions subscribing to the same pair share
//! its id. An event is built once per matching subscription and shared by all its subscribers
//! ([`Shared`]), so each serializer in use encodes it once.
//!
//! An embedder may install a [`PublishAckGate`] on a realm: for an acknowledged PUBLISH it can
//! hand back a future, and PUBLISHED (or ERROR) is sent only when that future completes (the
//! master uses it to acknowledge a heartbeat only once it is on disk). The wait happens in a
//! spawned task, never under the realm lock; the EVENTs are delivered at once.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use wamp_proto::message::code;
use wamp_proto::time::{iso8601, now_ns};
use wamp_proto::uri::{self, MatchPolicy};
use wamp_proto::{dict, wamp_errors as err, Dict, Id, Message, Payload, Value};

use crate::outgoing::{Outgoing, Shared};
use crate::pattern::PatternIndex;
use crate::realm::{Realm, RealmState};
use crate::role::Action;
use crate::session::SessionInfo;
use crate::util::random_id;

/// One subscription and the sessions on it.
#[derive(Debug)]
pub struct Subscription {
    pub id: Id,
    /// Shared with the URI index.
    pub uri: Arc<str>,
    pub policy: MatchPolicy,
    /// Nanoseconds since the Unix epoch (formatted only for the meta API).
    pub created: u64,
    /// Subscribers in subscription order.
    pub subscribers: Vec<Id>,
}

impl Subscription {
    /// The details dict of the subscription meta API.
    pub fn details(&self) -> Dict {
        dict! {
            "id" => self.id,
            "created" => iso8601(self.created),
            "uri" => &*self.uri,
            "match" => self.policy.as_str(),
        }
    }
}

/// Why a gated publication is not acknowledged: sent as ERROR for the PUBLISH.
#[derive(Debug, Clone, PartialEq)]
pub struct AckRefused {
    /// The error URI.
    pub error: String,
    /// The error message (`args[0]`).
    pub message: String,
}

/// What a gated PUBLISHED waits for.
pub type AckFuture = Pin<Box<dyn Future<Output = Result<(), AckRefused>> + Send>>;

/// Decides, for each acknowledged PUBLISH, whether its PUBLISHED must wait (see the module doc).
///
/// Called under the realm lock before the EVENTs are queued: it must not block. Ordering: a gated
/// PUBLISHED may reach the publisher after messages the router sent it later (EVENTs, RESULTs,
/// other PUBLISHEDs).
pub trait PublishAckGate: Send + Sync {
    /// `Some(future)`: send PUBLISHED once it resolves `Ok`, ERROR if `Err`.
    fn gate(&self, publisher: &SessionInfo, topic: &str, publication: Id) -> Option<AckFuture>;
}

/// The optional gate of a realm.
#[derive(Clone, Default)]
pub struct AckGateSlot(Option<Arc<dyn PublishAckGate>>);

impl std::fmt::Debug for AckGateSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Gate(set)"
        } else {
            "Gate(none)"
        })
    }
}

impl Realm {
    /// Installs (or, with `None`, removes) the realm's publish acknowledge gate.
    pub fn set_publish_ack_gate(&self, gate: Option<Arc<dyn PublishAckGate>>) {
        self.lock().broker.ack_gate = AckGateSlot(gate);
    }
}

/// Subscription indices of one realm.
#[derive(Debug, Default)]
pub struct Broker {
    /// Delays PUBLISHED for some publications (see [`PublishAckGate`]).
    pub ack_gate: AckGateSlot,
    pub subs: HashMap<Id, Subscription>,
    /// The subscriptions by URI and policy; finds those matching a topic without a scan.
    pub index: PatternIndex,
    /// The subscriptions of each session.
    pub by_session: HashMap<Id, Vec<Id>>,
    /// How many of them are prefix or wildcard subscriptions (for the session limit).
    pub patterns_of: HashMap<Id, usize>,
}

impl Broker {
    /// Ids of the subscriptions whose pattern matches `topic`.
    pub fn matching(&self, topic: &str) -> Vec<Id> {
        self.index.matching(topic)
    }

    /// The subscription a session would join for (uri, policy), if it exists.
    pub fn lookup(&self, topic: &str, policy: MatchPolicy) -> Option<Id> {
        self.index.get(topic, policy)
    }
}

/// Which subscribers a publication may reach (PUBLISH options).
struct Audience {
    exclude_me: bool,
    eligible: Option<HashSet<Id>>,
    exclude: HashSet<Id>,
    eligible_authid: Option<HashSet<String>>,
    exclude_authid: HashSet<String>,
    eligible_authrole: Option<HashSet<String>>,
    exclude_authrole: HashSet<String>,
}

impl Audience {
    fn parse(options: &Dict) -> Result<Audience, String> {
        Ok(Audience {
            exclude_me: opt_bool(options, "exclude_me")?.unwrap_or(true),
            eligible: id_set(options, "eligible")?,
            exclude: id_set(options, "exclude")?.unwrap_or_default(),
            eligible_authid: str_set(options, "eligible_authid")?,
            exclude_authid: str_set(options, "exclude_authid")?.unwrap_or_default(),
            eligible_authrole: str_set(options, "eligible_authrole")?,
            exclude_authrole: str_set(options, "exclude_authrole")?.unwrap_or_default(),
        })
    }

    fn admits(&self, publisher: Option<Id>, s: &SessionInfo) -> bool {
        if self.exclude_me && publisher == Some(s.id) {
            return false;
        }
        let ok_id = self.eligible.as_ref().is_none_or(|e| e.contains(&s.id));
        let ok_authid = self
            .eligible_authid
            .as_ref()
            .is_none_or(|e| e.contains(&s.authid));
        let ok_role = self
            .eligible_authrole
            .as_ref()
            .is_none_or(|e| e.contains(&s.authrole));
        ok_id
            && ok_authid
            && ok_role
            && !self.exclude.contains(&s.id)
            && !self.exclude_authid.contains(&s.authid)
            && !self.exclude_authrole.contains(&s.authrole)
    }
}

pub(crate) fn opt_bool(options: &Dict, key: &str) -> Result<Option<bool>, String> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(format!(
            "option '{key}' must be a bool, got {}",
            v.type_name()
        )),
    }
}

/// A list option accepting one value or a list of values.
fn list_opt<'a>(options: &'a Dict, key: &str) -> Option<Vec<&'a Value>> {
    match options.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::List(l)) => Some(l.iter().collect()),
        Some(v) => Some(vec![v]),
    }
}

fn id_set(options: &Dict, key: &str) -> Result<Option<HashSet<Id>>, String> {
    list_opt(options, key)
        .map(|l| {
            l.into_iter()
                .map(|v| {
                    v.as_u64()
                        .ok_or_else(|| format!("option '{key}' must list session ids"))
                })
                .collect()
        })
        .transpose()
}

fn str_set(options: &Dict, key: &str) -> Result<Option<HashSet<String>>, String> {
    list_opt(options, key)
        .map(|l| {
            l.into_iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("option '{key}' must list strings"))
                })
                .collect()
        })
        .transpose()
}

// === impl RealmState: broker operations ===

impl RealmState {
    pub(crate) fn on_subscribe(
        &mut self,
        s: &SessionInfo,
        request: Id,
        options: Dict,
        topic: String,
    ) {
        let policy = match uri::MatchPolicy::parse(options.get("match").and_then(Value::as_str)) {
            Ok(p) => p,
            Err(e) => {
                return self.error(
                    s.id,
                    code::SUBSCRIBE,
                    request,
                    err::INVALID_ARGUMENT,
                    &e.to_string(),
                )
            }
        };
        if let Err(msg) = self.check_uri(s, &topic, policy, "topic") {
            return self.error(s.id, code::SUBSCRIBE, request, err::INVALID_URI, &msg);
        }
        if let Err(e) = self.authorize(s, Action::Subscribe, &topic) {
            return self.error(s.id, code::SUBSCRIBE, request, err::NOT_AUTHORIZED, &e);
        }
        if let Err(m) = self.subscription_limits(s, policy) {
            let uri = crate::limits::TOO_MANY_SUBSCRIPTIONS;
            return self.error(s.id, code::SUBSCRIBE, request, uri, &m);
        }
        let (sub_id, created) = self.add_subscriber(s.id, &topic, policy);
        self.send(
            s.id,
            Message::Subscribed {
                request,
                subscription: sub_id,
            },
        );
        if topic.starts_with("wamp.") {
            return; // no meta events about subscriptions to meta topics
        }
        let details = self
            .broker
            .subs
            .get(&sub_id)
            .map(Subscription::details)
            .unwrap_or_default();
        if created {
            self.publish_meta(
                "wamp.subscription.on_create",
                vec![s.id.into(), details.into()],
            );
        }
        self.publish_meta(
            "wamp.subscription.on_subscribe",
            vec![s.id.into(), sub_id.into()],
        );
    }

    /// Adds a subscriber; returns the subscription id and whether it was created.
    fn add_subscriber(&mut self, session: Id, topic: &str, policy: MatchPolicy) -> (Id, bool) {
        let b = &mut self.broker;
        let (id, created) = match b.index.get(topic, policy) {
            Some(id) => (id, false),
            None => {
                let id = random_id();
                let uri: Arc<str> = topic.into();
                b.index.insert(uri.clone(), policy, id);
                let sub = Subscription {
                    id,
                    uri,
                    policy,
                    created: now_ns(),
                    subscribers: Vec::new(),
                };
                b.subs.insert(id, sub);
                (id, true)
            }
        };
        if let Some(sub) = b.subs.get_mut(&id) {
            if !sub.subscribers.contains(&session) {
                sub.subscribers.push(session);
                b.by_session.entry(session).or_default().push(id);
                if policy != MatchPolicy::Exact {
                    *b.patterns_of.entry(session).or_default() += 1;
                }
            }
        }
        (id, created)
    }

    pub(crate) fn on_unsubscribe(&mut self, s: &SessionInfo, request: Id, sub_id: Id) {
        let subscribed = self
            .broker
            .subs
            .get(&sub_id)
            .is_some_and(|x| x.subscribers.contains(&s.id));
        if !subscribed {
            let msg = format!("session {} has no subscription {sub_id}", s.id);
            return self.error(
                s.id,
                code::UNSUBSCRIBE,
                request,
                err::NO_SUCH_SUBSCRIPTION,
                &msg,
            );
        }
        self.remove_subscriber(s.id, sub_id);
        self.send(
            s.id,
            Message::Unsubscribed {
                request,
                details: None,
            },
        );
    }

    /// Removes one subscriber, deleting the subscription when it was the last one.
    pub(crate) fn remove_subscriber(&mut self, session: Id, sub_id: Id) {
        crate::util::unlink(&mut self.broker.by_session, session, sub_id);
        self.drop_subscriber(session, sub_id);
    }

    /// Removes every subscription of a session that left: linear in its own subscriptions.
    pub(crate) fn broker_detach(&mut self, session: Id) {
        let held = self.broker.by_session.remove(&session).unwrap_or_default();
        for sub in held {
            self.drop_subscriber(session, sub);
        }
        self.broker.patterns_of.remove(&session);
    }

    /// [`RealmState::remove_subscriber`] without the session's own list.
    fn drop_subscriber(&mut self, session: Id, sub_id: Id) {
        let b = &mut self.broker;
        let Some(sub) = b.subs.get_mut(&sub_id) else {
            return;
        };
        sub.subscribers.retain(|x| *x != session);
        if sub.policy != MatchPolicy::Exact {
            crate::limits::count_down(&mut b.patterns_of, session);
        }
        let deleted = sub.subscribers.is_empty();
        let silent = sub.uri.starts_with("wamp.");
        if deleted {
            if let Some(sub) = b.subs.remove(&sub_id) {
                b.index.remove(&sub.uri, sub.policy);
            }
        }
        if silent {
            return;
        }
        self.publish_meta(
            "wamp.subscription.on_unsubscribe",
            vec![session.into(), sub_id.into()],
        );
        if deleted {
            self.publish_meta(
                "wamp.subscription.on_delete",
                vec![session.into(), sub_id.into()],
            );
        }
    }

    pub(crate) fn on_publish(
        &mut self,
        s: &SessionInfo,
        request: Id,
        options: Dict,
        topic: String,
        payload: Payload,
    ) {
        let ack = matches!(options.get("acknowledge"), Some(Value::Bool(true)));
        let fail = |st: &mut Self, uri: &str, msg: &str| {
            if ack {
                st.error(s.id, code::PUBLISH, request, uri, msg);
            }
        };
        if let Err(msg) = self.check_uri(s, &topic, MatchPolicy::Exact, "topic") {
            return fail(self, err::INVALID_URI, &msg);
        }
        if topic.starts_with("wamp.") && s.authrole != crate::realm::TRUSTED {
            return fail(
                self,
                err::INVALID_URI,
                &format!("publish with restricted topic URI '{topic}'"),
            );
        }
        let disclose = match self.authorize(s, Action::Publish, &topic) {
            Ok(perm_disclose) => {
                perm_disclose || matches!(options.get("disclose_me"), Some(Value::Bool(true)))
            }
            Err(e) => return fail(self, err::NOT_AUTHORIZED, &e),
        };
        let audience = match Audience::parse(&options) {
            Ok(a) => a,
            Err(e) => return fail(self, err::INVALID_ARGUMENT, &e),
        };
        let publication = random_id();
        // PUBLISHED goes out before the EVENTs (as Crossbar does): a publisher subscribed with
        // `exclude_me: false` sees its acknowledgement first.
        if ack {
            self.acknowledge(s, request, &topic, publication);
        }
        let publisher = disclose.then_some(s);
        self.deliver(
            Some(s.id),
            publisher,
            &topic,
            &audience,
            publication,
            payload,
        );
    }

    /// Sends PUBLISHED now, or, when the gate hands back a future, from a task once it resolves.
    fn acknowledge(&mut self, s: &SessionInfo, request: Id, topic: &str, publication: Id) {
        let published = Message::Published {
            request,
            publication,
        };
        let gated = self.broker.ack_gate.0.clone();
        let wait = gated.and_then(|g| g.gate(s, topic, publication));
        let tx = self.sessions.get(&s.id).map(|e| e.tx.clone());
        let runtime = tokio::runtime::Handle::try_current().ok();
        let (Some(wait), Some(tx), Some(rt)) = (wait, tx, runtime) else {
            return self.send(s.id, published);
        };
        rt.spawn(async move {
            let msg = match wait.await {
                Ok(()) => published,
                Err(r) => Message::Error {
                    request_type: code::PUBLISH,
                    request,
                    details: Dict::new(),
                    error: r.error,
                    payload: Payload::args(vec![r.message.into()]),
                },
            };
            // a full queue: the session is being dropped as too slow anyway
            let _ = tx.msg(msg);
        });
    }

    /// Publishes a router-originated event (meta events, controller events) to every subscriber.
    pub(crate) fn publish_meta(&mut self, topic: &str, args: Vec<Value>) {
        if self.broker.subs.is_empty() {
            return;
        }
        let everyone = Audience::parse(&Dict::new()).unwrap_or_else(|_| unreachable!());
        self.deliver(
            None,
            None,
            topic,
            &everyone,
            random_id(),
            Payload::args(args),
        );
    }

    /// Publishes a session meta event (`wamp.session.on_join`) whose only argument is the
    /// session's details: in full to `trusted` subscribers, without headers and authextra to
    /// the others ([`SessionInfo::details_for`]).
    pub(crate) fn publish_session_meta(&mut self, topic: &str, info: &SessionInfo) {
        if self.broker.subs.is_empty() {
            return;
        }
        let trusted: HashSet<String> = [crate::realm::TRUSTED.to_owned()].into();
        let Ok(mut everyone) = Audience::parse(&Dict::new()) else {
            return;
        };
        everyone.exclude_authrole = trusted.clone();
        let publication = random_id();
        let guest = Payload::args(vec![info.details_for(false).into()]);
        self.deliver(None, None, topic, &everyone, publication, guest);
        everyone.exclude_authrole = HashSet::new();
        everyone.eligible_authrole = Some(trusted);
        let full = Payload::args(vec![info.details_for(true).into()]);
        self.deliver(None, None, topic, &everyone, publication, full);
    }

    /// Builds one EVENT per matching subscription and queues it to the admitted subscribers.
    fn deliver(
        &mut self,
        from: Option<Id>,
        disclosed: Option<&SessionInfo>,
        topic: &str,
        audience: &Audience,
        publication: Id,
        payload: Payload,
    ) {
        let matching = self.broker.matching(topic);
        let mut payload = Some(payload);
        let n = matching.len();
        for (i, sub_id) in matching.into_iter().enumerate() {
            let Some(sub) = self.broker.subs.get(&sub_id) else {
                continue;
            };
            let targets: Vec<Id> = sub
                .subscribers
                .iter()
                .filter(|id| {
                    self.sessions
                        .get(id)
                        .is_some_and(|e| audience.admits(from, &e.info))
                })
                .copied()
                .collect();
            if targets.is_empty() {
                continue;
            }
            let mut details = Dict::new();
            if sub.policy != MatchPolicy::Exact {
                details.insert("topic".into(), topic.into());
            }
            if let Some(p) = disclosed {
                details.insert("publisher".into(), p.id.into());
                details.insert("publisher_authid".into(), p.authid.clone().into());
                details.insert("publisher_authrole".into(), p.authrole.clone().into());
            }
            let payload = if i + 1 == n {
                payload.take().unwrap_or_default()
            } else {
                payload.clone().unwrap_or_default()
            };
            let event = Shared::new(Message::Event {
                subscription: sub_id,
                publication,
                details,
                payload,
            });
            for t in targets {
                self.send_out(t, Outgoing::Shared(event.clone()));
            }
        }
    }
}
