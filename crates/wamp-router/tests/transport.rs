//! The WebSocket transport: all six serializers, the JSON binary convention on the wire,
//! batched framing, plain HTTP answers, subprotocol refusal, message size limit, pings and pong
//! timeout, and the handshake timeout.

mod common;

use std::time::{Duration, Instant};

use common::{assert_router_serves, head, msg, Peer, TestRouter};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wamp_proto::{Dict, Message, Payload, Serializer, Value};
use wamp_router::RouterConfig;

#[tokio::test]
async fn every_serializer_joins_and_calls() {
    let r = TestRouter::start().await;
    for ser in Serializer::ALL {
        let mut callee = r.join("realm1", ser).await;
        let mut caller = r.join("realm1", ser).await;
        let uri = format!("com.ser.{}", ser.subprotocol().replace('.', "_"));
        let reg = callee.register(&uri, json!({})).await;
        let call = caller
            .call_start(&uri, json!({}), json!([1.5, "x", {"a": [true, null]}]))
            .await;
        let inv = callee.recv_json().await;
        assert_eq!(
            inv,
            json!([68, inv[1], reg, {}, [1.5, "x", {"a": [true, null]}]]),
            "{ser:?}"
        );
        callee
            .send_json(json!([70, inv[1], {}, [-7], {"ok": 1}]))
            .await;
        assert_eq!(
            caller.recv_json().await,
            json!([50, call, {}, [-7], {"ok": 1}]),
            "{ser:?}"
        );
    }
}

#[tokio::test]
async fn json_binary_convention_on_the_wire() {
    let r = TestRouter::start().await;
    let mut callee = r.join("realm1", Serializer::CBOR).await;
    let mut caller = r.peer().await;
    callee.register("com.bin", json!({})).await;
    caller
        .send_text(r#"[48,5,{},"com.bin",["\u0000AQID/w=="]]"#)
        .await;
    let Message::Invocation {
        request, payload, ..
    } = callee.recv().await
    else {
        panic!("expected INVOCATION");
    };
    assert_eq!(payload.args, vec![Value::Bytes(vec![1, 2, 3, 255])]);
    let echo = Message::Yield {
        request,
        options: Dict::new(),
        payload,
    };
    callee.send(echo).await;
    let want = Message::Result {
        request: 5,
        details: Dict::new(),
        payload: Payload::args(vec![Value::Bytes(vec![1, 2, 3, 255])]),
    };
    assert_eq!(caller.recv().await, want);
}

#[tokio::test]
async fn batched_messages_are_all_processed() {
    let r = TestRouter::start().await;
    for ser in Serializer::ALL.into_iter().filter(|s| s.batched) {
        let mut p = r.join("realm1", ser).await;
        let batch = [
            msg(json!([32, 1, {}, "com.batch"])),
            msg(json!([16, 2, {"acknowledge": true, "exclude_me": false}, "com.batch", [1]])),
        ];
        p.send_batch(&batch).await;
        let subscribed = p.recv_json().await;
        assert_eq!(head(&subscribed, 2), json!([33, 1]), "{ser:?}");
        let published = p.recv_json().await;
        assert_eq!(head(&published, 2), json!([17, 2]), "{ser:?}");
        let event = json!([36, subscribed[2], published[2], {}, [1]]);
        assert_eq!(p.recv_json().await, event, "{ser:?}");
    }
}

/// Sends a raw HTTP request to the test router.
async fn http(r: &TestRouter, request: &str) -> String {
    common::http(r.addr, request).await
}

#[tokio::test]
async fn plain_get_serves_a_status_page() {
    let r = TestRouter::start().await;
    let resp = http(&r, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    let lower = resp.to_ascii_lowercase();
    assert!(lower.contains("\r\ncontent-type: text/html"), "{resp}");
    assert!(lower.contains("<html"), "{resp}");
}

/// A masked client text frame (payload < 126 bytes).
fn masked_text(payload: &[u8]) -> Vec<u8> {
    let mask = [0x11, 0x22, 0x33, 0x44];
    let mut f = vec![0x81, 0x80 | payload.len() as u8];
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

#[tokio::test]
async fn hello_sent_with_the_upgrade_request_is_not_lost() {
    let r = TestRouter::start().await;
    let mut s = TcpStream::connect(r.addr).await.expect("connect");
    let mut req = b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n"
        .to_vec();
    req.extend(masked_text(br#"[1,"realm1",{"roles":{"caller":{}}}]"#));
    s.write_all(&req).await.expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&got).contains("[2,") {
        let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
            .await
            .expect("WELCOME within 2 s")
            .expect("read");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 101 "));
}

#[tokio::test]
async fn unknown_subprotocol_is_refused_with_400() {
    let r = TestRouter::start().await;
    let req =
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
               Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
               Sec-WebSocket-Protocol: wamp.2.ubjson, mqtt\r\n\r\n";
    let resp = http(&r, req).await;
    assert!(resp.starts_with("HTTP/1.1 400 "), "{resp}");
    assert_router_serves(&r).await;
}

fn small_config() -> RouterConfig {
    RouterConfig {
        max_message_size: 64 * 1024,
        ping_interval: Duration::from_millis(200),
        ping_timeout: Duration::from_millis(200),
        handshake_timeout: Duration::from_millis(300),
        ..RouterConfig::default()
    }
}

#[tokio::test]
async fn oversized_message_ends_only_that_session() {
    let r = TestRouter::start_with(small_config()).await;
    let mut big = r.peer().await;
    let mut bystander = r.peer().await;
    let huge = "x".repeat(100 * 1024);
    big.send_json(json!([16, 1, {}, "com.big", [huge]])).await;
    let seen = big.expect_closed().await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0][0], json!(3), "{seen:?}");
    assert_eq!(seen[0][2], json!("wamp.error.payload_size_exceeded"));
    let count = bystander.meta("wamp.session.count", json!([])).await;
    assert_eq!(count, json!(1));
    assert_router_serves(&r).await;
}

#[tokio::test]
async fn client_answering_pings_stays_connected() {
    let r = TestRouter::start_with(small_config()).await;
    let mut p = r.peer().await;
    // Reading lets tungstenite answer the router's pings with pongs.
    p.expect_silence(900).await;
    assert_eq!(p.meta("wamp.session.count", json!([])).await, json!(1));
}

#[tokio::test]
async fn client_not_answering_pings_is_dropped() {
    let r = TestRouter::start_with(small_config()).await;
    let mut deaf = r.peer().await;
    let mut other = r.peer().await;
    // `deaf` is not read meanwhile, so it answers no pings; `other` is read and does.
    other.expect_silence(800).await;
    assert_eq!(other.meta("wamp.session.count", json!([])).await, json!(1));
    assert!(deaf.expect_closed().await.is_empty());
}

#[tokio::test]
async fn silent_tcp_client_is_dropped_after_handshake_timeout() {
    let r = TestRouter::start_with(small_config()).await;
    let mut s = TcpStream::connect(r.addr).await.expect("connect");
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
        .await
        .expect("closed within 2 s")
        .unwrap_or(0);
    let waited = started.elapsed();
    assert_eq!(n, 0, "expected EOF");
    assert!(
        waited >= Duration::from_millis(250),
        "closed after {waited:?}"
    );
    assert!(
        waited < Duration::from_millis(1500),
        "closed after {waited:?}"
    );
}

#[tokio::test]
async fn local_peer_fixture_is_not_a_websocket() {
    // Guards the fixture itself: the in-process peer joins with transport type "function".
    let r = TestRouter::start().await;
    let mut local = Peer::local(&r.router);
    local.hello("realm1", common::default_roles()).await;
    let me = local.meta("wamp.session.get", json!([local.session])).await;
    assert_eq!(me["transport"], json!({"type": "function"}));
}

/// One unsolicited PONG with payload `ff×8` once made every later ping check pass, so a frozen
/// peer was never closed: only a PONG answering a ping the router sent counts.
#[tokio::test]
async fn unsolicited_pong_does_not_keep_a_frozen_peer_alive() {
    let r = TestRouter::start_with(small_config()).await;
    let mut frozen = r.peer().await;
    frozen
        .send_ws(tokio_tungstenite::tungstenite::Message::Pong(
            vec![0xff; 8].into(),
        ))
        .await;
    // from now on `frozen` reads nothing, so it answers no ping
    let started = Instant::now();
    while r.router.session_count() == 1 && started.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        r.router.session_count(),
        0,
        "the frozen peer was not closed"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    drop(frozen);
}

#[tokio::test]
async fn head_answers_headers_without_a_body() {
    let r = TestRouter::start().await;
    for path in ["/", "/info"] {
        let resp = http(&r, &format!("HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n")).await;
        assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
        let (head, body) = resp.split_once("\r\n\r\n").expect("a complete head");
        assert!(
            head.to_ascii_lowercase().contains("content-length: "),
            "{head}"
        );
        assert_eq!(body, "", "HEAD {path} sent a body");
    }
}

/// An upgrade request with `method`, `Sec-WebSocket-Version: version` (none if `None`).
fn upgrade_request(method: &str, version: Option<&str>) -> String {
    let version = version
        .map(|v| format!("Sec-WebSocket-Version: {v}\r\n"))
        .unwrap_or_default();
    format!(
        "{method} /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{version}Sec-WebSocket-Protocol: wamp.2.json\r\n\r\n"
    )
}

/// RFC 6455 §4.1/§4.2.2: the opening handshake is a GET with version 13; a server that does not
/// speak the requested version answers 426 naming the one it speaks.
#[tokio::test]
async fn upgrade_needs_get_and_version_13() {
    let r = TestRouter::start().await;
    let resp = http(&r, &upgrade_request("POST", Some("13"))).await;
    assert!(resp.starts_with("HTTP/1.1 405 "), "{resp}");
    assert!(
        resp.to_ascii_lowercase().contains("\r\nallow: get"),
        "{resp}"
    );
    for version in [None, Some("8"), Some("14")] {
        let resp = http(&r, &upgrade_request("GET", version)).await;
        assert!(resp.starts_with("HTTP/1.1 426 "), "{version:?}: {resp}");
        let lower = resp.to_ascii_lowercase();
        assert!(
            lower.contains("\r\nsec-websocket-version: 13\r\n"),
            "{resp}"
        );
    }
    assert_router_serves(&r).await;
}

/// The WebSocket close code says why: 1002 after a protocol violation, 1009 after a message
/// too big, 1000 after GOODBYE.
#[tokio::test]
async fn close_codes_name_the_reason() {
    let r = TestRouter::start_with(small_config()).await;
    let mut p = r.peer().await;
    p.send_text("[99,1,2]").await;
    assert_eq!(p.recv_json().await[0], json!(3));
    assert_eq!(p.expect_close_code().await, Some(1002));
    let mut big = r.peer().await;
    let huge = "x".repeat(100 * 1024);
    big.send_json(json!([16, 1, {}, "com.big", [huge]])).await;
    assert_eq!(big.recv_json().await[0], json!(3));
    assert_eq!(big.expect_close_code().await, Some(1009));
    let mut polite = r.peer().await;
    polite
        .send_json(json!([6, {}, "wamp.close.close_realm"]))
        .await;
    assert_eq!(polite.recv_json().await[0], json!(6));
    assert_eq!(polite.expect_close_code().await, Some(1000));
}
