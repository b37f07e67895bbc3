//! Who may do what (issue 19, items 1 and 3), as attacks over WebSocket against an in-process
//! master, each answered with the secure outcome and changing nothing:
//!
//! * users on the global realm act only on the management realms where they hold a role, with
//!   the role the operation needs (docs/authorization.md): a guest cannot unpair, pair, modify
//!   or delete, a user without roles sees no realm, node, user or key but its own, and the global
//!   events reach only the superuser and the users with a role on the realm concerned;
//! * no management realm role but the master's own `trusted` sessions may end sessions
//!   (`wamp.session.kill*`): the controller cannot be killed from outside.
//!
//! World: `mr1` (guest: mallory) with node1 connected, `mr2` (owner: alice, admin: bob) with
//! node2 paired; `nobody` has no role anywhere. Everything is created by the superuser.

mod common;

use std::time::Duration;

use common::*;
use wamp_client::{Error, JoinOptions, Session, Subscription, Transport};
use wamp_proto::{dict, Value};

const NOT_AUTHORIZED: &str = "wamp.error.not_authorized";
const U: &str = "crossbarfabriccenter.user.";

struct World {
    f: Fixture,
    su: Session,
    mr1: String,
    mr2: String,
    node1: String,
    node2: String,
    /// node1's session (connected to mr1).
    node1_session: Session,
    mallory: String,
    alice: String,
}

const MALLORY: u8 = 1;
const NOBODY: u8 = 2;
const ALICE: u8 = 3;
const BOB: u8 = 4;

async fn world() -> World {
    let f = Fixture::start().await;
    let su = f.superuser(None).await;
    let mr1 = s(&create_mrealm(&su, "mr1").await, "oid").to_owned();
    let mr2 = s(&create_mrealm(&su, "mr2").await, "oid").to_owned();
    let node1 = pair_oid(&su, &node_secret(1), "mr1", "node1").await;
    let node2 = pair_oid(&su, &node_secret(2), "mr2", "node2").await;
    let mallory = create_user(&su, "mallory@example.com", &user_secret(MALLORY)).await;
    create_user(&su, "nobody@example.com", &user_secret(NOBODY)).await;
    let alice = create_user(&su, "alice@example.com", &user_secret(ALICE)).await;
    let bob = create_user(&su, "bob@example.com", &user_secret(BOB)).await;
    set_roles(&su, &mr1, &mallory, &["guest"]).await;
    set_roles(&su, &mr2, &alice, &["owner"]).await;
    set_roles(&su, &mr2, &bob, &["admin"]).await;
    let node1_session = f.checked_node(node_secret(1)).await;
    World {
        f,
        su,
        mr1,
        mr2,
        node1,
        node2,
        node1_session,
        mallory,
        alice,
    }
}

/// Calls a global procedure by its full URI and returns the error URI (panics on a result).
async fn refused(s: &Session, uri: &str, args: Vec<Value>) -> String {
    wamp_err(call(s, uri, args).await).0
}

/// Node1 is still paired to mr1 and connected; the realms are untouched.
async fn nothing_changed(w: &World) {
    let n1 = api(&w.su, "get_node", vec![w.node1.clone().into()]).await;
    assert_eq!(s(&n1, "authid"), "node1");
    assert_eq!(n1.get("label"), Some(&Value::Null));
    let st = api(&w.su, "stat_node", vec![w.node1.clone().into()]).await;
    assert_eq!(st.get("online"), Some(&Value::Bool(true)), "{st:?}");
    assert!(!w.node1_session.is_closed(), "node1 was disconnected");
    assert_eq!(mrealm_names(&w.su).await, ["mr1", "mr2"]);
    let mr1 = api(&w.su, "get_mrealm", vec![w.mr1.clone().into()]).await;
    assert_eq!(mr1.get("label"), Some(&Value::Null));
}

#[tokio::test]
async fn a_guest_can_neither_manage_nor_read_other_realms() {
    let w = world().await;
    let m = w.f.user(user_secret(MALLORY)).await;
    assert_eq!(m.welcome().authrole.as_deref(), Some("user"));
    let pwn = || Value::from(dict! { "label" => "pwned" });
    let attacks: Vec<(&str, Vec<Value>)> = vec![
        ("unpair_node", vec![w.node1.clone().into()]),
        (
            "unpair_node_by_pubkey",
            vec![pubkey(&node_secret(1)).into()],
        ),
        ("modify_node", vec![w.node1.clone().into(), pwn()]),
        ("modify_mrealm", vec![w.mr1.clone().into(), pwn()]),
        ("delete_mrealm", vec![w.mr1.clone().into(), true.into()]),
        ("delete_mrealm_by_name", vec!["mr1".into(), true.into()]),
        (
            "pair_node",
            vec![pubkey(&node_secret(9)).into(), "mr1".into(), "n9".into()],
        ),
        ("set_roles_on_mrealm_for_user", {
            let roles = Value::List(vec!["owner".into()]);
            vec![w.mr1.clone().into(), w.mallory.clone().into(), roles]
        }),
        // mr2 is none of mallory's business
        ("get_mrealm", vec![w.mr2.clone().into()]),
        ("get_mrealm_by_name", vec!["mr2".into()]),
        ("get_node", vec![w.node2.clone().into()]),
        ("get_node_by_name", vec!["mr2".into(), "node2".into()]),
        ("list_nodes_by_mrealm", vec![w.mr2.clone().into()]),
        ("list_nodes_by_mrealm_name", vec!["mr2".into()]),
        ("stat_node", vec![w.node2.clone().into()]),
    ];
    for (proc, args) in attacks {
        let uri = format!("{P}{proc}");
        assert_eq!(refused(&m, &uri, args).await, NOT_AUTHORIZED, "{proc}");
    }
    let others: Vec<(&str, Value)> = vec![
        ("get_user", w.alice.clone().into()),
        ("get_user_by_email", "superuser".into()),
        ("get_user_by_pubkey", pubkey(&user_secret(ALICE)).into()),
        (
            "create_user",
            dict! { "email" => "x@y", "pubkey" => pubkey(&user_secret(8)) }.into(),
        ),
    ];
    for (proc, arg) in others {
        let uri = format!("{U}{proc}");
        assert_eq!(refused(&m, &uri, vec![arg]).await, NOT_AUTHORIZED, "{proc}");
    }
    let backup = "crossbarfabriccenter.domain.backup_database";
    let path = w.f.dir.path().join("stolen.db");
    let r = call(&m, backup, vec![path.display().to_string().into()]).await;
    assert_eq!(wamp_err(r).0, NOT_AUTHORIZED);
    assert!(!path.exists());
    nothing_changed(&w).await;

    // what a guest of mr1 may see: mr1, its node, its own user record
    assert_eq!(mrealm_names(&m).await, ["mr1"]);
    assert_eq!(
        str_list(&api(&m, "list_mrealms", vec![]).await),
        [w.mr1.as_str()]
    );
    assert_eq!(
        str_list(&api(&m, "list_nodes", vec![]).await),
        [w.node1.as_str()]
    );
    let n1 = api(&m, "get_node", vec![w.node1.clone().into()]).await;
    assert_eq!(s(&n1, "authid"), "node1");
    let users = call(&m, &format!("{U}list_users"), vec![]).await;
    assert_eq!(str_list(&users.expect("list_users")), [w.mallory.as_str()]);
    let uri = format!("{U}get_user_by_email");
    let me = call(&m, &uri, vec!["mallory@example.com".into()]).await;
    assert_eq!(s(&me.expect("own record"), "oid"), w.mallory);

    // a user without any role sees nothing but itself, and may still create a realm of its own
    let n = w.f.user(user_secret(NOBODY)).await;
    assert_eq!(mrealm_names(&n).await, Vec::<String>::new());
    assert_eq!(str_list(&api(&n, "list_nodes", vec![]).await).len(), 0);
    let uri = format!("{P}get_mrealm");
    assert_eq!(
        refused(&n, &uri, vec![w.mr1.clone().into()]).await,
        NOT_AUTHORIZED
    );
    let mine = create_mrealm(&n, "nobodys").await;
    assert_eq!(mrealm_names(&n).await, ["nobodys"]);
    let owner =
        w.f.try_user(user_secret(NOBODY), Some("nobodys"), None)
            .await;
    assert_eq!(
        owner.expect("joins").welcome().authrole.as_deref(),
        Some("owner")
    );
    assert_ne!(s(&mine, "owner"), w.f.master.superuser_oid().to_string());
}

/// The impersonation of issue 19: unpair a node (disconnecting it), pair one's own key under
/// its authid, join as that node.
#[tokio::test]
async fn a_guest_cannot_take_over_a_nodes_identity() {
    let w = world().await;
    let m = w.f.user(user_secret(MALLORY)).await;
    let uri = format!("{P}unpair_node");
    assert_eq!(
        refused(&m, &uri, vec![w.node1.clone().into()]).await,
        NOT_AUTHORIZED
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!w.node1_session.is_closed(), "node1 was disconnected");
    let evil = node_secret(9);
    let args = vec![pubkey(&evil).into(), "mr1".into(), "node1".into()];
    assert_eq!(
        refused(&m, &format!("{P}pair_node"), args).await,
        NOT_AUTHORIZED
    );
    let (reason, _) = abort_reason(w.f.try_node(evil, None).await);
    assert_eq!(reason, "fabric.auth-failed.node-unpaired");
    nothing_changed(&w).await;
}

#[tokio::test]
async fn owners_and_admins_manage_their_own_realm_only() {
    let w = world().await;
    let alice = w.f.user(user_secret(ALICE)).await;
    let bob = w.f.user(user_secret(BOB)).await;
    let label = |l: &str| Value::from(dict! { "label" => l });

    // bob (admin of mr2) pairs, modifies and unpairs nodes of mr2, and modifies mr2 ...
    let n5 = pair_oid(&bob, &node_secret(5), "mr2", "node5").await;
    let n5 = api(&bob, "modify_node", vec![n5.into(), label("five")]).await;
    api(&bob, "unpair_node", vec![s(&n5, "oid").into()]).await;
    api(
        &bob,
        "modify_mrealm",
        vec![w.mr2.clone().into(), label("by bob")],
    )
    .await;
    // ... but cannot delete it (owner only), nor touch mr1
    let uri = format!("{P}delete_mrealm_by_name");
    let args = vec!["mr2".into(), true.into()];
    assert_eq!(refused(&bob, &uri, args).await, NOT_AUTHORIZED);
    let args = vec![pubkey(&node_secret(6)).into(), "mr1".into(), "node6".into()];
    assert_eq!(
        refused(&bob, &format!("{P}pair_node"), args).await,
        NOT_AUTHORIZED
    );

    // alice (owner of mr2) cannot touch mr1, deletes mr2 (cascade), creates mr3 as its owner
    let args = vec![w.mr1.clone().into(), label("by alice")];
    assert_eq!(
        refused(&alice, &format!("{P}modify_mrealm"), args).await,
        NOT_AUTHORIZED
    );
    let args = vec![w.mr1.clone().into(), true.into()];
    assert_eq!(
        refused(&alice, &format!("{P}delete_mrealm"), args).await,
        NOT_AUTHORIZED
    );
    let d = api(
        &alice,
        "delete_mrealm",
        vec![w.mr2.clone().into(), true.into()],
    )
    .await;
    assert_eq!(
        str_list(d.get("unpaired").expect("unpaired")),
        [w.node2.as_str()]
    );
    let mr3 = create_mrealm(&alice, "mr3").await;
    assert_eq!(s(&mr3, "owner"), w.alice);
    assert_eq!(mrealm_names(&alice).await, ["mr3"]);
    assert_eq!(mrealm_names(&w.su).await, ["mr1", "mr3"]);
}

/// Subscribes `s` to every global event.
async fn global_events(s: &Session) -> Vec<Subscription> {
    let mut subs = Vec::new();
    for t in [
        "on_mrealm_created",
        "on_mrealm_deleted",
        "on_node_paired",
        "on_node_unpaired",
        "on_node_ready",
        "on_node_shutdown",
    ] {
        subs.push(subscribe(s, &format!("{P}{t}")).await);
    }
    subs
}

#[tokio::test]
async fn global_events_reach_only_who_may_see_the_realm() {
    let w = world().await;
    let watcher = w.f.superuser(None).await;
    let mallory = w.f.user(user_secret(MALLORY)).await;
    let nobody = w.f.user(user_secret(NOBODY)).await;
    let mut seen = global_events(&watcher).await;
    let mut m_subs = global_events(&mallory).await;
    let mut n_subs = global_events(&nobody).await;

    // a realm of the superuser's, a node in it coming and going, unpaired, the realm deleted
    let mr3 = create_mrealm(&w.su, "mr3").await;
    let n6 = pair_oid(&w.su, &node_secret(6), "mr3", "node6").await;
    let node6 = w.f.checked_node(node_secret(6)).await;
    next_event(&mut seen[4]).await; // ready
    let _ = tokio::time::timeout(WAIT, node6.leave()).await;
    next_event(&mut seen[5]).await; // shutdown
    api(&w.su, "unpair_node", vec![n6.clone().into()]).await;
    api(&w.su, "delete_mrealm", vec![s(&mr3, "oid").into()]).await;
    for sub in seen.iter_mut().take(4) {
        next_event(sub).await; // the superuser sees every one
    }
    for sub in m_subs.iter_mut().chain(n_subs.iter_mut()) {
        no_event(sub).await;
    }

    // mallory is a guest of mr1: she sees pairings there, nobody does not
    let n7 = pair_oid(&w.su, &node_secret(7), "mr1", "node7").await;
    let e = next_event(&mut m_subs[2]).await;
    assert_eq!(s(&e.args[0], "oid"), n7);
    no_event(&mut n_subs[2]).await;
}

/// An in-process (`trusted`) session on `realm`, as the master's controllers are.
async fn trusted(f: &Fixture, realm: &str) -> Session {
    let (tx, rx) = f.master.router().connect_local();
    Session::join(Transport::local(tx, rx), JoinOptions::realm(realm))
        .await
        .expect("in-process session")
}

/// The session ids of `realm`'s management realm controller sessions.
async fn controller_sessions(t: &Session) -> Vec<Value> {
    let filter = vec![Value::List(vec!["trusted".into()])];
    let ids = call(t, "wamp.session.list", filter).await.expect("list");
    let mut out = Vec::new();
    for id in ids.as_list().expect("ids").clone() {
        let d = call(t, "wamp.session.get", vec![id.clone()])
            .await
            .expect("get");
        if s(&d, "authid").starts_with("mrealm-controller-") {
            out.push(id);
        }
    }
    out
}

#[tokio::test]
async fn no_management_realm_role_may_kill_sessions() {
    let w = world().await;
    let t = trusted(&w.f, "mr1").await;
    let controllers = controller_sessions(&t).await;
    assert_eq!(
        controllers.len(),
        3,
        "controller, ingest and status sessions"
    );
    for role in ["owner", "admin", "operator", "developer", "guest"] {
        let s =
            w.f.try_superuser(Some("mr1"), Some(role))
                .await
                .expect("join");
        let mut attacks: Vec<(&str, Value)> = vec![
            ("wamp.session.kill_by_authrole", "trusted".into()),
            ("wamp.session.kill_by_authrole", "node".into()),
            (
                "wamp.session.kill_by_authid",
                "mrealm-controller-mr1".into(),
            ),
            ("wamp.session.kill_by_authid", "node1".into()),
        ];
        attacks.extend(
            controllers
                .iter()
                .map(|id| ("wamp.session.kill", id.clone())),
        );
        for (proc, arg) in attacks {
            let r = call(&s, proc, vec![arg.clone()]).await;
            assert!(
                matches!(&r, Err(Error::Wamp { uri, .. }) if uri == NOT_AUTHORIZED),
                "{role} {proc}({arg:?}): {r:?}"
            );
        }
    }
    let o = w.f.superuser(Some("mr1")).await;
    let st = call(&o, &format!("{P}get_status"), vec![]).await;
    assert_eq!(s(&st.expect("the controller serves"), "realm"), "mr1");
    assert_eq!(controller_sessions(&t).await, controllers);
    assert!(!w.node1_session.is_closed(), "node1 was disconnected");

    // the master's own sessions still may
    let killed = call(&t, "wamp.session.kill_by_authid", vec!["node1".into()]).await;
    assert_eq!(
        killed.expect("trusted kills").as_list().map(Vec::len),
        Some(1)
    );
    let closed = tokio::time::timeout(WAIT, async {
        while !w.node1_session.is_closed() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    closed.await.expect("node1 closed");
}
