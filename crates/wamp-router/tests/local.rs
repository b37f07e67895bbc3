//! The in-process transport (`Router::connect_local`) together with WebSocket sessions: a local
//! callee called over WebSocket and the reverse, events from a local publisher, and cleanup
//! when the local client drops its sender.

mod common;

use common::TestRouter;
use serde_json::json;
use wamp_proto::{Dict, Message, Payload, Serializer, Value};

#[tokio::test]
async fn local_session_gets_welcome_like_any_other() {
    let r = TestRouter::start().await;
    let local = r.local("realm1").await;
    assert_eq!(local.welcome["authrole"], json!("anonymous"));
    assert_eq!(local.welcome["authmethod"], json!("anonymous"));
    assert_eq!(local.welcome["realm"], json!("realm1"));
}

#[tokio::test]
async fn websocket_caller_reaches_local_callee() {
    let r = TestRouter::start().await;
    let mut local = r.local("realm1").await;
    let reg = local.register("com.local.add", json!({})).await;
    let mut caller = r.join("realm1", Serializer::MSGPACK).await;
    let call = caller
        .call_start("com.local.add", json!({}), json!([2, 3]))
        .await;
    let inv = local.recv_json().await;
    assert_eq!(inv, json!([68, inv[1], reg, {}, [2, 3]]));
    local.send_json(json!([70, inv[1], {}, [5]])).await;
    assert_eq!(caller.recv_json().await, json!([50, call, {}, [5]]));
}

#[tokio::test]
async fn local_caller_reaches_websocket_callee_with_bytes() {
    let r = TestRouter::start().await;
    let mut callee = r.join("realm1", Serializer::CBOR).await;
    let reg = callee.register("com.ws.echo", json!({})).await;
    let mut local = r.local("realm1").await;
    let payload = Payload::args(vec![Value::Bytes(vec![0, 1, 2])]);
    local
        .send(Message::Call {
            request: 1,
            options: Dict::new(),
            procedure: "com.ws.echo".into(),
            payload: payload.clone(),
        })
        .await;
    let Message::Invocation {
        request,
        registration,
        payload: got,
        ..
    } = callee.recv().await
    else {
        panic!("expected INVOCATION");
    };
    assert_eq!((registration, &got), (reg, &payload));
    callee
        .send(Message::Yield {
            request,
            options: Dict::new(),
            payload: got,
        })
        .await;
    let want = Message::Result {
        request: 1,
        details: Dict::new(),
        payload,
    };
    assert_eq!(local.recv().await, want);
}

#[tokio::test]
async fn local_publisher_reaches_websocket_subscriber() {
    let r = TestRouter::start().await;
    let mut sub = r.peer().await;
    let s = sub.subscribe("com.local.news", json!({})).await;
    let mut local = r.local("realm1").await;
    local
        .send_json(json!([16, 1, {"acknowledge": true}, "com.local.news", ["hi"], {"n": 1}]))
        .await;
    let published = local.recv_json().await;
    assert_eq!(common::head(&published, 2), json!([17, 1]));
    assert_eq!(
        sub.recv_json().await,
        json!([36, s, published[2], {}, ["hi"], {"n": 1}])
    );
}

#[tokio::test]
async fn dropping_the_local_sender_ends_the_session() {
    let r = TestRouter::start().await;
    let mut obs = r.peer().await;
    let on_leave = obs.subscribe("wamp.session.on_leave", json!({})).await;
    let mut local = r.local("realm1").await;
    local.register("com.local.gone", json!({})).await;
    let id = local.session;
    local.close_local();
    let ev = obs.recv_json().await;
    assert_eq!(ev, json!([36, on_leave, ev[2], {}, [id]]));
    assert_eq!(local.try_recv().await, None);
    let got = obs.call("com.local.gone", json!([])).await;
    assert_eq!(got[4], json!("wamp.error.no_such_procedure"));
}

#[tokio::test]
async fn local_goodbye_is_answered() {
    let r = TestRouter::start().await;
    let mut local = r.local("realm1").await;
    local
        .send_json(json!([6, {}, "wamp.close.close_realm"]))
        .await;
    assert_eq!(
        local.recv_json().await,
        json!([6, {}, "wamp.close.goodbye_and_out"])
    );
    assert_eq!(local.try_recv().await, None);
}
