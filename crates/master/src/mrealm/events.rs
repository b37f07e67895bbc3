//! What drives the node map: session join/leave meta events and node heartbeats, received by
//! the controller's subscriptions. Transitions are announced as `on_node_ready` /
//! `on_node_shutdown` on the management realm and forwarded to the global realm. Checked node
//! and worker heartbeats also go to the history writer ([`super::heartbeats`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tracing::{debug, warn};
use uuid::Uuid;
use wamp_client::{Event, EventQueue, PublishOptions, Session, SubscribeOptions};
use wamp_proto::{Dict, MatchPolicy, Value};

pub(crate) use super::hbcheck::worker_counts;
use super::heartbeats::{refused, Ack, Record, Writer, INVALID};
use super::nodes::{NodeMap, Transition};
use crate::error::{MasterError, Result};
use crate::Master;

/// Where the event handlers read and write.
pub(crate) struct Driver {
    pub master: Arc<Master>,
    pub mrealm_oid: Uuid,
    /// Publishes announcements and makes the health-check calls.
    pub session: Session,
    /// Receives the high-volume events (joins, leaves, heartbeats), so that a burst of them
    /// never queues in front of the procedures served by `session`.
    pub ingest: Session,
    pub map: Arc<Mutex<NodeMap>>,
    pub history: Arc<Writer>,
}

/// A node heartbeat that passed the checks.
pub(crate) struct Beat {
    pub oid: Uuid,
    pub authid: String,
    pub seq: u64,
    pub time: u64,
    pub workers: BTreeMap<String, u64>,
}

const ON_JOIN: &str = "wamp.session.on_join";
const ON_LEAVE: &str = "wamp.session.on_leave";
const ON_HEARTBEAT: &str = "crossbarfabriccenter.node.on_heartbeat";
const ON_WORKER_HEARTBEAT: &str = "crossbarfabriccenter.node.on_worker_heartbeat";
/// A node announcing itself ready / shutting down (wildcard: the authid is the third component).
const ON_READY: &str = "crossbarfabriccenter.node..on_ready";
const ON_SHUTDOWN: &str = "crossbarfabriccenter.node..on_shutdown";

/// Events the controller may queue before it drops heartbeats (joins, leaves and
/// announcements are never dropped): bounds its memory when heartbeats arrive faster than it
/// handles them.
const BACKLOG: usize = 100_000;

/// Subscribes and handles events, in the router's delivery order, until the session ends.
pub(crate) async fn run(d: Arc<Driver>) -> Result<()> {
    let mut queue = EventQueue::new(BACKLOG);
    let exact = SubscribeOptions::default;
    let wild = || SubscribeOptions::with_match(MatchPolicy::Wildcard);
    let mut subs = Vec::new();
    for (topic, opts, lossy) in [
        (ON_JOIN, exact(), false),
        (ON_LEAVE, exact(), false),
        (ON_HEARTBEAT, exact(), true),
        (ON_WORKER_HEARTBEAT, exact(), true),
        (ON_READY, wild(), false),
        (ON_SHUTDOWN, wild(), false),
    ] {
        let sub = d
            .ingest
            .subscribe_queued(topic, opts, &queue, lossy)
            .await
            .map_err(|e| MasterError::Internal(format!("subscribe {topic}: {e}")))?;
        subs.push((sub.id(), topic, sub));
    }
    queue.seal();
    let mut reported = Dropped::default();
    while let Some(e) = queue.recv().await {
        let topic = subs
            .iter()
            .find(|(id, _, _)| *id == e.subscription)
            .map(|(_, t, _)| *t);
        let transition = match topic {
            Some(ON_JOIN) => d.on_join(&e),
            Some(ON_LEAVE) => d.on_leave(&e),
            Some(ON_HEARTBEAT) => d.on_heartbeat(&e),
            Some(ON_WORKER_HEARTBEAT) => d.on_worker_heartbeat(&e),
            Some(ON_READY) => d.on_announced(&e, true),
            Some(ON_SHUTDOWN) => d.on_announced(&e, false),
            _ => None,
        };
        if let Some(t) = transition {
            d.announce(t).await;
        }
        reported.check(&queue);
    }
    Ok(())
}

/// Rate-limited reporting of heartbeats dropped because the controller fell behind.
#[derive(Default)]
struct Dropped {
    count: u64,
    at: Option<std::time::Instant>,
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
        self.at = Some(std::time::Instant::now());
    }
}

impl Driver {
    fn map(&self) -> std::sync::MutexGuard<'_, NodeMap> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn on_join(&self, e: &Event) -> Option<Transition> {
        let details = e.args.first()?.as_dict()?;
        if details.get("authrole").and_then(Value::as_str) != Some("node") {
            return None;
        }
        let authid = details.get("authid").and_then(Value::as_str)?;
        let session = details.get("session").and_then(Value::as_u64)?;
        let oid = self.node_oid(authid)?;
        self.map().joined(oid, authid, session)
    }

    /// `crossbarfabriccenter.node.<authid>.on_ready` / `.on_shutdown`, from that node only.
    fn on_announced(&self, e: &Event, ready: bool) -> Option<Transition> {
        let authid = e.topic()?.split('.').nth(2)?;
        let publisher = e.details.get("publisher").and_then(Value::as_u64)?;
        let Some(oid) = self.map().session_is(publisher, authid) else {
            warn!(%authid, publisher, "node announcement from a session that is not that node: dropped");
            return None;
        };
        let mut map = self.map();
        if ready {
            map.announced_ready(oid, authid)
        } else {
            map.check_failed(oid)
        }
    }

    fn on_leave(&self, e: &Event) -> Option<Transition> {
        let session = e.args.first()?.as_u64()?;
        self.map().left(session)
    }

    fn node_oid(&self, authid: &str) -> Option<Uuid> {
        match self.master.store.node_by_authid(self.mrealm_oid, authid) {
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

    /// A node heartbeat `[authid, hb]`: checked, then applied; an invalid one is logged and
    /// dropped without disturbing anything else.
    fn on_heartbeat(&self, e: &Event) -> Option<Transition> {
        let received = crate::util::now_ns();
        let checked = self.check_heartbeat(e).and_then(|b| {
            let log = super::hblog::node_record(self.mrealm_oid, &b, &e.args, received)?;
            Ok((b, log))
        });
        let ack = self.durable_ack(e);
        match checked {
            Ok((b, log)) => {
                self.history.submit_acked(Record::Node(log), ack);
                self.map()
                    .heartbeat(b.oid, &b.authid, b.seq, b.time, b.workers)
            }
            Err(reason) => {
                refuse(ack, &reason);
                warn!(%reason, publisher = ?e.details.get("publisher_authid"), "heartbeat dropped");
                None
            }
        }
    }

    /// A worker heartbeat `[authid, worker_id, hb]`: checked, then queued for the history.
    fn on_worker_heartbeat(&self, e: &Event) -> Option<Transition> {
        let ack = self.durable_ack(e);
        match self.check_worker_heartbeat(e, crate::util::now_ns()) {
            Ok(log) => {
                self.history.submit_acked(Record::Worker(log), ack);
            }
            Err(reason) => {
                refuse(ack, &reason);
                warn!(%reason, publisher = ?e.details.get("publisher_authid"), "worker heartbeat dropped");
            }
        }
        None
    }

    /// Durable-acknowledge mode: the PUBLISHED waiting for this heartbeat, if any.
    fn durable_ack(&self, e: &Event) -> Option<Ack> {
        if !self.master.config.durable_heartbeats {
            return None;
        }
        self.master
            .heartbeat_acks(self.mrealm_oid)?
            .take(e.publication)
    }

    fn check_heartbeat(&self, e: &Event) -> std::result::Result<Beat, String> {
        let hb = super::hbcheck::validate_heartbeat(&e.args)?;
        let publisher = e
            .details
            .get("publisher")
            .and_then(Value::as_u64)
            .ok_or("publisher not disclosed")?;
        let authid = &hb.authid;
        let oid = self.map().session_is(publisher, authid).ok_or_else(|| {
            format!("publisher session {publisher} is not a session of node \"{authid}\"")
        })?;
        debug!(authid = %hb.authid, seq = hb.seq, "heartbeat");
        Ok(Beat {
            oid,
            authid: hb.authid,
            seq: hb.seq,
            time: hb.timestamp.unwrap_or_else(crate::util::now_ns),
            workers: hb.workers,
        })
    }

    /// Publishes a transition on the management realm and forwards it to the global realm.
    pub(crate) async fn announce(&self, t: Transition) {
        let (topic, oid, obj) = match t {
            Transition::Ready(oid, obj) => ("crossbarfabriccenter.mrealm.on_node_ready", oid, obj),
            Transition::Shutdown(oid, obj) => {
                ("crossbarfabriccenter.mrealm.on_node_shutdown", oid, obj)
            }
        };
        let args = vec![Value::from(oid.to_string()), obj];
        let opts = PublishOptions::default();
        if let Err(e) = self
            .session
            .publish(topic, args.clone(), Dict::new(), opts.clone())
            .await
        {
            warn!(%topic, error = %e, "cannot publish");
        }
        crate::domain::publish(&self.master, topic, args).await;
    }
}

/// Answers a durable acknowledge of an invalid heartbeat with an ERROR.
fn refuse(ack: Option<Ack>, reason: &str) {
    if let Some(a) = ack {
        let _ = a.send(Err(refused(INVALID, reason)));
    }
}
