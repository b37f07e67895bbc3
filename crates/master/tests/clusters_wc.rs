//! The web cluster manager (`crossbarfabriccenter.mrealm.webcluster.*`, clusters spec §2.3)
//! end to end over WebSocket: an in-process master, the superuser as `owner` on `mr1`, paired
//! (simulated) nodes. Every procedure's result shape and event, the spec's errors in order
//! (and that nothing changed), service validation, cascade delete, owner checks and the
//! isolation of management realms. No edge node: the reconcilers are not exercised here.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{
    call, call_kw, create_mrealm, create_user, key_set, keys, next_event, node_secret, pair_oid, s,
    set_roles, str_list, subscribe, user_secret, wamp_err, Fixture,
};
use serde_json::json;
use wamp_client::Session;
use wamp_proto::{dict, Dict, Value};

const WC: &str = "crossbarfabriccenter.mrealm.webcluster.";
const IA: &str = "wamp.error.invalid_argument";
const NSO: &str = "crossbar.error.no_such_object";
const TCE: &str = "wamp.error.type_check_error";
const IC: &str = "wamp.error.invalid_configuration";
const AE: &str = "crossbar.error.already_exists";
const NA: &str = "wamp.error.not_authorized";

const WEBCLUSTER_KEYS: &[&str] = &[
    "oid",
    "label",
    "description",
    "tags",
    "name",
    "status",
    "owner_oid",
    "changed",
    "tcp_version",
    "tcp_port",
    "tcp_shared",
    "tcp_interface",
    "tcp_backlog",
    "tls_key",
    "tls_certificate",
    "tls_chain_certificates",
    "tls_ca_certificates",
    "tls_dhparam",
    "tls_ciphers",
    "http_client_timeout",
    "http_hsts",
    "http_hsts_max_age",
    "http_access_log",
    "http_display_tracebacks",
];

struct Setup {
    fx: Fixture,
    global: Session,
    /// The superuser as `owner` on mr1.
    su: Session,
    mr1: String,
    /// node1, node2 (mr1), node3 (mr2).
    nodes: [String; 3],
}

async fn setup() -> Setup {
    let fx = Fixture::start().await;
    let global = fx.superuser(None).await;
    let mr1 = s(&create_mrealm(&global, "mr1").await, "oid").to_owned();
    create_mrealm(&global, "mr2").await;
    let nodes = [
        pair_oid(&global, &node_secret(1), "mr1", "node1").await,
        pair_oid(&global, &node_secret(2), "mr1", "node2").await,
        pair_oid(&global, &node_secret(3), "mr2", "node3").await,
    ];
    let su = fx.superuser(Some("mr1")).await;
    Setup {
        fx,
        global,
        su,
        mr1,
        nodes,
    }
}

fn v(j: serde_json::Value) -> Value {
    Value::from(j)
}

async fn wc(s: &Session, name: &str, args: Vec<Value>) -> Value {
    call(s, &format!("{WC}{name}"), args)
        .await
        .unwrap_or_else(|e| panic!("{name} failed: {e}"))
}

async fn wc_err(s: &Session, name: &str, args: Vec<Value>) -> (String, String) {
    wamp_err(call(s, &format!("{WC}{name}"), args).await)
}

async fn create(s: &Session, cfg: serde_json::Value) -> String {
    let c = wc(s, "create_webcluster", vec![v(cfg)]).await;
    self::s(&c, "oid").to_owned()
}

/// Everything stored about a cluster, to show a refused call changed nothing.
async fn snapshot(s: &Session, oid: &str) -> (Value, Value, Value) {
    let c = wc(s, "get_webcluster", vec![oid.into()]).await;
    let n = wc(s, "list_webcluster_nodes", vec![oid.into()]).await;
    let ws = wc(s, "list_webcluster_services", vec![oid.into()]).await;
    (c, n, ws)
}

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
    assert_eq!(s(&got, "status"), "STARTING");
    assert_eq!(got.get("changed"), r.get("changed"));

    let (u, m) = wc_err(&f.su, "start_webcluster", vec![oid.as_str().into()]).await;
    assert_eq!(
        (u.as_str(), m.as_str()),
        (
            "crossbar.error.cannot_start",
            "cannot start webcluster currently in state STARTING"
        )
    );
    let (u, m) = wc_err(&f.su, "delete_webcluster", vec![oid.as_str().into()]).await;
    assert_eq!(u, "crossbar.error.not_stopped");
    assert!(m.contains("STARTING"), "{m}");

    let r = wc(&f.su, "stop_webcluster", vec![oid.as_str().into()]).await;
    assert_eq!(s(&r, "status"), "STOPPING");
    assert_eq!(next_event(&mut stopping).await.args, vec![r]);
    let (u, _) = wc_err(&f.su, "start_webcluster", vec![oid.as_str().into()]).await;
    assert_eq!(u, "crossbar.error.cannot_start");
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
    assert_eq!(seen, [n1.clone()]);

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
    assert_eq!(list, [n2.clone()]);
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

#[tokio::test]
async fn owner_checks_and_isolation() {
    let f = setup().await;
    let oid = create(&f.su, json!({"name": "web1"})).await;
    let svc = wc(
        &f.su,
        "add_webcluster_service",
        vec![
            oid.as_str().into(),
            "x".into(),
            v(json!({"type": "nodeinfo"})),
        ],
    )
    .await;
    let admin = create_user(&f.global, "admin@example.com", &user_secret(1)).await;
    set_roles(&f.global, &f.mr1, &admin, &["admin"]).await;
    let a =
        f.fx.try_user(user_secret(1), Some("mr1"), None)
            .await
            .expect("admin joins mr1");
    let before = snapshot(&f.su, &oid).await;
    let o = || Value::from(oid.as_str());
    let cases: Vec<(&str, Vec<Value>, &str)> = vec![
        (
            "start_webcluster",
            vec![o()],
            "only owner is allowed to start a web cluster",
        ),
        (
            "delete_webcluster",
            vec![o()],
            "only owner is allowed to delete web cluster",
        ),
        (
            "add_webcluster_service",
            vec![o(), "y".into(), v(json!({"type": "nodeinfo"}))],
            "only owner is allowed to add web service to a web cluster",
        ),
        (
            "remove_webcluster_service",
            vec![o(), s(&svc, "oid").into()],
            "only owner is allowed to remove a web service from a web cluster",
        ),
    ];
    for (p, args, msg) in cases {
        let (u, m) = wc_err(&a, p, args).await;
        assert_eq!((u.as_str(), m.as_str()), (NA, msg), "{p}");
    }
    assert_eq!(snapshot(&f.su, &oid).await, before);
    // the admin owns what it creates
    let mine = wc(&a, "create_webcluster", vec![v(json!({"name": "web2"}))]).await;
    assert_eq!(s(&mine, "owner_oid"), admin);
    wc(&a, "start_webcluster", vec![s(&mine, "oid").into()]).await;

    // mr2 sees none of mr1's clusters, and may reuse the names
    let su2 = f.fx.superuser(Some("mr2")).await;
    assert_eq!(
        wc(&su2, "list_webclusters", vec![]).await,
        Value::List(vec![])
    );
    let (u, _) = wc_err(&su2, "get_webcluster", vec![o()]).await;
    assert_eq!(u, NSO);
    let (u, _) = wc_err(
        &su2,
        "get_webcluster_service",
        vec![o(), s(&svc, "oid").into()],
    )
    .await;
    assert_eq!(u, NSO);
    create(&su2, json!({"name": "web1"})).await;
    let (u, _) = wc_err(
        &su2,
        "add_webcluster_node",
        vec![o(), f.nodes[2].as_str().into()],
    )
    .await;
    assert_eq!(u, NSO);
}

#[tokio::test]
async fn services_add_list_get_remove() {
    let f = setup().await;
    let oid = create(&f.su, json!({"name": "web1"})).await;
    let o = || Value::from(oid.as_str());
    let mut added = subscribe(&f.su, &format!("{WC}on_webservice_added")).await;
    let mut removed = subscribe(&f.su, &format!("{WC}on_webservice_removed")).await;
    let changed0 = wc(&f.su, "get_webcluster", vec![o()])
        .await
        .get("changed")
        .cloned();
    let def = v(json!({"type": "json", "value": [1, 2, 3], "path": "settings", "label": "L"}));
    let ws = wc(
        &f.su,
        "add_webcluster_service",
        vec![o(), "settings".into(), def],
    )
    .await;
    let want = key_set(&[
        "oid",
        "label",
        "description",
        "tags",
        "webcluster_oid",
        "path",
        "type",
        "value",
    ]);
    assert_eq!(keys(&ws), want);
    assert_eq!(
        (s(&ws, "path"), s(&ws, "type"), s(&ws, "label")),
        ("settings", "json", "L")
    );
    assert_eq!(s(&ws, "webcluster_oid"), oid);
    assert_eq!(next_event(&mut added).await.args, vec![ws.clone()]);
    let changed1 = wc(&f.su, "get_webcluster", vec![o()])
        .await
        .get("changed")
        .cloned();
    assert_ne!(changed0, changed1);
    let sid = s(&ws, "oid").to_owned();
    wc(
        &f.su,
        "add_webcluster_service",
        vec![
            o(),
            "ws".into(),
            v(json!({"type": "websocket", "serializers": ["cbor"]})),
        ],
    )
    .await;
    wc(
        &f.su,
        "add_webcluster_service",
        vec![o(), "info".into(), v(json!({"type": "nodeinfo"}))],
    )
    .await;

    assert_eq!(
        wc(
            &f.su,
            "get_webcluster_service",
            vec![o(), sid.as_str().into()]
        )
        .await,
        ws
    );
    assert_eq!(
        wc(
            &f.su,
            "get_webcluster_service_by_path",
            vec![o(), "settings".into()]
        )
        .await,
        ws
    );
    let all = wc(&f.su, "list_webcluster_services", vec![o()]).await;
    assert_eq!(keys(&all), key_set(&["settings", "ws", "info"]));
    assert_eq!(
        all.get("settings").and_then(Value::as_str),
        Some(sid.as_str())
    );
    let some = wc(&f.su, "list_webcluster_services", vec![o(), "s".into()]).await;
    assert_eq!(keys(&some), key_set(&["settings"]));

    // a running cluster takes new services
    wc(&f.su, "start_webcluster", vec![o()]).await;
    wc(
        &f.su,
        "add_webcluster_service",
        vec![
            o(),
            "more".into(),
            v(json!({"type": "redirect", "url": "/"})),
        ],
    )
    .await;
    next_event(&mut added).await;
    next_event(&mut added).await;
    next_event(&mut added).await;

    // a service of another cluster is not this one's
    let other = create(&f.su, json!({"name": "web2"})).await;
    let (u, _) = wc_err(
        &f.su,
        "remove_webcluster_service",
        vec![other.as_str().into(), sid.as_str().into()],
    )
    .await;
    assert_eq!(u, NSO);
    let (u, _) = wc_err(
        &f.su,
        "get_webcluster_service",
        vec![other.as_str().into(), sid.as_str().into()],
    )
    .await;
    assert_eq!(u, NSO);

    let r = wc(
        &f.su,
        "remove_webcluster_service",
        vec![o(), sid.as_str().into()],
    )
    .await;
    assert_eq!(r, ws);
    assert_eq!(next_event(&mut removed).await.args, vec![r]);
    let (u, _) = wc_err(
        &f.su,
        "get_webcluster_service",
        vec![o(), sid.as_str().into()],
    )
    .await;
    assert_eq!(u, NSO);
    let paths: BTreeSet<String> = keys(&wc(&f.su, "list_webcluster_services", vec![o()]).await);
    assert_eq!(paths, key_set(&["ws", "info", "more"]));
}

#[tokio::test]
async fn bad_services_change_nothing() {
    let f = setup().await;
    let oid = create(&f.su, json!({"name": "web1"})).await;
    let o = || Value::from(oid.as_str());
    wc(
        &f.su,
        "add_webcluster_service",
        vec![o(), "info".into(), v(json!({"type": "nodeinfo"}))],
    )
    .await;
    let before = snapshot(&f.su, &oid).await;
    let cases: Vec<(&str, serde_json::Value, &str, &str)> = vec![
        ("info", json!({"type": "json", "value": 1}), AE, "duplicate path \"info\" in web cluster web1"),
        ("/", json!({"type": "nodeinfo"}), IA, "invalid path \"/\""),
        ("a/b", json!({"type": "nodeinfo"}), IA, "invalid path \"a/b\""),
        ("p", json!({"value": 1}), IA, "missing type in webservice"),
        ("p", json!({"type": "bogus"}), IA, "invalid webservice type \"bogus\""),
        ("p", json!({"type": "json", "value": 1, "path": "q"}), IA, "webservice path \"q\" differs"),
        ("p", json!({"type": "static"}), IA, "invalid webservice configuration for type \"static\": Web transport 'static' path service: either"),
        ("p", json!({"type": "json"}), IA, "invalid webservice configuration for type \"json\": Web transport 'json' path service - missing mandatory attribute 'value'"),
        ("p", json!({"type": "json", "value": 1, "x": 1}), IA, "invalid webservice configuration for type \"json\": Web transport 'json' path service - encountered unknown attribute 'x'"),
        ("p", json!({"type": "redirect", "url": 5}), IA, "invalid webservice configuration for type \"redirect\": Web transport 'redirect' path service - invalid type int encountered for attribute 'url'"),
        ("p", json!({"type": "nodeinfo", "label": 5}), IC, "could not parse web service configuration ("),
    ];
    for (path, def, uri, msg) in cases {
        let (u, m) = wc_err(
            &f.su,
            "add_webcluster_service",
            vec![o(), path.into(), v(def.clone())],
        )
        .await;
        assert_eq!(u, uri, "{def}: {m}");
        assert!(m.starts_with(msg), "{def}: {m}");
    }
    let (u, _) = wc_err(
        &f.su,
        "add_webcluster_service",
        vec![o(), "p".into(), "x".into()],
    )
    .await;
    assert_eq!(u, TCE);
    let unknown = "00000000-0000-4000-8000-000000000003";
    let (u, m) = wc_err(
        &f.su,
        "add_webcluster_service",
        vec![unknown.into(), "p".into(), v(json!({"type": "nodeinfo"}))],
    )
    .await;
    assert_eq!(
        (u, m),
        (
            NSO.to_owned(),
            format!("no object with oid {unknown} found")
        )
    );
    assert_eq!(snapshot(&f.su, &oid).await, before);
}
