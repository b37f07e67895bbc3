//! The master's own resource bounds (issue 19): a burst of pipelined calls cannot starve the
//! edge nodes' uplink check, and anonymous access to management realms can be turned off.

mod common;

use std::time::Instant;

use common::*;
use master::wire::mrealm::{GET_NODES, GET_STATUS};

/// Before: 8,000 pipelined `get_nodes` from one anonymous client held a node's `get_status`
/// for over 40 s (one controller session answered both, in arrival order). Now `get_status`
/// has a session of its own and a caller has at most `max_pending_calls` (256) in flight.
#[tokio::test]
async fn a_pipelined_burst_cannot_starve_the_uplink_check() {
    let f = Fixture::start().await;
    let g = f.superuser(None).await;
    create_mrealm(&g, "mr1").await;
    for i in 0..200u8 {
        pair(&g, &node_secret(i), "mr1", &format!("node{i}")).await;
    }
    let anon = f.anonymous(Some("mr1")).await.expect("anonymous");
    let node = f.node(node_secret(1)).await;
    let burst: Vec<_> = (0..1_000)
        .map(|_| {
            let a = anon.clone();
            tokio::spawn(async move { (call(&a, GET_NODES, vec![]).await, Instant::now()) })
        })
        .collect();
    tokio::task::yield_now().await;
    let status = call(&node, GET_STATUS, vec![]).await.expect("get_status");
    let answered = Instant::now();
    assert_eq!(s(&status, "realm"), "mr1");
    let (mut later, mut refused) = (0, 0);
    for b in burst {
        let (r, at) = b.await.expect("task");
        match r {
            Ok(_) if at > answered => later += 1,
            Ok(_) => {}
            Err(e) => {
                let (uri, _) = wamp_err(Err(e));
                assert_eq!(uri, "mrealm.error.too_many_pending_calls");
                refused += 1;
            }
        }
    }
    println!("burst: {later} get_nodes answered after get_status, {refused} refused");
    let accepted = 1_000 - refused;
    assert!(accepted <= 256, "{accepted} calls in flight at once");
    assert!(
        later * 2 >= accepted,
        "get_status waited behind the burst: only {later} of {accepted} answered after it"
    );
}

#[tokio::test]
async fn anonymous_access_can_be_turned_off() {
    let f = Fixture::start_in(
        std::sync::Arc::new(tempfile::tempdir().expect("tempdir")),
        |c| c.allow_anonymous = false,
    )
    .await;
    let g = f.superuser(None).await;
    create_mrealm(&g, "mr1").await;
    let (uri, msg) = abort_reason(f.anonymous(Some("mr1")).await);
    assert_eq!(uri, "wamp.error.not_authorized", "{msg}");
    assert!(msg.contains("allow_anonymous"), "{msg}");
    // everyone else is still served
    let owner = f.superuser(Some("mr1")).await;
    call(&owner, GET_STATUS, vec![])
        .await
        .expect("owner served");
}
