//! Web cluster objects: list, get, create, delete (cascading its memberships and services),
//! start and stop (which wake the reconciler), and mrealm's `stat_webcluster`.

use serde_json::{Map, Value as Json};
use uuid::Uuid;
use wamp_proto::{Dict, Value};

use super::{no_object, no_webcluster, settings, WebClusters};
use crate::clusters::call::{check_room, Call, Reply, Wake};
use crate::clusters::db::{self, Read};
use crate::clusters::deploy::WorkerState;
use crate::clusters::model::{Status, WcMembership, WebCluster};
use crate::error::{MasterError, Result};
use crate::util::now_ns;
use crate::wire::webcluster::uri;

/// A call's dict argument as JSON.
pub(super) fn to_json(d: &Dict) -> Map<String, Json> {
    match Json::from(&Value::Dict(d.clone())) {
        Json::Object(m) => m,
        _ => Map::new(),
    }
}

/// `list_webclusters(return_names=false)`: oids in oid order, or sorted names.
pub(super) fn list(w: &WebClusters, c: &Call<'_>) -> Result<Reply> {
    let names = c.opt_bool(0, "return_names")?.unwrap_or(false);
    let all: Vec<WebCluster> = w.ctx.store.scan(&w.keys().wc_all())?;
    let out: Vec<Value> = if names {
        let mut n: Vec<&str> = all.iter().map(|x| x.name.as_str()).collect();
        n.sort_unstable();
        n.into_iter().map(Value::from).collect()
    } else {
        all.iter().map(|x| x.oid.to_string().into()).collect()
    };
    Ok(Reply::result(Value::List(out)))
}

/// `get_webcluster(webcluster_oid)`.
pub(super) fn get(w: &WebClusters, c: &Call<'_>) -> Result<Reply> {
    let oid = c.oid(0, "webcluster_oid", "webcluster_oid")?;
    let wc = w.cluster(w.ctx.store.as_ref(), oid, || {
        format!("no webcluster with oid {oid}")
    })?;
    Ok(Reply::result(wc.marshal()))
}

fn by_name(w: &WebClusters, r: &impl Read, name: &str) -> Result<Option<WebCluster>> {
    let all: Vec<WebCluster> = r.scan(&w.keys().wc_all())?;
    Ok(all.into_iter().find(|x| x.name == name))
}

/// `get_webcluster_by_name(webcluster_name)`.
pub(super) fn get_by_name(w: &WebClusters, c: &Call<'_>) -> Result<Reply> {
    let name = c.str(0, "webcluster_name")?;
    match by_name(w, w.ctx.store.as_ref(), name)? {
        Some(wc) => Ok(Reply::result(wc.marshal())),
        None => Err(MasterError::NoSuchObject(format!(
            "no webcluster named {name}"
        ))),
    }
}

/// `create_webcluster(webcluster)`: IC parse, IC name, NSP, AE; new STOPPED cluster owned
/// by the caller.
pub(super) fn create(w: &WebClusters, c: &Call<'_>) -> Result<Reply> {
    let def = settings::parse(&to_json(c.dict(0, "webcluster")?))?;
    let who = w.principal(c)?;
    let wc = WebCluster {
        oid: Uuid::new_v4(),
        common: def.common,
        name: def.name,
        status: Status::Stopped,
        owner_oid: who.oid,
        changed: now_ns(),
        settings: def.settings,
    };
    db::write(&w.ctx.store, |txn| {
        if by_name(w, txn, &wc.name)?.is_some() {
            return Err(MasterError::AlreadyExists(format!(
                "duplicate name \"{}\" in web cluster configuration",
                wc.name
            )));
        }
        let have = txn.scan(&w.keys().wc_all())?.len();
        check_room(have, "web clusters", "the management realm")?;
        db::put(txn, &w.keys().wc(wc.oid), &wc)
    })?;
    Ok(Reply::event(uri("on_webcluster_created"), wc.marshal()))
}

/// `delete_webcluster(webcluster_oid)`: IA, NSP, NA, NS (only from STOPPED), NSO; removes
/// the cluster, its memberships and its services in one transaction (what the reconciler
/// recorded as deployed is its own to clean up: it is woken).
pub(super) fn delete(w: &WebClusters, c: &Call<'_>) -> Result<Reply> {
    let oid = c.oid(0, "webcluster_oid", "webcluster_oid")?;
    let who = w.principal(c)?;
    let k = w.keys();
    let mut wc = db::write(&w.ctx.store, |txn| {
        let wc = w.cluster(txn, oid, no_object(oid))?;
        w.check_owner(&who, &wc, "only owner is allowed to delete web cluster")?;
        if wc.status != Status::Stopped {
            return Err(MasterError::NotStopped(format!(
                "cannot delete webcluster currently in state {} (stop it first)",
                wc.status.name()
            )));
        }
        db::remove_all(txn, &k.wc_nodes(oid))?;
        db::remove_all(txn, &k.wss(oid))?;
        txn.remove(&k.wc(oid))?;
        Ok(wc)
    })?;
    wc.changed = now_ns();
    Ok(Reply::event(uri("on_webcluster_deleted"), wc.marshal()).wake(Wake::WebCluster(oid)))
}

fn transition(wc: &WebCluster, c: &Call<'_>) -> Value {
    let mut d = Dict::new();
    d.insert("oid".into(), wc.oid.to_string().into());
    d.insert("status".into(), wc.status.name().into());
    d.insert("changed".into(), wc.changed.into());
    d.insert("who".into(), c.who());
    Value::Dict(d)
}

/// Sets `oid` to `to` if `allowed(status)` (else `refuse(status)`), after `check`.
fn set_status(
    w: &WebClusters,
    oid: Uuid,
    to: Status,
    check: impl FnOnce(&WebCluster) -> Result<()>,
) -> Result<WebCluster> {
    db::write(&w.ctx.store, |txn| {
        let mut wc = w.cluster(txn, oid, no_webcluster(oid))?;
        check(&wc)?;
        wc.status = to;
        wc.changed = now_ns();
        db::put(txn, &w.keys().wc(oid), &wc)?;
        Ok(wc)
    })
}

/// `start_webcluster(webcluster_oid)`: IA, NSP, NSO, NA, CS unless STOPPED/PAUSED; STARTING.
pub(super) fn start(w: &WebClusters, c: &Call<'_>) -> Result<Reply> {
    let oid = c.oid(0, "webcluster_oid", "webcluster_oid")?;
    let who = w.principal(c)?;
    let wc = set_status(w, oid, Status::Starting, |wc| {
        w.check_owner(&who, wc, "only owner is allowed to start a web cluster")?;
        if matches!(wc.status, Status::Stopped | Status::Paused) {
            return Ok(());
        }
        Err(MasterError::CannotStart(format!(
            "cannot start webcluster currently in state {}",
            wc.status.name()
        )))
    })?;
    let r = transition(&wc, c);
    Ok(Reply::event(uri("on_webcluster_starting"), r).wake(Wake::WebCluster(oid)))
}

/// `stop_webcluster(webcluster_oid)`: IA, NSO, CST unless STARTING, RUNNING or DEGRADED;
/// STOPPING (the reconciler tears down, then sets STOPPED).
pub(super) fn stop(w: &WebClusters, c: &Call<'_>) -> Result<Reply> {
    let oid = c.oid(0, "webcluster_oid", "webcluster_oid")?;
    let wc = set_status(w, oid, Status::Stopping, |wc| {
        if wc.status.is_active() {
            return Ok(());
        }
        Err(MasterError::CannotStop(format!(
            "cannot stop webcluster currently in state {}",
            wc.status.name()
        )))
    })?;
    let r = transition(&wc, c);
    Ok(Reply::event(uri("on_webcluster_stopping"), r).wake(Wake::WebCluster(oid)))
}

fn worker(s: &WorkerState) -> Value {
    let mut d = Dict::new();
    d.insert("worker_id".into(), s.worker_id.as_str().into());
    d.insert("node_oid".into(), s.node_oid.to_string().into());
    d.insert("status".into(), s.status.into());
    d.insert("since".into(), s.since.into());
    d.insert("last_error".into(), s.last_error.clone().into());
    Value::Dict(d)
}

/// `stat_webcluster(webcluster_oid)` (mrealm extension): the cluster's status and, per
/// member node, its authid, whether it is online and the workers the reconciler saw there.
pub(super) fn stat(w: &WebClusters, c: &Call<'_>) -> Result<Reply> {
    let oid = c.oid(0, "webcluster_oid", "webcluster_oid")?;
    let store = w.ctx.store.as_ref();
    let wc = w.cluster(store, oid, no_webcluster(oid))?;
    let members: Vec<WcMembership> = store.scan(&w.keys().wc_nodes(oid))?;
    let workers = w.deployer.web_workers(oid);
    let view = w.ctx.nodes.view();
    let mut nodes = Vec::with_capacity(members.len());
    for m in &members {
        let authid = w.ctx.store.get_node(m.node_oid)?.and_then(|n| n.authid);
        let online = view.is_online(&m.node_oid);
        let mut d = Dict::new();
        d.insert("node_oid".into(), m.node_oid.to_string().into());
        d.insert("authid".into(), authid.into());
        d.insert(
            "status".into(),
            (if online { "online" } else { "offline" }).into(),
        );
        let mine = workers.iter().filter(|s| s.node_oid == m.node_oid);
        d.insert("workers".into(), Value::List(mine.map(worker).collect()));
        nodes.push(Value::Dict(d));
    }
    let mut d = Dict::new();
    d.insert("oid".into(), oid.to_string().into());
    d.insert("name".into(), wc.name.as_str().into());
    d.insert("status".into(), wc.status.to_value());
    d.insert("changed".into(), wc.changed.into());
    d.insert("nodes".into(), Value::List(nodes));
    Ok(Reply::result(Value::Dict(d)))
}
