//! Sockets: the master's address from its URL, TCP connections from one of several loopback
//! source addresses (each gives its own ~28k ephemeral ports), the WebSocket opening handshake
//! with `wamp.2.cbor.batched` and small buffers, and the process's open-file limit.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::WebSocketStream;

use crate::error::SimError;

/// The WebSocket subprotocol every simulated node offers (as real nodes negotiate it).
pub const SUBPROTOCOL: &str = "wamp.2.cbor.batched";

/// Connections per source address before the next one is used.
pub const PER_SOURCE: usize = 25_000;

/// Where to connect: the resolved master address and the URL to request.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub url: String,
}

/// Resolves the master's host of a `ws://` URL.
pub async fn resolve(url: &str) -> Result<Target, SimError> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| SimError::Config(format!("not a ws:// URL: {url}")))?;
    let hostport = rest.split('/').next().unwrap_or(rest);
    let hostport = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:80")
    };
    let addr = tokio::net::lookup_host(&hostport)
        .await?
        .next()
        .ok_or_else(|| SimError::Config(format!("cannot resolve {hostport}")))?;
    Ok(Target {
        addr,
        url: url.to_owned(),
    })
}

/// Source addresses for `nodes` connections: `n` given (0 = as many as needed) loopback
/// addresses 127.0.0.1, 127.0.0.2, ... when the master is on loopback; otherwise the OS picks.
pub fn source_addrs(target: &Target, nodes: usize, n: usize) -> Vec<Option<IpAddr>> {
    if !target.addr.ip().is_loopback() || !target.addr.is_ipv4() {
        return vec![None];
    }
    let n = if n == 0 {
        nodes.div_ceil(PER_SOURCE).max(1)
    } else {
        n
    };
    (0..n.min(250))
        .map(|i| Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + i as u8))))
        .collect()
}

/// A TCP connection to the master, bound to `source` first if given.
pub async fn tcp(target: &Target, source: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let sock = match target.addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if let Some(ip) = source {
        sock.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = sock.connect(target.addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Small buffers: an idle simulated node must stay cheap.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(16 << 20))
}

/// The WebSocket handshake offering [`SUBPROTOCOL`]; fails if the master picks another.
pub async fn websocket(
    target: &Target,
    stream: TcpStream,
) -> Result<WebSocketStream<TcpStream>, String> {
    let mut req = target
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| e.to_string())?;
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(SUBPROTOCOL),
    );
    let (ws, resp) = tokio_tungstenite::client_async_with_config(req, stream, Some(ws_config()))
        .await
        .map_err(|e| format!("WebSocket handshake: {e}"))?;
    let proto = resp.headers().get("Sec-WebSocket-Protocol");
    if proto.and_then(|p| p.to_str().ok()) != Some(SUBPROTOCOL) {
        return Err(format!(
            "the master did not accept {SUBPROTOCOL} (got {proto:?})"
        ));
    }
    Ok(ws)
}

/// Raises the open-file limit ([`wamp_client::sys::raise_nofile_limit`]) and checks that
/// `nodes` connections (plus headroom) fit.
pub fn ensure_fds(nodes: usize) -> Result<u64, SimError> {
    let limit = wamp_client::sys::raise_nofile_limit()?;
    let needed = nodes as u64 + 64;
    if needed > limit {
        return Err(SimError::FdLimit {
            nodes,
            needed,
            limit,
        });
    }
    Ok(limit)
}
