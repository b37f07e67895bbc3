//! WAMP over WebSocket: one connection = an HTTP upgrade (GET, version 13), then a reader task
//! that decodes and drives the session, and a writer task (`writer.rs`) that encodes the
//! session's outbound queue, sends pings and enforces the pong timeout.
//!
//! Before WELCOME a connection may send at most `max_handshake_message_size` bytes
//! (`meter.rs`); after it, messages up to `max_message_size`. A plain GET or HEAD gets a status
//! page that names no realm (only counts).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::SplitStream;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::sync::Notify;
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::WebSocketStream;
use tracing::{debug, info_span, Instrument};
use wamp_proto::{dict, wamp_errors as err, Serializer, Value};

use super::meter::{HandshakeBytes, Metered};
use super::writer::{Liveness, Writer};
use crate::admission::Admission;
use crate::driver::{Driver, Flow};
use crate::error::Abort;
use crate::limits;
use crate::outgoing::{close, net_queue, Closer};
use crate::ratelog::warn_limited;
use crate::transport::http;
use crate::Router;

type Ws<S> = WebSocketStream<Metered<S>>;

/// Serves one accepted connection until it closes.
pub async fn serve_connection<S>(
    router: Arc<Router>,
    stream: S,
    peer: SocketAddr,
    tls_unique: Option<Vec<u8>>,
    admission: Admission,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let cfg = router.config().clone();
    // Only the HTTP head goes through this buffer; it is dropped once the upgrade is done.
    let mut io = BufReader::with_capacity(HEAD_BUFFER, stream);
    let head = match timeout(cfg.handshake_timeout, http::read_head(&mut io)).await {
        Ok(Ok(Some(head))) => head,
        Ok(Ok(None)) => return,
        Ok(Err(e)) => {
            debug!(%peer, error = %e, "bad HTTP request");
            let _ = http::respond(&mut io, 400, "Bad Request", "text/plain", "bad request\n").await;
            return;
        }
        Err(_) => {
            debug!(%peer, "HTTP request head not received in time");
            return;
        }
    };
    let path = head.path.split('?').next().unwrap_or("");
    if !head.is_upgrade() {
        let _ = answer_plain(&router, &mut io, &head.method, path).await;
        return;
    }
    if let Err((status, text, header)) = head.check_upgrade() {
        let _ =
            http::respond_with(&mut io, status, text, &[header], &format!("{text}\n"), true).await;
        return;
    }
    if path != cfg.path {
        let _ = http::respond(
            &mut io,
            404,
            "Not Found",
            "text/plain",
            "no WebSocket endpoint here\n",
        )
        .await;
        return;
    }
    let Some(ser) = head.choose_serializer() else {
        let body = "no supported WAMP subprotocol offered (wamp.2.{json,msgpack,cbor}[.batched])\n";
        let _ = http::respond(&mut io, 400, "Bad Request", "text/plain", body).await;
        return;
    };
    match http::accept_upgrade(&mut io, &head, ser).await {
        Ok(true) => {}
        _ => return,
    }
    let ws_cfg = WebSocketConfig::default()
        .max_message_size(Some(cfg.max_message_size))
        .max_frame_size(Some(cfg.max_message_size))
        // tungstenite zero-fills its read buffer up to this size before each read: keep it small
        .read_buffer_size(READ_BUFFER);
    // Bytes the client pipelined after its request head go to the WebSocket codec.
    let early = io.buffer().to_vec();
    let before_welcome = cfg.max_handshake_message_size.min(cfg.max_message_size);
    let meter = HandshakeBytes::new(before_welcome, early.len());
    let socket = Metered::new(io.into_inner(), meter.clone());
    let ws = WebSocketStream::from_partially_read(socket, early, Role::Server, Some(ws_cfg)).await;
    let headers = head
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), Value::from(v.as_str())));
    let transport = dict! {
        "channel_type" => if tls_unique.is_some() { "tls" } else { "tcp" },
        "channel_framing" => "websocket",
        "peer" => peer_string(&peer),
        "is_server" => true,
        "is_secure" => tls_unique.is_some(),
        "websocket_protocol" => ser.subprotocol(),
        "http_headers_received" => Value::Dict(headers.collect()),
    };
    let span = info_span!("ws", %peer, serializer = ser.subprotocol());
    let conn = Conn {
        ser,
        tls_unique,
        admission,
        meter,
    };
    run(router, ws, transport, conn).instrument(span).await;
}

async fn answer_plain<S: AsyncRead + AsyncWrite + Unpin>(
    router: &Router,
    io: &mut BufReader<S>,
    method: &str,
    path: &str,
) -> std::io::Result<()> {
    let with_body = method == "GET";
    if !with_body && method != "HEAD" {
        let allow = ("Allow", "GET, HEAD");
        let text = "method not allowed\n";
        return http::respond_with(io, 405, "Method Not Allowed", &[allow], text, true).await;
    }
    if path == "/info" || path.ends_with("/info") {
        let body = json_status(router);
        let ctype = ("Content-Type", "application/json");
        return http::respond_with(io, 200, "OK", &[ctype], &body, with_body).await;
    }
    let body = format!(
        "<!doctype html><html><head><title>mrealm</title></head><body><h1>mrealm WAMP router</h1>\
         <p>version {}</p><p>WebSocket endpoint: <code>{}</code> (subprotocols wamp.2.cbor, wamp.2.msgpack, \
         wamp.2.json and their .batched variants)</p><p>realms: {}</p><p>sessions: {}</p></body></html>\n",
        env!("CARGO_PKG_VERSION"),
        router.config().path,
        router.realm_count(),
        router.session_count()
    );
    let ctype = ("Content-Type", "text/html; charset=utf-8");
    http::respond_with(io, 200, "OK", &[ctype], &body, with_body).await
}

/// The `/info` document: counts only, no realm names (they would tell an unauthenticated
/// visitor every management realm of a master).
fn json_status(router: &Router) -> String {
    format!(
        "{{\"router\":\"mrealm\",\"version\":\"{}\",\"realms\":{},\"sessions\":{}}}\n",
        env!("CARGO_PKG_VERSION"),
        router.realm_count(),
        router.session_count()
    )
}

/// What a connection brings to its session besides the WebSocket.
struct Conn {
    ser: Serializer,
    tls_unique: Option<Vec<u8>>,
    admission: Admission,
    meter: Arc<HandshakeBytes>,
}

/// Runs the session over an established WebSocket.
async fn run<S>(router: Arc<Router>, ws: Ws<S>, transport: wamp_proto::Dict, mut conn: Conn)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let cfg = router.config().clone();
    let (sink, stream) = ws.split();
    let closer = Arc::new(Closer::default());
    let budget = router.queue_budget().clone();
    let (out, rx) = net_queue(cfg.queue_len, cfg.queue_bytes, budget, closer.clone());
    let liveness = Arc::new(Liveness::default());
    let writer_done = Arc::new(Notify::new());
    let writer = Writer {
        sink,
        rx,
        ser: conn.ser,
        closer: closer.clone(),
        liveness: liveness.clone(),
        ping_interval: cfg.ping_interval,
        ping_timeout: cfg.ping_timeout,
    };
    let done = writer_done.clone();
    let wtask = tokio::spawn(
        async move {
            writer.run().await;
            done.notify_one();
        }
        .in_current_span(),
    );
    let mut driver = Driver::new(router, out, transport, conn.tls_unique.take());
    let join_by = Instant::now() + cfg.handshake_timeout;
    let mut reader = Reader {
        driver: &mut driver,
        ser: conn.ser,
        liveness: &liveness,
        closer: &closer,
        writer_done: &writer_done,
        admission: &mut conn.admission,
        meter: &conn.meter,
        join_by,
    };
    reader.run(stream).await;
    driver.closed();
    drop(driver);
    let _ = wtask.await;
}

/// The reading side of one connection.
struct Reader<'a> {
    driver: &'a mut Driver,
    ser: Serializer,
    liveness: &'a Liveness,
    closer: &'a Closer,
    writer_done: &'a Notify,
    admission: &'a mut Admission,
    meter: &'a HandshakeBytes,
    /// The session must be welcomed by then (slow-loris protection).
    join_by: Instant,
}

impl Reader<'_> {
    async fn run<S>(&mut self, mut stream: SplitStream<Ws<S>>)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        loop {
            let in_handshake = self.admission.in_handshake();
            let frame = tokio::select! {
                f = stream.next() => f,
                _ = self.writer_done.notified() => return,
                _ = sleep_until(self.join_by), if in_handshake => {
                    warn_limited!("no WELCOME within the handshake timeout: aborting");
                    self.driver.abort(Abort::new(
                        limits::HANDSHAKE_TIMEOUT,
                        "the opening handshake (HELLO ... WELCOME) took too long",
                    ));
                    return wait_writer(self.writer_done).await;
                }
            };
            let data: Bytes = match frame {
                Some(Ok(WsMessage::Binary(b))) => b,
                Some(Ok(WsMessage::Text(t))) => Bytes::from(t),
                Some(Ok(WsMessage::Pong(p))) => {
                    self.liveness.pong(&p);
                    continue;
                }
                Some(Ok(WsMessage::Ping(_) | WsMessage::Frame(_))) => continue,
                Some(Ok(WsMessage::Close(_))) | None => return,
                Some(Err(WsError::Capacity(e))) => {
                    self.driver.abort(Abort::new(
                        wamp_proto::wamp_errors::PAYLOAD_SIZE_EXCEEDED,
                        format!("message too large: {e}"),
                    ));
                    return wait_writer(self.writer_done).await;
                }
                Some(Err(_)) if self.meter.exceeded() => {
                    let limit = self.meter.limit();
                    self.driver.abort(Abort::new(
                        err::PAYLOAD_SIZE_EXCEEDED,
                        format!("more than {limit} bytes before WELCOME"),
                    ));
                    return wait_writer(self.writer_done).await;
                }
                Some(Err(e)) => {
                    debug!(error = %e, "WebSocket read failed");
                    let code = match e {
                        WsError::Utf8(_) => close::INVALID_DATA,
                        WsError::Protocol(_) => close::PROTOCOL_ERROR,
                        _ => return,
                    };
                    self.closer.close(code);
                    return wait_writer(self.writer_done).await;
                }
            };
            if self.handle(&data) == Flow::Close {
                return wait_writer(self.writer_done).await;
            }
        }
    }

    /// Decodes and handles one WebSocket message (several WAMP messages when batched).
    fn handle(&mut self, data: &[u8]) -> Flow {
        let msgs = match self.ser.decode(data) {
            Ok(m) => m,
            Err(e) => return self.driver.abort(Abort::protocol(e.to_string())),
        };
        for msg in msgs {
            if self.driver.handle(msg) == Flow::Close {
                return Flow::Close;
            }
        }
        if self.admission.in_handshake() && self.driver.session_id().is_some() {
            self.admission.handshake_done();
            self.meter.welcomed();
        }
        Flow::Continue
    }
}

/// Gives the writer a moment to flush a final ABORT/GOODBYE before the connection drops.
async fn wait_writer(writer_done: &Notify) {
    let _ = timeout(Duration::from_secs(2), writer_done.notified()).await;
}

/// The WebSocket read buffer, kept for the whole connection (tungstenite's default of 128 KiB
/// costs a large memset per read and 128 KiB per idle connection). A larger message makes
/// tungstenite reserve room for exactly that frame, so this only bounds bytes per read.
const READ_BUFFER: usize = 4 * 1024;

/// The buffer for the HTTP request head (a larger head just takes more reads).
const HEAD_BUFFER: usize = 2 * 1024;

/// The peer in Twisted's notation, as Crossbar reports it: `tcp4:127.0.0.1:56254`.
pub fn peer_string(peer: &SocketAddr) -> String {
    match peer {
        SocketAddr::V4(a) => format!("tcp4:{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("tcp6:{}:{}", a.ip(), a.port()),
    }
}
