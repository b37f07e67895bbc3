//! Global API: management realms — list, get, create, modify, delete.

use crate::wire;
use std::sync::Arc;

use store::MrealmRecord;
use uuid::Uuid;
use wamp_client::{Invocation, Session};
use wamp_proto::{dict, Value};

use super::{nodes, publish, register};
use crate::args::Args;
use crate::authz::Access;
use crate::error::{MasterError, Result};
use crate::util::{iso8601, now_ns, utcnow};
use crate::Master;

pub(super) async fn register_all(s: &Session, m: &Arc<Master>) -> Result<()> {
    use wire::mrealm::*;
    register(s, m, LIST_MREALMS, |m, inv, who| async move {
        list(&m, &inv, &who)
    })
    .await?;
    register(s, m, GET_MREALM, |m, inv, who| async move {
        let oid = Args::new(&inv.args, &inv.kwargs).uuid(0, "oid")?;
        let rec = m.store.get_mrealm(oid)?.ok_or_else(|| no_such_oid(oid))?;
        who.mrealm(&m.store, &rec)?;
        Ok(to_value(&rec))
    })
    .await?;
    register(s, m, GET_MREALM_BY_NAME, |m, inv, who| async move {
        let name = Args::new(&inv.args, &inv.kwargs).str(0, "name")?;
        let rec = named(&m, name)?;
        who.mrealm(&m.store, &rec)?;
        Ok(to_value(&rec))
    })
    .await?;
    register(s, m, CREATE_MREALM, |m, inv, who| async move {
        create(&m, &inv, &who).await
    })
    .await?;
    register(s, m, MODIFY_MREALM, |m, inv, who| async move {
        modify(&m, &inv, &who)
    })
    .await?;
    register(s, m, DELETE_MREALM, |m, inv, who| async move {
        let a = Args::new(&inv.args, &inv.kwargs);
        let oid = a.uuid(0, "oid")?;
        let rec = m.store.get_mrealm(oid)?.ok_or_else(|| no_such_oid(oid))?;
        delete(&m, rec, a.opt_bool(1, "cascade")?.unwrap_or(false), &who).await
    })
    .await?;
    register(s, m, DELETE_MREALM_BY_NAME, |m, inv, who| async move {
        let a = Args::new(&inv.args, &inv.kwargs);
        let rec = named(&m, a.str(0, "name")?)?;
        delete(&m, rec, a.opt_bool(1, "cascade")?.unwrap_or(false), &who).await
    })
    .await
}

/// The wire form of a management realm (Crossbar's `ManagementRealm.marshal()`).
pub(crate) fn to_value(r: &MrealmRecord) -> Value {
    let tags = r
        .tags
        .as_ref()
        .map(|t| Value::List(t.iter().map(|s| Value::from(s.as_str())).collect()));
    dict! {
        "oid" => r.oid.to_string(),
        "label" => r.label.clone(),
        "description" => r.description.clone(),
        "tags" => tags,
        "name" => r.name.clone(),
        "created" => r.created,
        "owner" => r.owner.to_string(),
        "cf_router_worker" => r.cf_router_worker.clone(),
        "cf_container_worker" => r.cf_container_worker.clone(),
    }
    .into()
}

fn no_such_oid(oid: Uuid) -> MasterError {
    MasterError::NoSuchObject(format!("no management realm with oid {oid}"))
}

fn no_such_name(name: &str) -> MasterError {
    MasterError::NoSuchObject(format!("no management realm with name {name}"))
}

/// The management realms the caller holds a role on (all for the superuser).
fn list(m: &Master, inv: &Invocation, who: &Access) -> Result<Value> {
    let names = Args::new(&inv.args, &inv.kwargs)
        .opt_bool(0, "return_names")?
        .unwrap_or(false);
    let mut visible = Vec::new();
    for r in m.store.list_mrealms()? {
        if who.may(&m.store, r.oid)? {
            visible.push(r);
        }
    }
    Ok(Value::List(
        visible
            .iter()
            .map(|r| {
                if names {
                    r.name.clone().into()
                } else {
                    r.oid.to_string().into()
                }
            })
            .collect(),
    ))
}

/// The management realm called `name`, or `no_such_object`.
pub(super) fn named(m: &Master, name: &str) -> Result<MrealmRecord> {
    m.store
        .get_mrealm_by_name(name)?
        .ok_or_else(|| no_such_name(name))
}

/// Names Crossbar reserves for itself.
const PROTECTED: &[&str] = &[
    "io.crossbar",
    wire::RESERVED_REALM_PREFIX,
    "de.crossbario",
    "crossbar",
    "crossbarfabric",
    "crossbario",
    "fabric",
    "autobahn",
    "wamp",
    "ws.wamp",
    "io.wamp",
];

/// Checks a management realm name: 3–255 characters `[A-Za-z0-9_-@.]`, starting with a letter,
/// not a protected prefix.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-@.".contains(c));
    let first = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if !(3..=255).contains(&name.len()) || !ok_chars || !first {
        return Err(MasterError::InvalidRealm(format!(
            "invalid realm name \"{name}\" - must match regular expression ^[A-Za-z][A-Za-z0-9_\\-@\\.]{{2,254}}$"
        )));
    }
    if let Some(p) = PROTECTED.iter().find(|p| name.starts_with(*p)) {
        return Err(MasterError::InvalidRealm(format!(
            "invalid realm name \"{name}\": names starting with \"{p}\" are protected"
        )));
    }
    Ok(())
}

fn opt_string(d: &wamp_proto::Dict, key: &str) -> Result<Option<String>> {
    match d.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.clone())),
        Some(v) => Err(MasterError::InvalidArgument(format!(
            "'{key}' must be a string, got {}",
            v.type_name()
        ))),
    }
}

fn opt_tags(d: &wamp_proto::Dict) -> Result<Option<Vec<String>>> {
    match d.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::List(l)) => l
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| MasterError::InvalidArgument("'tags' must be a list of strings".into())),
        Some(_) => Err(MasterError::InvalidArgument(
            "'tags' must be a list of strings".into(),
        )),
    }
}

/// Creates a management realm owned by the caller (a user gets the role `owner` on it).
async fn create(m: &Arc<Master>, inv: &Invocation, who: &Access) -> Result<Value> {
    let obj = Args::new(&inv.args, &inv.kwargs).dict(0, "mrealm")?;
    let name = match obj.get("name") {
        Some(Value::Str(s)) => s.clone(),
        other => {
            let got = other.map(Value::type_name).unwrap_or("None");
            return Err(MasterError::InvalidRealm(format!(
                "invalid realm name - type must be string, was {got}"
            )));
        }
    };
    check_name(&name)?;
    let rec = MrealmRecord {
        oid: Uuid::new_v4(),
        name: name.clone(),
        label: opt_string(obj, "label")?,
        description: opt_string(obj, "description")?,
        tags: opt_tags(obj)?,
        created: now_ns() / 1000,
        owner: who.caller.oid(m.superuser_oid),
        cf_router_worker: None,
        cf_container_worker: None,
    };
    let owner_roles = (rec.owner != m.superuser_oid).then(|| store::MrealmRoles {
        user_oid: rec.owner,
        mrealm_oid: rec.oid,
        roles: vec!["owner".into()],
    });
    m.store
        .create_mrealm_with_roles(&rec, owner_roles.as_ref())
        .map_err(|e| match e {
            store::StoreError::MrealmExists(n) => MasterError::AlreadyExists(format!(
                "management realm with name \"{n}\" already exists"
            )),
            other => other.into(),
        })?;
    m.activate_mrealm(&rec).await?;
    let v = to_value(&rec);
    publish(m, wire::mrealm::ON_MREALM_CREATED, vec![v.clone()], rec.oid).await;
    Ok(v)
}

fn modify(m: &Master, inv: &Invocation, who: &Access) -> Result<Value> {
    let a = Args::new(&inv.args, &inv.kwargs);
    let oid = a.uuid(0, "oid")?;
    let diff = a.dict(1, "mrealm_delta")?;
    if let Some(k) = diff
        .keys()
        .find(|k| !["label", "description", "tags"].contains(&k.as_str()))
    {
        return Err(MasterError::InvalidArgument(format!(
            "attribute '{k}' of a management realm cannot be modified"
        )));
    }
    let mut rec = m.store.get_mrealm(oid)?.ok_or_else(|| no_such_oid(oid))?;
    who.mrealm(&m.store, &rec)?;
    if diff.contains_key("label") {
        rec.label = opt_string(diff, "label")?;
    }
    if diff.contains_key("description") {
        rec.description = opt_string(diff, "description")?;
    }
    if diff.contains_key("tags") {
        rec.tags = opt_tags(diff)?;
    }
    m.store.update_mrealm(&rec)?;
    Ok(to_value(&rec))
}

async fn delete(m: &Arc<Master>, rec: MrealmRecord, cascade: bool, who: &Access) -> Result<Value> {
    who.mrealm(&m.store, &rec)?;
    let paired = m.store.list_nodes_by_mrealm(rec.oid)?;
    if let (Some(first), false) = (paired.first(), cascade) {
        return Err(MasterError::DependentObjects(format!(
            "cannot delete management realm - dependent object exists and cascade not set: paired node {}",
            first.oid
        )));
    }
    let mut unpaired = Vec::new();
    for node in &paired {
        unpaired.push(Value::from(node.oid.to_string()));
        nodes::unpair(m, node.oid).await?;
    }
    m.store.delete_mrealm(rec.oid, cascade)?;
    m.deactivate_mrealm(&rec.name).await;
    let deleted = dict! {
        "oid" => rec.oid.to_string(),
        "name" => rec.name.clone(),
        "created" => iso8601(rec.created.saturating_mul(1000)),
        "deleted" => utcnow(),
        "owner" => rec.owner.to_string(),
        "caller" => who.caller.authid(),
        "unpaired" => Value::List(unpaired),
    };
    let v = Value::Dict(deleted);
    publish(m, wire::mrealm::ON_MREALM_DELETED, vec![v.clone()], rec.oid).await;
    publish(m, wire::mrealm::ON_REALM_DELETED, vec![v.clone()], rec.oid).await;
    Ok(v)
}
