//! The owner of a management realm's run-time node state: one task per management realm, the
//! only writer of the node map ([`super::nodes::NodeMap`]).
//!
//! ```text
//! ingest session ─ subscriptions ─► EventQueue (router delivery order) ──┐
//!   joins, leaves, node on_ready/on_shutdown, node and worker heartbeats  ├─► owner task
//! health checks, unpairing ─► Control channel ───────────────────────────┘     │
//!      ┌───────────────────────────────────────────────────────────────────────┘
//!      ├─► NodeView snapshot (watch): API calls, remote forwarding, tracing, managers
//!      ├─► transitions, in order, exactly once ─► Announcer (events; never awaited here)
//!      └─► accepted heartbeats ─► history Writer (never waits)
//! ```
//!
//! The task takes a batch of inputs (what is waiting, up to [`BATCH`]), applies them in order,
//! then publishes one snapshot and hands the batch's transitions to the announcer: a reader
//! that receives `on_node_ready` already sees the node online. Control inputs carry what they
//! were based on (a health check names the node's generation), so their order relative to the
//! events cannot undo a newer transition. It never awaits anything but its next input.

use std::time::Instant;

use store::Store;
use tokio::sync::{mpsc, watch};
use tracing::{debug, warn};
use uuid::Uuid;
use wamp_client::{Event, EventQueue, Session, SubscribeOptions};
use wamp_proto::{Id, MatchPolicy, Value};

use super::announce::Announcer;
use super::heartbeat::{self, AckRegistry, Record, Refusals, Writer};
use super::nodes::{CheckOutcome, NodeMap, NodeView, Transition};
use crate::error::{MasterError, Result};
use crate::util::now_ns;
use crate::wire::{meta, node};
use std::sync::Arc;

/// Inputs applied before a snapshot is published.
pub(crate) const BATCH: usize = 1024;

/// Events the owner may have waiting before it drops heartbeats (joins, leaves and
/// announcements are never dropped): bounds its memory when heartbeats arrive faster than it
/// handles them.
pub(crate) const BACKLOG: usize = 100_000;

/// An input that does not come from the router.
#[derive(Debug)]
pub(crate) enum Control {
    /// A health check taken at the node's `generation` came back.
    Checked {
        oid: Uuid,
        generation: u64,
        outcome: CheckOutcome,
    },
    /// The node was unpaired (its sessions were closed).
    Unpaired(Uuid),
}

/// What an event the owner follows is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Topic {
    Join,
    Leave,
    Heartbeat,
    WorkerHeartbeat,
    Ready,
    Shutdown,
}

/// The topics the owner follows, and whether a backlog may drop their events (heartbeats
/// only). A topic with an empty component is a wildcard subscription.
pub(crate) const TOPICS: [(&str, Topic, bool); 6] = [
    (meta::ON_JOIN, Topic::Join, false),
    (meta::ON_LEAVE, Topic::Leave, false),
    (node::ON_HEARTBEAT, Topic::Heartbeat, true),
    (node::ON_WORKER_HEARTBEAT, Topic::WorkerHeartbeat, true),
    (node::ON_READY_ANY, Topic::Ready, false),
    (node::ON_SHUTDOWN_ANY, Topic::Shutdown, false),
];

/// The ordered event input: the queue and which subscription is which topic.
pub(crate) struct Inputs {
    queue: EventQueue,
    topics: Vec<(Id, Topic, wamp_client::Subscription)>,
}

/// Subscribes `ingest` to `topics` (production: [`TOPICS`]), into one ordered queue.
pub(crate) async fn subscribe(ingest: &Session, topics: &[(&str, Topic, bool)]) -> Result<Inputs> {
    let mut queue = EventQueue::new(BACKLOG);
    let mut subs = Vec::new();
    for &(uri, topic, lossy) in topics {
        let opts = if uri.contains("..") {
            SubscribeOptions::with_match(MatchPolicy::Wildcard)
        } else {
            SubscribeOptions::default()
        };
        let sub = ingest
            .subscribe_queued(uri, opts, &queue, lossy)
            .await
            .map_err(|e| MasterError::Internal(format!("subscribe {uri}: {e}")))?;
        subs.push((sub.id(), topic, sub));
    }
    queue.seal();
    Ok(Inputs {
        queue,
        topics: subs,
    })
}

/// The owner task's state.
pub(crate) struct Owner {
    pub store: Arc<Store>,
    pub mrealm_oid: Uuid,
    pub map: NodeMap,
    pub view: watch::Sender<NodeView>,
    pub announcer: Announcer,
    pub history: Arc<Writer>,
    /// Durable-acknowledge mode: the PUBLISHEDs waiting for their heartbeat.
    pub acks: Option<Arc<AckRegistry>>,
    pub refusals: Refusals,
    /// Transitions of the batch being applied.
    pending: Vec<Transition>,
    changed: bool,
}

impl Owner {
    pub(crate) fn new(
        store: Arc<Store>,
        mrealm_oid: Uuid,
        announcer: Announcer,
        history: Arc<Writer>,
        acks: Option<Arc<AckRegistry>>,
    ) -> (Owner, watch::Receiver<NodeView>) {
        let (view, rx) = watch::channel(NodeView::default());
        let owner = Owner {
            store,
            mrealm_oid,
            map: NodeMap::default(),
            view,
            announcer,
            history,
            acks,
            refusals: Refusals::default(),
            pending: Vec::new(),
            changed: false,
        };
        (owner, rx)
    }

    /// Runs until the ingest session is closed and its events are handled. The control channel
    /// may close earlier (its senders are gone); events are still handled.
    pub(crate) async fn run(
        mut self,
        inputs: Inputs,
        mut control: mpsc::UnboundedReceiver<Control>,
    ) {
        let Inputs { mut queue, topics } = inputs;
        let topic_of = |e: &Event| {
            topics
                .iter()
                .find(|(id, ..)| *id == e.subscription)
                .map(|(_, t, _)| *t)
        };
        let mut dropped = Dropped::default();
        let mut control_open = true;
        loop {
            tokio::select! {
                biased;
                c = control.recv(), if control_open => match c {
                    Some(c) => self.control(c),
                    None => control_open = false,
                },
                e = queue.recv() => match e {
                    Some(e) => self.event(topic_of(&e), e),
                    None => break,
                },
            }
            for _ in 0..BATCH {
                if let Ok(c) = control.try_recv() {
                    self.control(c);
                } else if let Some(e) = queue.try_recv() {
                    self.event(topic_of(&e), e);
                } else {
                    break;
                }
            }
            self.publish();
            dropped.check(&queue);
        }
        self.publish();
    }

    /// Publishes the snapshot, then the batch's transitions in order.
    fn publish(&mut self) {
        if std::mem::take(&mut self.changed) {
            self.view.send_replace(self.map.view());
        }
        for t in self.pending.drain(..) {
            self.announcer.announce(t);
        }
    }

    fn apply(&mut self, t: Option<Transition>) {
        self.changed = true;
        self.pending.extend(t);
    }

    fn control(&mut self, c: Control) {
        let t = match c {
            Control::Checked {
                oid,
                generation,
                outcome,
            } => self.map.checked(oid, generation, outcome),
            Control::Unpaired(oid) => self.map.unpaired(oid),
        };
        self.apply(t);
    }

    fn event(&mut self, topic: Option<Topic>, e: Event) {
        let t = match topic {
            Some(Topic::Join) => self.on_join(&e),
            Some(Topic::Leave) => e
                .args
                .first()
                .and_then(Value::as_u64)
                .and_then(|s| self.map.left(s)),
            Some(Topic::Heartbeat) => self.on_heartbeat(&e),
            Some(Topic::WorkerHeartbeat) => self.on_worker_heartbeat(&e),
            Some(Topic::Ready) => self.on_announced(&e, true),
            Some(Topic::Shutdown) => self.on_announced(&e, false),
            None => None,
        };
        self.apply(t);
    }

    fn on_join(&mut self, e: &Event) -> Option<Transition> {
        let details = e.args.first()?.as_dict()?;
        if details.get("authrole").and_then(Value::as_str) != Some("node") {
            return None;
        }
        let authid = details.get("authid").and_then(Value::as_str)?;
        let session = details.get("session").and_then(Value::as_u64)?;
        let oid = self.node_oid(authid)?;
        self.map.joined(oid, authid, session)
    }

    /// `crossbarfabriccenter.node.<authid>.on_ready` / `.on_shutdown`, from that node only.
    fn on_announced(&mut self, e: &Event, ready: bool) -> Option<Transition> {
        let authid = e.topic()?.split('.').nth(2)?;
        let publisher = e.publisher()?;
        let Some(oid) = self.map.session_is(publisher, authid) else {
            warn!(%authid, publisher, "node announcement from a session that is not that node: dropped");
            return None;
        };
        self.map.announced(oid, authid, ready)
    }

    fn node_oid(&self, authid: &str) -> Option<Uuid> {
        match self.store.node_by_authid(self.mrealm_oid, authid) {
            Ok(Some(n)) => Some(n.oid),
            Ok(None) => {
                warn!(%authid, "node session of a node that is not paired here");
                None
            }
            Err(e) => {
                warn!(%authid, error = %e, "cannot look up node");
                None
            }
        }
    }

    /// The PUBLISHED waiting for this heartbeat (durable-acknowledge mode), if any.
    fn durable_ack(&self, e: &Event) -> Option<heartbeat::Ack> {
        self.acks.as_ref()?.take(e.publication)
    }

    fn on_heartbeat(&mut self, e: &Event) -> Option<Transition> {
        let received = now_ns();
        let ack = self.durable_ack(e);
        match heartbeat::accept_node(e, &self.map) {
            Ok((node, hb)) => {
                debug!(authid = %hb.authid, seq = hb.seq, "heartbeat");
                let time = hb.timestamp.unwrap_or(received);
                let t = self
                    .map
                    .heartbeat(node, &hb.authid, hb.seq, time, hb.workers.clone());
                let rec = Record::Node { node, hb, received };
                self.history.submit_acked(rec, ack);
                t
            }
            Err(r) => {
                self.refusals.refuse(&r, e, ack);
                None
            }
        }
    }

    fn on_worker_heartbeat(&mut self, e: &Event) -> Option<Transition> {
        let received = now_ns();
        let ack = self.durable_ack(e);
        match heartbeat::accept_worker(e, &self.map) {
            Ok((node, hb)) => {
                let rec = Record::Worker { node, hb, received };
                self.history.submit_acked(rec, ack);
            }
            Err(r) => self.refusals.refuse(&r, e, ack),
        }
        None
    }
}

/// Rate-limited reporting of heartbeats dropped because the owner fell behind.
#[derive(Default)]
struct Dropped {
    count: u64,
    at: Option<Instant>,
}

impl Dropped {
    fn check(&mut self, queue: &EventQueue) {
        let now = queue.dropped();
        if now == self.count || self.at.is_some_and(|t| t.elapsed().as_secs() < 10) {
            return;
        }
        warn!(
            dropped = now - self.count,
            backlog = queue.len(),
            "controller behind: heartbeats dropped before handling (node state is unaffected)"
        );
        self.count = now;
        self.at = Some(Instant::now());
    }
}
