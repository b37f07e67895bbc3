//! The master's own resource bounds (issue 19): a burst of pipelined calls cannot starve the
//! edge nodes' uplink check, and anonymous access to management realms can be turned off.

mod common;

use std::time::Instant;

use common::*;
use master::wire::mrealm::{GET_NODES, GET_STATUS};
use master::wire::node::ON_HEARTBEAT;
use wamp_client::PublishOptions;
use wamp_proto::{dict, Dict, Value};

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

fn heartbeat(seq: u64) -> Value {
    let system =
        dict! { "cpu" => dict! { "idle" => 75.0 }, "memory" => dict! { "percent" => 40.5 } };
    dict! { "seq" => seq, "period" => 10, "system" => system }.into()
}

/// Before: one paired node publishing heartbeats back to back grew the master by ~100 MB/s and
/// the database by 35 MB/s. Now a node session gets `max_heartbeat_rate` (100/s, burst 200).
#[tokio::test]
async fn a_node_flooding_heartbeats_is_held_to_its_rate() {
    let f = Fixture::start().await;
    let g = f.superuser(None).await;
    create_mrealm(&g, "mr1").await;
    pair(&g, &node_secret(1), "mr1", "node1").await;
    let node = f.node(node_secret(1)).await;
    let started = Instant::now();
    let (mut accepted, mut refused) = (0u64, 0u64);
    for seq in 0..2_000 {
        let args = vec!["node1".into(), heartbeat(seq)];
        let opts = PublishOptions::acknowledged();
        match node.publish(ON_HEARTBEAT, args, Dict::new(), opts).await {
            Ok(_) => accepted += 1,
            Err(e) => {
                let (uri, msg) = wamp_err(Err(e));
                assert_eq!(uri, "wamp.error.not_authorized", "{msg}");
                refused += 1;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!("2,000 heartbeats in {secs:.2} s: {accepted} accepted, {refused} refused");
    assert!(refused > 0, "nothing refused");
    let bound = 200.0 + 100.0 * secs + 1.0;
    assert!(
        (accepted as f64) <= bound,
        "{accepted} accepted, at most {bound:.0} expected"
    );
    // the node is still served, and what was accepted is what gets stored
    call(&node, GET_STATUS, vec![]).await.expect("node served");
    let deadline = Instant::now() + WAIT;
    while f.master.store().log_counts().expect("counts").0 < accepted && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(f.master.store().log_counts().expect("counts").0, accepted);
}
