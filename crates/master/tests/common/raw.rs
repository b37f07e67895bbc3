//! Raw JSON WebSocket clients for tests that must send WAMP messages out of turn, or hold a
//! handshake half-way (a CHALLENGE pending while something else happens).

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value as Json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use wamp_proto::cryptosign::{self, LEN};

use super::{node_secret, pubkey, Fixture, WAIT};

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// A raw JSON WebSocket to the master.
pub async fn raw(f: &Fixture) -> Ws {
    let mut req = f.url.as_str().into_client_request().expect("request");
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("wamp.2.json"),
    );
    let (ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("upgrade");
    ws
}

pub async fn send(ws: &mut Ws, j: Json) {
    ws.send(WsMessage::text(j.to_string())).await.expect("send");
}

/// The next WAMP message; `Json::Null` once the connection is closed.
pub async fn recv(ws: &mut Ws) -> Json {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("message in time")
        {
            Some(Ok(WsMessage::Text(t))) => return serde_json::from_str(&t).expect("json"),
            Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return Json::Null,
            Some(Ok(_)) => continue,
        }
    }
}

pub async fn expect_abort(ws: &mut Ws, reason: &str) {
    let m = recv(ws).await;
    assert_eq!((&m[0], &m[2]), (&json!(3), &json!(reason)), "{m}");
    assert_eq!(
        recv(ws).await,
        Json::Null,
        "connection stays open after ABORT"
    );
}

pub fn node_hello(i: u8) -> Json {
    let pubkey = pubkey(&node_secret(i));
    json!([1, null, {"authmethods": ["cryptosign"], "authrole": "node", "authextra": {"pubkey": pubkey},
        "roles": {"caller": {}, "publisher": {}, "callee": {}, "subscriber": {}}}])
}

pub fn signature(i: u8, challenge: &Json) -> String {
    sign(&node_secret(i), challenge)
}

/// A cryptosign HELLO for `secret` on `realm` (`None`: no realm), as a user would send it.
pub fn user_hello(secret: &[u8; LEN], realm: Option<&str>) -> Json {
    json!([1, realm, {"authmethods": ["cryptosign"], "authextra": {"pubkey": pubkey(secret)},
        "roles": {"caller": {}, "subscriber": {}}}])
}

/// The AUTHENTICATE signature of `secret` for a CHALLENGE.
pub fn sign(secret: &[u8; LEN], challenge: &Json) -> String {
    let hex = challenge[2]["challenge"].as_str().expect("challenge");
    let bytes: [u8; LEN] = cryptosign::parse_hex(hex).expect("hex");
    cryptosign::sign(secret, &bytes)
}
