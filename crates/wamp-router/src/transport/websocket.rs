//! WAMP over WebSocket: one connection = an HTTP upgrade, then a reader task that decodes and
//! drives the session, and a writer task that encodes the session's outbound queue (packing
//! several messages into one WebSocket message for batched serializers), sends pings and
//! enforces the pong timeout.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::sync::{mpsc, Notify};
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use tracing::{debug, info_span, warn, Instrument};
use wamp_proto::{dict, Serializer, Value};

use crate::driver::{Driver, Flow};
use crate::error::Abort;
use crate::limits::{self, Admission};
use crate::outgoing::{OutTx, Outgoing};
use crate::transport::http;
use crate::Router;

type Ws<S> = WebSocketStream<S>;

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
    let ws =
        WebSocketStream::from_partially_read(io.into_inner(), early, Role::Server, Some(ws_cfg))
            .await;
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
    run(router, ws, ser, transport, tls_unique, admission)
        .instrument(span)
        .await;
}

async fn answer_plain<S: AsyncRead + AsyncWrite + Unpin>(
    router: &Router,
    io: &mut BufReader<S>,
    method: &str,
    path: &str,
) -> std::io::Result<()> {
    if method != "GET" && method != "HEAD" {
        return http::respond(
            io,
            405,
            "Method Not Allowed",
            "text/plain",
            "method not allowed\n",
        )
        .await;
    }
    if path == "/info" || path.ends_with("/info") {
        let body = serde_status(router);
        return http::respond(io, 200, "OK", "application/json", &body).await;
    }
    let body = format!(
        "<!doctype html><html><head><title>mrealm</title></head><body><h1>mrealm WAMP router</h1>\
         <p>version {}</p><p>WebSocket endpoint: <code>{}</code> (subprotocols wamp.2.cbor, wamp.2.msgpack, \
         wamp.2.json and their .batched variants)</p><p>realms: {}</p><p>sessions: {}</p></body></html>\n",
        env!("CARGO_PKG_VERSION"),
        router.config().path,
        router.realm_names().join(", "),
        router.session_count()
    );
    http::respond(io, 200, "OK", "text/html; charset=utf-8", &body).await
}

fn serde_status(router: &Router) -> String {
    let names: Vec<String> = router
        .realm_names()
        .iter()
        .map(|n| format!("{n:?}"))
        .collect();
    format!(
        "{{\"router\":\"mrealm\",\"version\":\"{}\",\"realms\":[{}],\"sessions\":{}}}\n",
        env!("CARGO_PKG_VERSION"),
        names.join(","),
        router.session_count()
    )
}

/// Runs the session over an established WebSocket.
async fn run<S>(
    router: Arc<Router>,
    ws: Ws<S>,
    ser: Serializer,
    transport: wamp_proto::Dict,
    tls_unique: Option<Vec<u8>>,
    mut admission: Admission,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let cfg = router.config().clone();
    let (sink, stream) = ws.split();
    let (tx, rx) = mpsc::channel(cfg.queue_len);
    let closer = Arc::new(Notify::new());
    let pongs = Arc::new(AtomicU64::new(0));
    let writer_done = Arc::new(Notify::new());
    let out = OutTx::net(tx, closer.clone());
    let writer = Writer {
        sink,
        rx,
        ser,
        closer,
        pongs: pongs.clone(),
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
    let mut driver = Driver::new(router, out, transport, tls_unique);
    let join_by = Instant::now() + cfg.handshake_timeout;
    let mut reader = Reader {
        driver: &mut driver,
        ser,
        pongs: &pongs,
        writer_done: &writer_done,
        admission: &mut admission,
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
    pongs: &'a AtomicU64,
    writer_done: &'a Notify,
    admission: &'a mut Admission,
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
                    warn!("no WELCOME within the handshake timeout: aborting");
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
                    let n = p.as_ref().try_into().map(u64::from_be_bytes).unwrap_or(0);
                    self.pongs.fetch_max(n, Ordering::Relaxed);
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
                Some(Err(e)) => {
                    debug!(error = %e, "WebSocket read failed");
                    return;
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
        }
        Flow::Continue
    }
}

/// Gives the writer a moment to flush a final ABORT/GOODBYE before the connection drops.
async fn wait_writer(writer_done: &Notify) {
    let _ = timeout(Duration::from_secs(2), writer_done.notified()).await;
}

struct Writer<S: AsyncRead + AsyncWrite + Unpin> {
    sink: SplitSink<Ws<S>, WsMessage>,
    rx: mpsc::Receiver<Outgoing>,
    ser: Serializer,
    closer: Arc<Notify>,
    pongs: Arc<AtomicU64>,
    ping_interval: Duration,
    ping_timeout: Duration,
}

/// The WebSocket read buffer, kept for the whole connection (tungstenite's default of 128 KiB
/// costs a large memset per read and 128 KiB per idle connection). A larger message makes
/// tungstenite reserve room for exactly that frame, so this only bounds bytes per read.
const READ_BUFFER: usize = 4 * 1024;

/// The buffer for the HTTP request head (a larger head just takes more reads).
const HEAD_BUFFER: usize = 2 * 1024;

/// How long the final Close frame may take to go out.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Most bytes packed into one batched WebSocket message.
const BATCH_BYTES: usize = 64 * 1024;

impl<S: AsyncRead + AsyncWrite + Unpin> Writer<S> {
    async fn run(mut self) {
        let mut pings: u64 = 0;
        let mut next_ping = Instant::now() + self.ping_interval;
        // When the pong for ping number `.1` is due. Checking against the latest ping instead
        // would drop a healthy client whenever a new ping goes out just before the deadline.
        let mut deadline: Option<(Instant, u64)> = None;
        loop {
            tokio::select! {
                item = self.rx.recv() => {
                    let Some(item) = item else { break };
                    // A peer that stops reading blocks the write (and so the ping checks
                    // below): bound it by the ping deadline.
                    let stall = self.ping_interval + self.ping_timeout;
                    match timeout(stall, self.write(item)).await {
                        Ok(Ok(true)) => {}
                        Ok(Ok(false)) => break,
                        Ok(Err(e)) => { debug!(error = %e, "WebSocket write failed"); return; }
                        Err(_) => { warn!("peer stopped reading (write stalled): closing"); return; }
                    }
                }
                _ = self.closer.notified() => break,
                _ = sleep_until(next_ping) => {
                    pings += 1;
                    next_ping += self.ping_interval;
                    deadline.get_or_insert((Instant::now() + self.ping_timeout, pings));
                    let ping = WsMessage::Ping(Bytes::copy_from_slice(&pings.to_be_bytes()));
                    if !matches!(timeout(self.ping_timeout, self.sink.send(ping)).await, Ok(Ok(()))) { return; }
                }
                _ = sleep_until(deadline.map_or_else(Instant::now, |d| d.0)), if deadline.is_some() => {
                    let pongs = self.pongs.load(Ordering::Relaxed);
                    if pongs >= deadline.map_or(0, |d| d.1) {
                        deadline = (pongs < pings).then(|| (Instant::now() + self.ping_timeout, pings));
                    } else {
                        warn!("no pong within the ping timeout: closing");
                        break;
                    }
                }
            }
        }
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: Utf8Bytes::from_static(""),
        };
        // bounded: a peer that does not read must not keep the session alive
        let _ = timeout(CLOSE_WAIT, async {
            let _ = self.sink.send(WsMessage::Close(Some(frame))).await;
            let _ = self.sink.close().await;
        })
        .await;
    }

    /// Writes one queued item (and, batched, whatever else is ready). `Ok(false)`: close.
    async fn write(&mut self, first: Outgoing) -> Result<bool, WsError> {
        if !self.ser.batched {
            return match first {
                Outgoing::Close => Ok(false),
                item => {
                    let Some(frame) = self.frame(&item) else {
                        return Ok(true);
                    };
                    self.sink.feed(frame).await?;
                    while let Ok(next) = self.rx.try_recv() {
                        if matches!(next, Outgoing::Close) {
                            self.sink.flush().await?;
                            return Ok(false);
                        }
                        if let Some(frame) = self.frame(&next) {
                            self.sink.feed(frame).await?;
                        }
                    }
                    self.sink.flush().await?;
                    Ok(true)
                }
            };
        }
        let mut buf = Vec::with_capacity(1024);
        let mut item = Some(first);
        let mut keep_open = true;
        while let Some(it) = item.take() {
            match &it {
                Outgoing::Close => {
                    keep_open = false;
                    break;
                }
                Outgoing::Msg(m) => log_encode(self.ser.encode_into(m, &mut buf)),
                Outgoing::Shared(s) => match s.body(self.ser.format) {
                    Ok(body) => log_encode(self.ser.frame_into(body, &mut buf)),
                    Err(e) => warn!(error = %e, "cannot encode message"),
                },
            }
            if buf.len() < BATCH_BYTES {
                item = self.rx.try_recv().ok();
            }
        }
        if !buf.is_empty() {
            self.sink.send(self.ws_message(Bytes::from(buf))).await?;
        }
        Ok(keep_open)
    }

    fn frame(&self, item: &Outgoing) -> Option<WsMessage> {
        let bytes = match item {
            Outgoing::Msg(m) => match self.ser.encode(m) {
                Ok(b) => Bytes::from(b),
                Err(e) => {
                    warn!(error = %e, "cannot encode message");
                    return None;
                }
            },
            Outgoing::Shared(s) => match s.body(self.ser.format) {
                Ok(b) => b.clone(),
                Err(e) => {
                    warn!(error = %e, "cannot encode message");
                    return None;
                }
            },
            Outgoing::Close => return None,
        };
        Some(self.ws_message(bytes))
    }

    fn ws_message(&self, bytes: Bytes) -> WsMessage {
        if self.ser.format.is_text() {
            match Utf8Bytes::try_from(bytes) {
                Ok(t) => WsMessage::Text(t),
                Err(_) => WsMessage::Binary(Bytes::new()),
            }
        } else {
            WsMessage::Binary(bytes)
        }
    }
}

fn log_encode(r: Result<(), wamp_proto::ProtoError>) {
    if let Err(e) = r {
        warn!(error = %e, "cannot encode message");
    }
}

/// The peer in Twisted's notation, as Crossbar reports it: `tcp4:127.0.0.1:56254`.
pub fn peer_string(peer: &SocketAddr) -> String {
    match peer {
        SocketAddr::V4(a) => format!("tcp4:{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("tcp6:{}:{}", a.ip(), a.port()),
    }
}
