//! The master's authentication and authorization decisions, seen from WebSocket clients: which
//! HELLO gets which WELCOME (realm, authid, authrole, authextra) or which ABORT, and what each
//! role may call and register on a management realm.

mod common;

use common::*;
use wamp_client::{RegisterOptions, Session};
use wamp_proto::{Dict, Value};

/// A master with mrealm `mr1`, node 1 paired as `node1` (node 2 is not paired).
async fn setup() -> (Fixture, Session, Value) {
    let f = Fixture::start().await;
    let su = f.superuser(None).await;
    let mr1 = create_mrealm(&su, "mr1").await;
    pair(&su, &node_secret(1), "mr1", "node1").await;
    (f, su, mr1)
}

fn welcome(s: &Session) -> (String, String, String) {
    let w = s.welcome();
    (
        w.realm.clone().unwrap_or_default(),
        w.authid.clone().unwrap_or_default(),
        w.authrole.clone().unwrap_or_default(),
    )
}

#[tokio::test]
async fn paired_node_gets_its_realm_name_and_oids() {
    let (f, su, mr1) = setup().await;
    let node_oid = s(
        &api(&su, "get_node_by_name", vec!["mr1".into(), "node1".into()]).await,
        "oid",
    )
    .to_owned();
    let n = f.node(node_secret(1)).await;
    assert_eq!(welcome(&n), ("mr1".into(), "node1".into(), "node".into()));
    assert_eq!(n.welcome().authmethod.as_deref(), Some("cryptosign"));
    let extra = n.welcome().details.get("authextra").expect("authextra");
    assert_eq!(s(extra, "node_oid"), node_oid);
    assert_eq!(s(extra, "mrealm_oid"), s(&mr1, "oid"));

    // a second session with the same key is refused while the first is connected
    let (reason, _) = abort_reason(f.try_node(node_secret(1), None).await);
    assert_eq!(reason, "fabric.auth-failed.node-already-connected");
    assert!(
        !n.is_closed(),
        "the refused second session closed the first"
    );
    n.leave().await.expect("leave");
    // ... and accepted again after it left (bounded retry: the leave is processed async)
    let mut again = None;
    for _ in 0..50 {
        if let Ok(s) = f.try_node(node_secret(1), None).await {
            again = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(welcome(&again.expect("rejoin")).1, "node1");
}

#[tokio::test]
async fn refused_node_hellos() {
    let (f, _su, _) = setup().await;
    let (reason, msg) = abort_reason(f.try_node(node_secret(2), None).await);
    assert_eq!(reason, "fabric.auth-failed.node-unpaired");
    assert_eq!(
        msg,
        "This node is unpaired. Please pair the node with management realm first."
    );
    let (reason, msg) = abort_reason(f.try_node(node_secret(1), Some("mr1")).await);
    assert_eq!(reason, "fabric.auth-failed.invalid-parameters");
    assert!(msg.contains("must not request a realm"), "{msg}");
    // the refused attempts did not leave a session behind: the real node can still join
    let n = f.node(node_secret(1)).await;
    assert_eq!(welcome(&n).0, "mr1");
}

#[tokio::test]
async fn superuser_roles_per_realm() {
    let (f, _su, _) = setup().await;
    for realm in [None, Some(GLOBAL)] {
        let g = f.superuser(realm).await;
        assert_eq!(
            welcome(&g),
            (GLOBAL.into(), "superuser".into(), "user".into()),
            "{realm:?}"
        );
        assert_eq!(
            g.welcome()
                .details
                .get("authprovider")
                .and_then(Value::as_str),
            Some("dynamic")
        );
    }
    let o = f.superuser(Some("mr1")).await;
    assert_eq!(
        welcome(&o),
        ("mr1".into(), "superuser".into(), "owner".into())
    );
    for role in ["public", "node"] {
        let (reason, _) = abort_reason(f.try_superuser(Some("mr1"), Some(role)).await);
        assert_eq!(
            reason, "fabric.auth-failed.invalid-parameters",
            "role {role}"
        );
    }
    let (reason, _) = abort_reason(f.try_superuser(Some("nosuch"), None).await);
    assert_eq!(reason, "wamp.error.no_such_realm");
}

#[tokio::test]
async fn unknown_keys_are_not_users() {
    let (f, _su, _) = setup().await;
    let mut opts = cryptosign_opts(node_secret(7)).authid("someone");
    opts.realm = Some("mr1".into());
    let (reason, _) = abort_reason(join(&f.url, opts).await);
    assert_eq!(reason, "wamp.error.not_authorized");
}

#[tokio::test]
async fn anonymous_is_public_on_mrealms_only() {
    let (f, _su, _) = setup().await;
    let p = f.anonymous(Some("mr1")).await.expect("anonymous on mr1");
    assert_eq!(welcome(&p).0, "mr1");
    assert_eq!(welcome(&p).2, "public");
    let (reason, _) = abort_reason(f.anonymous(None).await);
    assert_eq!(reason, "wamp.error.no_such_realm");
    let (reason, _) = abort_reason(f.anonymous(Some("nosuch")).await);
    assert_eq!(reason, "wamp.error.no_such_realm");
    let (reason, _) = abort_reason(f.anonymous(Some(GLOBAL)).await);
    assert_eq!(reason, "wamp.error.not_authorized");

    let st = call(&p, &format!("{P}get_status"), vec![])
        .await
        .expect("public get_status");
    assert_eq!(s(&st, "type"), "management");
    assert_eq!(s(&st, "realm"), "mr1");
    for uri in [
        format!("{P}get_node"),
        format!("{P}get_node_by_authid"),
        format!("{P}list_mrealms"),
        "crossbarfabriccenter.remote.node.start_worker".to_owned(),
        "com.example.anything".to_owned(),
    ] {
        let (e, _) = wamp_err(call(&p, &uri, vec![]).await);
        assert_eq!(e, "wamp.error.not_authorized", "{uri}");
    }
    let r = p
        .register(
            "com.example.public",
            RegisterOptions::default(),
            |_| async { Ok((vec![], Dict::new())) },
        )
        .await;
    assert_eq!(
        r.err().and_then(|e| e.uri().map(str::to_owned)).as_deref(),
        Some("wamp.error.not_authorized")
    );
}

#[tokio::test]
async fn node_stays_in_its_uri_space() {
    let (f, _su, _) = setup().await;
    let n = f.node(node_secret(1)).await;
    let st = call(&n, &format!("{P}get_status"), vec![])
        .await
        .expect("node get_status");
    assert_eq!(s(&st, "realm"), "mr1");
    for proc in [
        "get_nodes",
        "get_node",
        "get_node_by_authid",
        "list_mrealms",
    ] {
        let (e, _) = wamp_err(call(&n, &format!("{P}{proc}"), vec![]).await);
        assert_eq!(e, "wamp.error.not_authorized", "{proc}");
    }
    let handler = |_| async { Ok((vec![Value::from("ok")], Dict::new())) };
    for uri in [
        "crossbarfabriccenter.node.node2.get_status",
        "crossbarfabriccenter.node.node1x.get_status",
        "crossbarfabriccenter.mrealm.get_nodes",
        "com.example.proc",
    ] {
        let r = n.register(uri, RegisterOptions::default(), handler).await;
        let uri_of = r.err().and_then(|e| e.uri().map(str::to_owned));
        assert_eq!(
            uri_of.as_deref(),
            Some("wamp.error.not_authorized"),
            "{uri}"
        );
    }
    n.register(
        "crossbarfabriccenter.node.node1.get_status",
        RegisterOptions::default(),
        handler,
    )
    .await
    .expect("register inside its own prefix");
    // the owner can reach what the node registered
    let o = f.superuser(Some("mr1")).await;
    let r = call(&o, "crossbarfabriccenter.node.node1.get_status", vec![]).await;
    assert_eq!(r.expect("owner calls node"), Value::from("ok"));
}

#[tokio::test]
async fn global_procedures_are_not_on_mrealms() {
    let (f, _su, _) = setup().await;
    let o = f.superuser(Some("mr1")).await;
    for proc in ["list_mrealms", "pair_node", "create_mrealm"] {
        let (e, _) = wamp_err(call(&o, &format!("{P}{proc}"), vec![]).await);
        assert_eq!(e, "wamp.error.no_such_procedure", "{proc}");
    }
    let (e, _) = wamp_err(call(&o, "crossbarfabriccenter.domain.get_status", vec![]).await);
    assert_eq!(e, "wamp.error.no_such_procedure");
    // while the management API is
    let st = call(&o, &format!("{P}get_status"), vec![])
        .await
        .expect("get_status");
    assert_eq!(s(&st, "type"), "management");
}

/// Crossbar's authenticator sees these HELLOs first and answers `invalid-parameters` (CAPTURED:
/// superuser requesting `owner` on the global realm); mrealm's router refuses them before the
/// authenticator runs (fixed: the authenticator is asked first).
#[tokio::test]
async fn role_requests_on_the_global_realm_are_invalid_parameters() {
    let (f, _su, _) = setup().await;
    let (reason, _) = abort_reason(f.try_node(node_secret(1), Some(GLOBAL)).await);
    assert_eq!(reason, "fabric.auth-failed.invalid-parameters");
    let (reason, _) = abort_reason(f.try_superuser(Some(GLOBAL), Some("owner")).await);
    assert_eq!(reason, "fabric.auth-failed.invalid-parameters");
}
