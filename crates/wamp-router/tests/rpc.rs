//! RPC over real WebSockets: register/call/yield with payloads, errors, pattern registrations
//! and their precedence, shared registrations and invocation policies, caller disclosure,
//! unregister. Cancel, timeout, progressive results and peers leaving are in `rpc_flow.rs`.

mod common;

use common::{head, msg, Peer, TestRouter};
use serde_json::{json, Value as Json};
use wamp_proto::{Dict, Message, Payload, Serializer, Value};

/// Receives an INVOCATION, checks (registration, details, args) and returns its request id.
async fn expect_invocation(callee: &mut Peer, reg: u64, details: Json, args: Json) -> u64 {
    let inv = callee.recv_json().await;
    let id = inv[1].as_u64().expect("invocation id");
    // Empty arguments are left out on the wire.
    let expected = match args.as_array().map(Vec::is_empty) {
        Some(true) => json!([68, id, reg, details]),
        _ => json!([68, id, reg, details, args]),
    };
    assert_eq!(inv, expected);
    id
}

/// Calls `uri` with `[n]`, lets whichever callee is invoked answer; returns its index.
async fn served_by(caller: &mut Peer, uri: &str, n: u64, callees: &mut [&mut Peer]) -> usize {
    let call = caller.call_start(uri, json!({}), json!([n])).await;
    let (inv, i) = {
        let futs = callees.iter_mut().map(|c| Box::pin(c.recv_json()));
        let (inv, i, _rest) = futures_util::future::select_all(futs).await;
        (inv, i)
    };
    assert_eq!(inv[0], json!(68), "got {inv}");
    assert_eq!(inv[4], json!([n]), "got {inv}");
    callees[i].send_json(json!([70, inv[1], {}, [i]])).await;
    assert_eq!(caller.recv_json().await, json!([50, call, {}, [i]]));
    i
}

#[tokio::test]
async fn call_and_yield_carry_args_kwargs_and_bytes() {
    let r = TestRouter::start().await;
    let mut callee = r.peer().await;
    let mut caller = r.join("realm1", Serializer::CBOR).await;
    let reg = callee.register("com.echo", json!({})).await;
    let payload = Payload::new(
        vec![1.into(), "two".into(), Value::Bytes(vec![1, 2, 3, 255])],
        Dict::from([("k".to_string(), Value::from("v"))]),
    );
    let call = Message::Call {
        request: 7,
        options: Dict::new(),
        procedure: "com.echo".into(),
        payload: payload.clone(),
    };
    caller.send(call).await;
    let inv = callee.recv_json().await;
    // JSON callee sees the binary value in the "\0" + base64 convention.
    assert_eq!(
        inv,
        json!([68, 1, reg, {}, [1, "two", "\u{0}AQID/w=="], {"k": "v"}])
    );
    callee
        .send_json(json!([70, 1, {}, [1, "two", "\u{0}AQID/w=="], {"k": "v"}]))
        .await;
    let expected = Message::Result {
        request: 7,
        details: Dict::new(),
        payload,
    };
    assert_eq!(caller.recv().await, expected);
}

#[tokio::test]
async fn callee_error_reaches_caller_with_uri_args_kwargs() {
    let r = TestRouter::start().await;
    let (mut callee, mut caller) = (r.peer().await, r.peer().await);
    let reg = callee.register("com.fail", json!({})).await;
    let call = caller.call_start("com.fail", json!({}), json!([])).await;
    let inv = expect_invocation(&mut callee, reg, json!({}), json!([])).await;
    callee
        .send_json(json!([8, 68, inv, {}, "com.myapp.error", ["x"], {"y": 1}]))
        .await;
    assert_eq!(
        caller.recv_json().await,
        json!([8, 48, call, {}, "com.myapp.error", ["x"], {"y": 1}])
    );
}

#[tokio::test]
async fn call_without_callee_is_no_such_procedure() {
    let r = TestRouter::start().await;
    let mut caller = r.peer().await;
    let got = caller.call("com.nothere", json!([])).await;
    assert_eq!(
        got,
        json!([
            8,
            48,
            1,
            {},
            "wamp.error.no_such_procedure",
            ["no callee registered for procedure <com.nothere>"]
        ])
    );
}

#[tokio::test]
async fn second_single_registration_is_refused() {
    let r = TestRouter::start().await;
    let (mut a, mut b) = (r.peer().await, r.peer().await);
    a.register("com.ex", json!({})).await;
    b.send_json(json!([64, 4, {}, "com.ex"])).await;
    assert_eq!(
        b.recv_json().await,
        json!([
            8,
            64,
            4,
            {},
            "wamp.error.procedure_already_exists",
            ["register for already registered procedure 'com.ex'"]
        ])
    );
}

#[tokio::test]
async fn registering_wamp_uri_is_refused() {
    let r = TestRouter::start().await;
    let mut a = r.peer().await;
    a.send_json(json!([64, 1, {}, "wamp.foo"])).await;
    assert_eq!(
        a.recv_json().await,
        json!([
            8,
            64,
            1,
            {},
            "wamp.error.invalid_uri",
            ["register for restricted procedure URI 'wamp.foo'"]
        ])
    );
}

#[tokio::test]
async fn pattern_registrations_tell_the_procedure() {
    let r = TestRouter::start().await;
    let (mut callee, mut caller) = (r.peer().await, r.peer().await);
    let pre = callee
        .register("com.pre.", json!({"match": "prefix"}))
        .await;
    let wild = callee
        .register("com..end", json!({"match": "wildcard"}))
        .await;
    let call = caller
        .call_start("com.pre.x.y", json!({}), json!([1]))
        .await;
    let inv = expect_invocation(
        &mut callee,
        pre,
        json!({"procedure": "com.pre.x.y"}),
        json!([1]),
    )
    .await;
    callee.send_json(json!([70, inv, {}, ["p"]])).await;
    assert_eq!(caller.recv_json().await, json!([50, call, {}, ["p"]]));
    let call = caller
        .call_start("com.mid.end", json!({}), json!([2]))
        .await;
    let inv = expect_invocation(
        &mut callee,
        wild,
        json!({"procedure": "com.mid.end"}),
        json!([2]),
    )
    .await;
    callee.send_json(json!([70, inv, {}, ["w"]])).await;
    assert_eq!(caller.recv_json().await, json!([50, call, {}, ["w"]]));
}

/// Registers each (uri, match) on its own callee; returns the callees.
async fn register_each(r: &TestRouter, regs: &[(&str, &str)]) -> Vec<Peer> {
    let mut out = Vec::new();
    for (uri, policy) in regs {
        let mut p = r.peer().await;
        p.register(uri, json!({"match": policy})).await;
        out.push(p);
    }
    out
}

/// Calls `uri` and returns the index of the callee that got the INVOCATION.
async fn winner(caller: &mut Peer, uri: &str, callees: &mut [Peer]) -> usize {
    let mut refs: Vec<&mut Peer> = callees.iter_mut().collect();
    served_by(caller, uri, 0, &mut refs).await
}

#[tokio::test]
async fn exact_beats_longest_prefix_beats_wildcard() {
    let r = TestRouter::start().await;
    let regs = [
        ("a.b.c", "exact"),
        ("a.b", "prefix"),
        ("a.", "prefix"),
        ("a..c", "wildcard"),
    ];
    let mut callees = register_each(&r, &regs).await;
    let mut caller = r.peer().await;
    assert_eq!(winner(&mut caller, "a.b.c", &mut callees).await, 0);
    assert_eq!(winner(&mut caller, "a.b.x", &mut callees).await, 1);
    // Plain string prefix: `a.b` also matches `a.bz`.
    assert_eq!(winner(&mut caller, "a.bz.c", &mut callees).await, 1);
    assert_eq!(winner(&mut caller, "a.x.c", &mut callees).await, 2);
}

#[tokio::test]
async fn wildcard_with_concrete_component_further_left_wins() {
    let r = TestRouter::start().await;
    let mut callees = register_each(&r, &[("a..c", "wildcard"), ("a.b.", "wildcard")]).await;
    let mut caller = r.peer().await;
    assert_eq!(winner(&mut caller, "a.b.c", &mut callees).await, 1);
    assert_eq!(winner(&mut caller, "a.x.c", &mut callees).await, 0);
    let mut more = register_each(&r, &[("p2..b.c", "wildcard"), ("p2.a..c", "wildcard")]).await;
    assert_eq!(winner(&mut caller, "p2.a.b.c", &mut more).await, 1);
}

/// Two callees sharing `uri` with `policy`; returns them and the (shared) registration id.
async fn shared_pair(r: &TestRouter, uri: &str, policy: &str) -> (Peer, Peer) {
    let (mut a, mut b) = (r.peer().await, r.peer().await);
    let ra = a.register(uri, json!({"invoke": policy})).await;
    let rb = b.register(uri, json!({"invoke": policy})).await;
    assert_eq!(ra, rb, "shared registrations share one id");
    (a, b)
}

async fn hits(r: &TestRouter, policy: &str, calls: u64) -> Vec<usize> {
    let (mut a, mut b) = shared_pair(r, "com.shared", policy).await;
    let mut caller = r.peer().await;
    let mut out = Vec::new();
    for n in 0..calls {
        out.push(served_by(&mut caller, "com.shared", n, &mut [&mut a, &mut b]).await);
    }
    out
}

#[tokio::test]
async fn roundrobin_alternates() {
    let r = TestRouter::start().await;
    assert_eq!(hits(&r, "roundrobin", 4).await, vec![0, 1, 0, 1]);
}

#[tokio::test]
async fn first_and_last_stick_to_one_callee() {
    let r = TestRouter::start().await;
    assert_eq!(hits(&r, "first", 3).await, vec![0, 0, 0]);
    let r = TestRouter::start().await;
    assert_eq!(hits(&r, "last", 3).await, vec![1, 1, 1]);
}

#[tokio::test]
async fn random_reaches_both_callees() {
    let r = TestRouter::start().await;
    let got = hits(&r, "random", 50).await;
    assert!(got.contains(&0) && got.contains(&1), "got {got:?}");
}

#[tokio::test]
async fn shared_registration_on_single_is_refused() {
    let r = TestRouter::start().await;
    let (mut a, mut b) = (r.peer().await, r.peer().await);
    a.register("com.one", json!({})).await;
    b.send_json(json!([64, 9, {"invoke": "roundrobin"}, "com.one"]))
        .await;
    assert_eq!(
        b.recv_json().await,
        json!([
            8,
            64,
            9,
            {},
            "wamp.error.procedure_already_exists",
            ["register for already registered procedure 'com.one'"]
        ])
    );
}

#[tokio::test]
async fn conflicting_invocation_policy_is_refused() {
    let r = TestRouter::start().await;
    let (mut a, mut b) = (r.peer().await, r.peer().await);
    a.register("com.shared", json!({"invoke": "roundrobin"}))
        .await;
    b.send_json(json!([64, 6, {"invoke": "random"}, "com.shared"]))
        .await;
    assert_eq!(
        b.recv_json().await,
        json!([8, 64, 6, {}, "wamp.error.procedure_exists_with_different_invocation_policy",
            ["register for already registered procedure 'com.shared' with conflicting invocation policy (has roundrobin and random was requested)"]])
    );
}

#[tokio::test]
async fn disclose_me_discloses_the_caller() {
    let r = TestRouter::start().await;
    let (mut callee, mut caller) = (r.peer().await, r.peer().await);
    let reg = callee.register("com.who", json!({})).await;
    let authid = caller.welcome["authid"].clone();
    caller
        .call_start("com.who", json!({"disclose_me": true}), json!([]))
        .await;
    let details = json!({"caller": caller.session, "caller_authid": authid,
        "caller_authrole": "anonymous"});
    expect_invocation(&mut callee, reg, details, json!([])).await;
    // Without disclose_me nothing is disclosed.
    caller.call_start("com.who", json!({}), json!([])).await;
    expect_invocation(&mut callee, reg, json!({}), json!([])).await;
}

#[tokio::test]
async fn unregister_then_unknown_registration() {
    let r = TestRouter::start().await;
    let (mut callee, mut caller) = (r.peer().await, r.peer().await);
    let reg = callee.register("com.gone", json!({})).await;
    callee.send_json(json!([66, 10, reg])).await;
    assert_eq!(callee.recv_json().await, json!([67, 10]));
    let got = caller.call("com.gone", json!([])).await;
    assert_eq!(got[4], json!("wamp.error.no_such_procedure"));
    callee.send_json(json!([66, 11, reg])).await;
    let text = format!("session {} has no registration {reg}", callee.session);
    assert_eq!(
        callee.recv_json().await,
        json!([8, 66, 11, {}, "wamp.error.no_such_registration", [text]])
    );
}

#[tokio::test]
async fn another_session_cannot_unregister() {
    let r = TestRouter::start().await;
    let (mut owner, mut other) = (r.peer().await, r.peer().await);
    let reg = owner.register("com.mine", json!({})).await;
    other.send(msg(json!([66, 3, reg]))).await;
    let got = other.recv_json().await;
    assert_eq!(
        head(&got, 5),
        json!([8, 66, 3, {}, "wamp.error.no_such_registration"])
    );
    let mut caller = r.peer().await;
    caller.call_start("com.mine", json!({}), json!([])).await;
    expect_invocation(&mut owner, reg, json!({}), json!([])).await;
}
