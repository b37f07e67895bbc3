//! What the router cluster tests share (`clusters_rc.rs`, `clusters_rc_errors.rs`): a master
//! with management realms `mr1` (nodes node1..node3) and `mr2` (node4), the superuser as
//! `owner` on both, and calls of `crossbarfabriccenter.mrealm.routercluster.*`.
#![allow(dead_code)]

use std::collections::BTreeMap;

use crate::common::{
    call, call_kw, create_mrealm, node_secret, pair_oid, s, str_list, wamp_err, Fixture,
};
use wamp_client::Session;
use wamp_proto::{dict, Dict, Value};

pub const RC: &str = "crossbarfabriccenter.mrealm.routercluster.";

pub struct Setup {
    pub fx: Fixture,
    /// The superuser on the global realm.
    pub global: Session,
    /// The superuser as `owner` on mr1 and on mr2.
    pub su: Session,
    pub su2: Session,
    pub mr1: String,
    /// node1..node3 (mr1), node4 (mr2).
    pub nodes: [String; 4],
}

pub async fn setup() -> Setup {
    let fx = Fixture::start().await;
    let global = fx.superuser(None).await;
    let mr1 = s(&create_mrealm(&global, "mr1").await, "oid").to_owned();
    create_mrealm(&global, "mr2").await;
    let nodes = [
        pair_oid(&global, &node_secret(1), "mr1", "node1").await,
        pair_oid(&global, &node_secret(2), "mr1", "node2").await,
        pair_oid(&global, &node_secret(3), "mr1", "node3").await,
        pair_oid(&global, &node_secret(4), "mr2", "node4").await,
    ];
    let su = fx.superuser(Some("mr1")).await;
    let su2 = fx.superuser(Some("mr2")).await;
    Setup {
        fx,
        global,
        su,
        su2,
        mr1,
        nodes,
    }
}

/// Calls routercluster procedure `name`, which must succeed.
pub async fn rc(s: &Session, name: &str, args: Vec<Value>) -> Value {
    call(s, &format!("{RC}{name}"), args)
        .await
        .unwrap_or_else(|e| panic!("{name} failed: {e}"))
}

/// Calls routercluster procedure `name` with keyword arguments only.
pub async fn rc_kw(s: &Session, name: &str, kw: Dict) -> Value {
    call_kw(s, &format!("{RC}{name}"), vec![], kw)
        .await
        .unwrap_or_else(|e| panic!("{name} failed: {e}"))
}

/// Calls routercluster procedure `name`, which must fail: (error URI, message).
pub async fn rc_err(s: &Session, name: &str, args: Vec<Value>) -> (String, String) {
    wamp_err(call(s, &format!("{RC}{name}"), args).await)
}

/// Creates router cluster `name`; its oid.
pub async fn create(s: &Session, name: &str) -> String {
    let c = rc(
        s,
        "create_routercluster",
        vec![dict! { "name" => name }.into()],
    )
    .await;
    self::oid(&c)
}

/// Adds nodes to cluster `c`.
pub async fn add_nodes(s: &Session, c: &str, nodes: &[&String]) {
    for n in nodes {
        rc(
            s,
            "add_routercluster_node",
            vec![c.into(), n.as_str().into()],
        )
        .await;
    }
}

/// Adds worker group `name` of `scale` to cluster `c`; the group.
pub async fn add_group(s: &Session, c: &str, name: &str, scale: i64) -> Value {
    let wg = dict! { "name" => name, "scale" => scale };
    rc(
        s,
        "add_routercluster_workergroup",
        vec![c.into(), wg.into()],
    )
    .await
}

/// The `"oid"` of an object.
pub fn oid(v: &Value) -> String {
    s(v, "oid").to_owned()
}

/// The names of the cluster's worker groups.
pub async fn group_names(s: &Session, c: &str) -> Vec<String> {
    let args = vec![c.into(), true.into()];
    str_list(&rc(s, "list_routercluster_workergroups", args).await)
}

/// How many placements of group `g` (of cluster `c`) each node runs.
pub async fn spread(s: &Session, c: &str, g: &str) -> BTreeMap<String, usize> {
    let wg = rc(s, "get_routercluster_workergroup", vec![c.into(), g.into()]).await;
    let mut out = BTreeMap::new();
    for p in wg
        .get("placements")
        .and_then(Value::as_list)
        .expect("placements")
    {
        *out.entry(self::s(p, "node_oid").to_owned()).or_default() += 1;
    }
    out
}

/// The oids of the router clusters the session sees.
pub async fn clusters(s: &Session) -> Vec<String> {
    str_list(&rc(s, "list_routerclusters", vec![]).await)
}
