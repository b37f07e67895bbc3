//! Worker groups of a router cluster: list (name order, `filter_by_status` on the group's
//! status, ⚠D32), add (validated name unique in the management realm, `scale` 1..=128, its
//! workers placed on the least-loaded members, ⚠D27/⚠D34), remove (with its placements,
//! ⚠D31; allowed on a running cluster, whose reconciler then stops the workers), get and get
//! by name (mrealm adds `"placements"`).

use uuid::Uuid;
use wamp_proto::{Dict, Value};

use super::placement::{self, Load};
use super::{nso, parse_common, parse_name, qoid, show, Manager, RC, WG};
use crate::clusters::call::{check_room, Call, Reply, Wake};
use crate::clusters::db::{self, put, remove_all, Read};
use crate::clusters::model::{Placement, RouterCluster, Status, WorkerGroup};
use crate::error::{MasterError, Result};
use crate::util::now_ns;
use crate::wire::routercluster::uri;

const WHAT: &str = "worker group";
/// The largest `scale` of a worker group.
const MAX_SCALE: u64 = 128;

pub(super) fn list(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let c = qoid(call, 0, RC, "oid")?;
    let names = call.opt_bool(1, "return_names")?.unwrap_or(false);
    let filter = call.opt_str(2, "filter_by_status")?;
    m.cluster(c)?
        .ok_or_else(|| nso(format!("no object with oid {c} found")))?;
    let mut groups = m.groups(c)?;
    if let Some(status) = filter {
        groups.retain(|g| g.status.name().eq_ignore_ascii_case(status));
    }
    let out = groups.into_iter().map(|g| match names {
        true => Value::from(g.name),
        false => Value::from(g.oid.to_string()),
    });
    Ok(Reply::result(Value::List(out.collect())))
}

pub(super) fn add(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let c = qoid(call, 0, RC, "oid")?;
    let d = call.dict(1, "workergroup")?;
    let now = now_ns();
    let wg = db::write(m.store(), |txn| {
        let rc: Option<RouterCluster> = Read::get(txn, &m.keys.rc(c))?;
        rc.ok_or_else(|| nso(format!("no object with oid {c} found")))?;
        let wg = parse_group(d, c, now)?;
        let mut load = Load::of(txn, &m.keys, c, None)?;
        if load.is_empty() {
            return Err(MasterError::InvalidArgument(format!(
                "router cluster {c} has no nodes: add nodes before worker groups"
            )));
        }
        let all: Vec<WorkerGroup> = Read::scan(txn, &m.keys.wgs_all())?;
        if let Some(other) = all.iter().find(|g| g.name == wg.name) {
            return Err(MasterError::AlreadyExists(format!(
                "duplicate name \"{}\" in worker group configuration (used in routercluster {}; \
                 worker group names are unique in a management realm)",
                wg.name, other.cluster_oid
            )));
        }
        let here = all.iter().filter(|g| g.cluster_oid == c).count();
        check_room(here, "worker groups", &format!("router cluster {c}"))?;
        put(txn, &m.keys.wg(c, wg.oid), &wg)?;
        placement::place_group(txn, &m.keys, &wg, &mut load, now)?;
        Ok(wg)
    })?;
    let reply = Reply::event(uri("on_workergroup_added"), wg.marshal());
    Ok(reply.wake(Wake::RouterCluster(c)))
}

/// Removes a group and its placements (in one transaction); the reconciler stops its workers.
pub(super) fn remove(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let c = qoid(call, 0, RC, "routercluster_oid")?;
    let g = qoid(call, 1, WG, "workergroup_oid")?;
    let who = m.principal(call)?;
    let rc = m
        .cluster(c)?
        .ok_or_else(|| nso(format!("no object with oid {c} found")))?;
    m.check_owner(
        &who,
        rc.owner_oid,
        "only owner is allowed to modify router cluster",
    )?;
    let wg = db::write(m.store(), |txn| {
        let wg: WorkerGroup = Read::get(txn, &m.keys.wg(c, g))?
            .ok_or_else(|| nso(format!("no workergroup with oid {g} found")))?;
        txn.remove(&m.keys.wg(c, g))?;
        remove_all(txn, &m.keys.placements_of_group(c, g))?;
        Ok(wg)
    })?;
    let reply = Reply::event(uri("on_workergroup_removed"), wg.marshal());
    Ok(reply.wake(Wake::RouterCluster(c)))
}

pub(super) fn get(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let c = qoid(call, 0, RC, "oid")?;
    let g = qoid(call, 1, WG, "oid")?;
    let all: Vec<WorkerGroup> = Read::scan(m.store(), &m.keys.wgs_all())?;
    let wg = all
        .into_iter()
        .find(|w| w.oid == g)
        .ok_or_else(|| nso(format!("no worker group with oid {g} found")))?;
    if wg.cluster_oid != c {
        return Err(nso(format!(
            "worker group with oid {g} found, but not associated with given router cluster"
        )));
    }
    m.group_reply(&wg)
}

pub(super) fn get_by_name(m: &Manager, call: &Call<'_>) -> Result<Reply> {
    let cluster_name = call.str(0, "routercluster_name")?;
    let name = call.str(1, "workergroup_name")?;
    let rc = m.cluster_named(cluster_name)?;
    let wg = m
        .groups(rc.oid)?
        .into_iter()
        .find(|g| g.name == name)
        .ok_or_else(|| nso(format!("no workergroup named {name}")))?;
    m.group_reply(&wg)
}

/// A new group of cluster `c` from its configuration: `name` (default `cwg_<oid[:8]>`),
/// `scale` (default 1), `cluster_oid` (optional; if given, `c`), label/description/tags.
fn parse_group(d: &Dict, c: Uuid, now: u64) -> Result<WorkerGroup> {
    let common = parse_common(d, WHAT)?;
    check_cluster_oid(d, c)?;
    let oid = Uuid::new_v4();
    let name = parse_name(d, WHAT)?.unwrap_or_else(|| {
        let s = oid.simple().to_string();
        format!("cwg_{}", &s[..8])
    });
    Ok(WorkerGroup {
        oid,
        common,
        cluster_oid: c,
        name,
        scale: parse_scale(d)?,
        status: Status::Stopped,
        changed: now,
    })
}

/// `workergroup.cluster_oid` may be left out (Crossbar requires it, ⚠D34); if given it must
/// be the cluster's oid.
fn check_cluster_oid(d: &Dict, c: Uuid) -> Result<()> {
    match d.get("cluster_oid") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Str(s)) if Uuid::parse_str(s).ok() == Some(c) => Ok(()),
        Some(v) => Err(MasterError::InvalidArgument(format!(
            "invalid cluster_oid {} in worker group configuration: must be the router \
             cluster's oid {c} (or left out)",
            show(v)
        ))),
    }
}

/// `scale`: an int from 1 to 128, default 1.
fn parse_scale(d: &Dict) -> Result<u32> {
    let v = match d.get("scale") {
        None | Some(Value::Null) => return Ok(1),
        Some(v) => v,
    };
    match v {
        Value::Int(_) | Value::UInt(_) => v
            .as_u64()
            .filter(|s| (1..=MAX_SCALE).contains(s))
            .and_then(|s| u32::try_from(s).ok()),
        _ => None,
    }
    .ok_or_else(|| {
        MasterError::InvalidArgument(format!(
            "invalid scale {} in worker group configuration: must be an int from 1 to \
             {MAX_SCALE}",
            show(v)
        ))
    })
}

impl Manager {
    /// The worker groups of cluster `c`, in name order.
    pub(super) fn groups(&self, c: Uuid) -> Result<Vec<WorkerGroup>> {
        let mut groups: Vec<WorkerGroup> = Read::scan(self.store(), &self.keys.wgs(c))?;
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(groups)
    }

    /// The placements of group `g` of cluster `c`, in worker name order (`wg_2` before `wg_10`).
    pub(super) fn placements(&self, c: Uuid, g: Uuid) -> Result<Vec<Placement>> {
        let key = self.keys.placements_of_group(c, g);
        let mut placements: Vec<Placement> = Read::scan(self.store(), &key)?;
        placements.sort_by_key(|p| (p.worker_name.len(), p.worker_name.clone()));
        Ok(placements)
    }

    /// `<workergroup>` plus mrealm's `"placements"`.
    fn group_reply(&self, wg: &WorkerGroup) -> Result<Reply> {
        let placements = self.placements(wg.cluster_oid, wg.oid)?;
        let mut v = wg.marshal();
        if let Value::Dict(d) = &mut v {
            let list = placements.iter().map(Placement::marshal).collect();
            d.insert("placements".into(), Value::List(list));
        }
        Ok(Reply::result(v))
    }
}
