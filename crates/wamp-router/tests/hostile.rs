//! Hostile and broken clients: undecodable bytes, malformed message shapes, messages out of
//! turn, duplicate request ids, foreign invocations, deep nesting, huge length headers,
//! invalid UTF-8, and a flood of connections that close at once. Each offender gets ABORT
//! `wamp.error.protocol_violation` (or just loses its connection where noted), and the router
//! keeps serving a well-behaved pair of sessions afterwards.

mod common;

use common::{assert_router_serves, Peer, TestRouter};
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use wamp_proto::Serializer;

const VIOLATION: &str = "wamp.error.protocol_violation";

/// A joined session sends `text`; it must be aborted and the router must go on.
async fn text_aborts(text: &str) {
    let r = TestRouter::start().await;
    let mut p = r.peer().await;
    p.send_text(text).await;
    p.expect_abort(VIOLATION).await;
    assert_router_serves(&r).await;
}

/// A joined session using `ser` sends raw `bytes`; it must be aborted.
async fn binary_aborts(ser: Serializer, bytes: Vec<u8>) {
    let r = TestRouter::start().await;
    let mut p = r.join("realm1", ser).await;
    p.send_binary(bytes).await;
    p.expect_abort(VIOLATION).await;
    assert_router_serves(&r).await;
}

#[tokio::test]
async fn invalid_json() {
    text_aborts("{{{").await;
}

#[tokio::test]
async fn invalid_cbor() {
    binary_aborts(Serializer::CBOR, vec![0xff, 0x00, 0x13]).await;
}

#[tokio::test]
async fn invalid_msgpack() {
    binary_aborts(Serializer::MSGPACK, vec![0xc1, 0xc1]).await;
}

#[tokio::test]
async fn message_not_a_list() {
    text_aborts(r#"{"a":1}"#).await;
}

#[tokio::test]
async fn unknown_message_type() {
    text_aborts("[99,1,2]").await;
}

#[tokio::test]
async fn call_with_string_request_id() {
    text_aborts(r#"[48,"x",{},"com.a"]"#).await;
}

#[tokio::test]
async fn publish_with_list_options() {
    text_aborts(r#"[16,1,[],"com.a"]"#).await;
}

#[tokio::test]
async fn too_many_elements() {
    text_aborts("[34,1,2,3]").await;
}

#[tokio::test]
async fn id_above_2_pow_53() {
    text_aborts(r#"[48,9007199254740993,{},"com.x"]"#).await;
}

#[tokio::test]
async fn nesting_200_levels_deep() {
    let deep = format!(
        r#"[48,1,{{}},"com.x",[{}{}]]"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    text_aborts(&deep).await;
}

#[tokio::test]
async fn cbor_array_claiming_2_pow_64_elements() {
    let mut bytes = vec![0x9b];
    bytes.extend([0xff; 8]);
    binary_aborts(Serializer::CBOR, bytes).await;
}

#[tokio::test]
async fn msgpack_array_claiming_4_billion_elements() {
    binary_aborts(
        Serializer::MSGPACK,
        vec![0xdd, 0xff, 0xff, 0xff, 0xff, 0x30],
    )
    .await;
}

#[tokio::test]
async fn cbor_batch_length_running_past_the_end() {
    binary_aborts(Serializer::ALL[0], vec![0x7f, 0xff, 0xff, 0xff, 0x83, 0x06]).await;
}

/// A fresh (not joined) WebSocket session sends `text`; it must be aborted.
async fn fresh_text_aborts(text: &str) {
    let r = TestRouter::start().await;
    let mut p = Peer::connect(r.addr, Serializer::JSON).await;
    p.send_text(text).await;
    p.expect_abort(VIOLATION).await;
    assert_router_serves(&r).await;
}

#[tokio::test]
async fn call_before_hello() {
    fresh_text_aborts(r#"[48,1,{},"com.x"]"#).await;
}

#[tokio::test]
async fn authenticate_without_challenge() {
    fresh_text_aborts(r#"[5,"sig",{}]"#).await;
}

#[tokio::test]
async fn authenticate_after_welcome() {
    text_aborts(r#"[5,"sig",{}]"#).await;
}

#[tokio::test]
async fn second_hello_after_welcome() {
    text_aborts(r#"[1,"realm1",{"roles":{"caller":{}}}]"#).await;
}

#[tokio::test]
async fn router_messages_sent_by_a_client() {
    for text in [
        r#"[2,1,{}]"#,
        r#"[36,1,2,{}]"#,
        r#"[50,1,{}]"#,
        r#"[68,1,2,{}]"#,
    ] {
        text_aborts(text).await;
    }
}

#[tokio::test]
async fn duplicate_in_flight_call_request_id() {
    let r = TestRouter::start().await;
    let mut callee = r.peer().await;
    callee.register("com.slow", json!({})).await;
    let mut caller = r.peer().await;
    caller.send_json(json!([48, 9, {}, "com.slow"])).await;
    callee.recv_json().await; // INVOCATION, never answered
    caller.send_json(json!([48, 9, {}, "com.slow"])).await;
    caller.expect_abort(VIOLATION).await;
    // The callee learns that its caller is gone.
    let interrupt = callee.recv_json().await;
    assert_eq!(interrupt[0], json!(69), "{interrupt}");
    assert_router_serves(&r).await;
}

#[tokio::test]
async fn yield_for_another_sessions_invocation() {
    let r = TestRouter::start().await;
    let mut callee = r.peer().await;
    callee.register("com.owned", json!({})).await;
    let mut caller = r.peer().await;
    let call = caller.call_start("com.owned", json!({}), json!([])).await;
    let inv = callee.recv_json().await;
    let mut thief = r.peer().await;
    thief.send_json(json!([70, inv[1], {}, ["stolen"]])).await;
    thief.expect_abort(VIOLATION).await;
    // The real callee can still answer.
    callee.send_json(json!([70, inv[1], {}, ["mine"]])).await;
    assert_eq!(caller.recv_json().await, json!([50, call, {}, ["mine"]]));
    assert_router_serves(&r).await;
}

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_the_connection() {
    let r = TestRouter::start().await;
    let mut p = r.peer().await;
    let frame = Frame::message(vec![0x5b, 0xff, 0xfe, 0x5d], OpCode::Data(Data::Text), true);
    p.send_ws(WsMessage::Frame(frame)).await;
    let seen = p.expect_closed().await;
    assert!(seen.len() <= 1, "{seen:?}");
    if let Some(abort) = seen.first() {
        assert_eq!(abort[0], json!(3), "{seen:?}");
    }
    assert_router_serves(&r).await;
}

#[tokio::test]
async fn two_hundred_connections_closing_at_once() {
    let r = TestRouter::start().await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let addr = r.addr;
        tasks.push(tokio::spawn(async move {
            if i % 4 == 0 {
                let mut p = Peer::connect(addr, Serializer::CBOR).await;
                p.hello("realm1", common::default_roles()).await;
            } else {
                let _ = tokio::net::TcpStream::connect(addr).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("connection task");
    }
    assert_router_serves(&r).await;
    let mut watcher = r.peer().await;
    for _ in 0..50 {
        if watcher.meta("wamp.session.count", json!([])).await == json!(1) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("sessions of closed connections were not cleaned up");
}
