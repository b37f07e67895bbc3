//! Node memberships of a web cluster: list (bounded to the cluster), add (overwrites; wakes
//! the reconciler), remove (wakes it: the workers there are stopped) and get.

use uuid::Uuid;
use wamp_proto::{Dict, Value};

use super::{no_object, no_webcluster, WebClusters};
use crate::clusters::call::{Call, Reply, Wake};
use crate::clusters::db::{self, Read};
use crate::clusters::model::WcMembership;
use crate::error::{MasterError, Result};
use crate::wire::webcluster::uri;

/// Most proxy workers a membership may ask for on one node.
pub(crate) const MAX_PARALLEL: i64 = 64;

/// `list_webcluster_nodes(webcluster_oid, return_names, filter_by_status)`: oids in oid
/// order, or sorted authids; `filter_by_status` keeps the nodes whose run-time status
/// (`online`/`offline`) equals it (nodes never seen since the master started are dropped).
pub(super) fn list(w: &WebClusters, c: &Call<'_>) -> Result<Reply> {
    let oid = c.oid(0, "webcluster_oid", "webcluster_oid")?;
    let names = c.opt_bool(1, "return_names")?.unwrap_or(false);
    let filter = c.opt_str(2, "filter_by_status")?.filter(|s| !s.is_empty());
    let store = w.ctx.store.as_ref();
    w.cluster(store, oid, no_webcluster(oid))?;
    let members: Vec<WcMembership> = store.scan(&w.keys().wc_nodes(oid))?;
    let view = w.ctx.nodes.view();
    let kept = members.iter().map(|m| m.node_oid).filter(|n| match filter {
        None => true,
        Some(f) => view
            .get(n)
            .is_some_and(|s| f == if s.online { "online" } else { "offline" }),
    });
    let out: Vec<Value> = if names {
        let mut authids = Vec::new();
        for n in kept {
            if let Some(a) = store.get_node(n)?.and_then(|r| r.authid) {
                authids.push(a);
            }
        }
        authids.sort_unstable();
        authids.into_iter().map(Value::from).collect()
    } else {
        kept.map(|n| n.to_string().into()).collect()
    };
    Ok(Reply::result(Value::List(out)))
}

fn bad_config(why: &str) -> MasterError {
    MasterError::InvalidArgument(format!("invalid config: {why}"))
}

/// `parallel` (int 0..=64, 0 → null) and `standby` (bool, false → null) of a membership
/// config; other keys are ignored.
fn parse_config(config: Option<&Dict>) -> Result<(Option<u32>, Option<bool>)> {
    let Some(cfg) = config else {
        return Ok((None, None));
    };
    let parallel = match cfg.get("parallel") {
        None | Some(Value::Null) => None,
        Some(Value::Int(n)) if (0..=MAX_PARALLEL).contains(n) => {
            u32::try_from(*n).ok().filter(|n| *n > 0)
        }
        Some(_) => {
            return Err(bad_config(&format!(
                "'parallel' must be an int from 0 to {MAX_PARALLEL}"
            )))
        }
    };
    let standby = match cfg.get("standby") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => None,
        Some(Value::Bool(true)) => Some(true),
        Some(_) => return Err(bad_config("'standby' must be a bool")),
    };
    Ok((parallel, standby))
}

/// `add_webcluster_node(webcluster_oid, node_oid, config)`: IA ×2, IA config, NSO node (not
/// paired to this management realm), NSO webcluster; stores (overwriting) the membership.
pub(super) fn add(w: &WebClusters, c: &Call<'_>) -> Result<Reply> {
    let oid = c.oid(0, "webcluster_oid", "webcluster_oid")?;
    let node = c.oid(1, "node_oid", "node_oid")?;
    let (parallel, standby) = parse_config(c.opt_dict(2, "config")?)?;
    w.node_authid(node)?;
    let m = WcMembership {
        cluster_oid: oid,
        node_oid: node,
        parallel,
        standby,
    };
    db::write(&w.ctx.store, |txn| {
        w.cluster(txn, oid, no_webcluster(oid))?;
        db::put(txn, &w.keys().wc_node(oid, node), &m)
    })?;
    let r = Reply::event(uri("on_webcluster_node_added"), m.marshal());
    Ok(r.wake(Wake::WebCluster(oid)))
}

/// The checks of get: IA node, IA webcluster, NSO node, NSO webcluster.
fn args(w: &WebClusters, c: &Call<'_>) -> Result<(Uuid, Uuid)> {
    let node = c.oid(1, "node_oid", "node_oid")?;
    let oid = c.oid(0, "webcluster_oid", "webcluster_oid")?;
    w.node_authid(node)?;
    Ok((oid, node))
}

fn no_association(node: Uuid, oid: Uuid) -> MasterError {
    MasterError::NoSuchObject(format!(
        "no association between node {node} and webcluster {oid} found"
    ))
}

/// `remove_webcluster_node(webcluster_oid, node_oid)`: deletes the membership and wakes the
/// reconciler, which stops the cluster's workers on that node. A membership of a node that
/// was unpaired since can still be removed (Crossbar: `no node with oid … found` forever).
pub(super) fn remove(w: &WebClusters, c: &Call<'_>) -> Result<Reply> {
    let node = c.oid(1, "node_oid", "node_oid")?;
    let oid = c.oid(0, "webcluster_oid", "webcluster_oid")?;
    let key = w.keys().wc_node(oid, node);
    if let Err(e) = w.node_authid(node) {
        if Read::get::<WcMembership>(w.ctx.store.as_ref(), &key)?.is_none() {
            return Err(e);
        }
    }
    let m: WcMembership = db::write(&w.ctx.store, |txn| {
        w.cluster(txn, oid, no_object(oid))?;
        let m = Read::get(&*txn, &key)?.ok_or_else(|| no_association(node, oid))?;
        txn.remove(&key)?;
        Ok(m)
    })?;
    let r = Reply::event(uri("on_webcluster_node_removed"), m.marshal());
    Ok(r.wake(Wake::WebCluster(oid)))
}

/// `get_webcluster_node(webcluster_oid, node_oid)`.
pub(super) fn get(w: &WebClusters, c: &Call<'_>) -> Result<Reply> {
    let (oid, node) = args(w, c)?;
    let store = w.ctx.store.as_ref();
    w.cluster(store, oid, no_object(oid))?;
    let m: WcMembership = store
        .get(&w.keys().wc_node(oid, node))?
        .ok_or_else(|| no_association(node, oid))?;
    Ok(Reply::result(m.marshal()))
}
