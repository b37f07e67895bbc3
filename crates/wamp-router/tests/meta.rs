//! The WAMP meta API over real WebSockets: session join/leave events and the `wamp.session.*`
//! procedures (count, list, get, kill, kill_by_authid); registration and subscription meta
//! events and the `wamp.registration.*` / `wamp.subscription.*` procedures.

mod common;

use common::{Peer, TestRouter};
use serde_json::{json, Value as Json};

/// Receives an EVENT on `sub` and returns its arguments.
async fn event_args(p: &mut Peer, sub: u64) -> Json {
    let ev = p.recv_json().await;
    assert_eq!(ev[0], json!(36), "expected EVENT, got {ev}");
    assert_eq!(ev[1], json!(sub), "subscription of {ev}");
    assert_eq!(ev[3], json!({}), "details of {ev}");
    assert_eq!(ev.as_array().map(Vec::len), Some(5), "no kwargs in {ev}");
    ev[4].clone()
}

/// Whether `s` looks like `2026-11-24T19:56:13.769Z`.
fn is_timestamp(s: &Json) -> bool {
    let s = s.as_str().unwrap_or("");
    let digits = |r: std::ops::Range<usize>| {
        s.get(r)
            .is_some_and(|x| x.bytes().all(|b| b.is_ascii_digit()))
    };
    s.len() == 24
        && digits(0..4)
        && &s[4..5] == "-"
        && &s[10..11] == "T"
        && &s[19..20] == "."
        && digits(20..23)
        && s.ends_with('Z')
}

fn keys(v: &Json) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("dict").keys().cloned().collect();
    k.sort();
    k
}

#[tokio::test]
async fn on_join_carries_session_details() {
    let r = TestRouter::start().await;
    let mut obs = r.peer().await;
    let sub = obs.subscribe("wamp.session.on_join", json!({})).await;
    let joiner = r.peer().await;
    let args = event_args(&mut obs, sub).await;
    assert_eq!(args.as_array().map(Vec::len), Some(1), "got {args}");
    let d = &args[0];
    let want_keys = [
        "authextra",
        "authid",
        "authmethod",
        "authprovider",
        "authrole",
        "realm",
        "resumable",
        "resume_token",
        "resumed",
        "serializer",
        "session",
        "transport",
    ];
    assert_eq!(keys(d), want_keys);
    assert_eq!(d["realm"], json!("realm1"));
    assert_eq!(d["session"], json!(joiner.session));
    assert_eq!(d["authid"], joiner.welcome["authid"]);
    assert_eq!(d["authrole"], json!("anonymous"));
    assert_eq!(d["authmethod"], json!("anonymous"));
    assert_eq!(d["authprovider"], json!("static"));
    assert_eq!(d["authextra"], json!({}));
    let t = &d["transport"];
    assert_eq!(t["websocket_protocol"], json!("wamp.2.json"));
    assert_eq!(t["channel_framing"], json!("websocket"));
    assert_eq!(t["channel_type"], json!("tcp"));
    assert!(
        t["peer"]
            .as_str()
            .unwrap_or("")
            .starts_with("tcp4:127.0.0.1:"),
        "{t}"
    );
    // an anonymous observer sees no headers (only `trusted` sessions do: disclosure.rs)
    assert_eq!(t["http_headers_received"], json!({}));
}

#[tokio::test]
async fn on_leave_carries_only_the_session_id() {
    let r = TestRouter::start().await;
    let mut obs = r.peer().await;
    let sub = obs.subscribe("wamp.session.on_leave", json!({})).await;
    let leaver = r.peer().await;
    let id = leaver.session;
    leaver.close().await;
    assert_eq!(event_args(&mut obs, sub).await, json!([id]));
}

#[tokio::test]
async fn session_count_list_get() {
    let r = TestRouter::start().await;
    let mut a = r.peer().await;
    let b = r.peer().await;
    let _other_realm = r.join("realm2", wamp_proto::Serializer::JSON).await;
    assert_eq!(a.meta("wamp.session.count", json!([])).await, json!(2));
    assert_eq!(
        a.meta("wamp.session.count", json!([["admin"]])).await,
        json!(0)
    );
    let mut want = vec![a.session, b.session];
    want.sort_unstable();
    assert_eq!(a.meta("wamp.session.list", json!([])).await, json!(want));
    let got = a.meta("wamp.session.get", json!([b.session])).await;
    assert_eq!(got["session"], json!(b.session));
    assert_eq!(got["authid"], b.welcome["authid"]);
    let err = a.call("wamp.session.get", json!([12345])).await;
    assert_eq!(
        err,
        json!([
            8,
            48,
            err[2],
            {},
            "wamp.error.no_such_session",
            ["no session with ID 12345 exists on this router"]
        ])
    );
}

#[tokio::test]
async fn session_kill_says_goodbye_to_the_victim() {
    let r = TestRouter::start().await;
    let mut admin = r.peer().await;
    let mut victim = r.peer().await;
    let kw = json!({"reason": "com.kicked", "message": "bye"});
    let r1 = admin.req();
    admin
        .send_json(json!([
            48,
            r1,
            {},
            "wamp.session.kill",
            [victim.session],
            kw
        ]))
        .await;
    assert_eq!(admin.recv_json().await, json!([50, r1, {}, [null]]));
    assert_eq!(
        victim.expect_closed().await,
        vec![json!([6, {"message": "bye"}, "com.kicked"])]
    );
    assert_eq!(
        admin.meta("wamp.session.list", json!([])).await,
        json!([admin.session])
    );
}

#[tokio::test]
async fn session_kill_default_reason() {
    let r = TestRouter::start().await;
    let mut admin = r.peer().await;
    let mut victim = r.peer().await;
    admin
        .meta("wamp.session.kill", json!([victim.session]))
        .await;
    assert_eq!(
        victim.expect_closed().await,
        vec![json!([6, {}, "wamp.close.normal"])]
    );
}

#[tokio::test]
async fn session_kill_by_authid() {
    let r = TestRouter::start().await;
    let mut admin = r.peer().await;
    let mut victim = r.peer().await;
    let bystander = r.peer().await;
    let authid = victim.welcome["authid"].clone();
    let killed = admin
        .meta("wamp.session.kill_by_authid", json!([authid]))
        .await;
    assert_eq!(killed, json!([victim.session]));
    assert_eq!(victim.expect_closed().await.len(), 1);
    let nobody = admin
        .meta("wamp.session.kill_by_authid", json!(["NOPE"]))
        .await;
    assert_eq!(nobody, json!([]));
    assert_eq!(admin.meta("wamp.session.count", json!([])).await, json!(2));
    drop(bystander);
}

/// Subscribes `obs` to the four registration (or subscription) meta topics.
async fn watch(obs: &mut Peer, kind: &str, verbs: [&str; 4]) -> Vec<u64> {
    let mut subs = Vec::new();
    for v in verbs {
        subs.push(
            obs.subscribe(&format!("wamp.{kind}.on_{v}"), json!({}))
                .await,
        );
    }
    subs
}

#[tokio::test]
async fn registration_meta_events() {
    let r = TestRouter::start().await;
    let mut obs = r.peer().await;
    let subs = watch(
        &mut obs,
        "registration",
        ["create", "register", "unregister", "delete"],
    )
    .await;
    let mut callee = r.peer().await;
    let reg = callee.register("com.m", json!({})).await;
    let created = event_args(&mut obs, subs[0]).await;
    assert!(is_timestamp(&created[1]["created"]), "{created}");
    let details = json!({"id": reg, "created": created[1]["created"], "uri": "com.m",
        "match": "exact", "invoke": "single"});
    assert_eq!(created, json!([callee.session, details]));
    assert_eq!(
        event_args(&mut obs, subs[1]).await,
        json!([callee.session, reg])
    );
    callee.send_json(json!([66, 50, reg])).await;
    assert_eq!(callee.recv_json().await, json!([67, 50]));
    assert_eq!(
        event_args(&mut obs, subs[2]).await,
        json!([callee.session, reg])
    );
    assert_eq!(
        event_args(&mut obs, subs[3]).await,
        json!([callee.session, reg])
    );
}

#[tokio::test]
async fn subscription_meta_events_including_leave() {
    let r = TestRouter::start().await;
    let mut obs = r.peer().await;
    let subs = watch(
        &mut obs,
        "subscription",
        ["create", "subscribe", "unsubscribe", "delete"],
    )
    .await;
    let mut s = r.peer().await;
    let sid = s.subscribe("com.watched", json!({"match": "prefix"})).await;
    let created = event_args(&mut obs, subs[0]).await;
    let details = json!({"id": sid, "created": created[1]["created"], "uri": "com.watched",
        "match": "prefix"});
    assert_eq!(created, json!([s.session, details]));
    assert_eq!(event_args(&mut obs, subs[1]).await, json!([s.session, sid]));
    let id = s.session;
    s.close().await;
    // The real session id, not Crossbar's null.
    assert_eq!(event_args(&mut obs, subs[2]).await, json!([id, sid]));
    assert_eq!(event_args(&mut obs, subs[3]).await, json!([id, sid]));
}

#[tokio::test]
async fn registration_procedures() {
    let r = TestRouter::start().await;
    let mut callee = r.peer().await;
    let ex = callee.register("com.r.exact", json!({})).await;
    let pre = callee.register("com.r.", json!({"match": "prefix"})).await;
    let wild = callee
        .register("com..w", json!({"match": "wildcard"}))
        .await;
    let mut q = r.peer().await;
    let list = q.meta("wamp.registration.list", json!([])).await;
    assert_eq!(
        list,
        json!({"exact": [ex], "prefix": [pre], "wildcard": [wild]})
    );
    let prefix_opts = json!({"match": "prefix"});
    assert_eq!(
        q.meta("wamp.registration.lookup", json!(["com.r.", prefix_opts]))
            .await,
        json!(pre)
    );
    assert_eq!(
        q.meta("wamp.registration.lookup", json!(["com.r."])).await,
        json!(null)
    );
    assert_eq!(
        q.meta("wamp.registration.match", json!(["com.r.exact"]))
            .await,
        json!(ex)
    );
    assert_eq!(
        q.meta("wamp.registration.match", json!(["com.r.zz"])).await,
        json!(pre)
    );
    assert_eq!(
        q.meta("wamp.registration.match", json!(["com.x.w"])).await,
        json!(wild)
    );
    assert_eq!(
        q.meta("wamp.registration.match", json!(["org.x"])).await,
        json!(null)
    );
    let got = q.meta("wamp.registration.get", json!([pre])).await;
    let want = json!({"id": pre, "created": got["created"], "uri": "com.r.", "match": "prefix",
        "invoke": "single"});
    assert_eq!(got, want);
    assert!(is_timestamp(&got["created"]));
    let callees = q.meta("wamp.registration.list_callees", json!([ex])).await;
    assert_eq!(callees, json!([callee.session]));
    assert_eq!(
        q.meta("wamp.registration.count_callees", json!([ex])).await,
        json!(1)
    );
    let err = q.call("wamp.registration.get", json!([1])).await;
    assert_eq!(
        err,
        json!([
            8,
            48,
            err[2],
            {},
            "wamp.error.no_such_registration",
            ["no registration with ID 1 exists on this dealer"]
        ])
    );
}

#[tokio::test]
async fn subscription_procedures() {
    let r = TestRouter::start().await;
    let (mut a, mut b) = (r.peer().await, r.peer().await);
    let ex = a.subscribe("com.s.x", json!({})).await;
    b.subscribe("com.s.x", json!({})).await;
    let pre = a.subscribe("com.s.", json!({"match": "prefix"})).await;
    let wild = a.subscribe("com..x", json!({"match": "wildcard"})).await;
    let mut q = r.peer().await;
    let list = q.meta("wamp.subscription.list", json!([])).await;
    assert_eq!(
        list,
        json!({"exact": [ex], "prefix": [pre], "wildcard": [wild]})
    );
    let opts = json!({"match": "wildcard"});
    assert_eq!(
        q.meta("wamp.subscription.lookup", json!(["com..x", opts]))
            .await,
        json!(wild)
    );
    let mut matched = q.meta("wamp.subscription.match", json!(["com.s.x"])).await;
    let sort = |v: &mut Json| v.as_array_mut().expect("list").sort_by_key(|x| x.as_u64());
    sort(&mut matched);
    let mut want = json!([ex, pre, wild]);
    sort(&mut want);
    assert_eq!(matched, want);
    assert_eq!(
        q.meta("wamp.subscription.match", json!(["org.none"])).await,
        json!(null)
    );
    let got = q.meta("wamp.subscription.get", json!([ex])).await;
    assert_eq!(
        got,
        json!({"id": ex, "created": got["created"], "uri": "com.s.x", "match": "exact"})
    );
    let mut subscribers = q
        .meta("wamp.subscription.list_subscribers", json!([ex]))
        .await;
    sort(&mut subscribers);
    let mut want = json!([a.session, b.session]);
    sort(&mut want);
    assert_eq!(subscribers, want);
    assert_eq!(
        q.meta("wamp.subscription.count_subscribers", json!([ex]))
            .await,
        json!(2)
    );
    let err = q.call("wamp.subscription.get", json!([1])).await;
    assert_eq!(
        err,
        json!([
            8,
            48,
            err[2],
            {},
            "wamp.error.no_such_subscription",
            ["no subscription with ID 1 exists on this broker"]
        ])
    );
}

#[tokio::test]
async fn subscription_list_hides_meta_topic_subscriptions() {
    let r = TestRouter::start().await;
    let mut obs = r.peer().await;
    obs.subscribe("wamp.session.on_join", json!({})).await;
    let list = obs.meta("wamp.subscription.list", json!([])).await;
    assert_eq!(list, json!({"exact": [], "prefix": [], "wildcard": []}));
}
