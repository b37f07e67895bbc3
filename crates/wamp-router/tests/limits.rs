//! The router's resource limits, each driven over the limit by a real client: connections and
//! connections in their opening handshake (HTTP 503), the handshake timeout (slow-loris: a
//! dribbled request head, an upgraded connection that never says HELLO), calls in flight per
//! caller and per callee, registrations and subscriptions per session, the message size for
//! every serializer, the outbound queue of a slow consumer — and that the defaults leave a
//! Crossbar-node-sized session alone. After each case the router still serves other clients.

mod common;

use std::time::Duration;

use common::{assert_router_serves, join_over, tcp_from, Peer, TestRouter};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wamp_proto::{Message, Serializer};
use wamp_router::{RouterConfig, SessionLimits};

fn limited(f: impl FnOnce(&mut RouterConfig)) -> RouterConfig {
    let mut c = RouterConfig::default();
    f(&mut c);
    c
}

/// Sends a WebSocket upgrade request and returns the start of the response (bounded wait).
async fn upgrade_response(r: &TestRouter) -> String {
    upgrade_response_over(TcpStream::connect(r.addr).await.expect("connect")).await
}

/// Like [`upgrade_response`], over a connected socket.
async fn upgrade_response_over(mut s: TcpStream) -> String {
    let req =
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
               Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
               Sec-WebSocket-Protocol: wamp.2.json\r\n\r\n";
    let _ = s.write_all(req.as_bytes()).await;
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
        .await
        .expect("response in time")
        .unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Waits (bounded) until the router's connection counts satisfy `ok`.
async fn wait_counts(r: &TestRouter, ok: impl Fn((usize, usize)) -> bool) {
    for _ in 0..200 {
        if ok(r.router.connection_counts()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "connection counts stuck at {:?}",
        r.router.connection_counts()
    );
}

#[tokio::test]
async fn connections_over_the_limit_get_503() {
    let r = TestRouter::start_with(limited(|c| c.max_connections = 3)).await;
    let a = r.peer().await;
    let _b = r.peer().await;
    let _c = r.peer().await;
    let resp = upgrade_response(&r).await;
    assert!(resp.starts_with("HTTP/1.1 503 "), "{resp}");
    assert!(resp.contains("connection limit"), "{resp}");
    assert_eq!(r.router.session_count(), 3);
    a.close().await;
    wait_counts(&r, |(conns, _)| conns == 2).await;
    // room for one again: the freed place serves a new session
    let mut d = r.peer().await;
    assert_eq!(d.meta("wamp.session.count", json!([])).await, json!(3));
}

#[tokio::test]
async fn handshakes_over_the_limit_get_503_and_welcomed_sessions_do_not_count() {
    let cfg = limited(|c| {
        c.max_handshakes = 2;
        c.handshake_timeout = Duration::from_millis(400);
    });
    let r = TestRouter::start_with(cfg).await;
    let _joined = r.peer().await;
    let _idle1 = TcpStream::connect(r.addr).await.expect("connect");
    let _idle2 = TcpStream::connect(r.addr).await.expect("connect");
    wait_counts(&r, |(_, hs)| hs == 2).await;
    let resp = upgrade_response(&r).await;
    assert!(resp.starts_with("HTTP/1.1 503 "), "{resp}");
    // the idle ones time out and free their places
    wait_counts(&r, |(conns, hs)| conns == 1 && hs == 0).await;
    assert_router_serves(&r).await;
}

#[tokio::test]
async fn slow_loris_request_head_is_cut_at_the_handshake_timeout() {
    let cfg = limited(|c| c.handshake_timeout = Duration::from_millis(300));
    let r = TestRouter::start_with(cfg).await;
    let mut s = TcpStream::connect(r.addr).await.expect("connect");
    let head = b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n";
    let started = std::time::Instant::now();
    let mut closed = false;
    for b in head {
        if s.write_all(&[*b]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        if started.elapsed() > Duration::from_secs(2) {
            break;
        }
    }
    if !closed {
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
            .await
            .expect("closed in time")
            .unwrap_or(0);
        assert_eq!(n, 0, "expected EOF");
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_router_serves(&r).await;
}

#[tokio::test]
async fn upgraded_connection_without_hello_is_aborted() {
    let cfg = limited(|c| c.handshake_timeout = Duration::from_millis(300));
    let r = TestRouter::start_with(cfg).await;
    let mut p = Peer::connect(r.addr, Serializer::JSON).await;
    p.expect_abort(wamp_router::limits::HANDSHAKE_TIMEOUT).await;
    wait_counts(&r, |(conns, hs)| conns == 0 && hs == 0).await;
    assert_router_serves(&r).await;
}

fn sessions(f: impl FnOnce(&mut SessionLimits)) -> RouterConfig {
    limited(|c| f(&mut c.session_limits))
}

/// The request id and URI of an ERROR (or panics).
fn error_of(m: &serde_json::Value) -> (u64, String) {
    assert_eq!(m[0], json!(8), "expected ERROR, got {m}");
    (
        m[2].as_u64().unwrap_or(0),
        m[4].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test]
async fn calls_in_flight_per_caller_are_bounded() {
    let r = TestRouter::start_with(sessions(|l| l.max_pending_calls = 2)).await;
    let mut callee = r.peer().await;
    callee.register("com.slow", json!({})).await;
    let mut caller = r.peer().await;
    caller.call_start("com.slow", json!({}), json!([1])).await;
    caller.call_start("com.slow", json!({}), json!([2])).await;
    let inv1 = callee.recv_json().await;
    callee.recv_json().await;
    let third = caller.call_start("com.slow", json!({}), json!([3])).await;
    let (req, uri) = error_of(&caller.recv_json().await);
    assert_eq!(
        (req, uri.as_str()),
        (third, "mrealm.error.too_many_pending_calls")
    );
    callee.expect_silence(100).await; // the refused call never reached the callee
                                      // one answered: room for one more
    callee.send_json(json!([70, inv1[1], {}, ["done"]])).await;
    assert_eq!(caller.recv_json().await[0], json!(50));
    caller.call_start("com.slow", json!({}), json!([4])).await;
    assert_eq!(callee.recv_json().await[0], json!(68));
    assert_router_serves(&r).await;
}

#[tokio::test]
async fn invocations_in_flight_per_callee_are_bounded() {
    let r = TestRouter::start_with(sessions(|l| l.max_pending_invocations = 2)).await;
    let mut callee = r.peer().await;
    callee.register("com.slow", json!({})).await;
    let mut a = r.peer().await;
    let mut b = r.peer().await;
    a.call_start("com.slow", json!({}), json!([])).await;
    b.call_start("com.slow", json!({}), json!([])).await;
    callee.recv_json().await;
    callee.recv_json().await;
    let third = a.call_start("com.slow", json!({}), json!([])).await;
    let (req, uri) = error_of(&a.recv_json().await);
    assert_eq!(
        (req, uri.as_str()),
        (third, "mrealm.error.too_many_pending_invocations")
    );
    assert_router_serves(&r).await;
}

#[tokio::test]
async fn registrations_per_session_are_bounded() {
    let r = TestRouter::start_with(sessions(|l| l.max_registrations = 3)).await;
    let mut p = r.peer().await;
    let mut regs = Vec::new();
    for i in 0..3 {
        regs.push(p.register(&format!("com.r{i}"), json!({})).await);
    }
    let req = p.req();
    p.send_json(json!([64, req, {}, "com.r3"])).await;
    let (got, uri) = error_of(&p.recv_json().await);
    assert_eq!(
        (got, uri.as_str()),
        (req, "mrealm.error.too_many_registrations")
    );
    // nothing was registered for the refused request
    let mut other = r.peer().await;
    let found = other
        .meta("wamp.registration.lookup", json!(["com.r3"]))
        .await;
    assert_eq!(found, json!(null));
    let req = p.req();
    p.send_json(json!([66, req, regs[0]])).await;
    assert_eq!(p.recv_json().await[0], json!(67));
    p.register("com.r3", json!({})).await;
    assert_router_serves(&r).await;
}

#[tokio::test]
async fn subscriptions_per_session_are_bounded() {
    let r = TestRouter::start_with(sessions(|l| l.max_subscriptions = 2)).await;
    let mut p = r.peer().await;
    p.subscribe("com.t0", json!({})).await;
    p.subscribe("com.t1", json!({"match": "prefix"})).await;
    let req = p.req();
    p.send_json(json!([32, req, {}, "com.t2"])).await;
    let (got, uri) = error_of(&p.recv_json().await);
    assert_eq!(
        (got, uri.as_str()),
        (req, "mrealm.error.too_many_subscriptions")
    );
    // another session is not affected by p's count
    let mut q = r.peer().await;
    q.subscribe("com.t2", json!({})).await;
    assert_router_serves(&r).await;
}

#[tokio::test]
async fn oversized_messages_abort_for_every_serializer() {
    let cfg = limited(|c| c.max_message_size = 16 * 1024);
    let r = TestRouter::start_with(cfg).await;
    for ser in Serializer::ALL {
        let mut p = r.join("realm1", ser).await;
        let big = "y".repeat(20 * 1024);
        let publish = common::msg(json!([16, 1, {}, "com.big", [big]]));
        if ser.batched {
            // many small messages in one batched frame: the frame is what is bounded
            let small = common::msg(json!([16, 2, {}, "com.small", ["z".repeat(1000)]]));
            let batch: Vec<Message> = std::iter::repeat_n(small, 20).collect();
            p.send_batch(&batch).await;
        } else {
            p.send(publish).await;
        }
        let seen = p.expect_closed().await;
        assert_eq!(seen.len(), 1, "{ser:?}: {seen:?}");
        assert_eq!(seen[0][0], json!(3), "{ser:?}: {seen:?}");
        assert_eq!(
            seen[0][2],
            json!("wamp.error.payload_size_exceeded"),
            "{ser:?}"
        );
    }
    assert_router_serves(&r).await;
}

#[tokio::test]
async fn slow_consumer_is_disconnected_when_its_queue_fills() {
    let r = TestRouter::start_with(limited(|c| c.queue_len = 8)).await;
    let mut slow = r.peer().await;
    slow.subscribe("com.firehose", json!({})).await;
    let mut publisher = r.peer().await;
    let chunk = "x".repeat(60 * 1024);
    // never read by `slow`: the socket buffers fill, then its 8-message queue
    for i in 0..600u64 {
        publisher
            .send_json(json!([16, i + 1, {}, "com.firehose", [chunk]]))
            .await;
        if r.router.session_count() == 1 {
            break;
        }
    }
    let mut watcher = r.peer().await;
    let mut count = json!(0);
    for _ in 0..100 {
        count = watcher.meta("wamp.session.count", json!([])).await;
        if count == json!(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(count, json!(2), "the slow subscriber was not dropped");
    // its connection is released too, not only its session (publisher + watcher remain)
    let mut conns = usize::MAX;
    for _ in 0..100 {
        conns = r.router.connection_counts().0;
        if conns == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        conns, 2,
        "the slow subscriber's connection was not released"
    );
    drop(slow);
    assert_router_serves(&r).await;
}

/// What a Crossbar edge node does at start (≈110 registrations, a few subscriptions, a burst
/// of ~400 log publishes) stays well inside the default limits.
#[tokio::test]
async fn defaults_leave_a_crossbar_node_sized_session_alone() {
    let r = TestRouter::start().await;
    let mut node = r.peer().await;
    for i in 0..150 {
        node.register(&format!("crossbarfabriccenter.node.n1.p{i}"), json!({}))
            .await;
    }
    for i in 0..20 {
        node.subscribe(&format!("com.t{i}"), json!({})).await;
    }
    let mut listener = r.peer().await;
    listener
        .subscribe("crossbarfabriccenter.node.n1.on_log", json!({}))
        .await;
    for i in 0..400u64 {
        node.send_json(json!([
            16,
            i + 1,
            {},
            "crossbarfabriccenter.node.n1.on_log",
            [i]
        ]))
        .await;
    }
    for i in 0..400u64 {
        let ev = listener.recv_json().await;
        assert_eq!(ev[4], json!([i]), "{ev}");
    }
    assert_router_serves(&r).await;
}

/// Idle connections from one address (the lock-out attack: ~1,100 of them once made 35 of 38
/// legitimate joins fail with 503) take at most that address's share of the handshake places,
/// and joined sessions from one address at most its share of the connections.
#[tokio::test]
async fn one_address_cannot_take_every_place() {
    let cfg = limited(|c| {
        c.max_handshakes_per_ip = 4;
        c.max_connections_per_ip = 6;
        c.handshake_timeout = Duration::from_secs(2);
    });
    let r = TestRouter::start_with(cfg).await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(tcp_from(r.addr, "127.0.0.2", None).await);
    }
    wait_counts(&r, |(_, hs)| hs == 4).await;
    let resp = upgrade_response_over(tcp_from(r.addr, "127.0.0.2", None).await).await;
    assert!(resp.starts_with("HTTP/1.1 503 "), "{resp}");
    // another address is not locked out
    let mut other = r.peer().await;
    assert_eq!(other.meta("wamp.session.count", json!([])).await, json!(1));
    drop(idle);
    wait_counts(&r, |(conns, hs)| conns == 1 && hs == 0).await;
    // connections: welcomed sessions count too
    let mut joined = Vec::new();
    for _ in 0..6 {
        let s = tcp_from(r.addr, "127.0.0.3", None).await;
        joined.push(join_over(s, r.addr, Serializer::JSON).await);
    }
    let resp = upgrade_response_over(tcp_from(r.addr, "127.0.0.3", None).await).await;
    assert!(resp.starts_with("HTTP/1.1 503 "), "{resp}");
    joined.pop().expect("a session").close().await;
    wait_counts(&r, |(conns, _)| conns == 6).await;
    let s = tcp_from(r.addr, "127.0.0.3", None).await;
    join_over(s, r.addr, Serializer::JSON).await;
    assert_router_serves(&r).await;
}

/// Collects what a `tracing` subscriber writes.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = self.0.lock().unwrap_or_else(|e| e.into_inner());
        out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A burst of refused requests (once: 12,000 WARN lines) logs one line per kind and 10 s.
#[tokio::test]
async fn refusal_warnings_are_rate_limited() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let r = TestRouter::start_with(sessions(|l| l.max_subscriptions = 1)).await;
    let mut p = r.peer().await;
    p.subscribe("com.t", json!({})).await;
    for i in 0..2_000u64 {
        p.send_json(json!([32, 100 + i, {}, format!("com.t{i}")]))
            .await;
    }
    for _ in 0..2_000 {
        assert_eq!(p.recv_json().await[0], json!(8));
    }
    let text =
        String::from_utf8_lossy(&logs.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    let lines = text.matches("session limit reached").count();
    assert_eq!(lines, 1, "{text}");
}
