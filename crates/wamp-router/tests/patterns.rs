//! Pattern-based subscriptions under attack (issue 19, item 7): a session may hold only a few
//! prefix/wildcard subscriptions (fewer than exact ones), and thousands of wildcard
//! subscriptions in a realm slow neither subscribing, nor a publish, nor the leave of the
//! session holding them (matching is indexed, cleanup linear in the session's own state).

mod common;

use std::time::{Duration, Instant};

use common::{assert_router_serves, Peer, TestRouter};
use serde_json::json;
use wamp_router::RouterConfig;

/// Sends `n` SUBSCRIBEs for distinct wildcard patterns at once, then reads the answers;
/// returns how many were refused.
async fn subscribe_wildcards(p: &mut Peer, tag: &str, n: usize) -> usize {
    let first = p.req();
    for i in 0..n {
        let uri = format!("com.example..{tag}{i}");
        p.send_json(json!([32, first + i as u64, {"match": "wildcard"}, uri]))
            .await;
    }
    for _ in 1..n {
        p.req();
    }
    let mut refused = 0;
    for _ in 0..n {
        let m = p.recv_json().await;
        match m[0].as_u64() {
            Some(33) => {}
            Some(8) => refused += 1,
            _ => panic!("unexpected {m}"),
        }
    }
    refused
}

#[tokio::test]
async fn pattern_subscriptions_per_session_are_capped_below_exact_ones() {
    let r = TestRouter::start().await;
    let mut p = r.peer().await;
    let max = RouterConfig::default()
        .session_limits
        .max_pattern_subscriptions;
    assert!(max < RouterConfig::default().session_limits.max_subscriptions);
    assert_eq!(subscribe_wildcards(&mut p, "w", max - 1).await, 0);
    p.subscribe("com.prefix.", json!({"match": "prefix"})).await;
    // one more pattern, wildcard or prefix, is refused with a message naming the limit
    for (uri, policy) in [("com..x", "wildcard"), ("com.other.", "prefix")] {
        let req = p.req();
        p.send_json(json!([32, req, {"match": policy}, uri])).await;
        let err = p.recv_json().await;
        assert_eq!(err[0], json!(8), "{err}");
        assert_eq!(err[2], json!(req));
        assert_eq!(err[4], json!("mrealm.error.too_many_subscriptions"));
        let text = err[5][0].as_str().unwrap_or("");
        assert!(text.contains(&format!("(limit {max})")), "{text}");
    }
    // exact subscriptions are still allowed, and other sessions have their own count
    p.subscribe("com.exact", json!({})).await;
    let mut q = r.peer().await;
    q.subscribe("com..x", json!({"match": "wildcard"})).await;
    assert_router_serves(&r).await;
}

/// Three sessions hold as many wildcard subscriptions as they may (3,000 at the defaults);
/// before the index, every SUBSCRIBE, publish and meta event scanned all of them, and a leave
/// took seconds (quadratic in the subscriptions).
#[tokio::test]
async fn many_wildcard_subscriptions_keep_publish_and_leave_fast() {
    let r = TestRouter::start().await;
    let per_session = RouterConfig::default()
        .session_limits
        .max_pattern_subscriptions;
    let mut observer = r.peer().await;
    let on_leave = observer.subscribe("wamp.session.on_leave", json!({})).await;
    let exact = observer.subscribe("com.example.a.b", json!({})).await;
    let started = Instant::now();
    let mut attackers = Vec::new();
    for tag in ["x", "y", "z"] {
        let mut a = r.peer().await;
        assert_eq!(subscribe_wildcards(&mut a, tag, per_session).await, 0);
        attackers.push(a);
    }
    let subscribing = started.elapsed();
    let mut publisher = r.peer().await;
    let started = Instant::now();
    for i in 0..200u64 {
        publisher
            .send_json(json!([16, i + 1, {}, "com.example.a.b", [i]]))
            .await;
        let ev = observer.recv_json().await;
        assert_eq!((ev[1].clone(), ev[4].clone()), (json!(exact), json!([i])));
    }
    let publishing = started.elapsed();
    let leaver = attackers.pop().expect("attacker");
    let id = leaver.session;
    let started = Instant::now();
    leaver.close().await;
    let ev = observer.recv_json().await;
    assert_eq!(
        (ev[1].clone(), ev[4].clone()),
        (json!(on_leave), json!([id]))
    );
    let leaving = started.elapsed();
    eprintln!("subscribe {subscribing:?}, 200 publishes {publishing:?}, leave {leaving:?}");
    assert!(subscribing < Duration::from_secs(10), "{subscribing:?}");
    assert!(publishing < Duration::from_secs(2), "{publishing:?}");
    assert!(leaving < Duration::from_millis(500), "{leaving:?}");
    assert_router_serves(&r).await;
}
