//! Hostile clients against the whole master (issue #8): forged worker heartbeats, nodes acting
//! outside their URI space, replayed and out-of-turn AUTHENTICATE, HELLO out of turn, huge and
//! deeply nested arguments, a HELLO flood, slow-loris handshakes, and the limits set through
//! `mrealm.toml` keys. After each case the state is checked through the API and a fresh
//! well-behaved client is served.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::raw::{expect_abort, node_hello, raw, recv, send, signature};
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use wamp_client::{AuthenticateResponse, Challenge, Error, PublishOptions, Session};
use wamp_proto::cryptosign::{self, LEN};
use wamp_proto::{dict, Dict, Value};

/// A master with mrealm `mr1` and nodes 1 and 2 paired as `node1`, `node2`.
async fn setup() -> (Fixture, Session, Session, [String; 2]) {
    setup_with(|_| {}).await
}

async fn setup_with(
    tune: impl FnOnce(&mut master::MasterConfig),
) -> (Fixture, Session, Session, [String; 2]) {
    let f = Fixture::start_in(Arc::new(tempfile::tempdir().expect("tempdir")), tune).await;
    let global = f.superuser(None).await;
    create_mrealm(&global, "mr1").await;
    let oid1 = pair_oid(&global, &node_secret(1), "mr1", "node1").await;
    let oid2 = pair_oid(&global, &node_secret(2), "mr1", "node2").await;
    let owner = f.superuser(Some("mr1")).await;
    (f, global, owner, [oid1, oid2])
}

/// A fresh client joins and is served (`get_status` on mr1 as owner).
async fn still_serves(f: &Fixture) {
    let o = f.superuser(Some("mr1")).await;
    let st = call(&o, &format!("{P}get_status"), vec![])
        .await
        .expect("get_status");
    assert_eq!(s(&st, "realm"), "mr1");
}

/// `(oid, status)` of every node of mr1, sorted: the node map as the API shows it.
async fn node_states(owner: &Session) -> Vec<(String, String)> {
    let oids = call(owner, &format!("{P}get_nodes"), vec![])
        .await
        .expect("get_nodes");
    let mut out = Vec::new();
    for oid in oids.as_list().cloned().unwrap_or_default() {
        let n = call(owner, &format!("{P}get_node"), vec![oid.clone()])
            .await
            .expect("get_node");
        let status = n
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        out.push((oid.as_str().unwrap_or_default().to_owned(), status));
    }
    out.sort();
    out
}

async fn publish_ack(s: &Session, topic: &str, args: Vec<Value>) -> Result<(), Error> {
    let opts = PublishOptions {
        acknowledge: true,
        ..PublishOptions::default()
    };
    s.publish(topic, args, Dict::new(), opts).await.map(|_| ())
}

fn router_hb(seq: u64) -> Value {
    dict! {
        "type" => "router", "state" => 1, "timestamp" => 1_795_548_448_000_000_000u64 + seq,
        "period" => 10, "mrealm_id" => "mr1", "seq" => seq,
        "process" => dict! { "num_fds" => 12 },
        "router" => dict! { "messages" => dict! { "call" => 5 }, "sessions" => 1 },
    }
    .into()
}

async fn worker_logs(owner: &Session, oid: &str) -> Vec<Value> {
    let args = vec![oid.into(), "router1".into()];
    let v = call(owner, &format!("{P}get_worker_logs"), args)
        .await
        .expect("get_worker_logs");
    v.as_list().cloned().unwrap_or_default()
}

/// The node-heartbeat variant is in `heartbeats.rs`; this is the worker heartbeat.
#[tokio::test]
async fn worker_heartbeat_for_another_node_is_dropped() {
    let (f, _g, owner, [oid1, oid2]) = setup().await;
    let n1 = f.checked_node(node_secret(1)).await;
    let _n2 = f.checked_node(node_secret(2)).await;
    let topic = "crossbarfabriccenter.node.on_worker_heartbeat";
    publish_ack(
        &n1,
        topic,
        vec!["node2".into(), "router1".into(), router_hb(1)],
    )
    .await
    .expect("publish");
    publish_ack(
        &n1,
        topic,
        vec!["node1".into(), "router1".into(), router_hb(2)],
    )
    .await
    .expect("publish");
    // the genuine one arrives, the forged one never does
    let mut mine = Vec::new();
    for _ in 0..250 {
        mine = worker_logs(&owner, &oid1).await;
        if !mine.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(worker_logs(&owner, &oid2).await, Vec::<Value>::new());
    still_serves(&f).await;
}

#[tokio::test]
async fn node_publishing_or_subscribing_outside_its_space_is_refused() {
    let (f, _g, owner, _) = setup().await;
    let n1 = f.checked_node(node_secret(1)).await;
    let before = node_states(&owner).await;
    for topic in [
        "crossbarfabriccenter.node.node2.on_ready",
        "crossbarfabriccenter.node.node2.on_shutdown",
        "crossbarfabriccenter.mrealm.on_node_ready",
        "crossbarfabriccenter.mrealm.on_tick",
        "com.example.anything",
    ] {
        let r = publish_ack(&n1, topic, vec!["node2".into()]).await;
        let uri = r.err().and_then(|e| e.uri().map(str::to_owned));
        assert_eq!(uri.as_deref(), Some("wamp.error.not_authorized"), "{topic}");
    }
    for topic in [
        "crossbarfabriccenter.mrealm.on_node_ready",
        "crossbarfabriccenter.node.node1.x",
    ] {
        let r = n1.subscribe(topic, Default::default()).await;
        let uri = r.err().and_then(|e| e.uri().map(str::to_owned));
        assert_eq!(uri.as_deref(), Some("wamp.error.not_authorized"), "{topic}");
    }
    assert_eq!(node_states(&owner).await, before, "node map changed");
    still_serves(&f).await;
}

/// Cryptosign options whose challenge answer is recorded into / taken from `sig`.
fn recording_opts(
    secret: [u8; LEN],
    sig: Arc<Mutex<Option<String>>>,
    replay: bool,
) -> wamp_client::JoinOptions {
    let mut opts = cryptosign_opts(secret).authrole("node");
    opts.on_challenge = None;
    opts.on_challenge_sync(move |c: Challenge| {
        let mut slot = sig.lock().unwrap_or_else(|e| e.into_inner());
        if replay {
            return Ok(AuthenticateResponse::new(slot.clone().unwrap_or_default()));
        }
        let hex = c
            .extra
            .get("challenge")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let bytes: [u8; LEN] = cryptosign::parse_hex(hex).expect("challenge hex");
        let signed = cryptosign::sign(&secret, &bytes);
        *slot = Some(signed.clone());
        Ok(AuthenticateResponse::new(signed))
    })
}

#[tokio::test]
async fn replayed_authenticate_on_a_new_session_is_refused() {
    let (f, _g, owner, _) = setup().await;
    let sig = Arc::new(Mutex::new(None));
    let first = join(&f.url, recording_opts(node_secret(1), sig.clone(), false))
        .await
        .expect("node joins");
    first.leave().await.expect("leave");
    assert!(sig.lock().expect("lock").is_some());
    let (reason, _) = abort_reason(join(&f.url, recording_opts(node_secret(1), sig, true)).await);
    assert_eq!(reason, "wamp.error.authentication_failed");
    // nothing changed: the node is offline and can still join with a fresh signature
    assert!(node_states(&owner)
        .await
        .iter()
        .all(|(_, st)| st == "offline"));
    f.checked_node(node_secret(1)).await;
    still_serves(&f).await;
}

#[tokio::test]
async fn messages_out_of_turn_are_protocol_violations() {
    let (f, _g, owner, _) = setup().await;
    let before = node_states(&owner).await;
    const PV: &str = "wamp.error.protocol_violation";
    // before HELLO
    let mut ws = raw(&f).await;
    send(
        &mut ws,
        json!([48, 1, {}, "crossbarfabriccenter.mrealm.get_status", []]),
    )
    .await;
    expect_abort(&mut ws, PV).await;
    // AUTHENTICATE without CHALLENGE
    let mut ws = raw(&f).await;
    send(&mut ws, json!([5, "00", {}])).await;
    expect_abort(&mut ws, PV).await;
    // HELLO while a CHALLENGE is out
    let mut ws = raw(&f).await;
    send(&mut ws, node_hello(1)).await;
    assert_eq!(recv(&mut ws).await[0], json!(4));
    send(&mut ws, node_hello(1)).await;
    expect_abort(&mut ws, PV).await;
    // a second AUTHENTICATE and a second HELLO after WELCOME
    for second in [json!([5, "00", {}]), node_hello(1)] {
        let mut ws = raw(&f).await;
        send(&mut ws, node_hello(1)).await;
        let challenge = recv(&mut ws).await;
        send(&mut ws, json!([5, signature(1, &challenge), {}])).await;
        assert_eq!(recv(&mut ws).await[0], json!(2), "WELCOME");
        send(&mut ws, second).await;
        expect_abort(&mut ws, PV).await;
    }
    // a bad signature
    let mut ws = raw(&f).await;
    send(&mut ws, node_hello(1)).await;
    recv(&mut ws).await;
    send(&mut ws, json!([5, "ab".repeat(96), {}])).await;
    let m = recv(&mut ws).await;
    assert_eq!(m[0], json!(3), "{m}");
    assert_eq!(node_states(&owner).await, before);
    still_serves(&f).await;
}

#[tokio::test]
async fn huge_and_deeply_nested_arguments() {
    let (f, _g, owner, _) = setup().await;
    let before = node_states(&owner).await;
    let huge_list = Value::List((0..100_000).map(Value::from).collect());
    let huge_string = Value::from("x".repeat(900 * 1024));
    let mut nested = Value::from(1);
    for _ in 0..60 {
        nested = Value::List(vec![nested]);
    }
    for arg in [huge_list, huge_string, nested] {
        let (uri, _) = wamp_err(call(&owner, &format!("{P}get_node"), vec![arg]).await);
        assert!(
            uri == "wamp.error.invalid_argument" || uri == "wamp.error.type_check_error",
            "{uri}"
        );
    }
    // beyond the decoder's nesting bound the router ends the session, nothing else
    let mut deep = Value::from(1);
    for _ in 0..200 {
        deep = Value::List(vec![deep]);
    }
    let s = f.superuser(Some("mr1")).await;
    let r = call(&s, &format!("{P}get_node"), vec![deep]).await;
    assert!(r.is_err(), "{r:?}");
    // beyond max_message_size: ABORT payload_size_exceeded, the session ends
    let s = f.superuser(Some("mr1")).await;
    let r = call(
        &s,
        &format!("{P}get_node"),
        vec![Value::from("y".repeat(2 * 1024 * 1024))],
    )
    .await;
    assert!(r.is_err(), "{r:?}");
    assert_eq!(node_states(&owner).await, before);
    still_serves(&f).await;
}

#[tokio::test]
async fn hello_flood_does_not_stop_the_master() {
    let (f, _g, owner, _) = setup().await;
    let mut tasks = Vec::new();
    for i in 0..500u32 {
        let url = f.url.clone();
        tasks.push(tokio::spawn(async move {
            let mut req = url.as_str().into_client_request().expect("request");
            req.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_static("wamp.2.json"),
            );
            let Ok(Ok((mut ws, _))) =
                tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req)).await
            else {
                return false;
            };
            let hello = if i % 2 == 0 {
                json!([1, "mr1", {"roles": {"caller": {}}}])
            } else {
                node_hello(9)
            };
            let _ = ws.send(WsMessage::text(hello.to_string())).await;
            let answered = tokio::time::timeout(WAIT, ws.next()).await;
            matches!(answered, Ok(Some(Ok(_))))
        }));
    }
    // meanwhile a normal client is served
    let st = call(&owner, &format!("{P}get_status"), vec![])
        .await
        .expect("get_status during flood");
    assert_eq!(s(&st, "realm"), "mr1");
    let mut answered = 0;
    for t in tasks {
        answered += usize::from(t.await.expect("flood task"));
    }
    assert_eq!(answered, 500, "every HELLO got an answer");
    still_serves(&f).await;
    for _ in 0..200 {
        if f.master.router().connection_counts().1 == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        f.master.router().connection_counts().1,
        0,
        "handshake slots leaked"
    );
}

async fn upgrade_response(url: &str) -> String {
    let addr = url.trim_start_matches("ws://").trim_end_matches("/ws");
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req =
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
               Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
               Sec-WebSocket-Protocol: wamp.2.json\r\n\r\n";
    let _ = s.write_all(req.as_bytes()).await;
    let mut buf = vec![0u8; 256];
    let n = tokio::time::timeout(WAIT, s.read(&mut buf))
        .await
        .expect("answer")
        .unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// `handshake_timeout` and `max_handshakes` from mrealm.toml: slow-loris sockets fill the
/// handshake slots (a further upgrade gets 503), are cut at the timeout, and then clients join.
#[tokio::test]
async fn slow_loris_handshakes_are_cut_and_bounded() {
    let (f, _g, _owner, _) = setup_with(|c| {
        c.handshake_timeout = Duration::from_millis(500);
        c.max_handshakes = 8;
    })
    .await;
    let addr = f
        .url
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .to_owned();
    let mut loris = Vec::new();
    for _ in 0..8 {
        let mut s = TcpStream::connect(&addr).await.expect("connect");
        s.write_all(b"G").await.expect("first byte");
        loris.push(s);
    }
    for _ in 0..200 {
        if f.master.router().connection_counts().1 >= 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let resp = upgrade_response(&f.url).await;
    assert!(resp.starts_with("HTTP/1.1 503 "), "{resp}");
    // one more byte per 100 ms: still cut at the timeout
    let started = std::time::Instant::now();
    let mut buf = [0u8; 16];
    for s in &mut loris {
        let mut closed = false;
        while !closed && started.elapsed() < WAIT {
            let _ = s.write_all(b"E").await;
            closed = matches!(
                tokio::time::timeout(Duration::from_millis(100), s.read(&mut buf)).await,
                Ok(Ok(0) | Err(_))
            );
        }
        assert!(closed, "slow-loris connection still open");
    }
    still_serves(&f).await;
}

/// `max_pending_calls` from mrealm.toml reaches the router (the controllers are exempt).
#[tokio::test]
async fn pending_call_limit_from_the_config() {
    let (f, _g, owner, _) = setup_with(|c| c.max_pending_calls = 1).await;
    let reg = owner
        .register("com.example.never", Default::default(), |_| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok((vec![], Dict::new()))
        })
        .await
        .expect("register");
    let caller = f.superuser(Some("mr1")).await;
    let c2 = caller.clone();
    let first = tokio::spawn(async move { call(&c2, "com.example.never", vec![]).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (uri, msg) = wamp_err(call(&caller, "com.example.never", vec![]).await);
    assert_eq!(uri, "mrealm.error.too_many_pending_calls", "{msg}");
    first.abort();
    drop(reg);
    still_serves(&f).await;
}
