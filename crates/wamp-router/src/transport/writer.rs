//! The writing side of a WebSocket connection: encodes the session's outbound queue (packing
//! several messages into one WebSocket message for batched serializers), sends pings and
//! closes the connection when no pong answers them in time, or when the peer stops reading,
//! with a close code that says why.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::SplitSink;
use futures_util::SinkExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use tracing::{debug, warn};
use wamp_proto::Serializer;

use crate::outgoing::{close, Closer, OutRx, Outgoing};
use crate::ratelog::warn_limited;

/// How long the final Close frame may take to go out.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Most bytes packed into one batched WebSocket message.
const BATCH_BYTES: usize = 64 * 1024;

/// The pings a connection's writer sent and the pongs that answered them. A ping carries its
/// number; only a pong echoing the number of a ping already sent counts, so a peer cannot
/// answer pings in advance (one unsolicited pong with `ff×8` once kept a frozen peer alive).
#[derive(Debug, Default)]
pub struct Liveness {
    sent: AtomicU64,
    answered: AtomicU64,
}

impl Liveness {
    /// Numbers the next ping (before it is sent, so that its pong can only come later).
    fn next_ping(&self) -> u64 {
        self.sent.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// A pong arrived with `payload`.
    pub fn pong(&self, payload: &[u8]) {
        let Ok(bytes) = <[u8; 8]>::try_from(payload) else {
            return;
        };
        let n = u64::from_be_bytes(bytes);
        if n >= 1 && n <= self.sent.load(Ordering::Acquire) {
            self.answered.fetch_max(n, Ordering::AcqRel);
        }
    }

    /// The highest ping number answered.
    fn answered(&self) -> u64 {
        self.answered.load(Ordering::Acquire)
    }
}

pub(super) struct Writer<S: AsyncRead + AsyncWrite + Unpin> {
    pub sink: SplitSink<WebSocketStream<S>, WsMessage>,
    pub rx: OutRx,
    pub ser: Serializer,
    pub closer: Arc<Closer>,
    pub liveness: Arc<Liveness>,
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Writer<S> {
    pub async fn run(mut self) {
        let mut next_ping = Instant::now() + self.ping_interval;
        // When the pong for ping number `.1` is due. Checking against the latest ping instead
        // would drop a healthy client whenever a new ping goes out just before the deadline.
        let mut deadline: Option<(Instant, u64)> = None;
        let mut pings = 0;
        let code = loop {
            tokio::select! {
                item = self.rx.recv() => {
                    let Some(item) = item else { break close::NORMAL };
                    // A peer that stops reading blocks the write (and so the ping checks
                    // below): bound it by the ping deadline.
                    let stall = self.ping_interval + self.ping_timeout;
                    match timeout(stall, self.write(item)).await {
                        Ok(Ok(None)) => {}
                        Ok(Ok(Some(code))) => break code,
                        Ok(Err(e)) => { debug!(error = %e, "WebSocket write failed"); return; }
                        Err(_) => { warn!("peer stopped reading (write stalled): closing"); return; }
                    }
                }
                _ = self.closer.notified() => break self.closer.code(),
                _ = sleep_until(next_ping) => {
                    pings = self.liveness.next_ping();
                    next_ping += self.ping_interval;
                    deadline.get_or_insert((Instant::now() + self.ping_timeout, pings));
                    let ping = WsMessage::Ping(Bytes::copy_from_slice(&pings.to_be_bytes()));
                    if !matches!(timeout(self.ping_timeout, self.sink.send(ping)).await, Ok(Ok(()))) { return; }
                }
                _ = sleep_until(deadline.map_or_else(Instant::now, |d| d.0)), if deadline.is_some() => {
                    let answered = self.liveness.answered();
                    if answered >= deadline.map_or(0, |d| d.1) {
                        deadline = (answered < pings).then(|| (Instant::now() + self.ping_timeout, pings));
                    } else {
                        warn!("no pong within the ping timeout: closing");
                        break close::NORMAL;
                    }
                }
            }
        };
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: Utf8Bytes::from_static(""),
        };
        // bounded: a peer that does not read must not keep the session alive
        let _ = timeout(CLOSE_WAIT, async {
            let _ = self.sink.send(WsMessage::Close(Some(frame))).await;
            let _ = self.sink.close().await;
        })
        .await;
    }

    /// Writes one queued item (and whatever else is ready). `Some(code)`: close with it.
    async fn write(&mut self, first: Outgoing) -> Result<Option<u16>, WsError> {
        if !self.ser.batched {
            let mut item = Some(first);
            while let Some(it) = item.take() {
                match self.frame(&it) {
                    Ok(Some(frame)) => self.sink.feed(frame).await?,
                    Ok(None) => {}
                    Err(code) => {
                        self.sink.flush().await?;
                        return Ok(Some(code));
                    }
                }
                item = self.rx.try_recv();
            }
            self.sink.flush().await?;
            return Ok(None);
        }
        let mut buf = Vec::with_capacity(1024);
        let mut item = Some(first);
        let mut close = None;
        while let Some(it) = item.take() {
            let encoded = match &it {
                Outgoing::Close(code) => {
                    close = Some(*code);
                    break;
                }
                Outgoing::Msg(m) => self
                    .ser
                    .encode_into(&m.msg, &mut buf)
                    .map_err(|e| (e, true)),
                Outgoing::Shared(s) => match s.body(self.ser.format) {
                    Ok(body) => self.ser.frame_into(body, &mut buf).map_err(|e| (e, false)),
                    Err(e) => Err((e.clone(), false)),
                },
            };
            if let Err((e, private)) = encoded {
                warn_limited!(error = %e, "cannot encode message");
                if private {
                    close = Some(close::INTERNAL);
                    break;
                }
            }
            if buf.len() < BATCH_BYTES {
                item = self.rx.try_recv();
            }
        }
        if !buf.is_empty() {
            self.sink.send(self.ws_message(Bytes::from(buf))).await?;
        }
        Ok(close)
    }

    /// The WebSocket message of one item: `Ok(None)` to skip it (a shared event this
    /// serializer cannot encode), `Err(code)` to close (a Close item, or a message for this
    /// session alone that cannot be encoded: the peer would wait for it forever).
    fn frame(&self, item: &Outgoing) -> Result<Option<WsMessage>, u16> {
        let bytes = match item {
            Outgoing::Msg(m) => match self.ser.encode(&m.msg) {
                Ok(b) => Bytes::from(b),
                Err(e) => {
                    warn_limited!(error = %e, "cannot encode message");
                    return Err(close::INTERNAL);
                }
            },
            Outgoing::Shared(s) => match s.body(self.ser.format) {
                Ok(b) => b.clone(),
                Err(e) => {
                    warn_limited!(error = %e, "cannot encode message");
                    return Ok(None);
                }
            },
            Outgoing::Close(code) => return Err(*code),
        };
        Ok(Some(self.ws_message(bytes)))
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
