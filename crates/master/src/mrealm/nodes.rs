//! The run-time map of a management realm's nodes and its state transitions.
//!
//! A node is online while it has at least one session (and its health check passes); every
//! offline→online transition yields exactly one `Ready` and every online→offline transition
//! exactly one `Shutdown`, at the moment it happens (Crossbar races here).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use uuid::Uuid;
use wamp_proto::{dict, Id, Value};

use crate::util::now_ns;

/// What last showed a node alive (`last_activity` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Started = 2,
    Ready = 3,
    Heartbeat = 4,
    Check = 5,
}

/// One node as the controller sees it.
#[derive(Debug, Clone)]
pub struct NodeState {
    pub oid: Uuid,
    pub authid: String,
    pub online: bool,
    pub last_active: u64,
    pub last_activity: u8,
    pub workers: BTreeMap<String, u64>,
    /// The last heartbeat's `seq` and its time (ns).
    pub counter: Option<u64>,
    pub time: Option<u64>,
    pub sessions: BTreeSet<Id>,
}

impl NodeState {
    /// The node object of `on_node_ready` / `on_node_shutdown`.
    pub fn to_value(&self) -> Value {
        let workers = self
            .workers
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(*v)))
            .collect();
        dict! {
            "id" => self.oid.to_string(),
            "authid" => self.authid.clone(),
            "status" => if self.online { "online" } else { "offline" },
            "last_active" => self.last_active,
            "last_activity" => self.last_activity,
            "workers" => Value::Dict(workers),
            "counter" => self.counter,
            "time" => self.time.unwrap_or(0),
        }
        .into()
    }
}

/// A status change to announce.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    Ready(Uuid, Value),
    Shutdown(Uuid, Value),
}

/// The nodes seen since the controller started, and which session belongs to which node.
#[derive(Debug, Default)]
pub struct NodeMap {
    nodes: HashMap<Uuid, NodeState>,
    by_session: HashMap<Id, Uuid>,
}

impl NodeMap {
    /// A node seen since the controller started, by oid (what Crossbar's
    /// `map_node_oid_to_authid`, `node()` and `nodes` give its code).
    pub fn get(&self, oid: &Uuid) -> Option<&NodeState> {
        self.nodes.get(oid)
    }

    /// Online nodes as (oid, authid).
    pub fn online(&self) -> Vec<(Uuid, String)> {
        self.nodes
            .values()
            .filter(|n| n.online)
            .map(|n| (n.oid, n.authid.clone()))
            .collect()
    }

    fn entry(&mut self, oid: Uuid, authid: &str) -> &mut NodeState {
        self.nodes.entry(oid).or_insert_with(|| NodeState {
            oid,
            authid: authid.to_owned(),
            online: false,
            last_active: 0,
            last_activity: 0,
            workers: BTreeMap::new(),
            counter: None,
            time: None,
            sessions: BTreeSet::new(),
        })
    }

    /// Marks a node alive; a Ready transition if it was not online.
    fn alive(&mut self, oid: Uuid, authid: &str, why: Activity) -> Option<Transition> {
        let n = self.entry(oid, authid);
        n.last_active = now_ns();
        n.last_activity = why as u8;
        if n.online {
            return None;
        }
        n.online = true;
        Some(Transition::Ready(oid, n.to_value()))
    }

    fn down(&mut self, oid: Uuid) -> Option<Transition> {
        let n = self.nodes.get_mut(&oid)?;
        if !n.online {
            return None;
        }
        n.online = false;
        Some(Transition::Shutdown(oid, n.to_value()))
    }

    /// A node session joined.
    pub fn joined(&mut self, oid: Uuid, authid: &str, session: Id) -> Option<Transition> {
        self.by_session.insert(session, oid);
        let n = self.entry(oid, authid);
        n.sessions.insert(session);
        n.counter = None;
        n.time = None;
        self.alive(oid, authid, Activity::Started)
    }

    /// A session left; a Shutdown transition if it was the node's last one.
    pub fn left(&mut self, session: Id) -> Option<Transition> {
        let oid = self.by_session.remove(&session)?;
        let n = self.nodes.get_mut(&oid)?;
        n.sessions.remove(&session);
        if n.sessions.is_empty() {
            self.down(oid)
        } else {
            None
        }
    }

    /// A valid heartbeat arrived from a joined node session.
    pub fn heartbeat(
        &mut self,
        oid: Uuid,
        authid: &str,
        seq: u64,
        time: u64,
        workers: BTreeMap<String, u64>,
    ) -> Option<Transition> {
        let t = self.alive(oid, authid, Activity::Heartbeat);
        let n = self.entry(oid, authid);
        n.counter = Some(seq);
        n.time = Some(time);
        n.workers = workers;
        t
    }

    /// The periodic health check answered.
    pub fn check_ok(
        &mut self,
        oid: Uuid,
        authid: &str,
        workers: Option<BTreeMap<String, u64>>,
    ) -> Option<Transition> {
        let has_session = self.nodes.get(&oid).is_some_and(|n| !n.sessions.is_empty());
        if !has_session {
            return None;
        }
        let t = self.alive(oid, authid, Activity::Check);
        if let (Some(w), Some(n)) = (workers, self.nodes.get_mut(&oid)) {
            n.workers = w;
        }
        t
    }

    /// The node published `on_ready`.
    pub fn announced_ready(&mut self, oid: Uuid, authid: &str) -> Option<Transition> {
        self.alive(oid, authid, Activity::Ready)
    }

    /// The periodic health check failed (the node's procedures are gone), or the node
    /// announced its shutdown.
    pub fn check_failed(&mut self, oid: Uuid) -> Option<Transition> {
        self.down(oid)
    }

    /// Whether `session` is one of `authid`'s node sessions.
    pub fn session_is(&self, session: Id, authid: &str) -> Option<Uuid> {
        let oid = self.by_session.get(&session)?;
        self.nodes
            .get(oid)
            .filter(|n| n.authid == authid)
            .map(|n| n.oid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_ready(t: &Option<Transition>) -> bool {
        matches!(t, Some(Transition::Ready(..)))
    }
    fn is_shutdown(t: &Option<Transition>) -> bool {
        matches!(t, Some(Transition::Shutdown(..)))
    }

    #[test]
    fn every_transition_exactly_once() {
        let mut m = NodeMap::default();
        let oid = Uuid::new_v4();
        assert!(is_ready(&m.joined(oid, "n1", 1)));
        assert_eq!(m.heartbeat(oid, "n1", 1, 5, BTreeMap::new()), None);
        assert!(is_shutdown(&m.left(1)));
        assert_eq!(m.left(1), None);
        // a re-join is announced at once, and a heartbeat after it is not
        assert!(is_ready(&m.joined(oid, "n1", 2)));
        assert_eq!(m.heartbeat(oid, "n1", 1, 6, BTreeMap::new()), None);
        assert_eq!(m.check_ok(oid, "n1", None), None);
        assert!(is_shutdown(&m.check_failed(oid)));
        assert!(is_ready(&m.check_ok(oid, "n1", None)));
    }

    #[test]
    fn a_second_session_keeps_the_node_online() {
        let mut m = NodeMap::default();
        let oid = Uuid::new_v4();
        assert!(is_ready(&m.joined(oid, "n1", 1)));
        assert_eq!(m.joined(oid, "n1", 2), None);
        assert_eq!(m.left(1), None);
        assert!(is_shutdown(&m.left(2)));
    }

    #[test]
    fn event_object_has_the_authid() {
        let mut m = NodeMap::default();
        let oid = Uuid::new_v4();
        let Some(Transition::Ready(_, v)) = m.joined(oid, "n7", 1) else {
            panic!("no ready")
        };
        assert_eq!(v.get("authid").and_then(Value::as_str), Some("n7"));
        assert_eq!(v.get("last_activity").and_then(Value::as_u64), Some(2));
        assert_eq!(v.get("status").and_then(Value::as_str), Some("online"));
    }
}
