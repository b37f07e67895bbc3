//! Transports a session runs over: a WebSocket connection or a pair of in-process channels.
//!
//! A [`Transport`] is opened here and handed to [`crate::Session::join`], which starts it:
//! one writer task owns the sending half (fed by a bounded channel of [`Message`]s, so any
//! number of callers can send without a lock), and the session's reader task owns the
//! receiving half (`Incoming`). A `watch` signal tells the writer to flush and close.
//!
//! On batched serializers the writer packs the messages already queued into one WebSocket
//! message; on plain ones it feeds them and flushes once, so a burst costs one syscall.
//! `ws://` only for now: TLS (`wss://`) needs one of tokio-tungstenite's TLS features; the
//! stream type is already `MaybeTlsStream`, so nothing else changes.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wamp_proto::{Message, Serializer};

use crate::error::{Error, Result};
use crate::options::ConnectOptions;

type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Largest batch the writer builds before sending it (a single bigger message goes alone).
const BATCH_SOFT_LIMIT: usize = 64 * 1024;
/// Most plain messages fed to the socket before one flush.
const FEED_LIMIT: usize = 64;
/// Capacity of the outgoing queue of an in-process transport.
const LOCAL_QUEUE: usize = 1024;

/// A connected transport, not yet carrying a session.
pub struct Transport {
    kind: Kind,
    queue_size: usize,
}

enum Kind {
    Local {
        tx: mpsc::Sender<Message>,
        rx: mpsc::Receiver<Message>,
    },
    WebSocket {
        ws: Box<WsStream>,
        serializer: Serializer,
        max_message_size: usize,
    },
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Local { .. } => f.write_str("Transport(local)"),
            Kind::WebSocket { serializer, .. } => {
                write!(f, "Transport(websocket, {})", serializer.subprotocol())
            }
        }
    }
}

impl Transport {
    /// An in-process transport from a router's channel ends: `tx` carries messages to the
    /// router, `rx` brings the router's messages to this client.
    pub fn local(tx: mpsc::Sender<Message>, rx: mpsc::Receiver<Message>) -> Self {
        Transport {
            kind: Kind::Local { tx, rx },
            queue_size: LOCAL_QUEUE,
        }
    }

    /// Opens a WebSocket connection to `url` offering `opts.serializer`'s subprotocol.
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Self> {
        let fut = open_websocket(url, opts);
        let ws = tokio::time::timeout(opts.connect_timeout, fut)
            .await
            .map_err(|_| Error::Timeout(format!("connecting to {url}")))??;
        let kind = Kind::WebSocket {
            ws: Box::new(ws),
            serializer: opts.serializer,
            max_message_size: opts.max_message_size,
        };
        Ok(Transport {
            kind,
            queue_size: opts.queue_size.max(1),
        })
    }

    /// The serializer in use (`None` for in-process transports, which do not serialize).
    pub fn serializer(&self) -> Option<Serializer> {
        match &self.kind {
            Kind::Local { .. } => None,
            Kind::WebSocket { serializer, .. } => Some(*serializer),
        }
    }

    /// Spawns the writer task and returns the queue to it plus the receiving half.
    pub(crate) fn start(self, close: watch::Receiver<bool>) -> (mpsc::Sender<Message>, Incoming) {
        let (out_tx, out_rx) = mpsc::channel(self.queue_size);
        let incoming = match self.kind {
            Kind::Local { tx, rx } => {
                tokio::spawn(local_writer(out_rx, tx, close));
                Incoming::Local(rx)
            }
            Kind::WebSocket {
                ws,
                serializer,
                max_message_size,
            } => {
                let (sink, stream) = (*ws).split();
                let limit = BATCH_SOFT_LIMIT.min(max_message_size);
                let writer = WsWriter {
                    sink,
                    serializer,
                    batch_limit: limit,
                };
                tokio::spawn(writer.run(out_rx, close));
                Incoming::WebSocket {
                    stream,
                    serializer,
                    queue: VecDeque::new(),
                }
            }
        };
        (out_tx, incoming)
    }
}

async fn open_websocket(url: &str, opts: &ConnectOptions) -> Result<WsStream> {
    let mut request = url.into_client_request()?;
    let proto = opts.serializer.subprotocol();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(proto));
    let config = WebSocketConfig::default()
        .max_message_size(Some(opts.max_message_size))
        .max_frame_size(Some(opts.max_message_size))
        // tungstenite zero-fills its read buffer up to this size before each read: keep it small
        .read_buffer_size(16 * 1024);
    let (ws, response) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
    let agreed = response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok());
    if agreed != Some(proto) {
        return Err(Error::Transport(format!(
            "server did not accept subprotocol {proto} (answered {agreed:?})"
        )));
    }
    tracing::debug!(url, subprotocol = proto, "websocket connected");
    Ok(ws)
}

// === writers ===

/// Waits for the next outgoing message; `None` once closing was asked or every sender is gone.
async fn next_outgoing(
    rx: &mut mpsc::Receiver<Message>,
    close: &mut watch::Receiver<bool>,
) -> Option<Message> {
    if *close.borrow() {
        return rx.try_recv().ok();
    }
    tokio::select! {
        biased;
        msg = rx.recv() => msg,
        _ = close.changed() => rx.try_recv().ok(),
    }
}

async fn local_writer(
    mut rx: mpsc::Receiver<Message>,
    router: mpsc::Sender<Message>,
    mut close: watch::Receiver<bool>,
) {
    while let Some(msg) = next_outgoing(&mut rx, &mut close).await {
        if router.send(msg).await.is_err() {
            tracing::debug!("in-process router side is gone");
            break;
        }
    }
    // Dropping `router` tells the router this session's transport is closed.
}

struct WsWriter {
    sink: SplitSink<WsStream, WsMessage>,
    serializer: Serializer,
    batch_limit: usize,
}

impl WsWriter {
    async fn run(mut self, mut rx: mpsc::Receiver<Message>, mut close: watch::Receiver<bool>) {
        while let Some(first) = next_outgoing(&mut rx, &mut close).await {
            if let Err(e) = self.write_burst(first, &mut rx).await {
                tracing::debug!(error = %e, "websocket write failed");
                return;
            }
        }
        if let Err(e) = self.sink.close().await {
            tracing::debug!(error = %e, "websocket close failed");
        }
    }

    /// Writes `first` and whatever else is already queued, then flushes once.
    async fn write_burst(
        &mut self,
        first: Message,
        rx: &mut mpsc::Receiver<Message>,
    ) -> Result<()> {
        if self.serializer.batched {
            let mut buf = Vec::with_capacity(256);
            self.serializer.encode_into(&first, &mut buf)?;
            while buf.len() < self.batch_limit {
                let Ok(msg) = rx.try_recv() else { break };
                self.serializer.encode_into(&msg, &mut buf)?;
            }
            self.sink.feed(self.frame(buf)?).await?;
        } else {
            self.sink
                .feed(self.frame(self.serializer.encode(&first)?)?)
                .await?;
            for _ in 1..FEED_LIMIT {
                let Ok(msg) = rx.try_recv() else { break };
                self.sink
                    .feed(self.frame(self.serializer.encode(&msg)?)?)
                    .await?;
            }
        }
        self.sink.flush().await?;
        Ok(())
    }

    fn frame(&self, data: Vec<u8>) -> Result<WsMessage> {
        if self.serializer.format.is_text() {
            let text = String::from_utf8(data)
                .map_err(|e| Error::Transport(format!("JSON encoder produced bad UTF-8: {e}")))?;
            return Ok(WsMessage::text(text));
        }
        Ok(WsMessage::binary(data))
    }
}

// === reader half ===

/// The receiving half of a started transport.
pub(crate) enum Incoming {
    Local(mpsc::Receiver<Message>),
    WebSocket {
        stream: SplitStream<WsStream>,
        serializer: Serializer,
        /// Messages of a batch not handed out yet.
        queue: VecDeque<Message>,
    },
}

impl Incoming {
    /// The next message; `None` when the transport is closed.
    pub(crate) async fn next(&mut self) -> Option<Result<Message>> {
        match self {
            Incoming::Local(rx) => rx.recv().await.map(Ok),
            Incoming::WebSocket {
                stream,
                serializer,
                queue,
            } => ws_next(stream, *serializer, queue).await,
        }
    }

    /// Reads and drops messages until the peer closes, for at most `grace`.
    pub(crate) async fn drain(&mut self, grace: Duration) {
        let drain = async { while self.next().await.is_some() {} };
        let _ = tokio::time::timeout(grace, drain).await;
    }
}

async fn ws_next(
    stream: &mut SplitStream<WsStream>,
    serializer: Serializer,
    queue: &mut VecDeque<Message>,
) -> Option<Result<Message>> {
    loop {
        if let Some(msg) = queue.pop_front() {
            return Some(Ok(msg));
        }
        let data = match stream.next().await? {
            Ok(WsMessage::Binary(b)) => b,
            Ok(WsMessage::Text(t)) => t.into(),
            Ok(WsMessage::Close(frame)) => {
                tracing::debug!(?frame, "websocket closed by peer");
                return None;
            }
            Ok(_) => continue, // ping/pong are answered by tungstenite
            Err(e) => return Some(Err(e.into())),
        };
        match serializer.decode(&data) {
            Ok(msgs) => queue.extend(msgs),
            Err(e) => return Some(Err(e.into())),
        }
    }
}
