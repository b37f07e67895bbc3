//! Memory a peer can make the router hold (issue 19, item 8): each session's outbound queue is
//! bounded in bytes, and all queues together by a global budget (the sessions holding more than
//! their share go first); URIs are bounded in length; a connection not yet welcomed may send
//! only a small message.

mod common;

use std::time::Duration;

use common::{assert_router_serves, stalled_peer, Peer, TestRouter};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wamp_proto::{Dict, Message, Payload, Serializer, Value};
use wamp_router::RouterConfig;

/// A PUBLISH of `size` bytes of binary payload to `topic`.
fn big_publish(request: u64, topic: &str, size: usize) -> Message {
    Message::Publish {
        request,
        options: Dict::new(),
        topic: topic.into(),
        payload: Payload::args(vec![Value::Bytes(vec![7; size])]),
    }
}

/// Waits (bounded) until the router holds `n` sessions.
async fn wait_sessions(r: &TestRouter, n: usize) -> bool {
    for _ in 0..200 {
        if r.router.session_count() == n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn a_stalled_subscriber_is_dropped_at_its_byte_bound() {
    let r = TestRouter::start().await;
    let cfg = RouterConfig::default();
    assert_eq!(cfg.queue_bytes, 16 * 1024 * 1024);
    let mut slow = stalled_peer(r.addr, Serializer::MSGPACK).await;
    slow.subscribe("com.firehose", json!({})).await;
    let mut publisher = r.join("realm1", Serializer::MSGPACK).await;
    // 64 messages are far below the 16,384-message bound; 57 MiB are far above 16 MiB
    for i in 0..64 {
        publisher
            .send(big_publish(i + 1, "com.firehose", 900 * 1024))
            .await;
        if r.router.session_count() == 1 {
            break;
        }
    }
    assert!(
        wait_sessions(&r, 1).await,
        "the stalled subscriber was not dropped"
    );
    assert_router_serves(&r).await;
}

#[tokio::test]
async fn the_global_queue_budget_drops_the_biggest_holders_not_the_healthy() {
    let cfg = RouterConfig {
        queue_bytes: 64 * 1024 * 1024,
        queue_bytes_total: 8 * 1024 * 1024,
        ..RouterConfig::default()
    };
    let r = TestRouter::start_with(cfg).await;
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut s = stalled_peer(r.addr, Serializer::MSGPACK).await;
        s.subscribe("com.firehose", json!({})).await;
        stalled.push(s);
    }
    let mut healthy = r.join("realm1", Serializer::MSGPACK).await;
    let sub = healthy.subscribe("com.firehose", json!({})).await;
    let mut publisher = r.join("realm1", Serializer::MSGPACK).await;
    for i in 0..40 {
        publisher
            .send(big_publish(i + 1, "com.firehose", 900 * 1024))
            .await;
        let Message::Event { subscription, .. } = healthy.recv().await else {
            panic!("expected EVENT");
        };
        assert_eq!(subscription, sub);
        if r.router.session_count() == 2 {
            break;
        }
    }
    assert!(
        wait_sessions(&r, 2).await,
        "the stalled subscribers were not dropped"
    );
    let count = healthy.meta("wamp.session.count", json!([])).await;
    assert_eq!(
        count,
        json!(2),
        "the healthy subscriber and the publisher remain"
    );
}

#[tokio::test]
async fn uris_longer_than_the_limit_are_refused() {
    let r = TestRouter::start().await;
    let max = RouterConfig::default().max_uri_length;
    assert_eq!(max, 512);
    let longest = format!("com.{}", "x".repeat(max - 4));
    let long = format!("com.{}", "x".repeat(max - 3));
    let mut p = r.peer().await;
    p.subscribe(&longest, json!({})).await;
    p.register(&longest, json!({})).await;
    let requests = [
        (32, json!([32, 0, {}, long])),
        (32, json!([32, 0, {"match": "prefix"}, long])),
        (64, json!([64, 0, {}, long])),
        (48, json!([48, 0, {}, long])),
        (16, json!([16, 0, {"acknowledge": true}, long])),
    ];
    for (kind, mut m) in requests {
        let req = p.req();
        m[1] = json!(req);
        p.send_json(m).await;
        let err = p.recv_json().await;
        assert_eq!(
            (err[0].clone(), err[1].clone(), err[2].clone()),
            (json!(8), json!(kind), json!(req)),
            "{err}"
        );
        assert_eq!(err[4], json!("wamp.error.invalid_uri"), "{err}");
        let text = err[5][0].as_str().unwrap_or("");
        assert!(text.contains("512"), "{text}");
    }
    // nothing was stored for the refused ones
    let found = p.meta("wamp.subscription.lookup", json!([long])).await;
    assert_eq!(found, json!(null));
    let mut hello = Peer::connect(r.addr, Serializer::JSON).await;
    hello
        .send_json(json!([1, long, {"roles": {"caller": {}}}]))
        .await;
    hello.expect_abort("wamp.error.invalid_uri").await;
    assert_router_serves(&r).await;
}

/// Opens `/ws` with a raw socket and reads the `101` answer.
async fn raw_upgrade(r: &TestRouter) -> TcpStream {
    let mut s = TcpStream::connect(r.addr).await.expect("connect");
    let req =
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
               Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
               Sec-WebSocket-Protocol: wamp.2.cbor\r\n\r\n";
    s.write_all(req.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        s.read_exact(&mut b).await.expect("101 answer");
        head.push(b[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101 "));
    s
}

/// The header of a masked binary client frame of `len` bytes (64-bit length form).
fn frame_header(len: u64) -> Vec<u8> {
    let mut h = vec![0x82, 0x80 | 127];
    h.extend(len.to_be_bytes());
    h.extend([1, 2, 3, 4]);
    h
}

#[tokio::test]
async fn a_connection_not_yet_welcomed_may_send_only_a_small_message() {
    let r = TestRouter::start().await;
    assert_eq!(
        RouterConfig::default().max_handshake_message_size,
        64 * 1024
    );
    // a message announced at 200 KiB, of which 100 KiB arrive: cut before it is complete
    let mut s = raw_upgrade(&r).await;
    let _ = s.write_all(&frame_header(200 * 1024)).await;
    let _ = s.write_all(&vec![0u8; 100 * 1024]).await;
    let mut got = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(2), async {
        let mut buf = [0u8; 256];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the partial message was not cut");
    // when the Close frame made it before the reset: code 1009 (message too big)
    if got.len() >= 4 && got[0] == 0x88 {
        assert_eq!(u16::from_be_bytes([got[2], got[3]]), 1009, "{got:?}");
    }
    // once welcomed, the full message size applies
    let mut p = r.join("realm1", Serializer::CBOR).await;
    let mut publish = big_publish(1, "com.big", 500 * 1024);
    if let Message::Publish { options, .. } = &mut publish {
        options.insert("acknowledge".into(), true.into());
    }
    p.send(publish).await;
    assert_eq!(p.recv_json().await[0], json!(17));
    assert!(wait_sessions(&r, 1).await);
}
