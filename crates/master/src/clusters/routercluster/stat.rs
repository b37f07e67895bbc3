//! `stat_routercluster` and `stat_routercluster_workergroup` (Crossbar: always
//! `runtime_error`): the stored placements merged with what the reconciler last saw of each
//! worker ([`Deployer::router_workers`](crate::clusters::deploy::Deployer::router_workers)).
//!
//! A worker is `{"worker_id", "node_oid", "node_authid", "placement_oid", "status", "since",
//! "last_error"}`; with nothing observed its status is `"stopped"` (cluster not started) or
//! `"unknown"` (started, not yet reconciled) and `since` is the placement's `changed`.

use std::collections::BTreeMap;

use uuid::Uuid;
use wamp_proto::{Dict, Value};

use super::{nso, Manager, RC, WG};
use crate::clusters::call::{Call, Reply};
use crate::clusters::deploy::WorkerState;
use crate::clusters::model::{Placement, RouterCluster, WorkerGroup};
use crate::error::Result;

/// What the reconciler saw, by (node, worker id).
type Seen = BTreeMap<(Uuid, String), WorkerState>;

pub(super) fn cluster(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let c = call.oid(0, RC, RC)?;
    let rc = m.stat_cluster(c)?;
    let seen = m.seen(c);
    let mut nodes = Vec::new();
    for member in m.members(c)? {
        let n = member.node_oid;
        let mut d = Dict::new();
        d.insert("node_oid".into(), n.to_string().into());
        d.insert("authid".into(), m.node_authid(n)?.into());
        d.insert("status".into(), m.node_status(n).into());
        nodes.push(Value::Dict(d));
    }
    let mut groups = Vec::new();
    for wg in m.groups(c)? {
        let mut d = Dict::new();
        d.insert("oid".into(), wg.oid.to_string().into());
        d.insert("name".into(), wg.name.as_str().into());
        d.insert("scale".into(), u64::from(wg.scale).into());
        d.insert("workers".into(), m.workers(&rc, &wg, &seen)?);
        groups.push(Value::Dict(d));
    }
    let mut d = Dict::new();
    d.insert("oid".into(), rc.oid.to_string().into());
    d.insert("name".into(), rc.name.as_str().into());
    d.insert("status".into(), rc.status.to_value());
    d.insert("changed".into(), rc.changed.into());
    d.insert("nodes".into(), Value::List(nodes));
    d.insert("workergroups".into(), Value::List(groups));
    Ok(Reply::result(Value::Dict(d)))
}

pub(super) fn group(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let c = call.oid(0, RC, RC)?;
    let g = call.oid(1, WG, WG)?;
    let rc = m.stat_cluster(c)?;
    let wg = m
        .groups(c)?
        .into_iter()
        .find(|w| w.oid == g)
        .ok_or_else(|| {
            nso(format!(
                "no worker group with oid {g} found in routercluster {c}"
            ))
        })?;
    let mut d = Dict::new();
    d.insert("oid".into(), wg.oid.to_string().into());
    d.insert("name".into(), wg.name.as_str().into());
    d.insert("scale".into(), u64::from(wg.scale).into());
    d.insert("cluster_oid".into(), c.to_string().into());
    d.insert("workers".into(), m.workers(&rc, &wg, &m.seen(c))?);
    Ok(Reply::result(Value::Dict(d)))
}

impl Manager {
    fn stat_cluster(&self, c: Uuid) -> Result<RouterCluster> {
        self.cluster(c)?
            .ok_or_else(|| nso(format!("no routercluster with oid {c} found")))
    }

    fn seen(&self, c: Uuid) -> Seen {
        self.deployer
            .router_workers(c)
            .into_iter()
            .map(|w| ((w.node_oid, w.worker_id.clone()), w))
            .collect()
    }

    /// The workers of `wg`, in worker name order.
    fn workers(&self, rc: &RouterCluster, wg: &WorkerGroup, seen: &Seen) -> Result<Value> {
        let mut out = Vec::new();
        for p in self.placements(rc.oid, wg.oid)? {
            let authid = self.node_authid(p.node_oid)?;
            out.push(worker(rc, &p, authid, seen));
        }
        Ok(Value::List(out))
    }
}

fn worker(rc: &RouterCluster, p: &Placement, authid: Option<String>, seen: &Seen) -> Value {
    let state = seen.get(&(p.node_oid, p.worker_name.clone()));
    let (status, since, last_error) = match state {
        Some(s) => (s.status, s.since, s.last_error.clone()),
        None if rc.status.is_active() => ("unknown", p.changed, None),
        None => ("stopped", p.changed, None),
    };
    let mut d = Dict::new();
    d.insert("worker_id".into(), p.worker_name.as_str().into());
    d.insert("node_oid".into(), p.node_oid.to_string().into());
    d.insert("node_authid".into(), authid.into());
    d.insert("placement_oid".into(), p.oid.to_string().into());
    d.insert("status".into(), status.into());
    d.insert("since".into(), since.into());
    d.insert("last_error".into(), last_error.into());
    Value::Dict(d)
}
