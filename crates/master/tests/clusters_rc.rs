//! The router cluster manager end to end over WebSocket (clusters spec §2.2): every
//! procedure's happy path, result shapes and events, worker placement (⚠D27), moving
//! placements off a removed node (⚠D31), the cascading delete (⚠D33), `stat_*`, and that a
//! management realm sees none of another's clusters (⚠D28). Errors: `clusters_rc_errors.rs`.

mod common;
mod rc_common;

use std::collections::BTreeMap;

use common::{key_set, keys, next_event, no_event, s, str_list, subscribe};
use rc_common::*;
use wamp_proto::{dict, Value};

const RC_KEYS: &[&str] = &[
    "oid",
    "label",
    "description",
    "tags",
    "name",
    "status",
    "owner_oid",
    "changed",
];
const WG_KEYS: &[&str] = &[
    "oid",
    "label",
    "description",
    "tags",
    "cluster_oid",
    "name",
    "scale",
    "status",
    "changed",
];

fn is_uuid(v: &Value, key: &str) -> bool {
    uuid::Uuid::parse_str(s(v, key)).is_ok()
}

#[tokio::test]
async fn cluster_create_get_list_start_stop_with_events() {
    let f = setup().await;
    let mut created = subscribe(&f.su, &format!("{RC}on_routercluster_created")).await;
    let mut starting = subscribe(&f.su, &format!("{RC}on_routercluster_starting")).await;
    let mut stopping = subscribe(&f.su, &format!("{RC}on_routercluster_stopping")).await;
    let cfg = dict! { "name" => "rc2", "label" => "L", "tags" => Value::List(vec!["t".into()]),
    "unknown" => 1 };
    let c = rc(&f.su, "create_routercluster", vec![cfg.into()]).await;
    assert_eq!(keys(&c), key_set(RC_KEYS), "unknown keys are dropped");
    assert_eq!(
        (s(&c, "name"), s(&c, "status"), s(&c, "label")),
        ("rc2", "STOPPED", "L")
    );
    assert!(is_uuid(&c, "oid") && is_uuid(&c, "owner_oid"));
    assert!(c.get("changed").and_then(Value::as_u64).unwrap_or(0) > 1_600_000_000_000_000_000);
    assert_eq!(next_event(&mut created).await.args, vec![c.clone()]);
    let c1 = create(&f.su, "rc1").await;
    let rc2 = oid(&c);

    assert_eq!(
        rc(&f.su, "get_routercluster", vec![rc2.as_str().into()]).await,
        c
    );
    let kw = dict! { "routercluster_name" => "rc2" };
    assert_eq!(rc_kw(&f.su, "get_routercluster_by_name", kw).await, c);
    let mut oids = vec![c1.clone(), rc2.clone()];
    oids.sort();
    assert_eq!(clusters(&f.su).await, oids, "oids in oid order");
    let names = rc(&f.su, "list_routerclusters", vec![true.into()]).await;
    assert_eq!(str_list(&names), ["rc1", "rc2"]);

    let st = rc(&f.su, "start_routercluster", vec![rc2.as_str().into()]).await;
    assert_eq!(keys(&st), key_set(&["oid", "status", "changed", "who"]));
    assert_eq!(
        (s(&st, "oid"), s(&st, "status")),
        (rc2.as_str(), "STARTING")
    );
    let who = st.get("who").expect("who");
    assert_eq!(
        (s(who, "authid"), s(who, "authrole")),
        ("superuser", "owner")
    );
    assert!(who.get("session").and_then(Value::as_u64).is_some());
    assert_eq!(next_event(&mut starting).await.args, vec![st.clone()]);
    let got = rc(&f.su, "get_routercluster", vec![rc2.as_str().into()]).await;
    // with no worker group there is nothing to deploy: the reconciler may already have set RUNNING
    assert!(
        ["STARTING", "RUNNING"].contains(&s(&got, "status")),
        "{got:?}"
    );

    let sp = rc(&f.su, "stop_routercluster", vec![rc2.as_str().into()]).await;
    assert_eq!((s(&sp, "status"), keys(&sp)), ("STOPPING", keys(&st)));
    assert_eq!(next_event(&mut stopping).await.args, vec![sp]);
}

#[tokio::test]
async fn memberships_add_overwrite_get_list_filter_remove() {
    let f = setup().await;
    let [n1, n2, n3, _] = &f.nodes;
    let c = create(&f.su, "rc1").await;
    let mut added = subscribe(&f.su, &format!("{RC}on_routercluster_node_added")).await;
    let mut removed = subscribe(&f.su, &format!("{RC}on_routercluster_node_removed")).await;
    let cfg = dict! { "softlimit" => 4, "hardlimit" => 0 };
    let args = vec![c.as_str().into(), n1.as_str().into(), cfg.into()];
    let m = rc(&f.su, "add_routercluster_node", args).await;
    let want = dict! { "cluster_oid" => c.as_str(), "node_oid" => n1.as_str(),
    "softlimit" => 4, "hardlimit" => Value::Null };
    assert_eq!(m, Value::Dict(want));
    assert_eq!(next_event(&mut added).await.args, vec![m]);
    // adding again overwrites the limits (as Crossbar)
    let kw = dict! { "routercluster_oid" => c.as_str(), "node_oid" => n1.as_str(),
    "config" => dict! { "hardlimit" => 8 } };
    let m = rc_kw(&f.su, "add_routercluster_node", kw).await;
    assert_eq!(
        (m.get("softlimit"), m.get("hardlimit")),
        (Some(&Value::Null), Some(&8.into()))
    );
    next_event(&mut added).await;
    add_nodes(&f.su, &c, &[n2, n3]).await;
    let got = rc(
        &f.su,
        "get_routercluster_node",
        vec![c.as_str().into(), n1.as_str().into()],
    );
    assert_eq!(got.await, m);

    let list = |names: bool, filter: Option<&str>| {
        let args = vec![c.as_str().into(), names.into(), filter.into()];
        let su = f.su.clone();
        async move { str_list(&rc(&su, "list_routercluster_nodes", args).await) }
    };
    let mut all = vec![n1.clone(), n2.clone(), n3.clone()];
    all.sort();
    assert_eq!(list(false, None).await, all);
    assert_eq!(list(true, None).await, ["node1", "node2", "node3"]);
    let _node2 = f.fx.checked_node(common::node_secret(2)).await;
    for _ in 0..100 {
        if list(true, Some("online")).await == ["node2"] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(list(true, Some("online")).await, ["node2"]);
    assert_eq!(list(true, Some("offline")).await, ["node1", "node3"]);
    assert!(list(false, Some("nonsense")).await.is_empty());

    let args = vec![c.as_str().into(), n1.as_str().into()];
    let gone = rc(&f.su, "remove_routercluster_node", args.clone()).await;
    assert_eq!(gone, m);
    assert_eq!(next_event(&mut removed).await.args, vec![gone]);
    let (uri, msg) = rc_err(&f.su, "get_routercluster_node", args).await;
    assert_eq!(uri, "crossbar.error.no_such_object");
    assert_eq!(
        msg,
        format!("no association between node {n1} and routercluster {c} found")
    );
    assert_eq!(list(true, None).await, ["node2", "node3"]);
}

#[tokio::test]
async fn workers_go_to_the_least_loaded_members() {
    let f = setup().await;
    let [n1, n2, n3, _] = &f.nodes;
    let two = create(&f.su, "two").await;
    add_nodes(&f.su, &two, &[n1, n2]).await;
    let g = oid(&add_group(&f.su, &two, "wg2", 2).await);
    let one_each: BTreeMap<String, usize> = [(n1.clone(), 1), (n2.clone(), 1)].into();
    assert_eq!(spread(&f.su, &two, &g).await, one_each);

    let three = create(&f.su, "three").await;
    add_nodes(&f.su, &three, &[n1, n2, n3]).await;
    let g = oid(&add_group(&f.su, &three, "wg4", 4).await);
    let mut counts: Vec<usize> = spread(&f.su, &three, &g).await.into_values().collect();
    counts.sort();
    assert_eq!(counts, [1, 1, 2]);
    let mut sorted = [n1.clone(), n2.clone(), n3.clone()];
    sorted.sort();
    assert_eq!(
        spread(&f.su, &three, &g).await[&sorted[0]],
        2,
        "ties: smaller oid"
    );
    // a second group fills the less-loaded nodes first: 2/1/1 + 2 → 2/2/2
    let g2 = oid(&add_group(&f.su, &three, "wg_more", 2).await);
    let more = spread(&f.su, &three, &g2).await;
    assert_eq!(
        more,
        [(sorted[1].clone(), 1), (sorted[2].clone(), 1)].into()
    );

    let wg = rc(
        &f.su,
        "get_routercluster_workergroup",
        vec![three.as_str().into(), g.as_str().into()],
    )
    .await;
    let placements = wg
        .get("placements")
        .and_then(Value::as_list)
        .expect("placements");
    let names: Vec<&str> = placements.iter().map(|p| s(p, "worker_name")).collect();
    assert_eq!(names, ["wg4_1", "wg4_2", "wg4_3", "wg4_4"]);
    let p = &placements[0];
    assert_eq!(
        (
            s(p, "status"),
            s(p, "cluster_oid"),
            s(p, "worker_group_oid")
        ),
        ("STOPPED", three.as_str(), g.as_str())
    );
    assert_eq!(p.get("tcp_listening_port"), Some(&0.into()));
}

#[tokio::test]
async fn workergroups_add_list_get_remove_with_events() {
    let f = setup().await;
    let c = create(&f.su, "rc1").await;
    add_nodes(&f.su, &c, &[&f.nodes[0]]).await;
    let mut added = subscribe(&f.su, &format!("{RC}on_workergroup_added")).await;
    let mut removed = subscribe(&f.su, &format!("{RC}on_workergroup_removed")).await;
    // cluster_oid inside the dict is optional (⚠D34); if given it must match
    let cfg = dict! { "name" => "zeta", "cluster_oid" => c.as_str(), "description" => "d" };
    let z = rc(
        &f.su,
        "add_routercluster_workergroup",
        vec![c.as_str().into(), cfg.into()],
    )
    .await;
    assert_eq!(keys(&z), key_set(WG_KEYS));
    assert_eq!(
        (s(&z, "name"), s(&z, "status"), s(&z, "cluster_oid")),
        ("zeta", "STOPPED", c.as_str())
    );
    assert_eq!(z.get("scale"), Some(&1.into()));
    assert_eq!(next_event(&mut added).await.args, vec![z.clone()]);
    let a = add_group(&f.su, &c, "alpha", 1).await;
    next_event(&mut added).await;
    let d = rc(
        &f.su,
        "add_routercluster_workergroup",
        vec![c.as_str().into(), dict! {}.into()],
    )
    .await;
    next_event(&mut added).await;
    let dname = s(&d, "name");
    assert_eq!(dname, format!("cwg_{}", &s(&d, "oid")[..8]), "default name");

    let mut want = vec!["alpha".to_owned(), "zeta".to_owned(), dname.to_owned()];
    want.sort();
    assert_eq!(group_names(&f.su, &c).await, want, "name order");
    let oids = rc(
        &f.su,
        "list_routercluster_workergroups",
        vec![c.as_str().into()],
    )
    .await;
    assert_eq!(str_list(&oids)[0], oid(&a));
    let filtered = |status: &str| {
        let args = vec![c.as_str().into(), true.into(), status.into()];
        let su = f.su.clone();
        async move { str_list(&rc(&su, "list_routercluster_workergroups", args).await) }
    };
    assert_eq!(filtered("STOPPED").await.len(), 3);
    assert!(
        filtered("RUNNING").await.is_empty(),
        "filter_by_status works (⚠D32)"
    );

    let got = rc(
        &f.su,
        "get_routercluster_workergroup",
        vec![c.as_str().into(), oid(&z).into()],
    )
    .await;
    let mut plain = got.clone();
    if let Value::Dict(d) = &mut plain {
        assert_eq!(
            d.remove("placements")
                .and_then(|p| p.as_list().map(Vec::len)),
            Some(1)
        );
    }
    assert_eq!(plain, z);
    let by_name = rc(
        &f.su,
        "get_routercluster_workergroup_by_name",
        vec!["rc1".into(), "zeta".into()],
    )
    .await;
    assert_eq!(by_name, got);

    let args = vec![c.as_str().into(), oid(&z).into()];
    let gone = rc(&f.su, "remove_routercluster_workergroup", args.clone()).await;
    assert_eq!(gone, z);
    assert_eq!(next_event(&mut removed).await.args, vec![gone]);
    let (uri, _) = rc_err(&f.su, "get_routercluster_workergroup", args).await;
    assert_eq!(uri, "crossbar.error.no_such_object");
    assert_eq!(group_names(&f.su, &c).await.len(), 2);
    no_event(&mut removed).await;
}

#[tokio::test]
async fn a_removed_node_hands_its_workers_to_the_other_members() {
    let f = setup().await;
    let [n1, n2, ..] = &f.nodes;
    let c = create(&f.su, "rc1").await;
    add_nodes(&f.su, &c, &[n1, n2]).await;
    let g = oid(&add_group(&f.su, &c, "wg1", 2).await);
    rc(&f.su, "start_routercluster", vec![c.as_str().into()]).await;
    rc(
        &f.su,
        "remove_routercluster_node",
        vec![c.as_str().into(), n1.as_str().into()],
    )
    .await;
    assert_eq!(spread(&f.su, &c, &g).await, [(n2.clone(), 2)].into());

    // the last member cannot go while it runs workers; nothing changes
    let args = vec![c.as_str().into(), n2.as_str().into()];
    let (uri, msg) = rc_err(&f.su, "remove_routercluster_node", args.clone()).await;
    assert_eq!(uri, "crossbar.error.dependent_objects");
    assert!(
        msg.starts_with(&format!(
            "node {n2} still runs 2 router workers of routercluster {c}"
        )),
        "{msg}"
    );
    assert_eq!(spread(&f.su, &c, &g).await, [(n2.clone(), 2)].into());
    rc(&f.su, "get_routercluster_node", args.clone()).await;

    // a group can be removed from a running cluster; then the node can go
    rc(
        &f.su,
        "remove_routercluster_workergroup",
        vec![c.as_str().into(), g.as_str().into()],
    )
    .await;
    rc(&f.su, "remove_routercluster_node", args).await;
    let nodes = rc(&f.su, "list_routercluster_nodes", vec![c.as_str().into()]).await;
    assert!(str_list(&nodes).is_empty());
}

#[tokio::test]
async fn delete_cascades_to_memberships_groups_and_placements() {
    let f = setup().await;
    let c = create(&f.su, "rc1").await;
    add_nodes(&f.su, &c, &[&f.nodes[0], &f.nodes[1]]).await;
    let g = oid(&add_group(&f.su, &c, "wg1", 2).await);
    let before = rc(&f.su, "get_routercluster", vec![c.as_str().into()]).await;
    let mut deleted = subscribe(&f.su, &format!("{RC}on_routercluster_deleted")).await;
    let d = rc(&f.su, "delete_routercluster", vec![c.as_str().into()]).await;
    assert_eq!(
        (s(&d, "oid"), s(&d, "name"), keys(&d)),
        (c.as_str(), "rc1", key_set(RC_KEYS))
    );
    assert!(
        d.get("changed").and_then(Value::as_u64) > before.get("changed").and_then(Value::as_u64)
    );
    assert_eq!(next_event(&mut deleted).await.args, vec![d]);
    assert!(clusters(&f.su).await.is_empty());
    let (uri, _) = rc_err(
        &f.su,
        "get_routercluster_workergroup",
        vec![c.as_str().into(), g.into()],
    )
    .await;
    assert_eq!(uri, "crossbar.error.no_such_object");

    // the name, the group name and the nodes are free again, with nothing left over
    let c2 = create(&f.su, "rc1").await;
    let nodes = rc(&f.su, "list_routercluster_nodes", vec![c2.as_str().into()]).await;
    assert!(str_list(&nodes).is_empty());
    add_nodes(&f.su, &c2, &[&f.nodes[2]]).await;
    let g2 = oid(&add_group(&f.su, &c2, "wg1", 1).await);
    assert_eq!(
        spread(&f.su, &c2, &g2).await,
        [(f.nodes[2].clone(), 1)].into()
    );
}

#[tokio::test]
async fn stat_shows_members_groups_and_workers() {
    let f = setup().await;
    let [n1, n2, ..] = &f.nodes;
    let c = create(&f.su, "rc1").await;
    add_nodes(&f.su, &c, &[n1, n2]).await;
    let g = oid(&add_group(&f.su, &c, "wg1", 2).await);
    let st = rc(&f.su, "stat_routercluster", vec![c.as_str().into()]).await;
    let top = ["oid", "name", "status", "changed", "nodes", "workergroups"];
    assert_eq!(keys(&st), key_set(&top));
    assert_eq!((s(&st, "name"), s(&st, "status")), ("rc1", "STOPPED"));
    let nodes = st.get("nodes").and_then(Value::as_list).expect("nodes");
    assert_eq!(nodes.len(), 2);
    assert_eq!(keys(&nodes[0]), key_set(&["node_oid", "authid", "status"]));
    assert_eq!(s(&nodes[0], "status"), "offline");
    let groups = st
        .get("workergroups")
        .and_then(Value::as_list)
        .expect("groups");
    assert_eq!(
        keys(&groups[0]),
        key_set(&["oid", "name", "scale", "workers"])
    );
    let workers = groups[0]
        .get("workers")
        .and_then(Value::as_list)
        .expect("workers");
    let wkeys = [
        "worker_id",
        "node_oid",
        "node_authid",
        "placement_oid",
        "status",
        "since",
        "last_error",
    ];
    assert_eq!(keys(&workers[0]), key_set(&wkeys));
    assert_eq!(
        (s(&workers[0], "worker_id"), s(&workers[0], "status")),
        ("wg1_1", "stopped")
    );
    assert!(workers[0].get("last_error") == Some(&Value::Null));

    rc(&f.su, "start_routercluster", vec![c.as_str().into()]).await;
    let sg = rc(
        &f.su,
        "stat_routercluster_workergroup",
        vec![c.as_str().into(), g.as_str().into()],
    )
    .await;
    assert_eq!(
        keys(&sg),
        key_set(&["oid", "name", "scale", "cluster_oid", "workers"])
    );
    let workers = sg.get("workers").and_then(Value::as_list).expect("workers");
    let authids: Vec<&str> = workers.iter().map(|w| s(w, "node_authid")).collect();
    let mut sorted = authids.clone();
    sorted.sort();
    assert_eq!(sorted, ["node1", "node2"]);
    assert!(
        workers.iter().all(|w| s(w, "status") != "stopped"),
        "started: {workers:?}"
    );
}

#[tokio::test]
async fn a_management_realm_sees_none_of_anothers_clusters() {
    let f = setup().await;
    let c = create(&f.su, "rc1").await;
    add_nodes(&f.su, &c, &[&f.nodes[0]]).await;
    assert!(clusters(&f.su2).await.is_empty());
    let (uri, _) = rc_err(&f.su2, "get_routercluster", vec![c.as_str().into()]).await;
    assert_eq!(uri, "crossbar.error.no_such_object");
    let (uri, _) = rc_err(&f.su2, "list_routercluster_nodes", vec![c.as_str().into()]).await;
    assert_eq!(uri, "crossbar.error.no_such_object");
    // the same name in another management realm is another cluster
    let c2 = create(&f.su2, "rc1").await;
    assert_ne!(c, c2);
    add_nodes(&f.su2, &c2, &[&f.nodes[3]]).await;
    let nodes = rc(
        &f.su2,
        "list_routercluster_nodes",
        vec![c2.as_str().into(), true.into()],
    )
    .await;
    assert_eq!(str_list(&nodes), ["node4"]);
    let nodes = rc(
        &f.su,
        "list_routercluster_nodes",
        vec![c.as_str().into(), true.into()],
    )
    .await;
    assert_eq!(str_list(&nodes), ["node1"]);
}

#[tokio::test]
async fn the_membership_of_an_unpaired_node_can_be_removed() {
    let f = setup().await;
    let [n1, n2, ..] = &f.nodes;
    let c = create(&f.su, "rc1").await;
    let args = |n: &str| vec![Value::from(c.as_str()), n.into()];
    rc(&f.su, "add_routercluster_node", args(n1)).await;
    rc(&f.su, "add_routercluster_node", args(n2)).await;
    let wg = dict! { "name" => "wg1", "scale" => 2 };
    rc(
        &f.su,
        "add_routercluster_workergroup",
        vec![c.as_str().into(), wg.into()],
    )
    .await;
    common::api(&f.global, "unpair_node", vec![n2.as_str().into()]).await;
    let nso = "crossbar.error.no_such_object";
    let (uri, _) = rc_err(&f.su, "get_routercluster_node", args(n2)).await;
    assert_eq!(uri, nso, "the node is gone from the management realm");
    // its worker moves to the remaining member, and the membership goes
    rc(&f.su, "remove_routercluster_node", args(n2)).await;
    let got = rc(
        &f.su,
        "get_routercluster_workergroup_by_name",
        vec!["rc1".into(), "wg1".into()],
    )
    .await;
    let placements = got
        .get("placements")
        .and_then(Value::as_list)
        .expect("list");
    assert!(
        placements.iter().all(|p| s(p, "node_oid") == n1),
        "{placements:?}"
    );
    let (uri, _) = rc_err(&f.su, "remove_routercluster_node", args(n2)).await;
    assert_eq!(uri, nso, "removed once");
    let members = rc(&f.su, "list_routercluster_nodes", vec![c.as_str().into()]).await;
    assert_eq!(str_list(&members), [n1.as_str()]);
}
