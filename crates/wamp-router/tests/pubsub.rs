//! Publish/subscribe over real WebSockets: exact, prefix and wildcard subscriptions, shared
//! subscription ids, exclude_me, acknowledge, black/white listing by session, authid and
//! authrole, publisher disclosure, unsubscribe, restricted topics and realm isolation.

mod common;

use common::{head, Peer, TestRouter};
use serde_json::{json, Value as Json};
use wamp_proto::Serializer;

/// PUBLISH with acknowledge; returns the publication id from PUBLISHED.
async fn publish_ack(p: &mut Peer, topic: &str, mut options: Json, args: Json) -> u64 {
    let r = p.req();
    options["acknowledge"] = json!(true);
    p.send_json(json!([16, r, options, topic, args])).await;
    let got = p.recv_json().await;
    assert_eq!(head(&got, 2), json!([17, r]), "PUBLISH {topic}: got {got}");
    got[2].as_u64().expect("publication id")
}

/// Receives an EVENT; checks subscription, details and args; returns the publication id.
async fn expect_event(p: &mut Peer, sub: u64, details: Json, args: Json) -> u64 {
    let ev = p.recv_json().await;
    let publication = ev[2]
        .as_u64()
        .unwrap_or_else(|| panic!("not an EVENT: {ev}"));
    assert_eq!(ev, json!([36, sub, publication, details, args]));
    publication
}

#[tokio::test]
async fn exact_subscription_gets_event_with_kwargs() {
    let r = TestRouter::start().await;
    let (mut sub, mut publ) = (r.peer().await, r.peer().await);
    let s = sub.subscribe("com.t", json!({})).await;
    publ.send_json(json!([16, 1, {}, "com.t", [1], {"k": 2}]))
        .await;
    let ev = sub.recv_json().await;
    assert_eq!(ev, json!([36, s, ev[2], {}, [1], {"k": 2}]));
    publ.expect_silence(100).await; // no PUBLISHED without acknowledge
}

#[tokio::test]
async fn pattern_subscriptions_tell_the_topic() {
    let r = TestRouter::start().await;
    let (mut sub, mut publ) = (r.peer().await, r.peer().await);
    let exact = sub.subscribe("t5.x", json!({})).await;
    let prefix = sub.subscribe("t5", json!({"match": "prefix"})).await;
    let wild = sub.subscribe("t5.", json!({"match": "wildcard"})).await;
    let pub_id = publish_ack(&mut publ, "t5.x", json!({}), json!([1])).await;
    // One EVENT per matching subscription, all with the same publication id.
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(sub.recv_json().await);
    }
    got.sort_by_key(|e| e[1].as_u64());
    let mut want = vec![
        json!([36, exact, pub_id, {}, [1]]),
        json!([36, prefix, pub_id, {"topic": "t5.x"}, [1]]),
        json!([36, wild, pub_id, {"topic": "t5.x"}, [1]]),
    ];
    want.sort_by_key(|e| e[1].as_u64());
    assert_eq!(got, want);
    // Plain string prefix: `t5` matches `t5x` too; the wildcard does not.
    let pub_id = publish_ack(&mut publ, "t5x", json!({}), json!([2])).await;
    assert_eq!(
        sub.recv_json().await,
        json!([36, prefix, pub_id, {"topic": "t5x"}, [2]])
    );
    sub.expect_silence(100).await;
}

#[tokio::test]
async fn same_uri_and_match_share_one_subscription_id() {
    let r = TestRouter::start().await;
    let (mut a, mut b) = (r.peer().await, r.peer().await);
    let sa = a.subscribe("com.s", json!({})).await;
    let sb = b.subscribe("com.s", json!({})).await;
    assert_eq!(sa, sb);
    assert_eq!(a.subscribe("com.s", json!({})).await, sa);
    let sp = b.subscribe("com.s", json!({"match": "prefix"})).await;
    assert_ne!(sp, sa);
}

#[tokio::test]
async fn publisher_is_excluded_unless_exclude_me_false() {
    let r = TestRouter::start().await;
    let mut p = r.peer().await;
    let s = p.subscribe("com.me", json!({})).await;
    publish_ack(&mut p, "com.me", json!({}), json!(["a"])).await;
    p.expect_silence(100).await;
    let pub_id = publish_ack(&mut p, "com.me", json!({"exclude_me": false}), json!(["b"])).await;
    assert_eq!(
        expect_event(&mut p, s, json!({}), json!(["b"])).await,
        pub_id
    );
}

#[tokio::test]
async fn published_id_equals_event_publication_id() {
    let r = TestRouter::start().await;
    let (mut sub, mut publ) = (r.peer().await, r.peer().await);
    let s = sub.subscribe("com.ack", json!({})).await;
    let pub_id = publish_ack(&mut publ, "com.ack", json!({}), json!([])).await;
    let ev = sub.recv_json().await;
    assert_eq!(ev, json!([36, s, pub_id, {}]));
}

/// Three subscribers on `com.bw`; returns them with the subscription id.
async fn three_subscribers(r: &TestRouter) -> (Vec<Peer>, u64) {
    let mut peers = Vec::new();
    let mut sub = 0;
    for _ in 0..3 {
        let mut p = r.peer().await;
        sub = p.subscribe("com.bw", json!({})).await;
        peers.push(p);
    }
    (peers, sub)
}

/// Publishes with `options` and returns which of `subs` got the event.
async fn receivers(publ: &mut Peer, subs: &mut [Peer], sub: u64, options: Json) -> Vec<usize> {
    let pub_id = publish_ack(publ, "com.bw", options, json!([1])).await;
    let mut out = Vec::new();
    for (i, p) in subs.iter_mut().enumerate() {
        if let Some(Some(m)) = p.recv_within(std::time::Duration::from_millis(100)).await {
            assert_eq!(common::to_json(&m), json!([36, sub, pub_id, {}, [1]]));
            out.push(i);
        }
    }
    out
}

#[tokio::test]
async fn eligible_and_exclude_by_session_id() {
    let r = TestRouter::start().await;
    let (mut subs, s) = three_subscribers(&r).await;
    let mut publ = r.peer().await;
    let ids: Vec<u64> = subs.iter().map(|p| p.session).collect();
    let got = receivers(
        &mut publ,
        &mut subs,
        s,
        json!({"eligible": [ids[0], ids[2]]}),
    )
    .await;
    assert_eq!(got, vec![0, 2]);
    let got = receivers(&mut publ, &mut subs, s, json!({"exclude": [ids[1]]})).await;
    assert_eq!(got, vec![0, 2]);
    let opts = json!({"eligible": [ids[0], ids[1]], "exclude": [ids[0]]});
    assert_eq!(receivers(&mut publ, &mut subs, s, opts).await, vec![1]);
}

#[tokio::test]
async fn eligible_and_exclude_by_authid_and_authrole() {
    let r = TestRouter::start().await;
    let (mut subs, s) = three_subscribers(&r).await;
    let mut publ = r.peer().await;
    let authids: Vec<Json> = subs.iter().map(|p| p.welcome["authid"].clone()).collect();
    let opts = json!({"eligible_authid": [authids[1]]});
    assert_eq!(receivers(&mut publ, &mut subs, s, opts).await, vec![1]);
    let opts = json!({"exclude_authid": [authids[1], authids[2]]});
    assert_eq!(receivers(&mut publ, &mut subs, s, opts).await, vec![0]);
    let opts = json!({"eligible_authrole": ["anonymous"]});
    assert_eq!(
        receivers(&mut publ, &mut subs, s, opts).await,
        vec![0, 1, 2]
    );
    let opts = json!({"eligible_authrole": ["admin"]});
    assert_eq!(
        receivers(&mut publ, &mut subs, s, opts).await,
        Vec::<usize>::new()
    );
    let opts = json!({"exclude_authrole": ["anonymous"]});
    assert_eq!(
        receivers(&mut publ, &mut subs, s, opts).await,
        Vec::<usize>::new()
    );
}

#[tokio::test]
async fn disclose_me_discloses_the_publisher() {
    let r = TestRouter::start().await;
    let (mut sub, mut publ) = (r.peer().await, r.peer().await);
    let s = sub.subscribe("com.d", json!({})).await;
    publish_ack(&mut publ, "com.d", json!({"disclose_me": true}), json!([])).await;
    let details = json!({"publisher": publ.session,
        "publisher_authid": publ.welcome["authid"], "publisher_authrole": "anonymous"});
    let ev = sub.recv_json().await;
    assert_eq!(ev, json!([36, s, ev[2], details]));
}

#[tokio::test]
async fn unsubscribe_then_unknown_subscription() {
    let r = TestRouter::start().await;
    let (mut sub, mut publ) = (r.peer().await, r.peer().await);
    let s = sub.subscribe("com.u", json!({})).await;
    sub.send_json(json!([34, 20, s])).await;
    assert_eq!(sub.recv_json().await, json!([35, 20]));
    publish_ack(&mut publ, "com.u", json!({}), json!([])).await;
    sub.expect_silence(100).await;
    sub.send_json(json!([34, 21, s])).await;
    let text = format!("session {} has no subscription {s}", sub.session);
    assert_eq!(
        sub.recv_json().await,
        json!([8, 34, 21, {}, "wamp.error.no_such_subscription", [text]])
    );
}

#[tokio::test]
async fn publishing_to_wamp_topic_is_refused() {
    let r = TestRouter::start().await;
    let mut p = r.peer().await;
    p.send_json(json!([16, 17, {"acknowledge": true}, "wamp.session.on_join"]))
        .await;
    assert_eq!(
        p.recv_json().await,
        json!([
            8,
            16,
            17,
            {},
            "wamp.error.invalid_uri",
            ["publish with restricted topic URI 'wamp.session.on_join'"]
        ])
    );
    // Without acknowledge: silently dropped.
    p.send_json(json!([16, 18, {}, "wamp.x"])).await;
    p.expect_silence(100).await;
}

#[tokio::test]
async fn realms_are_isolated() {
    let r = TestRouter::start().await;
    let mut sub1 = r.peer().await;
    let mut sub2 = r.join("realm2", Serializer::MSGPACK).await;
    let s1 = sub1.subscribe("com.iso", json!({})).await;
    let s2 = sub2.subscribe("com.iso", json!({})).await;
    let mut publ = r.join("realm2", Serializer::CBOR).await;
    let pub_id = publish_ack(&mut publ, "com.iso", json!({}), json!(["r2"])).await;
    assert_eq!(
        expect_event(&mut sub2, s2, json!({}), json!(["r2"])).await,
        pub_id
    );
    sub1.expect_silence(150).await;
    let _ = s1;
}
