//! What HELLO decided is decided again at WELCOME (issue 19, item 2): a principal revoked while
//! its CHALLENGE is pending is not welcomed, and two handshakes of one node key racing each
//! other yield one session. Raw JSON WebSockets hold the handshakes half-way.

mod common;

use common::raw::{expect_abort, node_hello, raw, recv, send, sign, signature, user_hello};
use common::*;
use serde_json::json;

#[tokio::test]
async fn two_hellos_of_one_node_key_get_one_session() {
    let f = Fixture::start().await;
    let g = f.superuser(None).await;
    create_mrealm(&g, "mr1").await;
    pair(&g, &node_secret(1), "mr1", "node1").await;
    let (mut a, mut b) = (raw(&f).await, raw(&f).await);
    send(&mut a, node_hello(1)).await;
    send(&mut b, node_hello(1)).await;
    let (ca, cb) = (recv(&mut a).await, recv(&mut b).await);
    assert_eq!((&ca[0], &cb[0]), (&json!(4), &json!(4)), "both challenged");
    send(&mut a, json!([5, signature(1, &ca), {}])).await;
    assert_eq!(recv(&mut a).await[0], json!(2), "the first is welcomed");
    send(&mut b, json!([5, signature(1, &cb), {}])).await;
    expect_abort(&mut b, "fabric.auth-failed.node-already-connected").await;
}

#[tokio::test]
async fn a_node_unpaired_while_its_challenge_is_pending_is_not_welcomed() {
    let f = Fixture::start().await;
    let g = f.superuser(None).await;
    create_mrealm(&g, "mr1").await;
    let oid = pair_oid(&g, &node_secret(1), "mr1", "node1").await;
    let mut ws = raw(&f).await;
    send(&mut ws, node_hello(1)).await;
    let challenge = recv(&mut ws).await;
    assert_eq!(challenge[0], json!(4));
    call(&g, &format!("{P}unpair_node"), vec![oid.into()])
        .await
        .expect("unpair");
    send(&mut ws, json!([5, signature(1, &challenge), {}])).await;
    expect_abort(&mut ws, "fabric.auth-failed.node-unpaired").await;
    // and its replacement, paired under the same authid, joins and stays alone
    pair(&g, &node_secret(2), "mr1", "node1").await;
    f.checked_node(node_secret(2)).await;
}

#[tokio::test]
async fn a_realm_deleted_while_a_challenge_is_pending_is_not_joined() {
    let f = Fixture::start().await;
    let g = f.superuser(None).await;
    create_mrealm(&g, "mr1").await;
    let mut ws = raw(&f).await;
    send(&mut ws, user_hello(&SUPERUSER, Some("mr1"))).await;
    let challenge = recv(&mut ws).await;
    assert_eq!(challenge[0], json!(4));
    call(&g, &format!("{P}delete_mrealm_by_name"), vec!["mr1".into()])
        .await
        .expect("delete");
    send(&mut ws, json!([5, sign(&SUPERUSER, &challenge), {}])).await;
    let m = recv(&mut ws).await;
    assert_eq!(m[0], json!(3), "ABORT, not WELCOME: {m}");
}

/// Issue 19.6: a HELLO that carries only a node's public key (anyone may know it) used to get
/// an ABORT naming the node's authid and management realm.
#[tokio::test]
async fn a_hello_with_only_a_public_key_learns_no_names() {
    let f = Fixture::start().await;
    let g = f.superuser(None).await;
    create_mrealm(&g, "secret-realm").await;
    pair(&g, &node_secret(1), "secret-realm", "secret-node").await;
    let _node = f.checked_node(node_secret(1)).await;
    let mut ws = raw(&f).await;
    send(&mut ws, node_hello(1)).await;
    let m = recv(&mut ws).await;
    assert_eq!(m[0], json!(3), "ABORT: {m}");
    assert_eq!(m[2], json!("fabric.auth-failed.node-already-connected"));
    let text = m.to_string();
    assert!(
        !text.contains("secret-node") && !text.contains("secret-realm"),
        "{text}"
    );
}

/// Issue 19.2 ("the same holds for role changes"): a user's sessions on a management realm end
/// when the role they hold there is revoked; a session with a role it keeps stays.
#[tokio::test]
async fn revoking_a_role_closes_the_sessions_that_hold_it() {
    let f = Fixture::start().await;
    let su = f.superuser(None).await;
    let mr1 = create_mrealm(&su, "mr1").await;
    let alice = create_user(&su, "alice@example.com", &user_secret(1)).await;
    set_roles(&su, s(&mr1, "oid"), &alice, &["developer", "guest"]).await;
    let dev = f
        .try_user(user_secret(1), Some("mr1"), Some("developer"))
        .await
        .expect("developer joins");
    let guest = f
        .try_user(user_secret(1), Some("mr1"), Some("guest"))
        .await
        .expect("guest joins");
    set_roles(&su, s(&mr1, "oid"), &alice, &["guest"]).await;
    let status = "crossbarfabriccenter.mrealm.get_status";
    let deadline = std::time::Instant::now() + WAIT;
    while call(&dev, status, vec![]).await.is_ok() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        call(&dev, status, vec![]).await.is_err(),
        "the developer session was not closed"
    );
    call(&guest, status, vec![])
        .await
        .expect("the guest session stays");
    let (reason, _) = abort_reason(
        f.try_user(user_secret(1), Some("mr1"), Some("developer"))
            .await,
    );
    assert_eq!(reason, "wamp.error.not_authorized");
}
