//! The web cluster manager's services over WebSocket (clusters spec §2.3): add (validated,
//! unique path, allowed on a running cluster), list with `prefix`, get, get by path, remove
//! (only the cluster's own); owner checks (`not_authorized` for a non-owner `admin`) and the
//! isolation of management realms.

mod common;
mod wc;

use std::collections::BTreeSet;

use common::{create_user, key_set, keys, next_event, s, set_roles, subscribe, user_secret};
use serde_json::json;
use wamp_proto::Value;
use wc::*;

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
    let long_path = "a".repeat(256);
    let big = json!({"type": "json", "value": "x".repeat(70_000)});
    let cases: Vec<(&str, serde_json::Value, &str, &str)> = vec![
        ("info", json!({"type": "json", "value": 1}), AE, "duplicate path \"info\" in web cluster web1"),
        (&long_path, json!({"type": "nodeinfo"}), IA, "invalid path \"aaaa"),
        ("p", big, IA, "webservice definition is 70026 bytes, more than the 65536"),
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

#[tokio::test]
async fn a_web_cluster_holds_at_most_1000_services() {
    let f = setup().await;
    let oid = create(&f.su, json!({"name": "web_full"})).await;
    let add = |path: String| {
        let args = vec![
            oid.as_str().into(),
            path.into(),
            v(json!({"type": "json", "value": 1})),
        ];
        let su = f.su.clone();
        async move { wc(&su, "add_webcluster_service", args).await }
    };
    for i in 0..1000 {
        add(format!("p{i}")).await;
    }
    let before = snapshot(&f.su, &oid).await;
    let args = vec![
        oid.as_str().into(),
        "one_more".into(),
        v(json!({"type": "json", "value": 1})),
    ];
    let (uri, msg) = wc_err(&f.su, "add_webcluster_service", args).await;
    assert_eq!(uri, "wamp.error.invalid_argument");
    assert!(msg.contains("already has 1000 web services"), "{msg}");
    assert_eq!(snapshot(&f.su, &oid).await, before, "nothing changed");
}
