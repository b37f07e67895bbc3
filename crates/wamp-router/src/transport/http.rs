//! The HTTP/1.1 side of a WebSocket listener: reading the request head (bounded in size and
//! time by the caller), choosing the WAMP subprotocol, and the answers that are not an upgrade.

use tokio::io::AsyncRead;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use wamp_proto::Serializer;

/// Largest request head we read.
const MAX_HEAD: usize = 16 * 1024;

/// The parts of an HTTP request head we use.
#[derive(Debug, Default)]
pub struct RequestHead {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl RequestHead {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// Whether this asks for a WebSocket upgrade.
    pub fn is_upgrade(&self) -> bool {
        self.header("upgrade")
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
    }
    /// Whether an upgrade request is one RFC 6455 allows (§4.1, §4.2.2, §4.4): method GET and
    /// `Sec-WebSocket-Version: 13`. `Err` is the answer: status, reason, and the header that
    /// tells the client what would do (405 with `Allow`, 426 with `Sec-WebSocket-Version`).
    pub fn check_upgrade(&self) -> Result<(), (u16, &'static str, (&'static str, &'static str))> {
        if self.method != "GET" {
            return Err((405, "Method Not Allowed", ("Allow", "GET")));
        }
        if self.header("sec-websocket-version").map(str::trim) != Some("13") {
            return Err((426, "Upgrade Required", ("Sec-WebSocket-Version", "13")));
        }
        Ok(())
    }

    /// The first subprotocol in the client's list that we speak.
    pub fn choose_serializer(&self) -> Option<Serializer> {
        self.header("sec-websocket-protocol")?
            .split(',')
            .map(str::trim)
            .find_map(Serializer::from_subprotocol)
    }
}

/// Reads the request head; `Ok(None)` if the peer closed before sending one.
pub async fn read_head<S: AsyncRead + Unpin>(
    r: &mut BufReader<S>,
) -> std::io::Result<Option<RequestHead>> {
    let mut raw = Vec::with_capacity(1024);
    loop {
        // at most one byte past the limit, even if the peer never sends a newline
        let room = (MAX_HEAD + 1 - raw.len()) as u64;
        let n = (&mut *r).take(room).read_until(b'\n', &mut raw).await?;
        if n == 0 {
            return Ok(None);
        }
        if raw.len() > MAX_HEAD {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
        if raw.ends_with(b"\r\n\r\n") || raw.ends_with(b"\n\n") {
            break;
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(&raw) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "malformed HTTP request",
            ))
        }
    }
    Ok(Some(RequestHead {
        method: req.method.unwrap_or("").to_owned(),
        path: req.path.unwrap_or("").to_owned(),
        headers: req
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
    }))
}

/// Answers 101 Switching Protocols for `head` with the chosen subprotocol.
pub async fn accept_upgrade<W: AsyncWrite + Unpin>(
    w: &mut W,
    head: &RequestHead,
    ser: Serializer,
) -> std::io::Result<bool> {
    let Some(key) = head.header("sec-websocket-key") else {
        respond(
            w,
            400,
            "Bad Request",
            "text/plain",
            "missing Sec-WebSocket-Key\n",
        )
        .await?;
        return Ok(false);
    };
    let resp = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: {}\r\nServer: mrealm\r\n\r\n",
        derive_accept_key(key.trim().as_bytes()),
        ser.subprotocol()
    );
    w.write_all(resp.as_bytes()).await?;
    w.flush().await?;
    Ok(true)
}

/// Writes a complete small HTTP response and flushes it.
pub async fn respond<W: AsyncWrite + Unpin>(
    w: &mut W,
    status: u16,
    text: &str,
    ctype: &str,
    body: &str,
) -> std::io::Result<()> {
    respond_with(w, status, text, &[("Content-Type", ctype)], body, true).await
}

/// Writes a complete small HTTP response with `headers`, and `body` only if `send_body` (an
/// answer to HEAD has the headers of the answer to GET, `Content-Length` included, and no body).
pub async fn respond_with<W: AsyncWrite + Unpin>(
    w: &mut W,
    status: u16,
    text: &str,
    headers: &[(&str, &str)],
    body: &str,
    send_body: bool,
) -> std::io::Result<()> {
    let mut resp = format!("HTTP/1.1 {status} {text}\r\n");
    for (name, value) in headers {
        resp.push_str(&format!("{name}: {value}\r\n"));
    }
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        resp.push_str("Content-Type: text/plain\r\n");
    }
    resp.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\nServer: mrealm\r\n\r\n",
        body.len()
    ));
    if send_body {
        resp.push_str(body);
    }
    w.write_all(resp.as_bytes()).await?;
    w.flush().await
}

/// Refuses a connection over the router's connection limits: a plain one gets `503 Service
/// Unavailable` (without waiting for its request), a TLS one is closed. The unread request is
/// drained briefly so that closing does not reset the connection before the peer reads the 503.
pub async fn refuse_busy(mut stream: tokio::net::TcpStream, plain: bool) {
    use tokio::io::AsyncReadExt;
    if plain {
        let body = "connection limit reached, try again later\n";
        let resp = format!(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
             Retry-After: 1\r\nConnection: close\r\nServer: mrealm\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(resp.as_bytes()).await.is_err() {
            return;
        }
        let _ = stream.shutdown().await;
    }
    let mut sink = [0u8; 4096];
    let drain = async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_millis(500), drain).await;
}
