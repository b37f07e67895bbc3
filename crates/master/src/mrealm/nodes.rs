//! The run-time map of a management realm's nodes: the state machine that its owner task
//! ([`super::owner`]) alone drives, and the immutable snapshots ([`NodeView`]) that everyone
//! else reads.
//!
//! A node is online while it has at least one session (and its health check passes); every
//! offline→online transition yields exactly one [`Transition::Ready`] and every online→offline
//! transition exactly one [`Transition::Shutdown`], at the moment it happens.
//!
//! Each node carries a `generation`, bumped whenever its sessions or its status change. A
//! health-check result names the generation it was taken at and is ignored if the node has
//! changed since: a late "gone" can never undo a newer re-join.
//!
//! The map is a persistent hash map (`imbl`): a snapshot is an O(1) clone that shares every
//! node with the owner's copy, and the owner's next change copies only the path it touches.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use uuid::Uuid;
use wamp_proto::{dict, Id, Value};

use crate::util::now_ns;
pub use crate::wire::Activity;

/// One node as the controller sees it.
#[derive(Debug, Clone)]
pub struct NodeState {
    pub oid: Uuid,
    pub authid: String,
    pub online: bool,
    /// When the node last came online or went offline (ns).
    pub since: u64,
    pub last_active: u64,
    pub last_activity: Activity,
    pub workers: BTreeMap<String, u64>,
    /// The last heartbeat's `seq` and its time (ns).
    pub counter: Option<u64>,
    pub time: Option<u64>,
    pub sessions: BTreeSet<Id>,
    /// Bumped on every change of the node's sessions or status.
    pub generation: u64,
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
            "last_activity" => self.last_activity as u8,
            "workers" => Value::Dict(workers),
            "counter" => self.counter,
            "time" => self.time.unwrap_or(0),
        }
        .into()
    }
}

/// A status change, with the node as it was right after it.
#[derive(Debug, Clone)]
pub enum Transition {
    Ready(Arc<NodeState>),
    Shutdown(Arc<NodeState>),
}

impl Transition {
    /// The node the transition is about.
    pub fn node(&self) -> &NodeState {
        match self {
            Transition::Ready(n) | Transition::Shutdown(n) => n,
        }
    }

    /// Whether the node came online.
    pub fn is_ready(&self) -> bool {
        matches!(self, Transition::Ready(_))
    }
}

/// What a health check of a node found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The node answered; with its worker counts when it reported them.
    Healthy(Option<BTreeMap<String, u64>>),
    /// The node's procedures are gone.
    Gone,
}

type Nodes = imbl::HashMap<Uuid, Arc<NodeState>>;

/// A consistent, immutable snapshot of the node map.
#[derive(Debug, Clone, Default)]
pub struct NodeView {
    nodes: Nodes,
}

impl NodeView {
    /// A node seen since the controller started, by oid.
    pub fn get(&self, oid: &Uuid) -> Option<&Arc<NodeState>> {
        self.nodes.get(oid)
    }

    /// Whether the node is online.
    pub fn is_online(&self, oid: &Uuid) -> bool {
        self.nodes.get(oid).is_some_and(|n| n.online)
    }

    /// The online nodes.
    pub fn online(&self) -> impl Iterator<Item = &Arc<NodeState>> {
        self.nodes.values().filter(|n| n.online)
    }
}

/// The owner's node map: the nodes seen since the controller started, and which session
/// belongs to which node.
#[derive(Debug, Default)]
pub struct NodeMap {
    nodes: Nodes,
    by_session: HashMap<Id, Uuid>,
    generation: u64,
}

impl NodeMap {
    /// A snapshot (O(1)).
    pub fn view(&self) -> NodeView {
        NodeView {
            nodes: self.nodes.clone(),
        }
    }

    /// A node, by oid.
    #[cfg(test)]
    pub fn get(&self, oid: &Uuid) -> Option<&Arc<NodeState>> {
        self.nodes.get(oid)
    }

    fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    fn entry(&mut self, oid: Uuid, authid: &str) -> &mut NodeState {
        let node = self.nodes.entry(oid).or_insert_with(|| {
            Arc::new(NodeState {
                oid,
                authid: authid.to_owned(),
                online: false,
                since: 0,
                last_active: 0,
                last_activity: Activity::Started,
                workers: BTreeMap::new(),
                counter: None,
                time: None,
                sessions: BTreeSet::new(),
                generation: 0,
            })
        });
        Arc::make_mut(node)
    }

    /// Marks a node alive; a Ready transition if it was not online.
    fn alive(&mut self, oid: Uuid, authid: &str, why: Activity) -> Option<Transition> {
        let n = self.entry(oid, authid);
        n.last_active = now_ns();
        n.last_activity = why;
        if n.online {
            return None;
        }
        let generation = self.next_generation();
        let n = self.entry(oid, authid);
        n.online = true;
        n.since = n.last_active;
        n.generation = generation;
        Some(Transition::Ready(Arc::new(n.clone())))
    }

    fn down(&mut self, oid: Uuid) -> Option<Transition> {
        if !self.nodes.get(&oid)?.online {
            return None;
        }
        let generation = self.next_generation();
        let n = Arc::make_mut(self.nodes.get_mut(&oid)?);
        n.online = false;
        n.since = now_ns();
        n.generation = generation;
        Some(Transition::Shutdown(Arc::new(n.clone())))
    }

    /// A node session joined.
    pub fn joined(&mut self, oid: Uuid, authid: &str, session: Id) -> Option<Transition> {
        self.by_session.insert(session, oid);
        let generation = self.next_generation();
        let n = self.entry(oid, authid);
        n.sessions.insert(session);
        n.generation = generation;
        n.counter = None;
        n.time = None;
        self.alive(oid, authid, Activity::Started)
    }

    /// A session left; a Shutdown transition if it was the node's last one.
    pub fn left(&mut self, session: Id) -> Option<Transition> {
        let oid = self.by_session.remove(&session)?;
        let generation = self.next_generation();
        let n = Arc::make_mut(self.nodes.get_mut(&oid)?);
        n.sessions.remove(&session);
        n.generation = generation;
        if n.sessions.is_empty() {
            self.down(oid)
        } else {
            None
        }
    }

    /// A valid heartbeat arrived from one of the node's sessions.
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

    /// The node published `on_ready` (`true`) or `on_shutdown` (`false`).
    pub fn announced(&mut self, oid: Uuid, authid: &str, ready: bool) -> Option<Transition> {
        if ready {
            self.alive(oid, authid, Activity::Ready)
        } else {
            self.down(oid)
        }
    }

    /// A health check taken at `generation` came back; ignored if the node changed since.
    pub fn checked(
        &mut self,
        oid: Uuid,
        generation: u64,
        outcome: CheckOutcome,
    ) -> Option<Transition> {
        let n = self.nodes.get(&oid)?;
        if n.generation != generation || n.sessions.is_empty() {
            return None;
        }
        let authid = n.authid.clone();
        match outcome {
            CheckOutcome::Gone => self.down(oid),
            CheckOutcome::Healthy(workers) => {
                let t = self.alive(oid, &authid, Activity::Check);
                if let Some(w) = workers {
                    self.entry(oid, &authid).workers = w;
                }
                t
            }
        }
    }

    /// The node was unpaired: it is forgotten (a Shutdown first if it was online; its sessions'
    /// later leaves change nothing).
    pub fn unpaired(&mut self, oid: Uuid) -> Option<Transition> {
        let t = self.down(oid);
        if let Some(n) = self.nodes.remove(&oid) {
            for s in &n.sessions {
                self.by_session.remove(s);
            }
        }
        t
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
    fn generation(m: &NodeMap, oid: &Uuid) -> u64 {
        m.get(oid).expect("node").generation
    }

    #[test]
    fn every_transition_exactly_once() {
        let mut m = NodeMap::default();
        let oid = Uuid::new_v4();
        assert!(is_ready(&m.joined(oid, "n1", 1)));
        assert!(m.heartbeat(oid, "n1", 1, 5, BTreeMap::new()).is_none());
        assert!(is_shutdown(&m.left(1)));
        assert!(m.left(1).is_none());
        // a re-join is announced at once, and a heartbeat after it is not
        assert!(is_ready(&m.joined(oid, "n1", 2)));
        assert!(m.heartbeat(oid, "n1", 1, 6, BTreeMap::new()).is_none());
        let g = generation(&m, &oid);
        assert!(m.checked(oid, g, CheckOutcome::Healthy(None)).is_none());
        assert!(is_shutdown(&m.checked(oid, g, CheckOutcome::Gone)));
        let g = generation(&m, &oid);
        assert!(is_ready(&m.checked(oid, g, CheckOutcome::Healthy(None))));
    }

    #[test]
    fn a_second_session_keeps_the_node_online() {
        let mut m = NodeMap::default();
        let oid = Uuid::new_v4();
        assert!(is_ready(&m.joined(oid, "n1", 1)));
        assert!(m.joined(oid, "n1", 2).is_none());
        assert!(m.left(1).is_none());
        assert!(is_shutdown(&m.left(2)));
    }

    #[test]
    fn a_check_taken_before_a_rejoin_cannot_mark_the_node_offline() {
        let mut m = NodeMap::default();
        let oid = Uuid::new_v4();
        assert!(is_ready(&m.joined(oid, "n1", 1)));
        let taken = generation(&m, &oid);
        // the node drops and comes back while the check is in flight
        assert!(is_shutdown(&m.left(1)));
        assert!(is_ready(&m.joined(oid, "n1", 2)));
        assert!(m.checked(oid, taken, CheckOutcome::Gone).is_none());
        assert!(m.get(&oid).expect("node").online);
    }

    #[test]
    fn snapshots_do_not_change_under_the_owner() {
        let mut m = NodeMap::default();
        let oid = Uuid::new_v4();
        m.joined(oid, "n1", 1);
        let before = m.view();
        m.heartbeat(oid, "n1", 7, 9, BTreeMap::new());
        m.left(1);
        let old = before.get(&oid).expect("node");
        assert!(old.online && old.counter.is_none());
        let now = m.view();
        assert!(!now.is_online(&oid));
        assert_eq!(now.get(&oid).and_then(|n| n.counter), Some(7));
    }

    #[test]
    fn unpairing_an_online_node_shuts_it_down_once() {
        let mut m = NodeMap::default();
        let oid = Uuid::new_v4();
        m.joined(oid, "n1", 1);
        assert!(is_shutdown(&m.unpaired(oid)));
        assert!(m.left(1).is_none());
        assert!(m.get(&oid).is_none());
        assert!(m.session_is(1, "n1").is_none());
    }

    #[test]
    fn event_object_has_the_authid() {
        let mut m = NodeMap::default();
        let oid = Uuid::new_v4();
        let Some(Transition::Ready(n)) = m.joined(oid, "n7", 1) else {
            panic!("no ready")
        };
        let v = n.to_value();
        assert_eq!(v.get("authid").and_then(Value::as_str), Some("n7"));
        assert_eq!(v.get("last_activity").and_then(Value::as_u64), Some(2));
        assert_eq!(v.get("status").and_then(Value::as_str), Some("online"));
    }
}
