//! What the router discloses to whom (issue 19, item 6): the HTTP status page on the WebSocket
//! port names no realm, and the session meta API (`wamp.session.on_join`, `wamp.session.get`)
//! shows a session's HTTP headers (`Authorization`, `Cookie`, ...) and authextra to sessions of
//! the `trusted` role only; everyone else gets the same keys with those values blanked.

mod common;

use std::sync::Arc;

use common::{default_roles, http, open_ws_with, Peer, TestRouter};
use serde_json::{json, Value as Json};
use wamp_proto::{dict, Serializer};
use wamp_router::auth::{AuthStep, Authenticator, HelloRequest};
use wamp_router::{Permission, Principal, Role};

#[tokio::test]
async fn status_page_names_no_realm() {
    let r = TestRouter::start().await;
    let _joined = r.peer().await;
    for path in ["/", "/info", "/ws/info"] {
        let resp = http(r.addr, &format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")).await;
        assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{path}: {resp}");
        assert!(!resp.contains("realm1"), "{path} names a realm: {resp}");
        assert!(!resp.contains("realm2"), "{path} names a realm: {resp}");
    }
    let info = http(r.addr, "GET /info HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let body = info.split("\r\n\r\n").nth(1).unwrap_or("");
    let status: Json = serde_json::from_str(body).expect("/info is JSON");
    assert_eq!(status["realms"], json!(2), "{status}");
    assert_eq!(status["sessions"], json!(1), "{status}");
}

/// Welcomes a session with the role it asks for in HELLO (`anonymous` when it asks for none),
/// with an authextra a guest must not see.
struct RoleFromHello;

impl Authenticator for RoleFromHello {
    fn hello(&self, req: &HelloRequest<'_>) -> AuthStep {
        AuthStep::Welcome(Principal {
            realm: req.realm.unwrap_or("realm1").to_owned(),
            authid: "someone".into(),
            authrole: req.authrole.unwrap_or("anonymous").to_owned(),
            authmethod: "anonymous".into(),
            authprovider: "static".into(),
            authextra: dict! { "pairing_secret" => "s3cret" },
        })
    }
}

/// A router whose sessions choose their role (`anonymous` or `trusted`) in HELLO.
async fn router() -> TestRouter {
    let r = TestRouter::start().await;
    let realm = r.router.realm("realm1").expect("realm1");
    realm.set_role(Role::new("trusted", vec![Permission::allow_all()]));
    r.router.set_authenticator(Arc::new(RoleFromHello));
    r
}

/// A session joined with `role`.
async fn join_as(r: &TestRouter, role: &str) -> Peer {
    let mut p = Peer::connect(r.addr, Serializer::JSON).await;
    p.send_json(json!([1, "realm1", {"roles": default_roles(), "authrole": role}]))
        .await;
    let w = p.recv_json().await;
    assert_eq!(w[0], json!(2), "expected WELCOME, got {w}");
    p.session = w[1].as_u64().expect("session id");
    p
}

/// A session sending credentials in its upgrade request.
async fn join_with_credentials(r: &TestRouter) -> Peer {
    let headers = [
        ("Authorization", "Bearer top-secret-token"),
        ("Cookie", "cbtid=secret-cookie"),
    ];
    let ws = open_ws_with(r.addr, "wamp.2.json", &headers).await;
    let mut p = Peer::from_ws(ws, Serializer::JSON);
    p.hello("realm1", default_roles()).await;
    p
}

/// The next `wamp.session.on_join` details on `sub`.
async fn joined(p: &mut Peer, sub: u64) -> Json {
    let ev = p.recv_json().await;
    assert_eq!(
        (ev[0].clone(), ev[1].clone()),
        (json!(36), json!(sub)),
        "{ev}"
    );
    ev[4][0].clone()
}

fn keys(v: &Json) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("dict").keys().cloned().collect();
    k.sort();
    k
}

/// The details as a guest must see them: Crossbar's keys, no headers, no authextra.
fn assert_redacted(d: &Json) {
    let text = d.to_string();
    assert!(!text.contains("top-secret-token"), "{text}");
    assert!(!text.contains("secret-cookie"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
    assert_eq!(d["authextra"], json!({}), "{d}");
    assert_eq!(d["transport"]["http_headers_received"], json!({}), "{d}");
    assert_eq!(d["transport"]["websocket_protocol"], json!("wamp.2.json"));
    assert_eq!(d["authid"], json!("someone"));
}

fn assert_full(d: &Json) {
    let headers = &d["transport"]["http_headers_received"];
    assert_eq!(
        headers["authorization"],
        json!("Bearer top-secret-token"),
        "{d}"
    );
    assert_eq!(headers["cookie"], json!("cbtid=secret-cookie"), "{d}");
    assert_eq!(d["authextra"], json!({"pairing_secret": "s3cret"}), "{d}");
}

#[tokio::test]
async fn guests_see_no_headers_or_authextra_of_other_sessions() {
    let r = router().await;
    let mut guest = join_as(&r, "anonymous").await;
    let sub = guest.subscribe("wamp.session.on_join", json!({})).await;
    let joiner = join_with_credentials(&r).await;
    let seen = joined(&mut guest, sub).await;
    assert_eq!(seen["session"], json!(joiner.session));
    assert_redacted(&seen);
    let got = guest
        .meta("wamp.session.get", json!([joiner.session]))
        .await;
    assert_redacted(&got);
    // the same keys as the full details (Crossbar's shape)
    let mut trusted = join_as(&r, "trusted").await;
    let full = trusted
        .meta("wamp.session.get", json!([joiner.session]))
        .await;
    assert_eq!(keys(&got), keys(&full));
    assert_eq!(keys(&got["transport"]), keys(&full["transport"]));
}

#[tokio::test]
async fn trusted_sessions_see_headers_and_authextra() {
    let r = router().await;
    let mut trusted = join_as(&r, "trusted").await;
    let mut guest = join_as(&r, "anonymous").await;
    let tsub = trusted.subscribe("wamp.session.on_join", json!({})).await;
    let gsub = guest.subscribe("wamp.session.on_join", json!({})).await;
    let joiner = join_with_credentials(&r).await;
    assert_full(&joined(&mut trusted, tsub).await);
    assert_redacted(&joined(&mut guest, gsub).await);
    assert_full(
        &trusted
            .meta("wamp.session.get", json!([joiner.session]))
            .await,
    );
}
