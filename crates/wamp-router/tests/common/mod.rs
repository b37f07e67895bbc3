//! Shared fixtures of the router integration tests: a router on port 0 and a raw test peer
//! that speaks `wamp_proto::Message` over a real WebSocket (any of the six serializers) or over
//! the in-process transport, with a 2 s receive timeout and JSON views for exact assertions.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value as Json};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wamp_proto::{Message, Serializer, Value};
use wamp_router::{Permission, RealmConfig, Role, Router, RouterConfig};

/// How long `recv` waits before failing the test.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(2);

/// A router serving WebSockets on 127.0.0.1:<random port>, with realms `realm1` and `realm2`.
pub struct TestRouter {
    pub router: Arc<Router>,
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl TestRouter {
    pub async fn start() -> TestRouter {
        TestRouter::start_with(RouterConfig::default()).await
    }

    pub async fn start_with(config: RouterConfig) -> TestRouter {
        let router = Router::new(config);
        for name in ["realm1", "realm2"] {
            router.add_realm(anonymous_realm(name)).expect("add realm");
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stop_rx) = watch::channel(false);
        tokio::spawn(router.clone().serve(listener, stop_rx));
        TestRouter { router, addr, stop }
    }

    /// A WebSocket peer joined on `realm` (full roles), using `ser`.
    pub async fn join(&self, realm: &str, ser: Serializer) -> Peer {
        let mut p = Peer::connect(self.addr, ser).await;
        p.hello(realm, default_roles()).await;
        p
    }

    /// A JSON WebSocket peer joined on `realm1`.
    pub async fn peer(&self) -> Peer {
        self.join("realm1", Serializer::JSON).await
    }

    /// An in-process peer joined on `realm`.
    pub async fn local(&self, realm: &str) -> Peer {
        let mut p = Peer::local(&self.router);
        p.hello(realm, default_roles()).await;
        p
    }
}

impl Drop for TestRouter {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A realm where `anonymous` may do everything.
pub fn anonymous_realm(name: &str) -> RealmConfig {
    RealmConfig::new(
        name,
        vec![Role::new("anonymous", vec![Permission::allow_all()])],
    )
}

/// HELLO roles announcing every client feature the tests use.
pub fn default_roles() -> Json {
    json!({
        "caller": {"features": {"call_canceling": true, "progressive_call_results": true,
            "caller_identification": true, "call_timeout": true}},
        "callee": {"features": {"call_canceling": true, "progressive_call_results": true,
            "caller_identification": true, "pattern_based_registration": true,
            "shared_registration": true}},
        "publisher": {"features": {"publisher_identification": true,
            "publisher_exclusion": true, "subscriber_blackwhite_listing": true}},
        "subscriber": {"features": {"pattern_based_subscription": true,
            "publisher_identification": true}}
    })
}

/// Roles without `call_canceling` (callees that cannot be interrupted).
pub fn roles_without_canceling() -> Json {
    json!({
        "caller": {"features": {}},
        "callee": {"features": {"progressive_call_results": true}},
        "publisher": {"features": {}},
        "subscriber": {"features": {}}
    })
}

/// A message from its JSON list form (no binary values).
pub fn msg(j: Json) -> Message {
    Message::from_value(Value::from(j)).expect("test message must be well-formed")
}

/// The JSON list form of a message, as a JSON client would see it.
pub fn to_json(m: &Message) -> Json {
    serde_json::to_value(m.ser(true)).expect("message encodes as JSON")
}

/// A WebSocket with a client role over plain TCP.
pub type ClientWs = WebSocketStream<MaybeTlsStream<TcpStream>>;

enum Link {
    Ws {
        ws: Box<ClientWs>,
        ser: Serializer,
        queued: std::collections::VecDeque<Message>,
    },
    Local {
        tx: Option<mpsc::Sender<Message>>,
        rx: mpsc::Receiver<Message>,
    },
}

/// A raw WAMP peer: sends and receives whole messages, asserts nothing by itself.
pub struct Peer {
    link: Link,
    /// Session id from WELCOME (0 before).
    pub session: u64,
    /// Details of WELCOME.
    pub welcome: Json,
    next: u64,
}

impl Peer {
    /// Opens a WebSocket to `/ws` offering only `ser`'s subprotocol.
    pub async fn connect(addr: SocketAddr, ser: Serializer) -> Peer {
        let ws = open_ws(addr, ser.subprotocol()).await;
        Peer::from_ws(ws, ser)
    }

    pub fn from_ws(ws: ClientWs, ser: Serializer) -> Peer {
        Peer::new(Link::Ws {
            ws: Box::new(ws),
            ser,
            queued: Default::default(),
        })
    }

    /// An in-process session over `Router::connect_local`.
    pub fn local(router: &Arc<Router>) -> Peer {
        let (tx, rx) = router.connect_local();
        Peer::new(Link::Local { tx: Some(tx), rx })
    }

    fn new(link: Link) -> Peer {
        Peer {
            link,
            session: 0,
            welcome: Json::Null,
            next: 0,
        }
    }

    /// A fresh request id for this peer.
    pub fn req(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// Sends HELLO and waits for WELCOME; returns the session id.
    pub async fn hello(&mut self, realm: &str, roles: Json) -> u64 {
        self.send_json(json!([1, realm, {"roles": roles}])).await;
        let w = self.recv_json().await;
        assert_eq!(w[0], json!(2), "expected WELCOME, got {w}");
        self.session = w[1].as_u64().expect("session id");
        self.welcome = w[2].clone();
        self.session
    }

    pub async fn send(&mut self, m: Message) {
        match &mut self.link {
            Link::Ws { ws, ser, .. } => {
                let bytes = ser.encode(&m).expect("encode");
                ws.send(frame_for(*ser, bytes)).await.expect("ws send");
            }
            Link::Local { tx, .. } => {
                let tx = tx.as_ref().expect("local sender dropped");
                tx.send(m).await.expect("local send");
            }
        }
    }

    pub async fn send_json(&mut self, j: Json) {
        self.send(msg(j)).await;
    }

    /// Sends a raw WebSocket text message.
    pub async fn send_text(&mut self, text: &str) {
        self.send_ws(WsMessage::text(text)).await;
    }

    /// Sends a raw WebSocket binary message.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.send_ws(WsMessage::binary(bytes)).await;
    }

    /// Sends any WebSocket message (raw frames included); errors are ignored.
    pub async fn send_ws(&mut self, m: WsMessage) {
        let Link::Ws { ws, .. } = &mut self.link else {
            panic!("raw WebSocket send on a local peer");
        };
        let _ = ws.send(m).await;
    }

    /// Several messages as one WebSocket message, in a batched serializer's framing.
    pub async fn send_batch(&mut self, msgs: &[Message]) {
        let Link::Ws { ser, .. } = &self.link else {
            panic!("batch on a local peer");
        };
        let ser = *ser;
        assert!(ser.batched, "send_batch needs a batched serializer");
        let mut buf = Vec::new();
        for m in msgs {
            ser.encode_into(m, &mut buf).expect("encode");
        }
        self.send_ws(frame_for(ser, buf)).await;
    }

    /// The next message, or `None` if the connection closed; panics after 2 s.
    pub async fn try_recv(&mut self) -> Option<Message> {
        self.recv_within(RECV_TIMEOUT)
            .await
            .unwrap_or_else(|| panic!("session {}: no message within 2 s", self.session))
    }

    /// `Some(next)` within `limit`, `None` on timeout (inner `None`: closed).
    pub async fn recv_within(&mut self, limit: Duration) -> Option<Option<Message>> {
        tokio::time::timeout(limit, self.next_message()).await.ok()
    }

    /// The next message; panics on timeout or close.
    pub async fn recv(&mut self) -> Message {
        match self.try_recv().await {
            Some(m) => m,
            None => panic!("session {}: connection closed", self.session),
        }
    }

    /// The next message as JSON.
    pub async fn recv_json(&mut self) -> Json {
        to_json(&self.recv().await)
    }

    /// Asserts nothing arrives within `ms` milliseconds.
    pub async fn expect_silence(&mut self, ms: u64) {
        if let Some(m) = self.recv_within(Duration::from_millis(ms)).await {
            panic!("session {}: expected silence, got {:?}", self.session, m);
        }
    }

    /// Reads until the connection closes (2 s max); returns what arrived before.
    pub async fn expect_closed(&mut self) -> Vec<Json> {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + RECV_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.recv_within(left).await {
                Some(Some(m)) => seen.push(to_json(&m)),
                Some(None) => return seen,
                None => panic!("connection not closed within 2 s; got {seen:?}"),
            }
        }
    }

    /// Expects ABORT with `reason`, then the close of the connection.
    pub async fn expect_abort(&mut self, reason: &str) {
        let seen = self.expect_closed().await;
        assert_eq!(seen.len(), 1, "expected exactly one ABORT, got {seen:?}");
        assert_eq!(seen[0][0], json!(3), "expected ABORT, got {seen:?}");
        assert_eq!(seen[0][2], json!(reason), "got {seen:?}");
        assert!(seen[0][1]["message"].is_string(), "got {seen:?}");
    }

    /// Reads until the router closes the WebSocket (2 s max); returns the Close frame's code
    /// (`None`: closed without a code or without a Close frame).
    pub async fn expect_close_code(&mut self) -> Option<u16> {
        let Link::Ws { ws, .. } = &mut self.link else {
            panic!("close code of a local peer");
        };
        let deadline = tokio::time::Instant::now() + RECV_TIMEOUT;
        loop {
            let next = tokio::time::timeout_at(deadline, ws.next())
                .await
                .expect("connection not closed within 2 s");
            match next {
                Some(Ok(WsMessage::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Drops the client side of an in-process session (the transport "closes").
    pub fn close_local(&mut self) {
        if let Link::Local { tx, .. } = &mut self.link {
            tx.take();
        }
    }

    /// Closes a WebSocket peer's connection.
    pub async fn close(mut self) {
        if let Link::Ws { ws, .. } = &mut self.link {
            let _ = ws.close(None).await;
        }
    }

    async fn next_message(&mut self) -> Option<Message> {
        match &mut self.link {
            Link::Ws { ws, ser, queued } => loop {
                if let Some(m) = queued.pop_front() {
                    return Some(m);
                }
                let data = match ws.next().await {
                    Some(Ok(WsMessage::Text(t))) => t.as_bytes().to_vec(),
                    Some(Ok(WsMessage::Binary(b))) => b.to_vec(),
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                    Some(Ok(WsMessage::Frame(_))) => continue,
                    Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => return None,
                };
                let msgs = ser
                    .decode(&data)
                    .expect("router sent an undecodable message");
                queued.extend(msgs);
            },
            Link::Local { rx, .. } => rx.recv().await,
        }
    }
}

fn frame_for(ser: Serializer, bytes: Vec<u8>) -> WsMessage {
    if ser.format.is_text() {
        WsMessage::text(String::from_utf8(bytes).expect("JSON is UTF-8"))
    } else {
        WsMessage::binary(bytes)
    }
}

/// A TCP connection to `addr` from the local address `ip`: on Linux every 127.x.y.z is a
/// loopback address, so `127.0.0.2` stands for another host. `recv_buffer` sets `SO_RCVBUF`.
pub async fn tcp_from(addr: SocketAddr, ip: &str, recv_buffer: Option<u32>) -> TcpStream {
    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
    let local: SocketAddr = format!("{ip}:0").parse().expect("local address");
    sock.bind(local).expect("bind");
    if let Some(size) = recv_buffer {
        sock.set_recv_buffer_size(size).expect("SO_RCVBUF");
    }
    sock.connect(addr).await.expect("connect")
}

/// A peer (`ser`) joined on `realm1` over `stream`.
pub async fn join_over(stream: TcpStream, addr: SocketAddr, ser: Serializer) -> Peer {
    let ws = upgrade(stream, addr, ser.subprotocol(), &[]).await;
    let mut p = Peer::from_ws(ws, ser);
    p.hello("realm1", default_roles()).await;
    p
}

/// A peer (`ser`) joined on `realm1` over a socket with a tiny receive buffer, so that what
/// the router sends it and it does not read piles up in the router rather than in the kernel.
pub async fn stalled_peer(addr: SocketAddr, ser: Serializer) -> Peer {
    let stream = tcp_from(addr, "127.0.0.1", Some(4096)).await;
    join_over(stream, addr, ser).await
}

/// Opens a client WebSocket to `/ws` offering `subprotocol`.
pub async fn open_ws(addr: SocketAddr, subprotocol: &str) -> ClientWs {
    open_ws_with(addr, subprotocol, &[]).await
}

/// Like [`open_ws`], sending `headers` with the upgrade request.
pub async fn open_ws_with(
    addr: SocketAddr,
    subprotocol: &str,
    headers: &[(&'static str, &str)],
) -> ClientWs {
    let stream = TcpStream::connect(addr).await.expect("connect");
    upgrade(stream, addr, subprotocol, headers).await
}

/// The WebSocket upgrade of `/ws` over a connected `stream`.
async fn upgrade(
    stream: TcpStream,
    addr: SocketAddr,
    subprotocol: &str,
    headers: &[(&'static str, &str)],
) -> ClientWs {
    let mut req = format!("ws://{addr}/ws")
        .into_client_request()
        .expect("request");
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_str(subprotocol).expect("header"),
    );
    for (name, value) in headers {
        let value = HeaderValue::from_str(value).expect("header value");
        req.headers_mut().insert(*name, value);
    }
    let (ws, resp) = tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(stream))
        .await
        .expect("WebSocket upgrade");
    assert_eq!(
        resp.headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some(subprotocol)
    );
    ws
}

// === RPC and PubSub helpers: each asserts the router's direct answer ===

impl Peer {
    /// REGISTER with `options`; returns the registration id.
    pub async fn register(&mut self, uri: &str, options: Json) -> u64 {
        let r = self.req();
        self.send_json(json!([64, r, options, uri])).await;
        let got = self.recv_json().await;
        assert_eq!(head(&got, 2), json!([65, r]), "REGISTER {uri}: got {got}");
        got[2].as_u64().expect("registration id")
    }

    /// SUBSCRIBE with `options`; returns the subscription id.
    pub async fn subscribe(&mut self, uri: &str, options: Json) -> u64 {
        let r = self.req();
        self.send_json(json!([32, r, options, uri])).await;
        let got = self.recv_json().await;
        assert_eq!(head(&got, 2), json!([33, r]), "SUBSCRIBE {uri}: got {got}");
        got[2].as_u64().expect("subscription id")
    }

    /// Sends CALL and returns its request id.
    pub async fn call_start(&mut self, uri: &str, options: Json, args: Json) -> u64 {
        let r = self.req();
        self.send_json(json!([48, r, options, uri, args])).await;
        r
    }

    /// CALL and its answer (RESULT or ERROR) as JSON.
    pub async fn call(&mut self, uri: &str, args: Json) -> Json {
        let r = self.call_start(uri, json!({}), args).await;
        let got = self.recv_json().await;
        let is_answer = got[0] == json!(50) && got[1] == json!(r)
            || got[0] == json!(8) && got[1] == json!(48) && got[2] == json!(r);
        assert!(is_answer, "CALL {uri}: unexpected {got}");
        got
    }

    /// CALL to a meta procedure; returns the single result value (panics on ERROR).
    pub async fn meta(&mut self, uri: &str, args: Json) -> Json {
        let got = self.call(uri, args).await;
        assert_eq!(got[0], json!(50), "{uri}: {got}");
        assert_eq!(got[3].as_array().map(Vec::len), Some(1), "{uri}: {got}");
        got[3][0].clone()
    }
}

/// A callee answering `echo.<n>` by returning its arguments; used to check a router still serves.
pub async fn assert_router_serves(r: &TestRouter) {
    let mut callee = r.peer().await;
    let mut caller = r.peer().await;
    let uri = format!("check.alive.{}", callee.session);
    callee.register(&uri, json!({})).await;
    let call = caller.call_start(&uri, json!({}), json!(["ping"])).await;
    let inv = callee.recv_json().await;
    assert_eq!(inv[0], json!(68), "got {inv}");
    assert_eq!(inv[4], json!(["ping"]));
    callee.send_json(json!([70, inv[1], {}, ["pong"]])).await;
    assert_eq!(caller.recv_json().await, json!([50, call, {}, ["pong"]]));
}

/// Sends a raw HTTP request and returns everything the server wrote before closing.
pub async fn http(addr: SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(RECV_TIMEOUT, s.read_to_end(&mut out))
        .await
        .expect("HTTP answer within 2 s")
        .expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

/// The first `n` elements of a JSON message list, for asserting around random ids.
pub fn head(v: &Json, n: usize) -> Json {
    let list = v.as_array().unwrap_or_else(|| panic!("not a list: {v}"));
    Json::Array(list.iter().take(n).cloned().collect())
}
