//! The ACL matrix and the wrong-argument table, driven by real calls over WebSocket (and the
//! in-process transport for `trusted`): every role the master knows × every procedure
//! registered on a management realm (controller API, remote API, the kill procedures), and
//! every kind of caller of the global realm (superuser, in-process, a user with each role, a
//! user without roles) × every global procedure with real targets, against the expected tables
//! written below (docs/authorization.md); then every procedure called with arguments of the
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
        May::Only(
            PUBLIC,
            &[
                "crossbarfabriccenter.mrealm.get_",
                "crossbarfabriccenter.mrealm.routercluster.get_",
                "crossbarfabriccenter.mrealm.routercluster.list_",
                "crossbarfabriccenter.mrealm.routercluster.stat_",
                "crossbarfabriccenter.mrealm.webcluster.get_",
                "crossbarfabriccenter.mrealm.webcluster.list_",
                "crossbarfabriccenter.mrealm.webcluster.stat_",
            ],
        ),
    ),
    ("public", May::Only(PUBLIC, &[])),
    (
        "node",
        May::Only(&["crossbarfabriccenter.mrealm.get_status"], &[]),
    ),
];

/// The meta procedures that end sessions: the master's own `trusted` sessions only.
const KILL: &[&str] = &[
    "wamp.session.kill",
    "wamp.session.kill_by_authid",
    "wamp.session.kill_by_authrole",
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
    procs.extend(KILL.iter().map(|k| k.to_string()));
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
            let want = may.allows(uri)
                && !(uri.starts_with("wamp.") && matches!(may, May::Only(..)))
                && (*role == "trusted" || !KILL.contains(&uri.as_str()));
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
    // 14 controller reads + the cluster managers' 19 list_/get_/stat_ procedures
    assert_eq!(summary["guest"], 33);
    assert_eq!(summary["owner"], procs.len() - KILL.len());
    assert_eq!(summary["trusted"], procs.len());
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

/// What a global procedure needs (docs/authorization.md), as the test expects it
/// (independent of `authz.rs`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Need {
    /// Every user (lists answer only what the caller may see).
    Any,
    /// The superuser (or the master's in-process sessions).
    Superuser,
    /// Any role on the target management realm.
    Read,
    /// `owner` or `admin` there.
    Manage,
    /// `owner` there.
    Own,
    /// The caller's own user record (the matrix asks for another user's).
    OwnRecord,
}

/// Every global procedure, destructive ones last, with what it needs.
const GLOBAL_TABLE: &[(&str, Need)] = &[
    ("domain.get_status", Need::Any),
    ("domain.get_version", Need::Any),
    ("domain.get_license", Need::Any),
    ("domain.backup_database", Need::Superuser),
    ("mrealm.list_mrealms", Need::Any),
    ("mrealm.get_mrealm", Need::Read),
    ("mrealm.get_mrealm_by_name", Need::Read),
    ("mrealm.create_mrealm", Need::Any),
    ("mrealm.modify_mrealm", Need::Manage),
    ("mrealm.list_nodes", Need::Any),
    ("mrealm.list_nodes_by_mrealm", Need::Read),
    ("mrealm.list_nodes_by_mrealm_name", Need::Read),
    ("mrealm.get_node", Need::Read),
    ("mrealm.get_node_by_name", Need::Read),
    ("mrealm.stat_node", Need::Read),
    ("mrealm.modify_node", Need::Manage),
    ("mrealm.pair_node", Need::Manage),
    ("mrealm.set_roles_on_mrealm_for_user", Need::Superuser),
    ("user.list_users", Need::Any),
    ("user.get_user", Need::OwnRecord),
    ("user.get_user_by_email", Need::OwnRecord),
    ("user.get_user_by_pubkey", Need::OwnRecord),
    ("user.create_user", Need::Superuser),
    ("mrealm.unpair_node", Need::Manage),
    ("mrealm.unpair_node_by_pubkey", Need::Manage),
    ("mrealm.delete_mrealm_by_name", Need::Own),
    ("mrealm.delete_mrealm", Need::Own),
];

/// The callers of the global matrix: the superuser, the master's in-process session, a user
/// with each role on mr1 and mr2, and a user without roles.
const CALLERS: &[&str] = &[
    "superuser",
    "trusted",
    "owner",
    "admin",
    "operator",
    "developer",
    "guest",
    "none",
];

fn may(caller: &str, need: Need) -> bool {
    let full = matches!(caller, "superuser" | "trusted");
    match need {
        Need::Any => true,
        Need::Superuser | Need::OwnRecord => full,
        Need::Read => full || caller != "none",
        Need::Manage => full || matches!(caller, "owner" | "admin"),
        Need::Own => full || caller == "owner",
    }
}

/// The ids the global calls target: mr1 (node1) and mr2 (node2), both paired by the superuser;
/// `other` is a user the caller is not.
struct Targets {
    mr1: String,
    node1: String,
    other: String,
}

fn global_args(proc: &str, t: &Targets, dir: &std::path::Path) -> Vec<Value> {
    let label = || Value::from(wamp_proto::dict! { "label" => "x" });
    match proc {
        "domain.backup_database" => vec![dir.join("backup.db").display().to_string().into()],
        "mrealm.list_mrealms" | "mrealm.list_nodes" | "user.list_users" => vec![],
        p if p.starts_with("domain.get_") => vec![],
        "mrealm.get_mrealm" | "mrealm.list_nodes_by_mrealm" => vec![t.mr1.clone().into()],
        "mrealm.get_mrealm_by_name" | "mrealm.list_nodes_by_mrealm_name" => vec!["mr1".into()],
        "mrealm.create_mrealm" => vec![wamp_proto::dict! { "name" => "mr-new" }.into()],
        "mrealm.modify_mrealm" => vec![t.mr1.clone().into(), label()],
        "mrealm.get_node" | "mrealm.stat_node" | "mrealm.unpair_node" => {
            vec![t.node1.clone().into()]
        }
        "mrealm.get_node_by_name" => vec!["mr1".into(), "node1".into()],
        "mrealm.modify_node" => vec![t.node1.clone().into(), label()],
        "mrealm.pair_node" => vec![pubkey(&node_secret(9)).into(), "mr1".into(), "node9".into()],
        "mrealm.set_roles_on_mrealm_for_user" => {
            let roles = Value::List(vec!["guest".into()]);
            vec![t.mr1.clone().into(), t.other.clone().into(), roles]
        }
        "user.get_user" => vec![t.other.clone().into()],
        "user.get_user_by_email" => vec!["other@example.com".into()],
        "user.get_user_by_pubkey" => vec![pubkey(&user_secret(99)).into()],
        "user.create_user" => {
            let u = wamp_proto::dict! { "email" => "new@example.com", "pubkey" => pubkey(&user_secret(98)) };
            vec![u.into()]
        }
        "mrealm.unpair_node_by_pubkey" => vec![pubkey(&node_secret(2)).into()],
        "mrealm.delete_mrealm_by_name" => vec!["mr2".into(), true.into()],
        "mrealm.delete_mrealm" => vec![t.mr1.clone().into(), true.into()],
        other => panic!("no arguments for {other}"),
    }
}

/// A fresh master with mr1 (node1) and mr2 (node2), user `caller` holding role `caller` on
/// both (none for `none`), and the session of `caller` on the global realm.
async fn global_world(caller: &str) -> (Fixture, Targets, Session) {
    let f = Fixture::start().await;
    let su = f.superuser(None).await;
    let mr1 = s(&create_mrealm(&su, "mr1").await, "oid").to_owned();
    let mr2 = s(&create_mrealm(&su, "mr2").await, "oid").to_owned();
    let node1 = pair_oid(&su, &node_secret(1), "mr1", "node1").await;
    pair(&su, &node_secret(2), "mr2", "node2").await;
    let other = create_user(&su, "other@example.com", &user_secret(99)).await;
    let session = match caller {
        "superuser" => f.superuser(None).await,
        "trusted" => trusted(&f, GLOBAL).await,
        role => {
            let me = create_user(&su, &format!("{role}@example.com"), &user_secret(1)).await;
            if role != "none" {
                set_roles(&su, &mr1, &me, &[role]).await;
                set_roles(&su, &mr2, &me, &[role]).await;
            }
            f.user(user_secret(1)).await
        }
    };
    let t = Targets { mr1, node1, other };
    (f, t, session)
}

/// The global realm, with real calls: each caller × every global procedure against the
/// expected table; a refused call is `wamp.error.not_authorized` and changes nothing.
/// Anonymous sessions and nodes cannot join the global realm.
#[tokio::test]
async fn global_acl_matrix() {
    let mut summary = BTreeMap::new();
    for caller in CALLERS {
        let (f, t, s) = global_world(caller).await;
        let mut procs = registered(&f, GLOBAL).await;
        let mut table: Vec<String> = GLOBAL_TABLE
            .iter()
            .map(|(p, _)| format!("crossbarfabriccenter.{p}"))
            .collect();
        procs.sort();
        table.sort();
        assert_eq!(
            procs, table,
            "the global procedures and the expected table differ"
        );
        let before = snapshot(&f).await;
        let mut allowed = 0;
        for (proc, need) in GLOBAL_TABLE {
            let uri = format!("crossbarfabriccenter.{proc}");
            let args = global_args(proc, &t, f.dir.path());
            let r = call_within(&s, &uri, args, Dict::new(), Duration::from_secs(3)).await;
            let r = r.map(|(a, _)| a.into_iter().next().unwrap_or_default());
            let want = may(caller, *need);
            assert_eq!(
                passed_acl(&r),
                want,
                "{caller} calling {proc} ({need:?}): {r:?}"
            );
            if want {
                assert!(r.is_ok(), "{caller} calling {proc}: {r:?}");
            }
            allowed += usize::from(want);
        }
        if !may(caller, Need::Manage) {
            // their only write: a realm of their own
            let after = snapshot(&f).await;
            assert_eq!((&after.1, &after.2), (&before.1, &before.2), "{caller}");
            let su = f.superuser(None).await;
            assert_eq!(
                mrealm_names(&su).await,
                ["mr-new", "mr1", "mr2"],
                "{caller}"
            );
            let n1 = call(&su, &format!("{P}get_node"), vec![t.node1.clone().into()]).await;
            assert_eq!(
                n1.expect("node1").get("label"),
                Some(&Value::Null),
                "{caller}"
            );
        }
        summary.insert(*caller, allowed);
    }
    println!("allowed global calls per caller: {summary:?}");
    assert_eq!(summary["superuser"], GLOBAL_TABLE.len());
    assert_eq!(summary["trusted"], GLOBAL_TABLE.len());
    let f = setup().await;
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
        // a cluster manager's config dict without a name (clusters spec §2.2)
        "wamp.error.invalid_configuration",
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
