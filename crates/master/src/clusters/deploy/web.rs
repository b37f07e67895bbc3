//! The web cluster reconciler (key: the web cluster's oid; spec §4.3 with ⚠D36-D39 fixed).
//!
//! While the cluster is STARTING, RUNNING or DEGRADED, every online member with
//! `workers() > 0` runs proxy workers `cpw-<oid[:8]>-<i>`, each with the web transport
//! `primary` and every service of the cluster at its path. "Already running" is asked of the
//! edge (`get_worker`, `get_proxy_transport`, `get_web_transport_service`); what was deployed
//! is recorded per node ([`super::record`]), so a service whose config changed is restarted, a
//! removed one is stopped, and a transport whose settings changed gets its worker restarted.
//! Workers of removed members, standby members and lowered `parallel` are stopped; a stopped
//! cluster has every recorded worker stopped, then becomes STOPPED. Nodes are worked on
//! concurrently, each node's calls in order.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use futures_util::future::join_all;
use serde_json::Value as Json;
use uuid::Uuid;
use wamp_proto::Value;

use super::edge::Edge;
use super::node::{self, NodeOutcome, StepError, WorkerStep};
use super::record::{Deployed, DeployedService, DeployedWorker};
use super::{status, Converge, Round};
use crate::clusters::db::Read;
use crate::clusters::model::{Status, WcMembership, WebCluster, WebService};
use crate::error::{MasterError, Result};
use crate::reconcile::{Action, Reconciler};
use crate::wire;

const PROXY: &str = "proxy";

/// What one member node should run.
#[derive(Debug, Default)]
struct Want {
    workers: Vec<String>,
    transport: Json,
    services: BTreeMap<String, DeployedService>,
}

/// The web cluster reconciler.
pub(crate) struct WebDeploy(pub Arc<Converge>);

/// Brings the proxy workers of one member node to what it should run.
struct WebStep<'a> {
    deploy: &'a WebDeploy,
    want: &'a Want,
}

impl WorkerStep for WebStep<'_> {
    const TYPE: &'static str = PROXY;

    async fn worker(
        &self,
        edge: &Edge<'_>,
        rec: &mut Deployed,
        wid: &str,
    ) -> std::result::Result<bool, StepError> {
        self.deploy.worker(edge, rec, wid, self.want).await
    }
}

impl WebDeploy {
    fn desired(&self, wc: &WebCluster) -> Result<HashMap<Uuid, Want>> {
        let keys = self.0.keys();
        let members: Vec<WcMembership> = self.0.ctx.store.scan(&keys.wc_nodes(wc.oid))?;
        let services: Vec<WebService> = self.0.ctx.store.scan(&keys.wss(wc.oid))?;
        let services: BTreeMap<String, DeployedService> = services
            .iter()
            .map(|s| {
                let d = DeployedService {
                    oid: s.oid,
                    config: super::payload::service(s),
                };
                (s.path.clone(), d)
            })
            .collect();
        let transport = super::payload::web_transport(wc);
        let want = |m: &WcMembership| Want {
            workers: (0..m.workers())
                .map(|i| super::payload::proxy_worker_id(wc.oid, i))
                .collect(),
            transport: transport.clone(),
            services: services.clone(),
        };
        Ok(members.iter().map(|m| (m.node_oid, want(m))).collect())
    }

    async fn node(&self, rec: Deployed, want: Option<&Want>) -> Result<NodeOutcome> {
        let empty = Want::default();
        let want = want.unwrap_or(&empty);
        let step = WebStep { deploy: self, want };
        node::converge(&self.0, &step, rec, &want.workers).await
    }

    /// Brings one proxy worker to the wanted state; whether it runs.
    async fn worker(
        &self,
        edge: &Edge<'_>,
        rec: &mut Deployed,
        wid: &str,
        want: &Want,
    ) -> std::result::Result<bool, StepError> {
        let records = &self.0.records;
        let store = &self.0.ctx.store;
        let status = edge.get_worker(wid).await?;
        let recorded = rec.workers.get(wid).and_then(|w| w.transport.as_ref());
        let stale = recorded.is_some_and(|t| t != &want.transport);
        if status.is_some() && stale {
            tracing::info!(
                node = edge.authid,
                worker = wid,
                "web transport changed: restarting the worker"
            );
            edge.stop_worker(wid).await?;
        }
        let fresh = status.is_none() || stale;
        if fresh {
            rec.workers
                .insert(wid.to_owned(), DeployedWorker::default());
            records.save(store, rec)?;
            let t0 = std::time::Instant::now();
            edge.start_worker(wid, PROXY, Value::Null).await?;
            let took_ms = t0.elapsed().as_millis();
            tracing::info!(
                node = edge.authid,
                worker = wid,
                took_ms,
                "proxy worker started"
            );
        }
        let has_transport = !fresh && edge.has_transport(wid).await?;
        let w = rec.workers.entry(wid.to_owned()).or_default();
        if !has_transport {
            w.transport = Some(want.transport.clone());
            w.services.clear();
            records.save(store, rec)?;
            edge.start_transport(wid, &want.transport).await?;
        } else if w.transport.is_none() {
            w.transport = Some(want.transport.clone());
        }
        self.services(edge, rec, wid, want, !has_transport).await?;
        Ok(fresh || status.as_deref() == Some("started"))
    }

    /// Stops the services no longer wanted, (re)starts those missing or changed.
    async fn services(
        &self,
        edge: &Edge<'_>,
        rec: &mut Deployed,
        wid: &str,
        want: &Want,
        fresh: bool,
    ) -> std::result::Result<(), StepError> {
        let records = &self.0.records;
        let store = &self.0.ctx.store;
        let entry = |rec: &mut Deployed| rec.workers.entry(wid.to_owned()).or_default().clone();
        let gone: Vec<String> = entry(rec)
            .services
            .keys()
            .filter(|p| !want.services.contains_key(*p))
            .cloned()
            .collect();
        for path in gone {
            edge.stop_service(wid, &path).await?;
            rec.workers
                .entry(wid.to_owned())
                .or_default()
                .services
                .remove(&path);
            records.save(store, rec)?;
        }
        for (path, svc) in &want.services {
            let recorded = entry(rec).services.get(path) == Some(svc);
            let present = !fresh && edge.has_service(wid, path).await?;
            if present && recorded {
                continue;
            }
            if present {
                edge.stop_service(wid, path).await?;
            }
            let w = rec.workers.entry(wid.to_owned()).or_default();
            w.services.insert(path.clone(), svc.clone());
            records.save(store, rec)?;
            edge.start_service(wid, path, &svc.config).await?;
        }
        Ok(())
    }
}

impl Reconciler for WebDeploy {
    type Key = Uuid;
    type Error = MasterError;

    fn name(&self) -> &'static str {
        "webcluster-deploy"
    }

    async fn reconcile(&self, oid: &Uuid) -> Result<Action> {
        let c = &self.0;
        let keys = c.keys();
        let wc: Option<WebCluster> = c.ctx.store.get(&keys.wc(*oid))?;
        let status = wc.as_ref().map(|w| w.status);
        let desired = match &wc {
            Some(w) if w.status.is_active() => self.desired(w)?,
            _ => HashMap::new(),
        };
        let mut records = c.records.of_cluster(&c.ctx.store, *oid)?;
        let nodes: BTreeSet<Uuid> = desired.keys().chain(records.keys()).copied().collect();
        let rounds = nodes.iter().map(|n| {
            let rec = records
                .remove(n)
                .unwrap_or_else(|| Deployed::empty(*oid, *n));
            self.node(rec, desired.get(n))
        });
        let outcomes = join_all(rounds).await;
        let round = Round::collect(outcomes)?;
        let done = round.finish(&c.observed, *oid);
        let event = |e: &str| wire::webcluster::uri(&format!("on_webcluster_{e}"));
        let key = keys.wc(*oid);
        status::settle::<WebCluster>(&c.ctx, &key, *oid, status, &done, event).await?;
        Ok(c.next(*oid, status.is_some_and(Status::is_active), &done))
    }
}
