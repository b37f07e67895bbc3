//! What drives the node map: session join/leave meta events and node heartbeats, received by
//! the controller's subscriptions. Transitions are announced as `on_node_ready` /
//! `on_node_shutdown` on the management realm and forwarded to the global realm. Checked node
//! and worker heartbeats also go to the history writer ([`super::heartbeats`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tracing::{debug, warn};
use uuid::Uuid;
use wamp_client::{Event, PublishOptions, Session, SubscribeOptions};
use wamp_proto::{Dict, MatchPolicy, Value};

use super::heartbeats::{Record, Writer};
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

/// Subscribes and handles events until the session ends.
pub(crate) async fn run(d: Arc<Driver>) -> Result<()> {
    let sub = |topic: &'static str| {
        let s = d.ingest.clone();
        async move {
            s.subscribe(topic, SubscribeOptions::default())
                .await
                .map_err(|e| MasterError::Internal(format!("subscribe {topic}: {e}")))
        }
    };
    let (mut join, mut leave, mut hb) = (
        sub(ON_JOIN).await?,
        sub(ON_LEAVE).await?,
        sub(ON_HEARTBEAT).await?,
    );
    let mut worker_hb = sub(ON_WORKER_HEARTBEAT).await?;
    let wild = |topic: &'static str| {
        let s = d.ingest.clone();
        async move {
            s.subscribe(topic, SubscribeOptions::with_match(MatchPolicy::Wildcard))
                .await
                .map_err(|e| MasterError::Internal(format!("subscribe {topic}: {e}")))
        }
    };
    let (mut ready, mut shutdown) = (wild(ON_READY).await?, wild(ON_SHUTDOWN).await?);
    loop {
        // biased: a join is handled before a heartbeat or leave that was queued after it
        let transition = tokio::select! {
            biased;
            e = join.recv() => match e { Some(e) => d.on_join(&e), None => break },
            e = leave.recv() => match e { Some(e) => d.on_leave(&e), None => break },
            e = hb.recv() => match e { Some(e) => d.on_heartbeat(&e), None => break },
            e = worker_hb.recv() => match e { Some(e) => d.on_worker_heartbeat(&e), None => break },
            e = ready.recv() => match e { Some(e) => d.on_announced(&e, true), None => break },
            e = shutdown.recv() => match e { Some(e) => d.on_announced(&e, false), None => break },
        };
        if let Some(t) = transition {
            d.announce(t).await;
        }
    }
    Ok(())
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
            let log = super::hblog::node_record(self.mrealm_oid, &b, e, received)?;
            Ok((b, log))
        });
        match checked {
            Ok((b, log)) => {
                self.history.submit(Record::Node(log));
                self.map()
                    .heartbeat(b.oid, &b.authid, b.seq, b.time, b.workers)
            }
            Err(reason) => {
                warn!(%reason, publisher = ?e.details.get("publisher_authid"), "heartbeat dropped");
                None
            }
        }
    }

    /// A worker heartbeat `[authid, worker_id, hb]`: checked, then queued for the history.
    fn on_worker_heartbeat(&self, e: &Event) -> Option<Transition> {
        match self.check_worker_heartbeat(e, crate::util::now_ns()) {
            Ok(log) => {
                self.history.submit(Record::Worker(log));
            }
            Err(reason) => {
                warn!(%reason, publisher = ?e.details.get("publisher_authid"), "worker heartbeat dropped");
            }
        }
        None
    }

    fn check_heartbeat(&self, e: &Event) -> std::result::Result<Beat, String> {
        let authid = e
            .args
            .first()
            .and_then(Value::as_str)
            .ok_or("args[0] (node authid) must be a string")?;
        let hb = e
            .args
            .get(1)
            .and_then(Value::as_dict)
            .ok_or("args[1] (heartbeat) must be a dict")?;
        let publisher = e
            .details
            .get("publisher")
            .and_then(Value::as_u64)
            .ok_or("publisher not disclosed")?;
        let oid = self.map().session_is(publisher, authid).ok_or_else(|| {
            format!("publisher session {publisher} is not a session of node \"{authid}\"")
        })?;
        let seq = match hb.get("seq") {
            Some(v) => v.as_u64().ok_or("'seq' must be a non-negative integer")?,
            None => 0,
        };
        let time = match hb.get("timestamp") {
            Some(v) => v
                .as_u64()
                .ok_or("'timestamp' must be a non-negative integer (ns)")?,
            None => crate::util::now_ns(),
        };
        let workers = match hb.get("workers") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Dict(w)) => worker_counts(w)?,
            Some(_) => return Err("'workers' must be a dict of counts".into()),
        };
        debug!(%authid, seq, "heartbeat");
        Ok(Beat {
            oid,
            authid: authid.to_owned(),
            seq,
            time,
            workers,
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

/// `workers` of a heartbeat: worker type → count.
pub(crate) fn worker_counts(w: &Dict) -> std::result::Result<BTreeMap<String, u64>, String> {
    w.iter()
        .map(|(k, v)| {
            v.as_u64()
                .map(|n| (k.clone(), n))
                .ok_or_else(|| format!("workers['{k}'] must be a count"))
        })
        .collect()
}
