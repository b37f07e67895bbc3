//! The life of a call over real WebSockets: progressive results, call timeout (milliseconds),
//! CANCEL in modes skip/kill/killnowait, and a callee or caller leaving while a call is in flight.

mod common;

use common::{roles_without_canceling, Peer, TestRouter};
use serde_json::{json, Value as Json};
use wamp_proto::Serializer;

/// A registered callee and a caller on realm1; returns (callee, caller, registration id).
async fn setup(r: &TestRouter, uri: &str) -> (Peer, Peer, u64) {
    let mut callee = r.peer().await;
    let caller = r.peer().await;
    let reg = callee.register(uri, json!({})).await;
    (callee, caller, reg)
}

/// Receives an INVOCATION with `details` and returns its id.
async fn invocation(callee: &mut Peer, reg: u64, details: Json) -> u64 {
    let inv = callee.recv_json().await;
    let id = inv[1]
        .as_u64()
        .unwrap_or_else(|| panic!("not an invocation: {inv}"));
    assert_eq!(inv, json!([68, id, reg, details, [1]]));
    id
}

fn canceled(call: u64, text: &str) -> Json {
    json!([8, 48, call, {}, "wamp.error.canceled", [text]])
}

#[tokio::test]
async fn progressive_results_then_final() {
    let r = TestRouter::start().await;
    let (mut callee, mut caller, reg) = setup(&r, "com.prog").await;
    let call = caller
        .call_start("com.prog", json!({"receive_progress": true}), json!([1]))
        .await;
    let inv = invocation(&mut callee, reg, json!({"receive_progress": true})).await;
    for i in 0..3 {
        callee
            .send_json(json!([70, inv, {"progress": true}, [i]]))
            .await;
    }
    callee.send_json(json!([70, inv, {}, ["done"]])).await;
    for i in 0..3 {
        assert_eq!(
            caller.recv_json().await,
            json!([50, call, {"progress": true}, [i]])
        );
    }
    assert_eq!(caller.recv_json().await, json!([50, call, {}, ["done"]]));
}

#[tokio::test]
async fn call_timeout_is_in_milliseconds() {
    let r = TestRouter::start().await;
    let (mut callee, mut caller, reg) = setup(&r, "com.slow").await;
    let started = std::time::Instant::now();
    let call = caller
        .call_start("com.slow", json!({"timeout": 100}), json!([1]))
        .await;
    let inv = invocation(&mut callee, reg, json!({"timeout": 100})).await;
    assert_eq!(
        caller.recv_json().await,
        json!([8, 48, call, {}, "wamp.error.timeout", ["timeout reached"]])
    );
    let waited = started.elapsed().as_millis();
    assert!((90..1000).contains(&waited), "timed out after {waited} ms");
    assert_eq!(
        callee.recv_json().await,
        json!([69, inv, {"mode": "killnowait", "reason": "wamp.error.timeout"}])
    );
    callee.send_json(json!([70, inv, {}, ["late"]])).await;
    caller.expect_silence(200).await;
}

#[tokio::test]
async fn cancel_skip_answers_caller_and_leaves_callee_alone() {
    let r = TestRouter::start().await;
    let (mut callee, mut caller, reg) = setup(&r, "com.c").await;
    let call = caller.call_start("com.c", json!({}), json!([1])).await;
    let inv = invocation(&mut callee, reg, json!({})).await;
    caller.send_json(json!([49, call, {"mode": "skip"}])).await;
    assert_eq!(caller.recv_json().await, canceled(call, "call canceled"));
    callee.expect_silence(150).await;
    callee.send_json(json!([70, inv, {}, ["late"]])).await;
    caller.expect_silence(150).await;
}

#[tokio::test]
async fn cancel_kill_waits_for_the_callee_yield() {
    let r = TestRouter::start().await;
    let (mut callee, mut caller, reg) = setup(&r, "com.c").await;
    let call = caller.call_start("com.c", json!({}), json!([1])).await;
    let inv = invocation(&mut callee, reg, json!({})).await;
    caller.send_json(json!([49, call, {"mode": "kill"}])).await;
    assert_eq!(
        callee.recv_json().await,
        json!([69, inv, {"mode": "kill", "reason": "wamp.error.canceled"}])
    );
    caller.expect_silence(150).await;
    callee
        .send_json(json!([70, inv, {}, ["result anyway"]]))
        .await;
    assert_eq!(caller.recv_json().await, canceled(call, "call canceled"));
}

#[tokio::test]
async fn cancel_kill_turns_callee_error_into_canceled() {
    let r = TestRouter::start().await;
    let (mut callee, mut caller, reg) = setup(&r, "com.c").await;
    let call = caller.call_start("com.c", json!({}), json!([1])).await;
    let inv = invocation(&mut callee, reg, json!({})).await;
    caller.send_json(json!([49, call, {"mode": "kill"}])).await;
    callee.recv_json().await; // INTERRUPT
    callee
        .send_json(json!([8, 68, inv, {}, "com.app.interrupted", ["bye"]]))
        .await;
    assert_eq!(caller.recv_json().await, canceled(call, "call canceled"));
}

#[tokio::test]
async fn cancel_killnowait_answers_caller_then_interrupts() {
    let r = TestRouter::start().await;
    let (mut callee, mut caller, reg) = setup(&r, "com.c").await;
    let call = caller.call_start("com.c", json!({}), json!([1])).await;
    let inv = invocation(&mut callee, reg, json!({})).await;
    caller
        .send_json(json!([49, call, {"mode": "killnowait"}]))
        .await;
    assert_eq!(caller.recv_json().await, canceled(call, "call canceled"));
    assert_eq!(
        callee.recv_json().await,
        json!([69, inv, {"mode": "killnowait", "reason": "wamp.error.canceled"}])
    );
    callee.send_json(json!([70, inv, {}, ["late"]])).await;
    caller.expect_silence(150).await;
}

#[tokio::test]
async fn cancel_kill_on_callee_without_canceling_is_skip() {
    let r = TestRouter::start().await;
    let mut callee = common::Peer::connect(r.addr, Serializer::JSON).await;
    callee.hello("realm1", roles_without_canceling()).await;
    let reg = callee.register("com.c", json!({})).await;
    let mut caller = r.peer().await;
    let call = caller.call_start("com.c", json!({}), json!([1])).await;
    invocation(&mut callee, reg, json!({})).await;
    caller.send_json(json!([49, call, {"mode": "kill"}])).await;
    assert_eq!(caller.recv_json().await, canceled(call, "call canceled"));
    callee.expect_silence(150).await;
}

#[tokio::test]
async fn callee_leaving_cancels_the_call() {
    let r = TestRouter::start().await;
    let (mut callee, mut caller, reg) = setup(&r, "com.c").await;
    let call = caller.call_start("com.c", json!({}), json!([1])).await;
    invocation(&mut callee, reg, json!({})).await;
    callee.close().await;
    assert_eq!(
        caller.recv_json().await,
        canceled(call, "callee disconnected from in-flight request")
    );
    let again = caller.call("com.c", json!([])).await;
    assert_eq!(again[4], json!("wamp.error.no_such_procedure"));
}

#[tokio::test]
async fn callee_goodbye_cancels_the_call() {
    let r = TestRouter::start().await;
    let (mut callee, mut caller, reg) = setup(&r, "com.c").await;
    let call = caller.call_start("com.c", json!({}), json!([1])).await;
    invocation(&mut callee, reg, json!({})).await;
    callee
        .send_json(json!([6, {}, "wamp.close.close_realm"]))
        .await;
    assert_eq!(
        callee.recv_json().await,
        json!([6, {}, "wamp.close.goodbye_and_out"])
    );
    assert_eq!(
        caller.recv_json().await,
        canceled(call, "callee disconnected from in-flight request")
    );
}

#[tokio::test]
async fn caller_leaving_interrupts_the_callee() {
    let r = TestRouter::start().await;
    let (mut callee, mut caller, reg) = setup(&r, "com.c").await;
    caller.call_start("com.c", json!({}), json!([1])).await;
    let inv = invocation(&mut callee, reg, json!({})).await;
    caller.close().await;
    assert_eq!(
        callee.recv_json().await,
        json!([69, inv, {"mode": "killnowait", "reason": "wamp.error.canceled"}])
    );
    // The late answer goes nowhere and the callee stays in service.
    callee.send_json(json!([70, inv, {}, ["late"]])).await;
    let mut other = r.peer().await;
    let call = other.call_start("com.c", json!({}), json!([1])).await;
    let inv = invocation(&mut callee, reg, json!({})).await;
    callee.send_json(json!([70, inv, {}, ["ok"]])).await;
    assert_eq!(other.recv_json().await, json!([50, call, {}, ["ok"]]));
}
