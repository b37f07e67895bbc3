//! The reconcilers that deploy router clusters ([`router`]) and web clusters ([`web`]) onto
//! edge nodes, on the reconciler runtime ([`crate::reconcile`]), one key per cluster oid, and
//! [`Deployer`], their handles.
//!
//! ```text
//!  wake (procedures) ─┐
//!  node Ready ────────┼─► reconcile(cluster): read desired state ─► per member node, in
//!  master start ──────┘   parallel: ask the edge what runs, stop what is unwanted, start what
//!  every 10 s (active)    is missing (intent recorded first, record.rs) ─► worker states
//!                         (stat_*) ─► STARTING→RUNNING / STOPPING→STOPPED (status.rs)
//! ```
//!
//! Guarantees: every remote call has a timeout (30 s `start_worker`, 10 s others; edge.rs);
//! a failing node never holds up the others; failures are recorded per worker, logged once
//! per change and retried with backoff (1 s doubling to 30 s); an active cluster is resynced
//! every `check_interval` (a worker that died is restarted) and at once when one of its nodes
//! comes online or goes offline (RUNNING ⇄ DEGRADED); a stopped cluster becomes STOPPED once every *online* node is clean — workers
//! on nodes offline during the stop stay recorded and are stopped when the node returns (a
//! node that is unpaired meanwhile has its record dropped).

mod edge;
mod node;
mod payload;
mod record;
mod router;
mod status;
#[cfg(test)]
mod tests;
mod web;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::call::{Wake, Waker};
use super::db::{Keys, Read};
use super::model::{RouterCluster, Status, WebCluster};
use crate::error::Result;
use crate::mrealm::ctx::Ctx;
use crate::mrealm::nodes::Transition;
use crate::reconcile::{Action, Backoff, Handle, NodeCaller, Runtime, RuntimeConfig};
use node::NodeOutcome;
use record::{Observed, Records};
use router::RouterDeploy;
use web::WebDeploy;

/// What the reconciler last saw of one worker it manages (for `stat_*`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WorkerState {
    pub node_oid: Uuid,
    /// The edge worker id (`wg1_1`, `cpw-1a2b3c4d-0`).
    pub worker_id: String,
    /// `router` or `proxy`.
    pub worker_type: &'static str,
    /// `running`, `starting`, `failed`, `offline` (its node is), `stopping`.
    pub status: &'static str,
    /// Since when (ns since the epoch).
    pub since: u64,
    /// The last failure (node, remote error URI and message), if the last attempt failed.
    pub last_error: Option<String>,
}

/// Retry delays after failed rounds.
const BACKOFF: Backoff = Backoff {
    initial: Duration::from_secs(1),
    max: Duration::from_secs(30),
    factor: 2.0,
};

/// How soon a cluster with a worker still coming up is looked at again.
const STARTING_RECHECK: Duration = Duration::from_secs(1);

/// How soon a cluster is looked at again when a node (or a worker just started) has not
/// registered its procedures yet.
const NOT_READY_RECHECK: Duration = Duration::from_millis(200);

/// Consecutive "not ready" rounds (≈ 10 s) after which they count as failures (backoff).
const NOT_READY_ROUNDS: u32 = 50;

/// Longest one reconcile may take (a node that never answers costs 10 s per call).
const RECONCILE_TIMEOUT: Duration = Duration::from_secs(300);

/// What both reconcilers share.
pub(crate) struct Converge {
    ctx: Arc<Ctx>,
    caller: NodeCaller,
    records: Records,
    observed: Observed,
    /// Consecutive failed rounds per cluster (for the backoff).
    failures: Mutex<HashMap<Uuid, u32>>,
    /// Consecutive "not ready" rounds per cluster.
    not_ready: Mutex<HashMap<Uuid, u32>>,
}

impl Converge {
    fn new(ctx: &Arc<Ctx>, kind: &'static str) -> Arc<Converge> {
        Arc::new(Converge {
            ctx: ctx.clone(),
            caller: NodeCaller::new(ctx.session.clone(), edge::CALL_TIMEOUT),
            records: Records {
                keys: Keys::new(ctx.mrealm.oid),
                kind,
            },
            observed: Observed::default(),
            failures: Mutex::new(HashMap::new()),
            not_ready: Mutex::new(HashMap::new()),
        })
    }

    fn keys(&self) -> Keys {
        self.records.keys
    }

    /// When to look at the cluster again.
    fn next(&self, c: Uuid, active: bool, done: &Done) -> Action {
        if let Some(soon) = self.not_ready_recheck(c, done) {
            return soon;
        }
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if done.failed {
            let n = failures.entry(c).or_insert(0);
            *n = n.saturating_add(1);
            return Action::Requeue(BACKOFF.delay(*n));
        }
        failures.remove(&c);
        if active && done.starting {
            Action::Requeue(STARTING_RECHECK)
        } else if active {
            Action::Requeue(self.ctx.config.check_interval)
        } else {
            Action::AwaitChange
        }
    }
}

impl Converge {
    /// A quick look again while a node is not ready (and nothing failed), for at most
    /// [`NOT_READY_ROUNDS`] rounds in a row.
    fn not_ready_recheck(&self, c: Uuid, done: &Done) -> Option<Action> {
        let mut rounds = self.not_ready.lock().unwrap_or_else(|e| e.into_inner());
        if !done.not_ready || done.failed {
            rounds.remove(&c);
            return None;
        }
        let n = rounds.entry(c).or_insert(0);
        *n = n.saturating_add(1);
        (*n <= NOT_READY_ROUNDS).then_some(Action::Requeue(NOT_READY_RECHECK))
    }
}

/// The node outcomes of one round.
struct Round(Vec<NodeOutcome>);

/// What one round achieved.
#[derive(Debug)]
struct Done {
    /// Every worker that should run runs (offline members: not complete).
    complete: bool,
    /// No online node runs anything it should not.
    clean: bool,
    failed: bool,
    /// A node has not registered its procedures yet (look again very soon).
    not_ready: bool,
    /// A worker exists but is still coming up (look again soon).
    starting: bool,
}

impl Round {
    /// The outcomes, or the first store failure.
    fn collect(outcomes: Vec<Result<NodeOutcome>>) -> Result<Round> {
        outcomes.into_iter().collect::<Result<Vec<_>>>().map(Round)
    }

    /// Stores what was seen and sums it up.
    fn finish(self, observed: &Observed, c: Uuid) -> Done {
        let done = Done {
            complete: self.0.iter().all(|o| o.complete),
            clean: self.0.iter().all(|o| !o.leftover),
            failed: self.0.iter().any(|o| o.failed),
            not_ready: self.0.iter().any(|o| o.not_ready),
            starting: self
                .0
                .iter()
                .flat_map(|o| &o.states)
                .any(|w| w.status == "starting"),
        };
        let states = self.0.into_iter().flat_map(|o| o.states).collect();
        observed.replace(c, states);
        done
    }
}

/// The cluster reconcilers of one management realm.
pub(crate) struct Deployer {
    rc: Handle<Uuid>,
    wc: Handle<Uuid>,
    rc_state: Arc<Converge>,
    wc_state: Arc<Converge>,
    listener: JoinHandle<()>,
}

impl Deployer {
    /// Starts both reconcilers, triggers every cluster that is not STOPPED or still has
    /// something deployed (re-applying desired state after a master restart), and follows
    /// node transitions.
    pub(crate) fn start(
        ctx: &Arc<Ctx>,
        transitions: broadcast::Receiver<Transition>,
    ) -> Result<Deployer> {
        let config = RuntimeConfig {
            concurrency: 16,
            resync: None,
            reconcile_timeout: RECONCILE_TIMEOUT,
            backoff: BACKOFF,
        };
        let rc_state = Converge::new(ctx, "rc");
        let wc_state = Converge::new(ctx, "wc");
        let rc = Runtime::spawn(Arc::new(RouterDeploy(rc_state.clone())), config.clone());
        let wc = Runtime::spawn(Arc::new(WebDeploy(wc_state.clone())), config);
        let keys = Keys::new(ctx.mrealm.oid);
        let rcs: Vec<RouterCluster> = ctx.store.scan(&keys.rc_all())?;
        let wcs: Vec<WebCluster> = ctx.store.scan(&keys.wc_all())?;
        let active = |s: Status| s != Status::Stopped;
        rcs.iter()
            .filter(|c| active(c.status))
            .for_each(|c| rc.trigger(c.oid));
        wcs.iter()
            .filter(|c| active(c.status))
            .for_each(|c| wc.trigger(c.oid));
        for c in deployed_clusters(ctx, &keys, "rc")? {
            rc.trigger(c);
        }
        for c in deployed_clusters(ctx, &keys, "wc")? {
            wc.trigger(c);
        }
        let listener = tokio::spawn(follow(rc.clone(), wc.clone(), transitions));
        Ok(Deployer {
            rc,
            wc,
            rc_state,
            wc_state,
            listener,
        })
    }

    /// What the router cluster's reconciler last saw of its workers.
    pub(crate) fn router_workers(&self, cluster: Uuid) -> Vec<WorkerState> {
        self.rc_state.observed.get(cluster)
    }

    /// What the web cluster's reconciler last saw of its workers.
    pub(crate) fn web_workers(&self, cluster: Uuid) -> Vec<WorkerState> {
        self.wc_state.observed.get(cluster)
    }

    /// Stops the reconcilers (runs in flight get a second); what runs on nodes stays.
    pub(crate) async fn stop(&self) {
        self.listener.abort();
        let _ = self.rc.shutdown(Duration::from_secs(1)).await;
        let _ = self.wc.shutdown(Duration::from_secs(1)).await;
    }
}

/// The clusters that have a deployment record on some node.
fn deployed_clusters(ctx: &Ctx, keys: &Keys, kind: &str) -> Result<Vec<Uuid>> {
    let all: Vec<record::Deployed> = ctx.store.scan(&keys.deployed_all(kind))?;
    Ok(all.into_iter().map(|d| d.cluster_oid).collect())
}

/// A node that comes online (it gets its workers back) or goes offline (its clusters are
/// DEGRADED) gets every known cluster reconciled at once.
async fn follow(rc: Handle<Uuid>, wc: Handle<Uuid>, mut rx: broadcast::Receiver<Transition>) {
    loop {
        match rx.recv().await {
            Ok(_) | Err(RecvError::Lagged(_)) => {
                rc.trigger_all();
                wc.trigger_all();
            }
            Err(RecvError::Closed) => return,
        }
    }
}

impl Waker for Deployer {
    fn wake(&self, wake: Wake) {
        match wake {
            Wake::RouterCluster(c) => self.rc.trigger(c),
            Wake::WebCluster(c) => self.wc.trigger(c),
        }
    }
}
