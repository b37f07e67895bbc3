//! Global API: nodes — pairing, unpairing (which disconnects the node), lookups, modification.

use crate::wire;
use std::collections::HashMap;
use std::sync::Arc;

use store::nodes::Pairing;
use store::{NodeRecord, StoreError};
use uuid::Uuid;
use wamp_client::{Invocation, Session};
use wamp_proto::{dict, Dict, Value};

use super::mrealms::named;
use super::{publish, register};
use crate::args::{parse_pubkey, Args};
use crate::authz::Access;
use crate::error::{MasterError, Result};
use crate::Master;

pub(super) async fn register_all(s: &Session, m: &Arc<Master>) -> Result<()> {
    use wire::mrealm::*;
    register(s, m, PAIR_NODE, |m, inv, who| async move {
        pair(&m, &inv, &who).await
    })
    .await?;
    register(s, m, UNPAIR_NODE, |m, inv, who| async move {
        let oid = Args::new(&inv.args, &inv.kwargs).uuid(0, "node_oid")?;
        who.node(&m.store, &node(&m, oid)?)?;
        unpair(&m, oid).await
    })
    .await?;
    register(s, m, UNPAIR_NODE_BY_PUBKEY, |m, inv, who| async move {
        let pubkey = parse_pubkey(Args::new(&inv.args, &inv.kwargs).str(0, "pubkey")?)?;
        let node = m.store.node_by_pubkey(&pubkey)?;
        let node =
            node.ok_or_else(|| MasterError::NoSuchObject(format!("no node with pubkey {pubkey}")))?;
        who.node(&m.store, &node)?;
        unpair(&m, node.oid).await
    })
    .await?;
    register(s, m, LIST_NODES, |m, _, who| async move {
        Ok(oids(visible_nodes(&m, &who)?.iter()))
    })
    .await?;
    register(s, m, LIST_NODES_BY_MREALM, |m, inv, who| async move {
        let oid = Args::new(&inv.args, &inv.kwargs).uuid(0, "mrealm_oid")?;
        let rec = m.store.get_mrealm(oid)?.ok_or_else(|| {
            MasterError::NoSuchObject(format!("no management realm with oid {oid}"))
        })?;
        who.mrealm(&m.store, &rec)?;
        Ok(oids(m.store.list_nodes_by_mrealm(oid)?.iter()))
    })
    .await?;
    register(s, m, LIST_NODES_BY_MREALM_NAME, |m, inv, who| async move {
        let name = Args::new(&inv.args, &inv.kwargs).str(0, "mrealm_name")?;
        let rec = named(&m, name)?;
        who.mrealm(&m.store, &rec)?;
        Ok(oids(m.store.list_nodes_by_mrealm(rec.oid)?.iter()))
    })
    .await?;
    register(s, m, GET_NODE, |m, inv, who| async move {
        let oid = Args::new(&inv.args, &inv.kwargs).uuid(0, "node_oid")?;
        let n = node(&m, oid)?;
        who.node(&m.store, &n)?;
        Ok(to_value(&n, None))
    })
    .await?;
    register(s, m, GET_NODE_BY_NAME, |m, inv, who| async move {
        let a = Args::new(&inv.args, &inv.kwargs);
        let rec = named(&m, a.str(0, "mrealm_name")?)?;
        who.mrealm(&m.store, &rec)?;
        let name = a.str(1, "node_name")?;
        let n = m.store.node_by_authid(rec.oid, name)?;
        let n = n.ok_or_else(|| {
            MasterError::NoSuchObject(format!(
                "no node named \"{name}\" in management realm \"{}\"",
                rec.name
            ))
        })?;
        Ok(to_value(&n, None))
    })
    .await?;
    register(s, m, MODIFY_NODE, |m, inv, who| async move {
        modify(&m, &inv, &who)
    })
    .await?;
    register(s, m, STAT_NODE, |m, inv, who| async move {
        let oid = Args::new(&inv.args, &inv.kwargs).uuid(0, "node_oid")?;
        let n = node(&m, oid)?;
        who.node(&m.store, &n)?;
        stat(&m, &n)
    })
    .await
}

/// The wire form of a node (Crossbar's `Node.marshal()`), with `killed` after an unpair.
pub(crate) fn to_value(n: &NodeRecord, killed: Option<&[u64]>) -> Value {
    let tags = n
        .tags
        .as_ref()
        .map(|t| Value::List(t.iter().map(|s| Value::from(s.as_str())).collect()));
    let mut d = dict! {
        "oid" => n.oid.to_string(),
        "label" => n.label.clone(),
        "description" => n.description.clone(),
        "tags" => tags,
        "owner_oid" => n.owner_oid.map(|o| o.to_string()),
        "pubkey" => n.pubkey.clone(),
        "cluster_ip" => n.cluster_ip.clone(),
        "mrealm_oid" => n.mrealm_oid.map(|o| o.to_string()),
        "authid" => n.authid.clone(),
        "authextra" => n.authextra.clone().map(Value::from),
    };
    if let Some(k) = killed {
        d.insert(
            "killed".into(),
            Value::List(k.iter().map(|id| Value::from(*id)).collect()),
        );
    }
    Value::Dict(d)
}

/// Every node the caller may see: those of the management realms it holds a role on (all for
/// the superuser). Decided once per management realm.
fn visible_nodes(m: &Master, who: &Access) -> Result<Vec<NodeRecord>> {
    let mut realms: HashMap<Option<Uuid>, bool> = HashMap::new();
    let mut out = Vec::new();
    for n in m.store.list_nodes()? {
        let ok = match realms.get(&n.mrealm_oid) {
            Some(ok) => *ok,
            None => {
                let ok = who.node(&m.store, &n).is_ok();
                realms.insert(n.mrealm_oid, ok);
                ok
            }
        };
        if ok {
            out.push(n);
        }
    }
    Ok(out)
}

fn oids<'a>(nodes: impl Iterator<Item = &'a NodeRecord>) -> Value {
    Value::List(nodes.map(|n| Value::from(n.oid.to_string())).collect())
}

fn node(m: &Master, oid: Uuid) -> Result<NodeRecord> {
    m.store
        .get_node(oid)?
        .ok_or_else(|| MasterError::NoSuchObject(format!("no node with oid {oid}")))
}

async fn pair(m: &Arc<Master>, inv: &Invocation, who: &Access) -> Result<Value> {
    let a = Args::new(&inv.args, &inv.kwargs);
    let pubkey = parse_pubkey(a.str(0, "pubkey")?)?;
    let realm_name = a.str(1, "realm_name")?;
    let authid = a.str(2, "authid")?;
    check_authid(authid)?;
    let authextra = a
        .opt_dict(3, "authextra")?
        .map(|d| serde_json::Value::from(&Value::Dict(d.clone())));
    let rec = m.store.get_mrealm_by_name(realm_name)?.ok_or_else(|| {
        MasterError::NoSuchRealm(format!("no realm named \"{realm_name}\" exists"))
    })?;
    who.mrealm(&m.store, &rec)?;
    let p = Pairing {
        oid: None,
        pubkey,
        mrealm_oid: rec.oid,
        authid: authid.to_owned(),
        authextra,
        owner_oid: Some(who.caller.oid(m.superuser_oid)),
        cluster_ip: None,
    };
    pair_record(m, &p).await
}

/// The rule every stored node authid obeys ([`wire::node::check_authid`]).
fn check_authid(authid: &str) -> Result<()> {
    wire::node::check_authid(authid).map_err(MasterError::InvalidArgument)
}

/// Stores a pairing and announces it: the one way a node authid is stored (`pair_node`,
/// watch-to-pair), so every stored authid passes [`check_authid`].
pub(crate) async fn pair_record(m: &Master, p: &Pairing) -> Result<Value> {
    check_authid(&p.authid)?;
    let node = m.store.pair_node(p).map_err(|e| match e {
        StoreError::NodeAlreadyPaired { .. } => MasterError::NodeAlreadyPaired(
            "node with given pubkey is already paired to a realm".into(),
        ),
        StoreError::AuthidTaken { authid, .. } => MasterError::AlreadyExists(format!(
            "a node with authid \"{authid}\" is already paired in this management realm"
        )),
        other => other.into(),
    })?;
    let v = to_value(&node, None);
    publish(
        m,
        wire::mrealm::ON_NODE_PAIRED,
        vec![v.clone()],
        p.mrealm_oid,
    )
    .await;
    Ok(v)
}

/// Unpairs a node, disconnects its sessions and announces it.
pub(crate) async fn unpair(m: &Master, oid: Uuid) -> Result<Value> {
    let (before, after) = m.store.unpair_node(oid).map_err(|e| match e {
        StoreError::NoSuchNode(oid) => MasterError::NoSuchObject(format!("no node with oid {oid}")),
        StoreError::NodeNotPaired(oid) => MasterError::NodeNotPaired(format!(
            "cannot unpair node: node with id {oid} is currently not paired"
        )),
        other => other.into(),
    })?;
    let killed = kill_node_sessions(m, &before);
    let v = to_value(&after, Some(&killed));
    if let Some(mrealm) = before.mrealm_oid {
        publish(m, wire::mrealm::ON_NODE_UNPAIRED, vec![v.clone()], mrealm).await;
    }
    Ok(v)
}

/// Closes the sessions of an unpaired node and tells its management realm's controller to
/// forget it.
fn kill_node_sessions(m: &Master, node: &NodeRecord) -> Vec<u64> {
    let (Some(mrealm), Some(authid)) = (node.mrealm_oid, node.authid.as_deref()) else {
        return Vec::new();
    };
    let Ok(Some(rec)) = m.store.get_mrealm(mrealm) else {
        return Vec::new();
    };
    m.node_unpaired(&rec.name, node.oid);
    let Some(realm) = m.router.realm(&rec.name) else {
        return Vec::new();
    };
    let ids = realm.sessions_of(authid, Some("node"));
    for id in &ids {
        realm.kill(*id, "wamp.close.killed", "node unpaired");
    }
    ids
}

fn modify(m: &Master, inv: &Invocation, who: &Access) -> Result<Value> {
    let a = Args::new(&inv.args, &inv.kwargs);
    let oid = a.uuid(0, "node_oid")?;
    let diff = a.dict(1, "node_delta")?;
    let mut n = node(m, oid)?;
    who.node(&m.store, &n)?;
    for (k, v) in diff {
        match k.as_str() {
            "label" => n.label = opt_str(v, k)?,
            "description" => n.description = opt_str(v, k)?,
            "cluster_ip" => n.cluster_ip = opt_str(v, k)?,
            "tags" => n.tags = tags(v)?,
            other => {
                return Err(MasterError::InvalidArgument(format!(
                    "attribute '{other}' of a node cannot be modified"
                )));
            }
        }
    }
    Ok(to_value(&m.store.update_node(&n)?, None))
}

fn opt_str(v: &Value, key: &str) -> Result<Option<String>> {
    match v {
        Value::Null => Ok(None),
        Value::Str(s) => Ok(Some(s.clone())),
        other => Err(MasterError::InvalidArgument(format!(
            "'{key}' must be a string, got {}",
            other.type_name()
        ))),
    }
}

fn tags(v: &Value) -> Result<Option<Vec<String>>> {
    match v {
        Value::Null => Ok(None),
        Value::List(l) => l
            .iter()
            .map(|x| x.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| MasterError::InvalidArgument("'tags' must be a list of strings".into())),
        _ => Err(MasterError::InvalidArgument(
            "'tags' must be a list of strings".into(),
        )),
    }
}

/// Run-time facts about a node: paired, connected sessions.
fn stat(m: &Master, n: &NodeRecord) -> Result<Value> {
    let mrealm = match n.mrealm_oid {
        Some(oid) => m.store.get_mrealm(oid)?,
        None => None,
    };
    let sessions: Vec<u64> = match (&mrealm, n.authid.as_deref()) {
        (Some(r), Some(a)) => m
            .router
            .realm(&r.name)
            .map(|realm| realm.sessions_of(a, Some("node")))
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let d: Dict = dict! {
        "oid" => n.oid.to_string(),
        "authid" => n.authid.clone(),
        "mrealm" => mrealm.map(|r| r.name),
        "paired" => n.is_paired(),
        "online" => !sessions.is_empty(),
        "sessions" => Value::List(sessions.into_iter().map(Value::from).collect()),
    };
    Ok(Value::Dict(d))
}
