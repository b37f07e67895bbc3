//! What a reconciler deployed on one node for one cluster, stored at
//! `Keys::deployed(kind, cluster, node)`: written *before* anything is started (intent) and
//! updated after, so a teardown after a master restart stops exactly what was deployed and
//! nothing else on the node. Also what each reconciler last observed (for `stat_*`) and the
//! rate limit of its failure logs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use store::Store;
use tracing::{info, warn};
use uuid::Uuid;

use super::WorkerState;
use crate::clusters::db::{self, Keys, Read};
use crate::error::Result;
use crate::util::now_ns;

/// A web service deployed at one path of a proxy worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DeployedService {
    pub oid: Uuid,
    /// The `start_web_transport_service` config it was started with.
    pub config: Json,
}

/// One worker deployed (or about to be) on the node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct DeployedWorker {
    /// The `start_proxy_transport` config of `primary` (web clusters), once started.
    #[serde(default)]
    pub transport: Option<Json>,
    /// Path → service (web clusters).
    #[serde(default)]
    pub services: BTreeMap<String, DeployedService>,
}

/// Everything one cluster's reconciler deployed on one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Deployed {
    pub cluster_oid: Uuid,
    pub node_oid: Uuid,
    /// Worker id → what runs in it.
    #[serde(default)]
    pub workers: BTreeMap<String, DeployedWorker>,
}

impl Deployed {
    pub(crate) fn empty(cluster_oid: Uuid, node_oid: Uuid) -> Deployed {
        Deployed {
            cluster_oid,
            node_oid,
            workers: BTreeMap::new(),
        }
    }
}

/// The stored deployment records of one kind (`rc` or `wc`).
#[derive(Clone, Copy)]
pub(crate) struct Records {
    pub keys: Keys,
    pub kind: &'static str,
}

impl Records {
    /// The records of one cluster, by node.
    pub(crate) fn of_cluster(&self, store: &Store, c: Uuid) -> Result<HashMap<Uuid, Deployed>> {
        let all: Vec<Deployed> = store.scan(&self.keys.deployed_of(self.kind, c))?;
        Ok(all.into_iter().map(|d| (d.node_oid, d)).collect())
    }

    /// Writes the record (removes it when nothing is deployed any more).
    pub(crate) fn save(&self, store: &Store, d: &Deployed) -> Result<()> {
        let key = self.keys.deployed(self.kind, d.cluster_oid, d.node_oid);
        db::write(store, |txn| {
            if d.workers.is_empty() {
                txn.remove(&key)?;
                Ok(())
            } else {
                db::put(txn, &key, d)
            }
        })
    }
}

/// What a reconciler last saw of each cluster's workers, and the last error logged per worker.
#[derive(Default)]
pub(crate) struct Observed {
    seen: Mutex<HashMap<Uuid, Vec<WorkerState>>>,
}

impl Observed {
    pub(crate) fn get(&self, c: Uuid) -> Vec<WorkerState> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(&c).cloned().unwrap_or_default()
    }

    /// Replaces what was seen of cluster `c`: keeps `since` of workers whose status did not
    /// change, and logs each worker's failure once per change (and its recovery).
    pub(crate) fn replace(&self, c: Uuid, mut now: Vec<WorkerState>) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let before = seen.remove(&c).unwrap_or_default();
        for w in &mut now {
            let prev = before
                .iter()
                .find(|p| p.node_oid == w.node_oid && p.worker_id == w.worker_id);
            log_change(c, prev, w);
            if let Some(p) = prev.filter(|p| p.status == w.status) {
                w.since = p.since;
            }
        }
        if !now.is_empty() {
            seen.insert(c, now);
        }
    }
}

fn log_change(cluster: Uuid, prev: Option<&WorkerState>, w: &WorkerState) {
    let prev_error = prev.and_then(|p| p.last_error.as_deref());
    match (&w.last_error, prev_error) {
        (Some(e), p) if p != Some(e.as_str()) => {
            warn!(%cluster, node = %w.node_oid, worker = %w.worker_id, error = %e, "deploy failed (retrying with backoff)");
        }
        (None, Some(_)) => {
            info!(%cluster, node = %w.node_oid, worker = %w.worker_id, status = w.status, "deploy recovered");
        }
        _ => {}
    }
}

/// A worker state stamped now.
pub(crate) fn state(
    node_oid: Uuid,
    worker_id: &str,
    worker_type: &'static str,
    status: &'static str,
    last_error: Option<String>,
) -> WorkerState {
    WorkerState {
        node_oid,
        worker_id: worker_id.to_owned(),
        worker_type,
        status,
        since: now_ns(),
        last_error,
    }
}
