//! The web cluster manager (`crossbarfabriccenter.mrealm.webcluster.*`, clusters spec §2.3)
//! end to end over WebSocket: an in-process master, the superuser as `owner` on `mr1`, paired
//! (simulated) nodes. Web cluster objects and node memberships: every procedure's result shape
//! and event, the spec's errors in order (and that nothing changed), cascade delete. Services,
//! owner checks and isolation are in `clusters_wc_services.rs`. No edge node: the reconcilers
//! are not exercised here.

mod common;
mod wc;

use std::time::Duration;

use common::{call_kw, key_set, keys, next_event, node_secret, s, str_list, subscribe};
use serde_json::json;
use wamp_client::Session;
use wamp_proto::{dict, Dict, Value};
use wc::*;

#[tokio::test]
async fn create_get_list_and_events() {
    let f = setup().await;
    let mut created = subscribe(&f.su, &format!("{WC}on_webcluster_created")).await;
    let cfg = json!({"name": "web1", "tcp_port": 8080, "tcp_shared": true, "label": "L",
        "tls_chain_certificates": ["c"], "bogus": 1});
    let c = wc(&f.su, "create_webcluster", vec![v(cfg)]).await;
    assert_eq!(keys(&c), key_set(WEBCLUSTER_KEYS));
    assert_eq!(s(&c, "status"), "STOPPED");
    assert_eq!(s(&c, "label"), "L");
    assert_eq!(c.get("tcp_port").and_then(Value::as_u64), Some(8080));
    assert_eq!(c.get("tcp_interface"), Some(&Value::Null));
    assert!(c.get("changed").and_then(Value::as_u64).is_some());
    let ev = next_event(&mut created).await;
    assert_eq!(ev.args, vec![c.clone()]);
    let oid = s(&c, "oid").to_owned();
    create(&f.su, json!({"name": "abc"})).await;

    assert_eq!(
        wc(&f.su, "get_webcluster", vec![oid.as_str().into()]).await,
        c
    );
    assert_eq!(
        wc(&f.su, "get_webcluster_by_name", vec!["web1".into()]).await,
        c
    );
    let kw = dict! { "webcluster_oid" => oid.as_str() };
    let by_kw = call_kw(&f.su, &format!("{WC}get_webcluster"), vec![], kw).await;
    assert_eq!(by_kw.expect("kwargs call"), c);
    let names = wc(&f.su, "list_webclusters", vec![true.into()]).await;
    assert_eq!(str_list(&names), ["abc", "web1"]);
    let oids = str_list(&wc(&f.su, "list_webclusters", vec![]).await);
    let mut sorted = oids.clone();
    sorted.sort();
    assert_eq!(oids, sorted);
    assert!(oids.contains(&oid));
}

#[tokio::test]
async fn create_errors_change_nothing() {
    let f = setup().await;
    create(&f.su, json!({"name": "web1"})).await;
    let before = wc(&f.su, "list_webclusters", vec![true.into()]).await;
    let cases: Vec<(Value, &str, &str)> = vec![
        ("x".into(), TCE, "'webcluster' expected type=dict got=str"),
        (
            v(json!({"name": "web2", "tcp_port": 0})),
            IC,
            "could not parse web cluster configuration (",
        ),
        (
            v(json!({"name": "web2", "tcp_shared": "yes"})),
            IC,
            "could not parse web cluster configuration (",
        ),
        (
            v(json!({"name": "web2", "tcp_version": 5})),
            IC,
            "could not parse",
        ),
        (
            v(json!({"name": "web2", "tls_ca_certificates": [1]})),
            IC,
            "could not parse",
        ),
        (
            v(json!({"name": "web2", "tags": "t"})),
            IC,
            "could not parse",
        ),
        (
            v(json!({"tcp_port": 80})),
            IC,
            "missing \"name\" in web cluster configuration",
        ),
        (
            v(json!({"name": "Web2"})),
            IC,
            "invalid name \"Web2\" in web cluster configuration",
        ),
        (v(json!({"name": "w"})), IC, "invalid name \"w\""),
        (
            v(json!({"name": "web1"})),
            AE,
            "duplicate name \"web1\" in web cluster configuration",
        ),
    ];
    for (arg, uri, msg) in cases {
        let (u, m) = wc_err(&f.su, "create_webcluster", vec![arg.clone()]).await;
        assert_eq!(u, uri, "{arg:?}: {m}");
        assert!(m.starts_with(msg), "{arg:?}: {m}");
    }
    assert_eq!(
        wc(&f.su, "list_webclusters", vec![true.into()]).await,
        before
    );
}

#[tokio::test]
async fn bad_and_unknown_oids() {
    let f = setup().await;
    let oid = create(&f.su, json!({"name": "web1"})).await;
    let unknown = "00000000-0000-4000-8000-000000000001";
    let node = f.nodes[0].as_str();
    let one = [
        "get_webcluster",
        "delete_webcluster",
        "start_webcluster",
        "stop_webcluster",
        "stat_webcluster",
        "list_webcluster_nodes",
        "list_webcluster_services",
    ];
    for p in one {
        let (u, m) = wc_err(&f.su, p, vec!["x".into()]).await;
        assert_eq!(
            (u.as_str(), m.as_str()),
            (
                IA,
                "invalid webcluster_oid: badly formed hexadecimal UUID string"
            ),
            "{p}"
        );
        let (u, m) = wc_err(&f.su, p, vec![unknown.into()]).await;
        assert_eq!(u, NSO, "{p}");
        assert!(m.contains(unknown), "{p}: {m}");
        let (u, _) = wc_err(&f.su, p, vec![1.into()]).await;
        assert_eq!(u, TCE, "{p}");
    }
    let (_, m) = wc_err(&f.su, "get_webcluster", vec![unknown.into()]).await;
    assert_eq!(m, format!("no webcluster with oid {unknown}"));
    let (u, m) = wc_err(&f.su, "get_webcluster_by_name", vec!["nope".into()]).await;
    assert_eq!((u.as_str(), m.as_str()), (NSO, "no webcluster named nope"));
    for p in ["remove_webcluster_node", "get_webcluster_node"] {
        let (u, m) = wc_err(&f.su, p, vec![oid.as_str().into(), "x".into()]).await;
        assert_eq!(
            (u.as_str(), m.as_str()),
            (IA, "invalid node_oid: badly formed hexadecimal UUID string")
        );
        let (u, m) = wc_err(&f.su, p, vec![unknown.into(), node.into()]).await;
        assert_eq!(
            (u, m),
            (
                NSO.to_owned(),
                format!("no object with oid {unknown} found")
            )
        );
        let (u, m) = wc_err(&f.su, p, vec![oid.as_str().into(), node.into()]).await;
        assert_eq!(u, NSO);
        assert_eq!(
            m,
            format!("no association between node {node} and webcluster {oid} found")
        );
    }
    for p in ["remove_webcluster_service", "get_webcluster_service"] {
        let (u, _) = wc_err(&f.su, p, vec![oid.as_str().into(), "x".into()]).await;
        assert_eq!(u, IA);
        let (u, m) = wc_err(&f.su, p, vec![oid.as_str().into(), unknown.into()]).await;
        assert_eq!(
            (u, m),
            (
                NSO.to_owned(),
                format!("no object with oid {unknown} found")
            )
        );
    }
    let (u, m) = wc_err(
        &f.su,
        "get_webcluster_service_by_path",
        vec![oid.as_str().into(), "p".into()],
    )
    .await;
    assert_eq!(
        (u.as_str(), m.as_str()),
        (NSO, "no webservice for path \"p\" found")
    );
    let (u, _) = wc_err(
        &f.su,
        "list_webcluster_nodes",
        vec![oid.as_str().into(), "yes".into()],
    )
    .await;
    assert_eq!(u, TCE);
}

#[tokio::test]
async fn start_stop_delete() {
    let f = setup().await;
    let oid = create(&f.su, json!({"name": "web1"})).await;
    let mut starting = subscribe(&f.su, &format!("{WC}on_webcluster_starting")).await;
    let mut stopping = subscribe(&f.su, &format!("{WC}on_webcluster_stopping")).await;
    let (u, m) = wc_err(&f.su, "stop_webcluster", vec![oid.as_str().into()]).await;
    assert_eq!(
        (u.as_str(), m.as_str()),
        (
            "crossbar.error.cannot_stop",
            "cannot stop webcluster currently in state STOPPED"
        )
    );

    let r = wc(&f.su, "start_webcluster", vec![oid.as_str().into()]).await;
    assert_eq!(keys(&r), key_set(&["oid", "status", "changed", "who"]));
    assert_eq!(s(&r, "status"), "STARTING");
    let who = r.get("who").expect("who");
    assert_eq!(keys(who), key_set(&["session", "authid", "authrole"]));
    assert_eq!(s(who, "authrole"), "owner");
    assert_eq!(next_event(&mut starting).await.args, vec![r.clone()]);
    let got = wc(&f.su, "get_webcluster", vec![oid.as_str().into()]).await;
    // no member: nothing to deploy, the reconciler may already have set RUNNING
    match s(&got, "status") {
        "STARTING" => assert_eq!(got.get("changed"), r.get("changed")),
        other => assert_eq!(other, "RUNNING"),
    }

    let (u, m) = wc_err(&f.su, "start_webcluster", vec![oid.as_str().into()]).await;
    assert_eq!(u, "crossbar.error.cannot_start");
    let state = m.strip_prefix("cannot start webcluster currently in state ");
    assert!(matches!(state, Some("STARTING" | "RUNNING")), "{m}");
    let (u, m) = wc_err(&f.su, "delete_webcluster", vec![oid.as_str().into()]).await;
    assert_eq!(u, "crossbar.error.not_stopped");
    assert!(m.contains("STARTING") || m.contains("RUNNING"), "{m}");

    let r = wc(&f.su, "stop_webcluster", vec![oid.as_str().into()]).await;
    assert_eq!(s(&r, "status"), "STOPPING");
    assert_eq!(next_event(&mut stopping).await.args, vec![r]);
    // nothing was deployed (no member): the reconciler reaches STOPPED at once
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let got = wc(&f.su, "get_webcluster", vec![oid.as_str().into()]).await;
        if s(&got, "status") == "STOPPED" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not STOPPED: {got:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    wc(&f.su, "delete_webcluster", vec![oid.as_str().into()]).await;
}

#[tokio::test]
async fn delete_cascades_and_spares_others() {
    let f = setup().await;
    let a = create(&f.su, json!({"name": "web_a"})).await;
    let b = create(&f.su, json!({"name": "web_b"})).await;
    for c in [&a, &b] {
        wc(
            &f.su,
            "add_webcluster_node",
            vec![c.as_str().into(), f.nodes[0].as_str().into()],
        )
        .await;
        let svc = v(json!({"type": "json", "value": 1}));
        wc(
            &f.su,
            "add_webcluster_service",
            vec![c.as_str().into(), "info".into(), svc],
        )
        .await;
    }
    let b_before = snapshot(&f.su, &b).await;
    let mut deleted = subscribe(&f.su, &format!("{WC}on_webcluster_deleted")).await;
    let before = wc(&f.su, "get_webcluster", vec![a.as_str().into()]).await;
    let r = wc(&f.su, "delete_webcluster", vec![a.as_str().into()]).await;
    assert_eq!(keys(&r), key_set(WEBCLUSTER_KEYS));
    assert!(
        r.get("changed").and_then(Value::as_u64) >= before.get("changed").and_then(Value::as_u64)
    );
    assert_eq!(next_event(&mut deleted).await.args, vec![r]);
    let (u, _) = wc_err(&f.su, "get_webcluster", vec![a.as_str().into()]).await;
    assert_eq!(u, NSO);
    let (u, m) = wc_err(&f.su, "delete_webcluster", vec![a.as_str().into()]).await;
    assert_eq!(
        (u, m),
        (NSO.to_owned(), format!("no object with oid {a} found"))
    );
    assert_eq!(snapshot(&f.su, &b).await, b_before);
    // the name is free again, and nothing of the old cluster shows up under a new one
    let a2 = create(&f.su, json!({"name": "web_a"})).await;
    assert_eq!(
        wc(&f.su, "list_webcluster_nodes", vec![a2.as_str().into()]).await,
        Value::List(vec![])
    );
    assert_eq!(
        wc(&f.su, "list_webcluster_services", vec![a2.as_str().into()]).await,
        Value::Dict(Dict::new())
    );
}

#[tokio::test]
async fn node_memberships() {
    let f = setup().await;
    let oid = create(&f.su, json!({"name": "web1"})).await;
    let (n1, n2, n3) = (&f.nodes[0], &f.nodes[1], &f.nodes[2]);
    let mut added = subscribe(&f.su, &format!("{WC}on_webcluster_node_added")).await;
    let mut removed = subscribe(&f.su, &format!("{WC}on_webcluster_node_removed")).await;
    let cfg = v(json!({"parallel": 2, "standby": false}));
    let m = wc(
        &f.su,
        "add_webcluster_node",
        vec![oid.as_str().into(), n1.as_str().into(), cfg],
    )
    .await;
    assert_eq!(
        keys(&m),
        key_set(&["cluster_oid", "node_oid", "parallel", "standby"])
    );
    assert_eq!(m.get("parallel").and_then(Value::as_u64), Some(2));
    assert_eq!(m.get("standby"), Some(&Value::Null));
    assert_eq!(next_event(&mut added).await.args, vec![m]);
    // overwrite; parallel 0 → null, standby true kept
    let cfg = v(json!({"parallel": 0, "standby": true}));
    let m = wc(
        &f.su,
        "add_webcluster_node",
        vec![oid.as_str().into(), n1.as_str().into(), cfg],
    )
    .await;
    assert_eq!(m.get("parallel"), Some(&Value::Null));
    assert_eq!(m.get("standby"), Some(&Value::Bool(true)));
    next_event(&mut added).await;
    let got = wc(
        &f.su,
        "get_webcluster_node",
        vec![oid.as_str().into(), n1.as_str().into()],
    )
    .await;
    assert_eq!(got, m);
    wc(
        &f.su,
        "add_webcluster_node",
        vec![oid.as_str().into(), n2.as_str().into()],
    )
    .await;
    next_event(&mut added).await;

    let list = str_list(&wc(&f.su, "list_webcluster_nodes", vec![oid.as_str().into()]).await);
    let mut want = vec![n1.clone(), n2.clone()];
    want.sort();
    assert_eq!(list, want);
    let names = wc(
        &f.su,
        "list_webcluster_nodes",
        vec![oid.as_str().into(), true.into()],
    )
    .await;
    assert_eq!(str_list(&names), ["node1", "node2"]);
    let _node1 = f.fx.checked_node(node_secret(1)).await;
    let online = |s: Session, oid: String| async move {
        let args = vec![oid.as_str().into(), Value::Null, "online".into()];
        str_list(&wc(&s, "list_webcluster_nodes", args).await)
    };
    let mut seen = Vec::new();
    for _ in 0..50 {
        seen = online(f.su.clone(), oid.clone()).await;
        if !seen.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, [n1.as_str()]);

    let unknown = "00000000-0000-4000-8000-000000000002";
    let before = snapshot(&f.su, &oid).await;
    for (node, cfg, uri) in [
        (n3.as_str(), Value::Null, NSO),
        (unknown, Value::Null, NSO),
        ("x", Value::Null, IA),
        (n2.as_str(), v(json!({"parallel": 65})), IA),
        (n2.as_str(), v(json!({"parallel": "2"})), IA),
        (n2.as_str(), v(json!({"standby": 1})), IA),
        (n2.as_str(), "cfg".into(), TCE),
    ] {
        let (u, m) = wc_err(
            &f.su,
            "add_webcluster_node",
            vec![oid.as_str().into(), node.into(), cfg],
        )
        .await;
        assert_eq!(u, uri, "{node}: {m}");
        if uri == NSO {
            assert_eq!(m, format!("no node with oid {node} found"));
        }
    }
    let (u, m) = wc_err(
        &f.su,
        "get_webcluster_node",
        vec![oid.as_str().into(), n3.as_str().into()],
    )
    .await;
    assert_eq!(
        (u, m),
        (NSO.to_owned(), format!("no node with oid {n3} found"))
    );
    assert_eq!(snapshot(&f.su, &oid).await, before);

    let r = wc(
        &f.su,
        "remove_webcluster_node",
        vec![oid.as_str().into(), n1.as_str().into()],
    )
    .await;
    assert_eq!(r, got);
    assert_eq!(next_event(&mut removed).await.args, vec![r]);
    let list = str_list(&wc(&f.su, "list_webcluster_nodes", vec![oid.as_str().into()]).await);
    assert_eq!(list, [n2.as_str()]);
}

#[tokio::test]
async fn membership_of_an_unpaired_node_can_be_removed() {
    let f = setup().await;
    let oid = create(&f.su, json!({"name": "web1"})).await;
    let n2 = f.nodes[1].as_str();
    let args = || vec![Value::from(oid.as_str()), n2.into()];
    wc(&f.su, "add_webcluster_node", args()).await;
    common::api(&f.global, "unpair_node", vec![n2.into()]).await;
    let (u, m) = wc_err(&f.su, "get_webcluster_node", args()).await;
    assert_eq!(
        (u, m),
        (NSO.to_owned(), format!("no node with oid {n2} found"))
    );
    wc(&f.su, "remove_webcluster_node", args()).await;
    let (u, m) = wc_err(&f.su, "remove_webcluster_node", args()).await;
    assert_eq!(
        (u, m),
        (NSO.to_owned(), format!("no node with oid {n2} found"))
    );
    assert_eq!(
        wc(&f.su, "list_webcluster_nodes", vec![oid.as_str().into()]).await,
        Value::List(vec![])
    );
}

#[tokio::test]
async fn stat_webcluster_shape() {
    let f = setup().await;
    let oid = create(&f.su, json!({"name": "web1"})).await;
    wc(
        &f.su,
        "add_webcluster_node",
        vec![oid.as_str().into(), f.nodes[0].as_str().into()],
    )
    .await;
    let st = wc(&f.su, "stat_webcluster", vec![oid.as_str().into()]).await;
    assert_eq!(
        keys(&st),
        key_set(&["oid", "name", "status", "changed", "nodes"])
    );
    assert_eq!(s(&st, "status"), "STOPPED");
    let nodes = st.get("nodes").and_then(Value::as_list).expect("nodes");
    assert_eq!(nodes.len(), 1);
    assert_eq!(
        keys(&nodes[0]),
        key_set(&["node_oid", "authid", "status", "workers"])
    );
    assert_eq!(s(&nodes[0], "authid"), "node1");
    assert_eq!(s(&nodes[0], "status"), "offline");
    assert_eq!(nodes[0].get("workers"), Some(&Value::List(vec![])));
}
