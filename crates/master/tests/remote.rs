//! The remote API of a management realm, end to end over WebSocket: an in-process master, the
//! superuser as `owner` on mrealm `mr1`, and simulated edge nodes joining with cryptosign as
//! authrole `node`. Forwarders (WIRE.md §4), their errors (§8) and event republishing.

mod common;

use common::{
    call, call_full, create_mrealm, first_str, next_event, node_secret, pair_oid, Fixture,
};
use wamp_client::{Error, PublishOptions, RegisterOptions, Session, SubscribeOptions, WampError};
use wamp_proto::{dict, Dict, MatchPolicy, Value};

struct Setup {
    fx: Fixture,
    /// The superuser on the global realm and as `owner` on `mr1`.
    global: Session,
    su: Session,
    /// oids of node1, node2 (paired in mr1) and node3 (paired in mr2).
    oids: [String; 3],
}

async fn setup() -> Setup {
    let fx = Fixture::start().await;
    let global = fx.superuser(None).await;
    for name in ["mr1", "mr2"] {
        create_mrealm(&global, name).await;
    }
    let oids = [
        pair_oid(&global, &node_secret(1), "mr1", "node1").await,
        pair_oid(&global, &node_secret(2), "mr1", "node2").await,
        pair_oid(&global, &node_secret(3), "mr2", "node3").await,
    ];
    let su = fx.superuser(Some("mr1")).await;
    assert_eq!(su.welcome().authrole.as_deref(), Some("owner"));
    Setup {
        fx,
        global,
        su,
        oids,
    }
}

/// Registers `uri` on a node, answering with its own args and kwargs.
async fn echo(node: &Session, uri: &str) {
    node.register(uri, RegisterOptions::default(), |inv| async move {
        Ok((inv.args, inv.kwargs))
    })
    .await
    .expect("register");
}

fn wamp_error(r: Result<(Vec<Value>, Dict), Error>) -> (String, Vec<Value>, Dict) {
    match r {
        Err(Error::Wamp { uri, args, kwargs }) => (uri, args, kwargs),
        other => panic!("expected a WAMP error, got {other:?}"),
    }
}

#[tokio::test]
async fn forwarders_pass_arguments_results_and_errors_through() {
    let f = setup().await;
    let n1 = f.fx.checked_node(node_secret(1)).await;
    n1.register(
        "crossbarfabriccenter.node.node1.get_workers",
        RegisterOptions::default(),
        |_| async { Ok((vec![Value::List(vec!["w1".into()])], Dict::new())) },
    )
    .await
    .expect("register");
    echo(&n1, "crossbarfabriccenter.node.node1.get_worker").await;
    echo(
        &n1,
        "crossbarfabriccenter.node.node1.worker.w1.get_router_realms",
    )
    .await;
    echo(&n1, "crossbarfabriccenter.node.node1.get_docker_info").await;
    n1.register(
        "crossbarfabriccenter.node.node1.stop_worker",
        RegisterOptions::default(),
        |_| async {
            Err(WampError::new("crossbar.error.no_such_worker")
                .args(vec!["no worker w9".into(), 2.into()])
                .kwargs(dict! { "worker" => "w9" }))
        },
    )
    .await
    .expect("register");
    let oid = Value::from(f.oids[0].clone());

    let (args, _) = call_full(
        &f.su,
        "crossbarfabriccenter.remote.node.get_workers",
        vec![oid.clone()],
        Dict::new(),
    )
    .await
    .expect("get_workers");
    assert_eq!(args, vec![Value::List(vec!["w1".into()])]);

    let kw = dict! { "flag" => true };
    let a = vec![oid.clone(), "w9".into(), 1.into()];
    let r = call_full(
        &f.su,
        "crossbarfabriccenter.remote.node.get_worker",
        a,
        kw.clone(),
    )
    .await;
    assert_eq!(
        r.expect("get_worker"),
        (vec!["w9".into(), 1.into()], kw.clone())
    );

    let a = vec![oid.clone(), "w1".into(), 1.into()];
    let r = call_full(
        &f.su,
        "crossbarfabriccenter.remote.router.get_router_realms",
        a,
        kw.clone(),
    )
    .await;
    assert_eq!(r.expect("get_router_realms"), (vec![1.into()], kw.clone()));

    // the oid may also be given by keyword; docker procedures are renamed on the node
    let r = call_full(
        &f.su,
        "crossbarfabriccenter.remote.docker.get_info",
        vec![],
        dict! { "node_oid" => oid.clone() },
    )
    .await;
    assert_eq!(r.expect("docker get_info"), (vec![], Dict::new()));

    let r = call_full(
        &f.su,
        "crossbarfabriccenter.remote.node.stop_worker",
        vec![oid.clone(), "w9".into()],
        Dict::new(),
    )
    .await;
    let (uri, args, kwargs) = wamp_error(r);
    assert_eq!(uri, "crossbar.error.no_such_worker");
    assert_eq!(args, vec![Value::from("no worker w9"), 2.into()]);
    assert_eq!(kwargs, dict! { "worker" => "w9" });
    let _ = f.global.leave().await;
    f.fx.master.shutdown().await;
}

#[tokio::test]
async fn forwarder_errors_are_clear() {
    let f = setup().await;
    let n1 = f.fx.checked_node(node_secret(1)).await;
    echo(
        &n1,
        "crossbarfabriccenter.node.node1.worker.w1.get_router_realms",
    )
    .await;
    let get_workers = "crossbarfabriccenter.remote.node.get_workers";
    let realms = "crossbarfabriccenter.remote.router.get_router_realms";
    let oid1 = Value::from(f.oids[0].clone());

    let bad: [(&str, Vec<Value>, &str, &str); 8] = [
        (
            get_workers,
            vec!["not-a-uuid".into()],
            "wamp.error.invalid_argument",
            "badly formed",
        ),
        (
            get_workers,
            vec![42.into()],
            "wamp.error.invalid_argument",
            "expected type=str",
        ),
        (
            get_workers,
            vec![],
            "wamp.error.invalid_argument",
            "node_oid",
        ),
        (
            get_workers,
            vec!["00000000-0000-0000-0000-000000000000".into()],
            "crossbar.error.no_such_object",
            "in management realm mr1",
        ),
        // node3 is paired, but in mr2
        (
            get_workers,
            vec![f.oids[2].clone().into()],
            "crossbar.error.no_such_object",
            "no node with oid",
        ),
        (
            realms,
            vec![oid1.clone(), 5.into()],
            "wamp.error.invalid_argument",
            "worker_id",
        ),
        (
            realms,
            vec![oid1.clone(), "a.b".into()],
            "wamp.error.invalid_argument",
            "worker_id",
        ),
        (
            realms,
            vec![oid1.clone(), "nosuch".into()],
            "wamp.error.no_such_procedure",
            "crossbarfabriccenter.node.node1.worker.nosuch.get_router_realms",
        ),
    ];
    for (uri, args, want, text) in bad {
        let (got, eargs, _) = wamp_error(call_full(&f.su, uri, args.clone(), Dict::new()).await);
        assert_eq!(got, want, "{uri} {args:?}");
        assert!(
            first_str(&eargs).contains(text),
            "{uri} {args:?}: {eargs:?}"
        );
    }

    // node2 is paired in mr1 but not connected
    let r = call_full(
        &f.su,
        get_workers,
        vec![f.oids[1].clone().into()],
        Dict::new(),
    )
    .await;
    let (uri, args, _) = wamp_error(r);
    assert_eq!(uri, "wamp.error.no_such_procedure");
    let m = first_str(&args);
    assert!(
        m.contains("crossbarfabriccenter.node.node2.get_workers"),
        "{m}"
    );
    assert!(m.contains("not connected"), "{m}");
    f.fx.master.shutdown().await;
}

#[tokio::test]
async fn realm_meta_prefix_takes_oid_or_authid() {
    let f = setup().await;
    let n1 = f.fx.checked_node(node_secret(1)).await;
    echo(
        &n1,
        "crossbarfabriccenter.node.node1.worker.w1.realm.r1.root.wamp.session.list",
    )
    .await;
    let uri = "crossbarfabriccenter.remote.realm.meta.wamp.session.list";
    for node_id in [Value::from("node1"), Value::from(f.oids[0].clone())] {
        let args = vec![node_id.clone(), "w1".into(), "r1".into(), 7.into()];
        let r = call_full(&f.su, uri, args, dict! { "x" => 1 }).await;
        assert_eq!(
            r.expect("meta call"),
            (vec![7.into()], dict! { "x" => 1 }),
            "{node_id:?}"
        );
    }
    let r = call_full(&f.su, uri, vec!["node1".into(), "w1".into()], Dict::new()).await;
    assert_eq!(wamp_error(r).0, "wamp.error.invalid_argument");
    // a node id that is neither a node's oid here nor a connected authid: used verbatim
    let nobody = "00000000-0000-0000-0000-000000000000";
    let args = vec![nobody.into(), "w1".into(), "r1".into()];
    let (uri, args, _) = wamp_error(call_full(&f.su, uri, args, Dict::new()).await);
    assert_eq!(uri, "wamp.error.no_such_procedure");
    let want = format!("crossbarfabriccenter.node.{nobody}.worker.w1.realm.r1.root.");
    assert!(first_str(&args).contains(&want), "{args:?}");
    f.fx.master.shutdown().await;
}

#[tokio::test]
async fn node_events_are_republished_on_the_remote_api() {
    let f = setup().await;
    let n1 = f.fx.checked_node(node_secret(1)).await;
    let opts = SubscribeOptions::with_match(MatchPolicy::Prefix);
    let mut sub =
        f.su.subscribe("crossbarfabriccenter.remote.", opts)
            .await
            .expect("subscribe");
    let ack = PublishOptions::acknowledged;
    let publish = |topic: &'static str, args: Vec<Value>, kwargs: Dict| {
        let n1 = n1.clone();
        async move { n1.publish(topic, args, kwargs, ack()).await }
    };

    let role = dict! { "id" => "role001", "config" => dict! { "name" => "r" } };
    publish(
        "crossbarfabriccenter.node.node1.worker.w1.on_router_realm_role_started",
        vec![role.clone().into()],
        dict! { "k" => 1 },
    )
    .await
    .expect("publish");
    let e = next_event(&mut sub).await;
    assert_eq!(
        e.topic(),
        Some("crossbarfabriccenter.remote.router.on_router_realm_role_started")
    );
    assert_eq!(e.args, vec!["node1".into(), "w1".into(), role.into()]);
    assert_eq!(e.kwargs, dict! { "k" => 1 });

    // another node's prefix is refused by the router
    let r = publish(
        "crossbarfabriccenter.node.node2.on_router_started",
        vec![],
        Dict::new(),
    )
    .await;
    assert_eq!(
        r.expect_err("not authorized").uri(),
        Some("wamp.error.not_authorized")
    );
    // not republished: log lines, heartbeats, and a node event not published by the node
    publish(
        "crossbarfabriccenter.node.node1.worker.w1.on_log",
        vec!["line".into()],
        Dict::new(),
    )
    .await
    .expect("on_log");
    f.su.publish(
        "crossbarfabriccenter.node.node1.on_router_starting",
        vec![],
        Dict::new(),
        ack(),
    )
    .await
    .expect("owner publish");

    publish(
        "crossbarfabriccenter.node.node1.on_router_started",
        vec![],
        Dict::new(),
    )
    .await
    .expect("publish");
    let e = next_event(&mut sub).await;
    assert_eq!(
        e.topic(),
        Some("crossbarfabriccenter.remote.node.on_router_started")
    );
    assert_eq!(e.args, vec![Value::from("node1")]);

    let meta = dict! { "session" => 123 };
    publish(
        "crossbarfabriccenter.node.node1.worker.w1.realm.r1.root.wamp-session-on_join",
        vec![123.into(), meta.clone().into()],
        Dict::new(),
    )
    .await
    .expect("publish");
    let e = next_event(&mut sub).await;
    assert_eq!(
        e.topic(),
        Some("crossbarfabriccenter.remote.realm.meta.wamp.session.on_join")
    );
    let want: Vec<Value> = vec![
        "node1".into(),
        "w1".into(),
        "r1".into(),
        123.into(),
        meta.into(),
    ];
    assert_eq!(e.args, want);
    f.fx.master.shutdown().await;
}

#[tokio::test]
async fn every_remote_procedure_is_registered() {
    let f = setup().await;
    let (res, _) = call_full(&f.su, "wamp.registration.list", vec![], Dict::new())
        .await
        .expect("registration.list");
    let ids = |k: &str| -> Vec<Value> {
        res[0]
            .get(k)
            .and_then(Value::as_list)
            .cloned()
            .unwrap_or_default()
    };
    let mut per_api = std::collections::BTreeMap::<String, usize>::new();
    for id in ids("exact") {
        let (r, _) = call_full(&f.su, "wamp.registration.get", vec![id], Dict::new())
            .await
            .expect("registration.get");
        let uri = r[0].get("uri").and_then(Value::as_str).unwrap_or_default();
        if let Some(rest) = uri.strip_prefix("crossbarfabriccenter.remote.") {
            let api = rest.split('.').next().unwrap_or_default().to_owned();
            *per_api.entry(api).or_default() += 1;
        }
    }
    let want: std::collections::BTreeMap<String, usize> = [
        ("node", 18),
        ("worker", 12),
        ("router", 26),
        ("container", 4),
        ("proxy", 17),
        ("tracing", 5),
        ("docker", 25),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(per_api, want);
    assert_eq!(per_api.values().sum::<usize>(), 107);
    let mut prefix = Vec::new();
    for id in ids("prefix") {
        let (r, _) = call_full(&f.su, "wamp.registration.get", vec![id], Dict::new())
            .await
            .expect("registration.get");
        prefix.push(
            r[0].get("uri")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(
        prefix,
        vec!["crossbarfabriccenter.remote.realm.meta.".to_owned()]
    );
    f.fx.master.shutdown().await;
}

/// The republisher subscribes by shape, so a node heartbeat reaches the controller through
/// its heartbeat subscriptions only (a `crossbarfabriccenter.node.` prefix subscription would
/// deliver every heartbeat twice), while node and worker events still match.
#[tokio::test]
async fn heartbeats_are_delivered_to_the_controller_once() {
    let f = setup().await;
    let matching = |topic: &'static str| {
        let su = f.su.clone();
        async move {
            let v = call(&su, "wamp.subscription.match", vec![topic.into()])
                .await
                .expect("subscription.match");
            v.as_list().map(Vec::len).unwrap_or(0)
        }
    };
    assert_eq!(matching("crossbarfabriccenter.node.on_heartbeat").await, 1);
    assert_eq!(
        matching("crossbarfabriccenter.node.on_worker_heartbeat").await,
        1
    );
    assert_eq!(
        matching("crossbarfabriccenter.node.node1.on_router_started").await,
        1
    );
    let worker_event = "crossbarfabriccenter.node.node1.worker.w1.on_router_realm_starting";
    assert_eq!(matching(worker_event).await, 1);
}
