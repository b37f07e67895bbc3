//! The global realm API (`com.crossbario.fabric`) of an in-process master, called by the
//! superuser over WebSocket: management realm CRUD, pairing, node lookups, domain status, the
//! events on the global realm, and the errors of each (refused operations change nothing).

mod common;

use common::*;
use wamp_proto::{dict, Value};

const ZERO: &str = "00000000-0000-0000-0000-000000000000";

fn now_us() -> i64 {
    i64::try_from(wamp_proto::time::now_ns() / 1000).expect("microseconds fit an i64")
}

#[tokio::test]
async fn mrealm_crud_shapes_and_errors() {
    let f = Fixture::start().await;
    let su = f.superuser(None).await;
    assert!(api(&su, "list_mrealms", vec![])
        .await
        .as_list()
        .expect("list")
        .is_empty());

    let obj = dict! {
        "name" => "mr1", "label" => "L1", "description" => "D1",
        "tags" => Value::List(vec!["a".into(), "b".into()]),
        "owner" => ZERO, "created" => 5, "unknown" => 1,
    };
    let before = now_us();
    let mr1 = api(&su, "create_mrealm", vec![obj.into()]).await;
    assert_eq!(keys(&mr1), key_set(MREALM_KEYS));
    assert_eq!(s(&mr1, "name"), "mr1");
    assert_eq!(s(&mr1, "label"), "L1");
    assert_eq!(s(&mr1, "description"), "D1");
    assert_eq!(
        mr1.get("tags"),
        Some(&Value::List(vec!["a".into(), "b".into()]))
    );
    assert_eq!(s(&mr1, "owner"), f.master.superuser_oid().to_string());
    assert!(mr1.get("cf_router_worker").expect("key").is_null());
    assert!(mr1.get("cf_container_worker").expect("key").is_null());
    let created = mr1
        .get("created")
        .and_then(Value::as_i64)
        .expect("int created");
    assert!(
        created >= before && created <= now_us(),
        "created {created} is not µs now"
    );
    let oid1 = s(&mr1, "oid").to_owned();
    assert!(uuid::Uuid::parse_str(&oid1).is_ok());

    let mr2 = create_mrealm(&su, "Mr.x@y-z").await;
    assert_eq!(mr2.get("label"), Some(&Value::Null));
    assert_eq!(mr2.get("tags"), Some(&Value::Null));
    let oid2 = s(&mr2, "oid").to_owned();

    let all = api(&su, "list_mrealms", vec![]).await;
    assert_eq!(
        str_set(&all),
        [oid1.clone(), oid2.clone()].into_iter().collect()
    );
    assert_eq!(mrealm_names(&su).await, ["Mr.x@y-z", "mr1"]);
    let kw = dict! { "return_names" => true };
    let named = call_kw(&su, &format!("{P}list_mrealms"), vec![], kw)
        .await
        .expect("kw");
    assert_eq!(str_list(&named), ["Mr.x@y-z", "mr1"]);

    assert_eq!(api(&su, "get_mrealm", vec![oid1.clone().into()]).await, mr1);
    assert_eq!(
        api(&su, "get_mrealm_by_name", vec!["mr1".into()]).await,
        mr1
    );
    let (uri, msg) = api_err(&su, "get_mrealm", vec![ZERO.into()]).await;
    assert_eq!(uri, "crossbar.error.no_such_object");
    assert_eq!(msg, format!("no management realm with oid {ZERO}"));
    let (uri, _) = api_err(&su, "get_mrealm", vec!["not-a-uuid".into()]).await;
    assert_eq!(uri, "wamp.error.invalid_argument");
    let (uri, msg) = api_err(&su, "get_mrealm_by_name", vec!["nosuch".into()]).await;
    assert_eq!(uri, "crossbar.error.no_such_object");
    assert_eq!(msg, "no management realm with name nosuch");

    // invalid names, incl. every protected prefix (plain startswith)
    let long = format!("a{}", "b".repeat(255));
    let bad = [
        "ab",
        "1abc",
        "_abc",
        "a b",
        "ab/c",
        "",
        long.as_str(),
        "io.crossbar.x",
        "com.crossbario.x",
        "de.crossbario",
        "crossbarX",
        "crossbar-wamp1",
        "crossbarfabric",
        "crossbarfabriccenter",
        "crossbario1",
        "fabric1",
        "autobahn",
        "wampx",
        "ws.wamp.x",
        "io.wamp.x",
    ];
    for name in bad {
        let (uri, msg) = api_err(&su, "create_mrealm", vec![dict! { "name" => name }.into()]).await;
        assert_eq!(uri, "fabric.invalid-realm", "name {name:?}: {msg}");
        assert!(msg.contains("invalid realm name"), "{msg}");
    }
    let (uri, msg) = api_err(
        &su,
        "create_mrealm",
        vec![dict! { "name" => "fabric1" }.into()],
    )
    .await;
    assert_eq!(uri, "fabric.invalid-realm");
    assert_eq!(
        msg,
        "invalid realm name \"fabric1\": names starting with \"fabric\" are protected"
    );
    let (uri, _) = api_err(&su, "create_mrealm", vec![dict! { "label" => "x" }.into()]).await;
    assert_eq!(uri, "fabric.invalid-realm");
    // 255 characters is the longest allowed name
    let longest = format!("a{}", "b".repeat(254));
    create_mrealm(&su, &longest).await;

    let (uri, msg) = api_err(&su, "create_mrealm", vec![dict! { "name" => "mr1" }.into()]).await;
    assert_eq!(uri, "crossbar.error.already_exists");
    assert_eq!(msg, "management realm with name \"mr1\" already exists");
    assert_eq!(
        mrealm_names(&su).await,
        ["Mr.x@y-z", longest.as_str(), "mr1"]
    );
    assert_eq!(
        api(&su, "get_mrealm", vec![oid1.clone().into()]).await,
        mr1,
        "duplicate changed mr1"
    );

    // modify
    let delta = dict! { "label" => "new", "tags" => Value::Null };
    let m = api(
        &su,
        "modify_mrealm",
        vec![oid1.clone().into(), delta.into()],
    )
    .await;
    assert_eq!(s(&m, "label"), "new");
    assert_eq!(m.get("tags"), Some(&Value::Null));
    assert_eq!(s(&m, "description"), "D1");
    assert_eq!(m.get("created"), mr1.get("created"));
    assert_eq!(s(&m, "name"), "mr1");
    assert_eq!(api(&su, "get_mrealm", vec![oid1.clone().into()]).await, m);
    let (uri, _) = api_err(
        &su,
        "modify_mrealm",
        vec![oid1.clone().into(), dict! { "name" => "zz9" }.into()],
    )
    .await;
    assert_eq!(uri, "wamp.error.invalid_argument");
    assert_eq!(
        api(&su, "get_mrealm", vec![oid1.clone().into()]).await,
        m,
        "refused modify changed it"
    );
    let (uri, _) = api_err(
        &su,
        "modify_mrealm",
        vec![ZERO.into(), dict! { "label" => "x" }.into()],
    )
    .await;
    assert_eq!(uri, "crossbar.error.no_such_object");

    // delete errors
    let (uri, _) = api_err(&su, "delete_mrealm", vec![ZERO.into()]).await;
    assert_eq!(uri, "crossbar.error.no_such_object");
    let (uri, _) = api_err(&su, "delete_mrealm_by_name", vec!["nosuch".into()]).await;
    assert_eq!(uri, "crossbar.error.no_such_object");
    let (uri, _) = api_err(&su, "delete_mrealm", vec!["bad".into()]).await;
    assert_eq!(uri, "wamp.error.invalid_argument");

    // delete by oid (no nodes): gone, realm closed
    let d = api(&su, "delete_mrealm", vec![oid2.clone().into()]).await;
    assert_eq!(s(&d, "oid"), oid2);
    assert_eq!(s(&d, "name"), "Mr.x@y-z");
    assert_eq!(d.get("unpaired"), Some(&Value::List(vec![])));
    let (uri, _) = api_err(&su, "get_mrealm", vec![oid2.into()]).await;
    assert_eq!(uri, "crossbar.error.no_such_object");
    let (reason, _) = abort_reason(f.try_superuser(Some("Mr.x@y-z"), None).await);
    assert_eq!(reason, "wamp.error.no_such_realm");
    assert_eq!(mrealm_names(&su).await, [longest.as_str(), "mr1"]);
}

#[tokio::test]
async fn mrealm_events_on_the_global_realm() {
    let f = Fixture::start().await;
    let su = f.superuser(None).await;
    let watcher = f.superuser(None).await;
    let mut created = subscribe(&watcher, &format!("{P}on_mrealm_created")).await;
    let mut deleted = subscribe(&watcher, &format!("{P}on_mrealm_deleted")).await;
    let mr1 = create_mrealm(&su, "mr1").await;
    let ev = next_event(&mut created).await;
    assert_eq!(ev.args, vec![mr1.clone()]);
    // a refused create publishes nothing
    api_err(&su, "create_mrealm", vec![dict! { "name" => "mr1" }.into()]).await;
    no_event(&mut created).await;
    let d = api(&su, "delete_mrealm_by_name", vec!["mr1".into()]).await;
    let ev = next_event(&mut deleted).await;
    assert_eq!(ev.args, vec![d.clone()]);
    assert_eq!(
        keys(&d),
        key_set(&["oid", "name", "created", "deleted", "owner", "caller", "unpaired"])
    );
    assert_eq!(s(&d, "caller"), "superuser");
    assert_eq!(s(&d, "owner"), s(&mr1, "owner"));
    assert!(s(&d, "deleted").ends_with('Z'));
}

#[tokio::test]
async fn delete_refused_while_paired_then_cascade_unpairs() {
    let f = Fixture::start().await;
    let su = f.superuser(None).await;
    let mr1 = create_mrealm(&su, "mr1").await;
    let n1 = pair(&su, &node_secret(1), "mr1", "node1").await;
    let n2 = pair(&su, &node_secret(2), "mr1", "node2").await;
    let node1 = f.node(node_secret(1)).await;

    for args in [vec!["mr1".into()], vec!["mr1".into(), false.into()]] {
        let (uri, msg) = api_err(&su, "delete_mrealm_by_name", args).await;
        assert_eq!(uri, "crossbar.error.dependent_objects");
        assert!(msg.contains("paired node "), "{msg}");
    }
    let (uri, _) = api_err(&su, "delete_mrealm", vec![s(&mr1, "oid").into()]).await;
    assert_eq!(uri, "crossbar.error.dependent_objects");
    // nothing changed
    assert_eq!(
        api(&su, "get_mrealm_by_name", vec!["mr1".into()]).await,
        mr1
    );
    let listed = api(&su, "list_nodes_by_mrealm_name", vec!["mr1".into()]).await;
    assert_eq!(str_list(&listed), [s(&n1, "oid"), s(&n2, "oid")]);
    assert!(!node1.is_closed());

    let watcher = f.superuser(None).await;
    let mut unpaired = subscribe(&watcher, &format!("{P}on_node_unpaired")).await;
    let owner = f.superuser(Some("mr1")).await;
    let kw = dict! { "cascade" => true };
    let d = call_kw(
        &su,
        &format!("{P}delete_mrealm_by_name"),
        vec!["mr1".into()],
        kw,
    )
    .await
    .expect("cascade delete");
    assert_eq!(s(&d, "oid"), s(&mr1, "oid"));
    assert_eq!(
        str_set(d.get("unpaired").expect("unpaired")),
        [s(&n1, "oid").to_owned(), s(&n2, "oid").to_owned()]
            .into_iter()
            .collect()
    );
    let mut seen = Vec::new();
    for _ in 0..2 {
        let ev = next_event(&mut unpaired).await;
        seen.push(s(&ev.args[0], "oid").to_owned());
        assert!(ev.args[0].get("authid").expect("authid").is_null());
    }
    seen.sort();
    let mut want = vec![s(&n1, "oid").to_owned(), s(&n2, "oid").to_owned()];
    want.sort();
    assert_eq!(seen, want);

    // the connected node and the owner session are gone, as is the realm
    tokio::time::timeout(WAIT, node1.closed())
        .await
        .expect("node1 closed");
    tokio::time::timeout(WAIT, owner.closed())
        .await
        .expect("owner closed");
    let (uri, _) = api_err(&su, "get_mrealm_by_name", vec!["mr1".into()]).await;
    assert_eq!(uri, "crossbar.error.no_such_object");
    assert!(api(&su, "list_mrealms", vec![])
        .await
        .as_list()
        .expect("list")
        .is_empty());
    let (reason, _) = abort_reason(f.try_superuser(Some("mr1"), None).await);
    assert_eq!(reason, "wamp.error.no_such_realm");
    let (reason, _) = abort_reason(f.anonymous(Some("mr1")).await);
    assert_eq!(reason, "wamp.error.no_such_realm");
    let (reason, _) = abort_reason(f.try_node(node_secret(1), None).await);
    assert_eq!(reason, "fabric.auth-failed.node-unpaired");
    // node records are kept, unpaired
    let g = api(&su, "get_node", vec![s(&n2, "oid").into()]).await;
    assert!(g.get("authid").expect("authid").is_null());
    assert_eq!(g.get("pubkey"), n2.get("pubkey"));
}

#[tokio::test]
async fn pairing_lookups_and_their_errors() {
    let f = Fixture::start().await;
    let su = f.superuser(None).await;
    let watcher = f.superuser(None).await;
    let mut paired = subscribe(&watcher, &format!("{P}on_node_paired")).await;
    let mut unpaired = subscribe(&watcher, &format!("{P}on_node_unpaired")).await;
    let mr1 = create_mrealm(&su, "mr1").await;
    let mr2 = create_mrealm(&su, "mr2").await;

    let n1 = pair(&su, &node_secret(1), "mr1", "node1").await;
    assert_eq!(keys(&n1), key_set(NODE_KEYS));
    assert_eq!(s(&n1, "pubkey"), pubkey(&node_secret(1)));
    assert_eq!(s(&n1, "mrealm_oid"), s(&mr1, "oid"));
    assert_eq!(s(&n1, "authid"), "node1");
    assert_eq!(s(&n1, "owner_oid"), f.master.superuser_oid().to_string());
    for k in ["label", "description", "tags", "cluster_ip", "authextra"] {
        assert!(n1.get(k).expect(k).is_null(), "{k} not null");
    }
    assert_eq!(next_event(&mut paired).await.args, vec![n1.clone()]);
    let extra = dict! { "a" => 1, "b" => "x" };
    let args = vec![
        pubkey(&node_secret(2)).into(),
        "mr1".into(),
        "node0".into(),
        extra.clone().into(),
    ];
    let n2 = api(&su, "pair_node", args).await;
    assert_eq!(n2.get("authextra"), Some(&Value::Dict(extra)));
    assert_eq!(next_event(&mut paired).await.args, vec![n2.clone()]);
    let n3 = pair(&su, &node_secret(3), "mr2", "node1").await;
    next_event(&mut paired).await;
    let (o1, o2, o3) = (
        s(&n1, "oid").to_owned(),
        s(&n2, "oid").to_owned(),
        s(&n3, "oid").to_owned(),
    );

    // refused pairings change nothing and publish nothing
    let bad_keys = [
        "abcd".to_owned(),
        "zz".repeat(32),
        format!("{}0", pubkey(&node_secret(9))),
    ];
    for k in bad_keys {
        let (uri, _) = api_err(&su, "pair_node", vec![k.into(), "mr1".into(), "nx".into()]).await;
        assert_eq!(uri, "wamp.error.invalid_argument");
    }
    let (uri, msg) = api_err(
        &su,
        "pair_node",
        vec![pubkey(&node_secret(9)).into(), "nosuch".into(), "nx".into()],
    )
    .await;
    assert_eq!(uri, "fabric.no-such-realm");
    assert_eq!(msg, "no realm named \"nosuch\" exists");
    for realm in ["mr1", "mr2"] {
        let (uri, msg) = api_err(
            &su,
            "pair_node",
            vec![pubkey(&node_secret(1)).into(), realm.into(), "other".into()],
        )
        .await;
        assert_eq!(uri, "fabric.node-already-paired");
        assert_eq!(msg, "node with given pubkey is already paired to a realm");
    }
    no_event(&mut paired).await;
    assert_eq!(
        str_set(&api(&su, "list_nodes", vec![]).await),
        [o1.clone(), o2.clone(), o3.clone()].into_iter().collect()
    );
    assert_eq!(api(&su, "get_node", vec![o1.clone().into()]).await, n1);

    // lookups (list_nodes_by_mrealm* ordered by authid)
    let by_oid = api(&su, "list_nodes_by_mrealm", vec![s(&mr1, "oid").into()]).await;
    assert_eq!(str_list(&by_oid), [o2.clone(), o1.clone()]);
    let by_name = api(&su, "list_nodes_by_mrealm_name", vec!["mr2".into()]).await;
    assert_eq!(str_list(&by_name), [o3.as_str()]);
    let (uri, _) = api_err(&su, "list_nodes_by_mrealm_name", vec!["nosuch".into()]).await;
    assert_eq!(uri, "crossbar.error.no_such_object");
    let (uri, _) = api_err(&su, "list_nodes_by_mrealm", vec![ZERO.into()]).await;
    assert_eq!(uri, "crossbar.error.no_such_object");
    assert_eq!(
        api(&su, "get_node_by_name", vec!["mr1".into(), "node1".into()]).await,
        n1
    );
    assert_eq!(
        api(&su, "get_node_by_name", vec!["mr2".into(), "node1".into()]).await,
        n3
    );
    let (uri, _) = api_err(&su, "get_node_by_name", vec!["mr1".into(), "nosuch".into()]).await;
    assert_eq!(uri, "crossbar.error.no_such_object");
    let (uri, _) = api_err(
        &su,
        "get_node_by_name",
        vec!["nosuch".into(), "node1".into()],
    )
    .await;
    assert_eq!(uri, "crossbar.error.no_such_object");
    let (uri, msg) = api_err(&su, "get_node", vec![ZERO.into()]).await;
    assert_eq!(uri, "crossbar.error.no_such_object");
    assert_eq!(msg, format!("no node with oid {ZERO}"));
    let (uri, _) = api_err(&su, "get_node", vec!["nope".into()]).await;
    assert_eq!(uri, "wamp.error.invalid_argument");

    // modify_node: descriptive fields only
    let delta = dict! { "label" => "L", "tags" => Value::List(vec!["t".into()]), "cluster_ip" => "10.0.0.1" };
    let m = api(&su, "modify_node", vec![o1.clone().into(), delta.into()]).await;
    assert_eq!(s(&m, "label"), "L");
    assert_eq!(m.get("tags"), Some(&Value::List(vec!["t".into()])));
    assert_eq!(s(&m, "cluster_ip"), "10.0.0.1");
    assert_eq!(s(&m, "authid"), "node1");
    assert_eq!(api(&su, "get_node", vec![o1.clone().into()]).await, m);
    for k in ["authid", "pubkey", "mrealm_oid"] {
        let (uri, _) = api_err(
            &su,
            "modify_node",
            vec![o1.clone().into(), dict! { k => "x" }.into()],
        )
        .await;
        assert_eq!(uri, "wamp.error.invalid_argument", "{k}");
    }
    assert_eq!(
        api(&su, "get_node", vec![o1.clone().into()]).await,
        m,
        "refused modify changed it"
    );
    let (uri, _) = api_err(
        &su,
        "modify_node",
        vec![ZERO.into(), dict! { "label" => "x" }.into()],
    )
    .await;
    assert_eq!(uri, "crossbar.error.no_such_object");

    // stat_node
    let st = api(&su, "stat_node", vec![o1.clone().into()]).await;
    assert_eq!(st.get("paired"), Some(&Value::Bool(true)));
    assert_eq!(st.get("online"), Some(&Value::Bool(false)));
    assert_eq!(s(&st, "mrealm"), "mr1");
    let node = f.node(node_secret(1)).await;
    let st = api(&su, "stat_node", vec![o1.clone().into()]).await;
    assert_eq!(st.get("online"), Some(&Value::Bool(true)));
    assert_eq!(
        st.get("sessions"),
        Some(&Value::List(vec![node.id().into()]))
    );
    let (uri, _) = api_err(&su, "stat_node", vec![ZERO.into()]).await;
    assert_eq!(uri, "crossbar.error.no_such_object");

    // unpair (disconnecting the node), twice, by pubkey
    let u = api(&su, "unpair_node", vec![o1.clone().into()]).await;
    let mut want = key_set(NODE_KEYS);
    want.insert("killed".into());
    assert_eq!(keys(&u), want);
    assert!(u.get("authid").expect("authid").is_null());
    assert!(u.get("authextra").expect("authextra").is_null());
    // documented deviation (docs/architecture.md): the unpair result has mrealm_oid null
    assert!(u.get("mrealm_oid").expect("mrealm_oid").is_null());
    assert_eq!(u.get("killed"), Some(&Value::List(vec![node.id().into()])));
    assert_eq!(next_event(&mut unpaired).await.args, vec![u.clone()]);
    let reason = tokio::time::timeout(WAIT, node.closed())
        .await
        .expect("node session closed");
    assert!(!reason.is_empty());
    let (uri, msg) = api_err(&su, "unpair_node", vec![o1.clone().into()]).await;
    assert_eq!(uri, "fabric.node-not-paired");
    assert_eq!(
        msg,
        format!("cannot unpair node: node with id {o1} is currently not paired")
    );
    let (uri, _) = api_err(&su, "unpair_node", vec![ZERO.into()]).await;
    assert_eq!(uri, "crossbar.error.no_such_object");
    no_event(&mut unpaired).await;
    let st = api(&su, "stat_node", vec![o1.clone().into()]).await;
    assert_eq!(st.get("paired"), Some(&Value::Bool(false)));
    assert_eq!(
        str_list(&api(&su, "list_nodes_by_mrealm", vec![s(&mr1, "oid").into()]).await),
        [o2.as_str()]
    );
    assert_eq!(
        str_set(&api(&su, "list_nodes", vec![]).await).len(),
        3,
        "the record is kept"
    );

    let u2 = api(
        &su,
        "unpair_node_by_pubkey",
        vec![pubkey(&node_secret(2)).into()],
    )
    .await;
    assert_eq!(s(&u2, "oid"), o2);
    assert_eq!(u2.get("killed"), Some(&Value::List(vec![])));
    let (uri, _) = api_err(
        &su,
        "unpair_node_by_pubkey",
        vec![pubkey(&node_secret(2)).into()],
    )
    .await;
    assert_eq!(uri, "fabric.node-not-paired");
    let (uri, _) = api_err(
        &su,
        "unpair_node_by_pubkey",
        vec![pubkey(&node_secret(9)).into()],
    )
    .await;
    assert_eq!(uri, "crossbar.error.no_such_object");
    assert!(api(&su, "list_nodes_by_mrealm_name", vec!["mr1".into()])
        .await
        .as_list()
        .expect("l")
        .is_empty());

    // re-pairing keeps the oid, into another realm under another name
    let again = pair(&su, &node_secret(1), "mr2", "again").await;
    assert_eq!(s(&again, "oid"), o1);
    assert_eq!(s(&again, "mrealm_oid"), s(&mr2, "oid"));
    let back = f.node(node_secret(1)).await;
    assert_eq!(back.welcome().realm.as_deref(), Some("mr2"));
    assert_eq!(back.welcome().authid.as_deref(), Some("again"));
}

#[tokio::test]
async fn domain_status_and_version() {
    let f = Fixture::start().await;
    let su = f.superuser(None).await;
    let st = call(&su, "crossbarfabriccenter.domain.get_status", vec![])
        .await
        .expect("status");
    // Crossbar's keys, plus `store` (an mrealm extension: the database's health)
    assert_eq!(
        keys(&st),
        key_set(&["type", "realm", "now", "started", "uptime", "tick", "store"])
    );
    let store = st.get("store").expect("store");
    assert_eq!(store.get("healthy").and_then(Value::as_bool), Some(true));
    assert_eq!(store.get("failed_writes").and_then(Value::as_u64), Some(0));
    assert_eq!(s(&st, "type"), "domain");
    assert_eq!(s(&st, "realm"), GLOBAL);
    for k in ["now", "started"] {
        let t = s(&st, k);
        assert!(
            t.ends_with('Z') && t.contains('T') && t.len() == 24,
            "{k}: {t}"
        );
    }
    assert!(s(&st, "started") <= s(&st, "now"));
    assert!(st.get("tick").and_then(Value::as_u64).is_some());
    assert!(!s(&st, "uptime").is_empty());
    let v = call(&su, "crossbarfabriccenter.domain.get_version", vec![])
        .await
        .expect("version");
    assert_eq!(s(&v, "crossbar_ver"), "26.10.1");
    let sers = str_set(v.get("supported_serializers").expect("serializers"));
    assert!(sers.contains("JSON") && sers.contains("CBOR"), "{sers:?}");
    // management realm procedures are not on the global realm
    let (uri, _) = wamp_err(call(&su, "crossbarfabriccenter.mrealm.get_status", vec![]).await);
    assert_eq!(uri, "wamp.error.no_such_procedure");
}
