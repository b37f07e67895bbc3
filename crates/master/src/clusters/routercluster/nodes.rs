//! Node memberships of a router cluster: list (bounded to the cluster, ⚠D28, with a working
//! `filter_by_status`), add (overwrites the limits of an existing membership, as Crossbar),
//! remove (its placements move to the remaining members, ⚠D31) and get.

use uuid::Uuid;
use wamp_proto::{Dict, Value};

use super::placement::{self, Load};
use super::{nso, qoid, Manager, NODE, RC};
use crate::clusters::call::{Call, Reply, Wake};
use crate::clusters::db::{self, put, Read};
use crate::clusters::model::{RcMembership, RouterCluster};
use crate::error::{MasterError, Result};
use crate::util::now_ns;
use crate::wire::routercluster::uri;

pub(super) fn list(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let c = qoid(call, 0, RC, "oid")?;
    let names = call.opt_bool(1, "return_names")?.unwrap_or(false);
    let filter = call.opt_str(2, "filter_by_status")?;
    m.cluster(c)?
        .ok_or_else(|| nso(format!("no routercluster with oid {c} found")))?;
    let mut nodes: Vec<Uuid> = m.members(c)?.iter().map(|n| n.node_oid).collect();
    if let Some(status) = filter {
        nodes.retain(|n| m.node_status(*n) == status);
    }
    let out: Vec<Value> = if names {
        let mut authids = Vec::new();
        for n in nodes {
            authids.extend(m.node_authid(n)?);
        }
        authids.sort_unstable();
        authids.into_iter().map(Value::from).collect()
    } else {
        nodes.iter().map(|n| n.to_string().into()).collect()
    };
    Ok(Reply::result(Value::List(out)))
}

pub(super) fn add(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let c = qoid(call, 0, RC, "oid")?;
    let n = qoid(call, 1, NODE, "oid")?;
    let config = call.opt_dict(2, "config")?;
    let membership = RcMembership {
        cluster_oid: c,
        node_oid: n,
        softlimit: limit(config, "softlimit")?,
        hardlimit: limit(config, "hardlimit")?,
    };
    m.node(n)?;
    db::write(m.store(), |txn| {
        let rc: Option<RouterCluster> = Read::get(txn, &m.keys.rc(c))?;
        rc.ok_or_else(|| nso(format!("no routercluster with oid {c} found")))?;
        put(txn, &m.keys.rc_node(c, n), &membership)
    })?;
    let reply = Reply::event(uri("on_routercluster_node_added"), membership.marshal());
    Ok(reply.wake(Wake::RouterCluster(c)))
}

/// Removes the membership; the node's placements move to the least-loaded remaining members
/// (the reconciler stops them there and starts them on their new node). With no member left
/// to take them: `crossbar.error.dependent_objects`. The membership of a node unpaired since
/// (no longer in this management realm) can be removed too, or its cluster could never
/// converge again.
pub(super) fn remove(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let n = qoid(call, 1, NODE, "oid")?;
    let c = qoid(call, 0, RC, "oid")?;
    if let Err(e) = m.node(n) {
        let member: Option<RcMembership> = Read::get(m.store(), &m.keys.rc_node(c, n))?;
        if member.is_none() {
            return Err(e);
        }
    }
    let membership = db::write(m.store(), |txn| {
        let membership = membership_in(m, txn, c, n)?;
        let now = now_ns();
        let running = placement::on_node(txn, &m.keys, c, n)?;
        if running > 0 && Load::of(txn, &m.keys, c, Some(n))?.is_empty() {
            return Err(MasterError::DependentObjects(format!(
                "node {n} still runs {running} router workers of routercluster {c} and no \
                 other member can take them: remove the cluster's worker groups first"
            )));
        }
        placement::move_off(txn, &m.keys, c, n, now)?;
        txn.remove(&m.keys.rc_node(c, n))?;
        Ok(membership)
    })?;
    let reply = Reply::event(uri("on_routercluster_node_removed"), membership.marshal());
    Ok(reply.wake(Wake::RouterCluster(c)))
}

pub(super) fn get(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let (c, n) = membership_args(m, call)?;
    let membership = membership_in(m, m.store(), c, n)?;
    Ok(Reply::result(membership.marshal()))
}

/// The oids of remove/get, checked in Crossbar's order: node oid, cluster oid, node exists.
fn membership_args(m: &Manager, call: &Call<'_>) -> Result<(Uuid, Uuid)> {
    let n = qoid(call, 1, NODE, "oid")?;
    let c = qoid(call, 0, RC, "oid")?;
    m.node(n)?;
    Ok((c, n))
}

/// The membership of `n` in `c` (NSO for the cluster, then for the association).
fn membership_in(m: &Manager, r: &impl Read, c: Uuid, n: Uuid) -> Result<RcMembership> {
    let rc: Option<RouterCluster> = Read::get(r, &m.keys.rc(c))?;
    rc.ok_or_else(|| nso(format!("no object with oid {c} found")))?;
    Read::get(r, &m.keys.rc_node(c, n))?.ok_or_else(|| {
        nso(format!(
            "no association between node {n} and routercluster {c} found"
        ))
    })
}

/// `softlimit` / `hardlimit` of a membership config: an int ≥ 0 (0 is stored as null).
fn limit(config: Option<&Dict>, key: &str) -> Result<Option<u64>> {
    match config.and_then(|d| d.get(key)) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ (Value::Int(_) | Value::UInt(_))) => match v.as_u64() {
            Some(0) => Ok(None),
            Some(x) => Ok(Some(x)),
            None => Err(bad_limit(key, v)),
        },
        Some(v) => Err(bad_limit(key, v)),
    }
}

fn bad_limit(key: &str, v: &Value) -> MasterError {
    MasterError::InvalidArgument(format!(
        "invalid {key} in node membership configuration: must be an int >= 0 (got {})",
        v.type_name()
    ))
}

impl Manager {
    /// The memberships of cluster `c`, in node oid order.
    pub(super) fn members(&self, c: Uuid) -> Result<Vec<RcMembership>> {
        Read::scan(self.store(), &self.keys.rc_nodes(c))
    }

    /// `"online"` or `"offline"`, from the controller's node map.
    pub(super) fn node_status(&self, n: Uuid) -> &'static str {
        if self.ctx.nodes.is_online(&n) {
            "online"
        } else {
            "offline"
        }
    }
}
