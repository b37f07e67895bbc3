//! The ACL matrix and the wrong-argument table, driven by real calls over WebSocket (and the
//! in-process transport for `trusted`): every role the master knows × every procedure
//! registered on a management realm (controller API, remote API) and on the global realm,
//! against the expected table written below; then every procedure called with arguments of the
//! wrong type, huge, or unknown ids at each position. Denied or refused calls change nothing
//! (checked through the API), and the master goes on serving.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use wamp_client::{Error, JoinOptions, Session, Transport};
use wamp_proto::{Dict, Value};
use wamp_router::auth::{AuthStep, HelloRequest, Principal};
use wamp_router::Authenticator;

/// The management realm procedures a role may call, as the test expects them (independent of
/// `roles.rs`): `All`, or exact URIs and URI prefixes.
enum May {
    All,
    Only(&'static [&'static str], &'static [&'static str]),
}

const PUBLIC: &[&str] = &[
    "crossbarfabriccenter.mrealm.get_status",
    "crossbarfabriccenter.mrealm.get_nodes",
    "crossbarfabriccenter.remote.node.get_workers",
    "crossbarfabriccenter.remote.node.get_worker",
    "crossbarfabriccenter.remote.router.get_router_realms",
    "crossbarfabriccenter.remote.realm.meta.wamp.session.list",
    "crossbarfabriccenter.remote.realm.meta.wamp.session.get",
];

/// The expected matrix for management realm `mr1` (summarised in docs/hostile-inputs.md).
const MRALM_TABLE: &[(&str, May)] = &[
    ("owner", May::All),
    ("backend", May::All),
    ("trusted", May::All),
    ("admin", May::All),
    ("operator", May::All),
    ("developer", May::All),
    (
        "guest",
        May::Only(PUBLIC, &["crossbarfabriccenter.mrealm.get_"]),
    ),
    ("public", May::Only(PUBLIC, &[])),
    (
        "node",
        May::Only(&["crossbarfabriccenter.mrealm.get_status"], &[]),
    ),
];

impl May {
    fn allows(&self, uri: &str) -> bool {
        match self {
            May::All => true,
            May::Only(exact, prefixes) => {
                exact.contains(&uri) || prefixes.iter().any(|p| uri.starts_with(p))
            }
        }
    }
}

/// Grants `backend` (no HELLO reaches that role on a real master) to authid `backend-test`,
/// and passes every other HELLO to the master's own authenticator.
struct BackendForTests(Arc<dyn Authenticator>);

impl Authenticator for BackendForTests {
    fn hello(&self, req: &HelloRequest<'_>) -> AuthStep {
        if req.authid != Some("backend-test") {
            return self.0.hello(req);
        }
        AuthStep::Welcome(Principal {
            realm: req.realm.unwrap_or("mr1").into(),
            authid: "backend-test".into(),
            authrole: "backend".into(),
            authmethod: "anonymous".into(),
            authprovider: "test".into(),
            authextra: Dict::new(),
        })
    }
}

/// An in-process (`trusted`) session on `realm`.
async fn trusted(f: &Fixture, realm: &str) -> Session {
    let (tx, rx) = f.master.router().connect_local();
    Session::join(Transport::local(tx, rx), JoinOptions::realm(realm))
        .await
        .expect("in-process session")
}

/// A session of `role` on mr1.
async fn session_as(f: &Fixture, role: &str) -> Session {
    let s = match role {
        "trusted" => trusted(f, "mr1").await,
        "public" => f.anonymous(Some("mr1")).await.expect("anonymous"),
        "node" => f.checked_node(node_secret(1)).await,
        "backend" => {
            let opts = JoinOptions::realm("mr1").authid("backend-test");
            join(&f.url, opts).await.expect("backend joins")
        }
        r => f
            .try_superuser(Some("mr1"), Some(r))
            .await
            .expect("user role"),
    };
    assert_eq!(s.welcome().authrole.as_deref(), Some(role));
    s
}

/// Every URI registered on `realm` (exact, prefix and wildcard registrations), sorted.
async fn registered(f: &Fixture, realm: &str) -> Vec<String> {
    let t = trusted(f, realm).await;
    let (res, _) = call_full(&t, "wamp.registration.list", vec![], Dict::new())
        .await
        .expect("registration.list");
    let mut uris = Vec::new();
    for kind in ["exact", "prefix", "wildcard"] {
        let ids = res[0]
            .get(kind)
            .and_then(Value::as_list)
            .cloned()
            .unwrap_or_default();
        for id in ids {
            let (r, _) = call_full(&t, "wamp.registration.get", vec![id], Dict::new())
                .await
                .expect("registration.get");
            let uri = r[0].get("uri").and_then(Value::as_str).unwrap_or_default();
            // a prefix registration is called through a URI below it
            let uri = if kind == "prefix" {
                format!("{uri}wamp.session.list")
            } else {
                uri.to_owned()
            };
            uris.push(uri);
        }
    }
    uris.sort();
    uris
}

/// The state the denied calls must not change: management realms, nodes, traces, sessions.
async fn snapshot(f: &Fixture) -> (Value, Value, Value) {
    let g = f.superuser(None).await;
    let o = f.superuser(Some("mr1")).await;
    let realms = call(&g, &format!("{P}list_mrealms"), vec![])
        .await
        .expect("list_mrealms");
    let nodes = call(&o, &format!("{P}get_nodes"), vec![])
        .await
        .expect("get_nodes");
    let traces = call(&o, &format!("{P}get_traces"), vec![])
        .await
        .expect("get_traces");
    (realms, nodes, traces)
}

/// Whether `role`'s call was let through the ACL (any answer but `not_authorized`).
fn passed_acl(r: &Result<Value, Error>) -> bool {
    !matches!(r, Err(Error::Wamp { uri, .. }) if uri == "wamp.error.not_authorized")
}

async fn setup() -> Fixture {
    let f = Fixture::start().await;
    let g = f.superuser(None).await;
    create_mrealm(&g, "mr1").await;
    pair(&g, &node_secret(1), "mr1", "node1").await;
    let own = f.master.router().authenticator();
    f.master
        .router()
        .set_authenticator(Arc::new(BackendForTests(own)));
    f
}

#[tokio::test]
async fn mrealm_acl_matrix() {
    let f = setup().await;
    let mut procs = registered(&f, "mr1").await;
    procs.extend([
        "crossbarfabriccenter.remote.realm.meta.wamp.session.get".to_owned(),
        "wamp.session.list".to_owned(),
        "wamp.registration.list".to_owned(),
    ]);
    assert!(procs.len() > 120, "only {} procedures", procs.len());
    let before = snapshot(&f).await;
    let mut summary = BTreeMap::new();
    // deny-heavy roles first, then the state must be unchanged
    for (role, may) in MRALM_TABLE.iter().rev() {
        let s = session_as(&f, role).await;
        let mut allowed = 0;
        for uri in &procs {
            let r = call_within(&s, uri, vec![], Dict::new(), Duration::from_secs(3)).await;
            let r = r.map(|(a, _)| a.into_iter().next().unwrap_or_default());
            assert!(
                !matches!(r, Err(Error::Timeout(_))),
                "{role} {uri}: timed out"
            );
            let want =
                may.allows(uri) && !(uri.starts_with("wamp.") && matches!(may, May::Only(..)));
            assert_eq!(passed_acl(&r), want, "role {role} calling {uri}: {r:?}");
            allowed += usize::from(want);
        }
        summary.insert(*role, allowed);
        if matches!(may, May::Only(..)) {
            assert_eq!(
                snapshot(&f).await,
                before,
                "a denied call of {role} changed state"
            );
        }
        assert!(!s.is_closed(), "{role}'s session was closed");
    }
    println!(
        "allowed calls per role ({} procedures): {summary:?}",
        procs.len()
    );
    assert_eq!(summary["public"], PUBLIC.len());
    assert_eq!(summary["guest"], 14);
    assert_eq!(summary["owner"], procs.len());
    assert_eq!(summary["node"], 1);
    still_serves(&f).await;
}

/// Register and subscribe: only the full roles register outside the node space; a node only
/// under its own prefix; nobody but those and the reading roles subscribes.
#[tokio::test]
async fn mrealm_register_and_subscribe_matrix() {
    let f = setup().await;
    let table: &[(&str, bool, bool)] = &[
        ("owner", true, true),
        ("backend", true, true),
        ("trusted", true, true),
        ("admin", false, true),
        ("operator", false, true),
        ("developer", false, true),
        ("guest", false, true),
        ("public", false, false),
        ("node", false, false),
    ];
    for (role, register, subscribe) in table {
        let s = session_as(&f, role).await;
        let uri = format!("com.example.acl.{role}");
        let r = s
            .register(&uri, Default::default(), |_| async {
                Ok((vec![], Dict::new()))
            })
            .await;
        let denied =
            |e: Option<&Error>| e.and_then(Error::uri) == Some("wamp.error.not_authorized");
        assert_eq!(
            !denied(r.as_ref().err()),
            *register,
            "{role} register: {:?}",
            r.err()
        );
        let r = s
            .subscribe(
                "crossbarfabriccenter.mrealm.on_node_ready",
                Default::default(),
            )
            .await;
        assert_eq!(
            !denied(r.as_ref().err()),
            *subscribe,
            "{role} subscribe: {:?}",
            r.err()
        );
    }
    still_serves(&f).await;
}

/// The global realm: `user` (the superuser) calls the whole `crossbarfabriccenter.` API,
/// `trusted` everything; anonymous sessions and nodes cannot join it.
#[tokio::test]
async fn global_acl_matrix() {
    let f = setup().await;
    let procs = registered(&f, GLOBAL).await;
    assert!(procs.len() >= 15, "{procs:?}");
    let before = snapshot(&f).await;
    for s in [f.superuser(None).await, trusted(&f, GLOBAL).await] {
        for uri in procs.iter().chain(&["wamp.session.list".to_owned()]) {
            let r = call_within(&s, uri, vec![], Dict::new(), Duration::from_secs(3)).await;
            let r = r.map(|(a, _)| a.into_iter().next().unwrap_or_default());
            let role = s.welcome().authrole.clone().unwrap_or_default();
            // user management refuses anyone but the superuser by itself (not the ACL)
            let app_denied = role == "trusted"
                && matches!(&r, Err(Error::Wamp { args, .. }) if first_str(args).starts_with("only the superuser"));
            let want =
                !app_denied && (role == "trusted" || uri.starts_with("crossbarfabriccenter."));
            assert_eq!(passed_acl(&r), want, "{role} calling {uri}: {r:?}");
        }
    }
    assert_eq!(snapshot(&f).await, before);
    let (reason, _) = abort_reason(f.anonymous(Some(GLOBAL)).await);
    assert_eq!(reason, "wamp.error.not_authorized");
    let (reason, _) = abort_reason(f.try_node(node_secret(1), Some(GLOBAL)).await);
    assert_eq!(reason, "fabric.auth-failed.invalid-parameters");
    still_serves(&f).await;
}

async fn still_serves(f: &Fixture) {
    let o = f.superuser(Some("mr1")).await;
    call(&o, &format!("{P}get_status"), vec![])
        .await
        .expect("get_status");
}

/// Wrong-typed, huge and unknown values, one at each argument position (the earlier positions
/// hold a plausible string), for every procedure of mr1 and of the global realm. Every call
/// must be answered (no timeout, no closed session) with a result or a documented error, and
/// change nothing.
#[tokio::test]
async fn wrong_arguments_at_every_position() {
    let f = setup().await;
    let bad: Vec<Value> = vec![
        Value::Null,
        Value::from(42),
        Value::from(-1),
        Value::from(1.5),
        Value::from(true),
        Value::from(""),
        Value::from("not-a-uuid"),
        Value::from("00000000-0000-0000-0000-000000000000"),
        Value::List(vec![Value::from(1), Value::from("x")]),
        Value::Dict(Dict::new()),
        Value::Bytes(vec![0, 1, 2]),
        Value::from("z".repeat(64 * 1024)),
        Value::List((0..10_000).map(Value::from).collect()),
    ];
    let before = snapshot(&f).await;
    let mut uris: BTreeMap<String, usize> = BTreeMap::new();
    let mut calls = 0;
    let mut answered: BTreeMap<String, usize> = BTreeMap::new();
    for (realm, s) in [
        ("mr1", f.superuser(Some("mr1")).await),
        (GLOBAL, f.superuser(None).await),
    ] {
        for proc in registered(&f, realm).await {
            for pos in 0..3 {
                for v in &bad {
                    let mut args: Vec<Value> = (0..pos).map(|_| Value::from("x")).collect();
                    args.push(v.clone());
                    let r = call_within(&s, &proc, args, Dict::new(), Duration::from_secs(3)).await;
                    calls += 1;
                    match r {
                        Ok(_) => {
                            *uris.entry("(result)".into()).or_default() += 1;
                            *answered.entry(proc.clone()).or_default() += 1;
                        }
                        Err(Error::Wamp { uri, .. }) => *uris.entry(uri).or_default() += 1,
                        Err(e) => panic!("{proc} at {pos} with {v:?}: {e}"),
                    }
                }
            }
        }
        assert!(!s.is_closed());
    }
    println!("{calls} calls: {uris:?}\nanswered with a result: {answered:?}");
    let documented = [
        "(result)",
        "wamp.error.invalid_argument",
        "wamp.error.type_check_error",
        "wamp.error.runtime_error",
        "wamp.error.no_such_procedure",
        "crossbar.error.no_such_object",
        "crossbar.error.already_exists",
        "wamp.error.canceled",
        "fabric.invalid-realm",
    ];
    for uri in uris.keys() {
        assert!(
            documented.contains(&uri.as_str()),
            "undocumented error URI {uri}"
        );
    }
    assert_eq!(snapshot(&f).await, before, "a refused call changed state");
    still_serves(&f).await;
}
