//! The router cluster reconciler (key: the router cluster's oid). Crossbar starts nothing for
//! a router cluster (§4.2); mrealm runs every placement of its worker groups as a router
//! worker `<placement.worker_name>` on the placement's node while the cluster is STARTING or
//! RUNNING, sets each worker group RUNNING once all its workers run (STARTING before), and the
//! cluster RUNNING once every placement's worker runs. A stopped cluster has every recorded
//! worker stopped, then it and its worker groups become STOPPED.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures_util::future::join_all;
use uuid::Uuid;
use wamp_proto::Value;

use super::edge::Edge;
use super::node::{self, NodeOutcome, StepError, WorkerStep};
use super::payload::router_worker_options;
use super::record::{Deployed, DeployedWorker};
use super::{status, Converge, Round, WorkerState};
use crate::clusters::db::Read;
use crate::clusters::model::{Placement, RouterCluster, Status, WorkerGroup};
use crate::error::{MasterError, Result};
use crate::reconcile::{Action, Reconciler};
use crate::wire;

const ROUTER: &str = "router";

/// The router cluster reconciler.
pub(crate) struct RouterDeploy(pub Arc<Converge>);

impl RouterDeploy {
    async fn node(&self, rec: Deployed, wanted: Vec<String>) -> Result<NodeOutcome> {
        node::converge(&self.0, self, rec, &wanted).await
    }
}

impl WorkerStep for RouterDeploy {
    const TYPE: &'static str = ROUTER;

    /// Starts the router worker unless it runs; whether it runs.
    async fn worker(
        &self,
        edge: &Edge<'_>,
        rec: &mut Deployed,
        wid: &str,
    ) -> std::result::Result<bool, StepError> {
        match edge.get_worker(wid).await? {
            Some(status) => {
                if !rec.workers.contains_key(wid) {
                    rec.workers
                        .insert(wid.to_owned(), DeployedWorker::default());
                    self.0.records.save(&self.0.ctx.store, rec)?;
                }
                Ok(status == "started")
            }
            None => {
                rec.workers
                    .insert(wid.to_owned(), DeployedWorker::default());
                self.0.records.save(&self.0.ctx.store, rec)?;
                let options = Value::from(router_worker_options(wid));
                let t0 = std::time::Instant::now();
                edge.start_worker(wid, ROUTER, options).await?;
                let took_ms = t0.elapsed().as_millis();
                tracing::info!(
                    node = edge.authid,
                    worker = wid,
                    took_ms,
                    "router worker started"
                );
                Ok(true)
            }
        }
    }
}

impl RouterDeploy {
    /// Sets each worker group RUNNING when all its workers run, DEGRADED when one stopped
    /// running, STARTING otherwise (active cluster), or STOPPED (stopped cluster).
    fn group_statuses(
        &self,
        c: Uuid,
        placements: &[Placement],
        seen: &[WorkerState],
        stopped: bool,
    ) -> Result<()> {
        let keys = self.0.keys();
        let groups: Vec<WorkerGroup> = self.0.ctx.store.scan(&keys.wgs(c))?;
        for g in groups {
            let runs = |p: &&Placement| {
                seen.iter().any(|w| {
                    w.node_oid == p.node_oid
                        && w.worker_id == p.worker_name
                        && w.status == "running"
                })
            };
            let mine = placements.iter().filter(|p| p.worker_group_oid == g.oid);
            let to = if stopped {
                Status::Stopped
            } else if mine.clone().all(|p| runs(&p)) {
                Status::Running
            } else if matches!(g.status, Status::Running | Status::Degraded) {
                Status::Degraded
            } else {
                Status::Starting
            };
            if g.status != to {
                status::set::<WorkerGroup>(&self.0.ctx, &keys.wg(c, g.oid), &[g.status], to)?;
            }
        }
        Ok(())
    }
}

impl Reconciler for RouterDeploy {
    type Key = Uuid;
    type Error = MasterError;

    fn name(&self) -> &'static str {
        "routercluster-deploy"
    }

    async fn reconcile(&self, oid: &Uuid) -> Result<Action> {
        let c = &self.0;
        let keys = c.keys();
        let rc: Option<RouterCluster> = c.ctx.store.get(&keys.rc(*oid))?;
        let status = rc.as_ref().map(|r| r.status);
        let active = status.is_some_and(Status::is_active);
        let placements: Vec<Placement> = if active {
            c.ctx.store.scan(&keys.placements_of_cluster(*oid))?
        } else {
            Vec::new()
        };
        let mut desired: HashMap<Uuid, Vec<String>> = HashMap::new();
        for p in &placements {
            desired
                .entry(p.node_oid)
                .or_default()
                .push(p.worker_name.clone());
        }
        let mut records = c.records.of_cluster(&c.ctx.store, *oid)?;
        let nodes: BTreeSet<Uuid> = desired.keys().chain(records.keys()).copied().collect();
        let rounds = nodes.iter().map(|n| {
            let rec = records
                .remove(n)
                .unwrap_or_else(|| Deployed::empty(*oid, *n));
            self.node(rec, desired.remove(n).unwrap_or_default())
        });
        let outcomes = join_all(rounds).await;
        let round = Round::collect(outcomes)?;
        let done = round.finish(&c.observed, *oid);
        if active {
            self.group_statuses(*oid, &placements, &c.observed.get(*oid), false)?;
        }
        if status == Some(Status::Stopping) && done.clean {
            self.group_statuses(*oid, &placements, &[], true)?;
        }
        let event = |e: &str| wire::routercluster::uri(&format!("on_routercluster_{e}"));
        let key = keys.rc(*oid);
        status::settle::<RouterCluster>(&c.ctx, &key, *oid, status, &done, event).await?;
        Ok(c.next(*oid, active, &done))
    }
}
