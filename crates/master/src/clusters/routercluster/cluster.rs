//! The router cluster objects themselves: list, get, get by name, create, delete (cascading to
//! memberships, worker groups and placements, ⚠D33), start and stop (⚠D30: stop answers
//! `cannot_stop`, and the reconciler tears down and reaches STOPPED).

use uuid::Uuid;
use wamp_proto::{Dict, Value};

use super::{nso, parse_common, parse_name, qoid, Manager, RC};
use crate::clusters::call::{check_room, Call, Reply, Wake};
use crate::clusters::db::{self, put, remove_all, Read};
use crate::clusters::model::{RouterCluster, Status};
use crate::error::{MasterError, Result};
use crate::util::now_ns;
use crate::wire::routercluster::uri;

const WHAT: &str = "router cluster";

pub(super) fn list(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let names = call.opt_bool(0, "return_names")?.unwrap_or(false);
    let all: Vec<RouterCluster> = Read::scan(m.store(), &m.keys.rc_all())?;
    let out: Vec<Value> = if names {
        let mut v: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
        v.sort_unstable();
        v.into_iter().map(Value::from).collect()
    } else {
        all.iter().map(|c| c.oid.to_string().into()).collect()
    };
    Ok(Reply::result(Value::List(out)))
}

pub(super) fn get(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let oid = call.oid(0, RC, RC)?;
    let rc = m
        .cluster(oid)?
        .ok_or_else(|| nso(format!("no routercluster with oid {oid}")))?;
    Ok(Reply::result(rc.marshal()))
}

pub(super) fn get_by_name(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let name = call.str(0, "routercluster_name")?;
    Ok(Reply::result(m.cluster_named(name)?.marshal()))
}

pub(super) fn create(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let d = call.dict(0, "routercluster")?;
    let common = parse_common(d, WHAT)?;
    let Some(name) = parse_name(d, WHAT)? else {
        return Err(MasterError::InvalidConfiguration(
            "missing \"name\" in router cluster configuration".into(),
        ));
    };
    let who = m.principal(call)?;
    let rc = RouterCluster {
        oid: Uuid::new_v4(),
        common,
        name,
        status: Status::Stopped,
        owner_oid: who.oid,
        changed: now_ns(),
    };
    db::write(m.store(), |txn| {
        let all: Vec<RouterCluster> = Read::scan(txn, &m.keys.rc_all())?;
        if all.iter().any(|c| c.name == rc.name) {
            return Err(MasterError::AlreadyExists(format!(
                "duplicate name \"{}\" in router cluster configuration",
                rc.name
            )));
        }
        check_room(all.len(), "router clusters", "the management realm")?;
        put(txn, &m.keys.rc(rc.oid), &rc)
    })?;
    Ok(Reply::event(uri("on_routercluster_created"), rc.marshal()))
}

/// Deletes a STOPPED cluster and, in the same transaction, its memberships, worker groups and
/// placements (Crossbar leaves them behind, ⚠D33). Wakes the reconciler, which forgets it.
pub(super) fn delete(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let oid = qoid(call, 0, RC, "oid")?;
    let who = m.principal(call)?;
    let missing = || nso(format!("no object with oid {oid} found"));
    let rc = m.cluster(oid)?.ok_or_else(missing)?;
    m.check_owner(
        &who,
        rc.owner_oid,
        "only owner is allowed to delete router cluster",
    )?;
    let mut rc = db::write(m.store(), |txn| {
        let rc: RouterCluster = Read::get(txn, &m.keys.rc(oid))?.ok_or_else(missing)?;
        if rc.status != Status::Stopped {
            return Err(MasterError::NotStopped(format!(
                "cannot delete routercluster currently in state {}: stop it first",
                rc.status.name()
            )));
        }
        txn.remove(&m.keys.rc(oid))?;
        remove_all(txn, &m.keys.rc_nodes(oid))?;
        remove_all(txn, &m.keys.wgs(oid))?;
        remove_all(txn, &m.keys.placements_of_cluster(oid))?;
        Ok(rc)
    })?;
    rc.changed = now_ns();
    let reply = Reply::event(uri("on_routercluster_deleted"), rc.marshal());
    Ok(reply.wake(Wake::RouterCluster(oid)))
}

/// STOPPED or PAUSED → STARTING; the reconciler deploys and sets RUNNING.
pub(super) fn start(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let oid = qoid(call, 0, RC, "oid")?;
    let who = m.principal(call)?;
    let missing = || nso(format!("no routercluster with oid {oid} found"));
    let rc = m.cluster(oid)?.ok_or_else(missing)?;
    m.check_owner(
        &who,
        rc.owner_oid,
        "only owner is allowed to start a router cluster",
    )?;
    let allowed = [Status::Stopped, Status::Paused];
    let rc = transition(m, oid, &allowed, Status::Starting, |s| {
        MasterError::CannotStart(format!(
            "cannot start routercluster currently in state {}",
            s.name()
        ))
    })?;
    let reply = Reply::event(uri("on_routercluster_starting"), changed(&rc, call));
    Ok(reply.wake(Wake::RouterCluster(oid)))
}

/// STARTING, RUNNING (or DEGRADED/ERROR, which only mrealm's reconciler sets) → STOPPING; the
/// reconciler tears down what it deployed and sets STOPPED.
pub(super) fn stop(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let oid = qoid(call, 0, RC, "oid")?;
    let allowed = [
        Status::Starting,
        Status::Running,
        Status::Degraded,
        Status::Error,
    ];
    let rc = transition(m, oid, &allowed, Status::Stopping, |s| {
        MasterError::CannotStop(format!(
            "cannot stop routercluster currently in state {}",
            s.name()
        ))
    })?;
    let reply = Reply::event(uri("on_routercluster_stopping"), changed(&rc, call));
    Ok(reply.wake(Wake::RouterCluster(oid)))
}

/// Sets `to` (and `changed`) if the cluster's status is one of `from`, else `refuse(status)`.
fn transition(
    m: &Manager,
    oid: Uuid,
    from: &[Status],
    to: Status,
    refuse: impl FnOnce(Status) -> MasterError,
) -> Result<RouterCluster> {
    db::write(m.store(), |txn| {
        let key = m.keys.rc(oid);
        let mut rc: RouterCluster = Read::get(txn, &key)?
            .ok_or_else(|| nso(format!("no routercluster with oid {oid} found")))?;
        if !from.contains(&rc.status) {
            return Err(refuse(rc.status));
        }
        rc.status = to;
        rc.changed = now_ns();
        put(txn, &key, &rc)?;
        Ok(rc)
    })
}

/// `{"oid", "status", "changed", "who"}` of start/stop.
fn changed(rc: &RouterCluster, call: &Call<'_>) -> Value {
    let mut d = Dict::new();
    d.insert("oid".into(), rc.oid.to_string().into());
    d.insert("status".into(), rc.status.to_value());
    d.insert("changed".into(), rc.changed.into());
    d.insert("who".into(), call.who());
    Value::Dict(d)
}

impl Manager {
    /// The cluster `oid` of this management realm.
    pub(super) fn cluster(&self, oid: Uuid) -> Result<Option<RouterCluster>> {
        Read::get(self.store(), &self.keys.rc(oid))
    }

    /// The cluster named `name` (`no routercluster named <n>` otherwise).
    pub(super) fn cluster_named(&self, name: &str) -> Result<RouterCluster> {
        let all: Vec<RouterCluster> = Read::scan(self.store(), &self.keys.rc_all())?;
        all.into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| nso(format!("no routercluster named {name}")))
    }
}
