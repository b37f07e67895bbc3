//! Messages on their way from the router to one session, and the queue that carries them.
//!
//! Events to many subscribers are built once and shared ([`Shared`]): each serializer in use
//! encodes them once, and every connection using that serializer reuses the bytes.
//!
//! A network session's queue is bounded in messages (`queue_len`) and in bytes (`queue_bytes`,
//! by [`Message::size_hint`]), and all of them together by a byte budget
//! (`queue_bytes_total`, [`QueueBudget`]); a send past a bound fails with [`SendError::Full`]
//! and the realm drops that session as a slow consumer.

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use tokio::sync::{mpsc, Notify};
use wamp_proto::codec::{encode_body, Format};
use wamp_proto::{Message, ProtoError};

/// A message shared by several receivers, with its encodings cached per format.
#[derive(Debug)]
pub struct Shared {
    pub msg: Message,
    /// [`Message::size_hint`], computed once for every queue it enters.
    size: usize,
    encoded: [OnceLock<Result<Bytes, ProtoError>>; 3],
}

impl Shared {
    pub fn new(msg: Message) -> Arc<Self> {
        Arc::new(Shared {
            size: msg.size_hint(),
            msg,
            encoded: Default::default(),
        })
    }
    /// The message body in `format`, encoded on first use.
    pub fn body(&self, format: Format) -> Result<&Bytes, &ProtoError> {
        self.encoded[format.index()]
            .get_or_init(|| {
                let mut out = Vec::with_capacity(128);
                encode_body(format, &self.msg, &mut out).map(|_| Bytes::from(out))
            })
            .as_ref()
    }
}

/// A message for one session, with its size for the queue's byte bound.
#[derive(Debug)]
pub struct Private {
    pub msg: Message,
    size: usize,
}

/// WebSocket close codes (RFC 6455 §7.4.1) the router closes with.
pub mod close {
    /// The session ended normally (GOODBYE, ABORT of a refused HELLO, shutdown).
    pub const NORMAL: u16 = 1000;
    /// The peer broke the protocol (WAMP or WebSocket).
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text message was not UTF-8.
    pub const INVALID_DATA: u16 = 1007;
    /// A message was larger than the router accepts.
    pub const TOO_BIG: u16 = 1009;
    /// The router cannot go on serving this session (it is too slow to read what it is sent,
    /// or a message to it cannot be encoded).
    pub const INTERNAL: u16 = 1011;
}

/// One item in a session's outbound queue.
///
/// Kept two words wide: a queue allocates room for a block of items up front, so a large
/// item type would cost every idle session kilobytes (a [`Message`] is a few hundred bytes).
#[derive(Debug)]
pub enum Outgoing {
    Msg(Box<Private>),
    Shared(Arc<Shared>),
    /// Close the connection, with this WebSocket close code, after everything queued before
    /// this has been written.
    Close(u16),
}

impl Outgoing {
    /// A message for this session only.
    pub fn msg(m: Message) -> Self {
        let size = m.size_hint();
        Outgoing::Msg(Box::new(Private { msg: m, size }))
    }
    pub fn message(&self) -> Option<&Message> {
        match self {
            Outgoing::Msg(m) => Some(&m.msg),
            Outgoing::Shared(s) => Some(&s.msg),
            Outgoing::Close(_) => None,
        }
    }
    /// The bytes it counts for in a queue.
    fn size(&self) -> usize {
        match self {
            Outgoing::Msg(m) => m.size,
            Outgoing::Shared(s) => s.size,
            Outgoing::Close(_) => 0,
        }
    }
}

/// Why a message could not be queued for a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The session's queue is full (in messages or bytes): it is not reading fast enough.
    Full,
    /// The session is gone.
    Closed,
}

/// The budget of bytes queued for all network sessions together (`queue_bytes_total`).
///
/// Past it, a message is refused to a session already holding more than its share (the budget
/// divided among the sessions holding anything): those are the ones not reading, and they are
/// dropped as slow consumers; a session that keeps up holds almost nothing and is unaffected.
/// Shared events count in full for each queue holding them (a stalled queue pins all of it).
#[derive(Debug)]
pub struct QueueBudget {
    limit: usize,
    total: AtomicUsize,
    /// Sessions whose queue holds at least one byte.
    holders: AtomicUsize,
}

impl QueueBudget {
    pub fn new(limit: usize) -> Self {
        QueueBudget {
            limit,
            total: AtomicUsize::new(0),
            holders: AtomicUsize::new(0),
        }
    }

    /// Bytes queued now.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }
}

/// The bytes queued for one network session, within its bound and the shared budget.
#[derive(Debug)]
struct QueueBytes {
    own: AtomicUsize,
    max: usize,
    budget: Arc<QueueBudget>,
}

impl QueueBytes {
    /// Counts `size` more unless that breaks a bound; an empty queue always takes a message.
    fn reserve(&self, size: usize) -> bool {
        let own = self.own.load(Ordering::Relaxed);
        let b = &self.budget;
        if own > 0 {
            if own + size > self.max {
                return false;
            }
            let share = b.limit / b.holders.load(Ordering::Relaxed).max(1);
            if b.total.load(Ordering::Relaxed) + size > b.limit && own > share {
                return false;
            }
        }
        if self.own.fetch_add(size, Ordering::AcqRel) == 0 {
            b.holders.fetch_add(1, Ordering::AcqRel);
        }
        b.total.fetch_add(size, Ordering::AcqRel);
        true
    }

    fn release(&self, size: usize) {
        if self.own.fetch_sub(size, Ordering::AcqRel) == size {
            self.budget.holders.fetch_sub(1, Ordering::AcqRel);
        }
        self.budget.total.fetch_sub(size, Ordering::AcqRel);
    }
}

/// How a session's connection is told to close at once, and with which code.
#[derive(Debug, Default)]
pub struct Closer {
    notify: Notify,
    code: AtomicU16,
}

impl Closer {
    /// Asks the connection to close with `code` without draining its queue.
    pub fn close(&self, code: u16) {
        self.code.store(code, Ordering::Relaxed);
        self.notify.notify_one();
    }
    /// Waits for [`Closer::close`].
    pub async fn notified(&self) {
        self.notify.notified().await
    }
    /// The code given to [`Closer::close`] (0 before).
    pub fn code(&self) -> u16 {
        self.code.load(Ordering::Relaxed)
    }
}

/// The sending end of a session's outbound queue, plus a way to close it when the queue is full.
#[derive(Debug, Clone)]
pub struct OutTx {
    kind: TxKind,
    closer: Arc<Closer>,
}

#[derive(Debug, Clone)]
enum TxKind {
    /// A network connection: its writer task encodes; bounded in messages and bytes.
    Net(mpsc::Sender<Outgoing>, Arc<QueueBytes>),
    /// An in-process client: typed messages, no encoding.
    Local(mpsc::Sender<Message>),
}

/// The receiving end of a network session's queue: gives the bytes back as items leave it.
#[derive(Debug)]
pub struct OutRx {
    rx: mpsc::Receiver<Outgoing>,
    bytes: Arc<QueueBytes>,
}

impl OutRx {
    pub async fn recv(&mut self) -> Option<Outgoing> {
        let item = self.rx.recv().await?;
        self.bytes.release(item.size());
        Some(item)
    }
    pub fn try_recv(&mut self) -> Option<Outgoing> {
        let item = self.rx.try_recv().ok()?;
        self.bytes.release(item.size());
        Some(item)
    }
}

impl Drop for OutRx {
    /// What is still queued leaves the budget with the session.
    fn drop(&mut self) {
        self.rx.close();
        while self.try_recv().is_some() {}
    }
}

/// A network session's queue: at most `len` messages and `max_bytes` bytes (always at least
/// one message), sharing `budget` with every other network session.
pub fn net_queue(
    len: usize,
    max_bytes: usize,
    budget: Arc<QueueBudget>,
    closer: Arc<Closer>,
) -> (OutTx, OutRx) {
    let (tx, rx) = mpsc::channel(len.max(1));
    let bytes = Arc::new(QueueBytes {
        own: AtomicUsize::new(0),
        max: max_bytes,
        budget,
    });
    let out = OutTx {
        kind: TxKind::Net(tx, bytes.clone()),
        closer,
    };
    (out, OutRx { rx, bytes })
}

impl OutTx {
    /// A queue to an in-process client.
    pub fn local(tx: mpsc::Sender<Message>, closer: Arc<Closer>) -> Self {
        OutTx {
            kind: TxKind::Local(tx),
            closer,
        }
    }

    /// Queues without waiting.
    pub fn send(&self, out: Outgoing) -> Result<(), SendError> {
        match &self.kind {
            TxKind::Net(tx, bytes) => {
                let size = out.size();
                if size > 0 && !bytes.reserve(size) {
                    return Err(SendError::Full);
                }
                tx.try_send(out).map_err(|e| {
                    bytes.release(size);
                    map_err(e)
                })
            }
            TxKind::Local(tx) => match out {
                Outgoing::Msg(m) => tx.try_send(m.msg).map_err(map_err),
                Outgoing::Shared(s) => tx.try_send(s.msg.clone()).map_err(map_err),
                Outgoing::Close(code) => {
                    self.closer.close(code);
                    Ok(())
                }
            },
        }
    }

    pub fn msg(&self, m: Message) -> Result<(), SendError> {
        self.send(Outgoing::msg(m))
    }

    /// Closes the connection with `code` without waiting for the queue to drain.
    pub fn close_now(&self, code: u16) {
        self.closer.close(code);
    }
}

fn map_err<T>(e: mpsc::error::TrySendError<T>) -> SendError {
    match e {
        mpsc::error::TrySendError::Full(_) => SendError::Full,
        mpsc::error::TrySendError::Closed(_) => SendError::Closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_item_is_small() {
        assert!(std::mem::size_of::<Outgoing>() <= 16);
    }

    fn event(bytes: usize) -> Outgoing {
        let payload = wamp_proto::Payload::args(vec![wamp_proto::Value::Bytes(vec![0; bytes])]);
        Outgoing::Shared(Shared::new(Message::Event {
            subscription: 1,
            publication: 2,
            details: Default::default(),
            payload,
        }))
    }

    #[test]
    fn a_queue_is_bounded_in_bytes_and_gives_them_back() {
        let budget = Arc::new(QueueBudget::new(1 << 30));
        let (tx, mut rx) = net_queue(100, 10_000, budget.clone(), Arc::default());
        // an empty queue takes even a message above the bound
        tx.send(event(20_000)).expect("first");
        assert_eq!(tx.send(event(10)), Err(SendError::Full));
        rx.try_recv().expect("queued");
        assert_eq!(budget.total(), 0);
        for _ in 0..4 {
            tx.send(event(2_000)).expect("within the bound");
        }
        assert_eq!(tx.send(event(2_000)), Err(SendError::Full));
        drop(rx);
        assert_eq!(budget.total(), 0, "a closed queue gives its bytes back");
        assert_eq!(budget.holders.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn past_the_budget_only_the_biggest_holders_are_refused() {
        let budget = Arc::new(QueueBudget::new(10_000));
        let (big, _big_rx) = net_queue(100, 1 << 20, budget.clone(), Arc::default());
        let (small, _small_rx) = net_queue(100, 1 << 20, budget.clone(), Arc::default());
        while big.send(event(1_000)).is_ok() {}
        assert!(budget.total() > 10_000, "{}", budget.total());
        // the small one holds less than its share (half the budget): it still gets messages
        for _ in 0..3 {
            small.send(event(1_000)).expect("a session below its share");
        }
        assert_eq!(big.send(event(1_000)), Err(SendError::Full));
    }
}
