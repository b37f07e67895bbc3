//! Messages on their way from the router to one session, and the queue that carries them.
//!
//! Events to many subscribers are built once and shared ([`Shared`]): each serializer in use
//! encodes them once, and every connection using that serializer reuses the bytes.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use tokio::sync::{mpsc, Notify};
use wamp_proto::codec::{encode_body, Format};
use wamp_proto::{Message, ProtoError};

/// A message shared by several receivers, with its encodings cached per format.
#[derive(Debug)]
pub struct Shared {
    pub msg: Message,
    encoded: [OnceLock<Result<Bytes, ProtoError>>; 3],
}

impl Shared {
    pub fn new(msg: Message) -> Arc<Self> {
        Arc::new(Shared {
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

/// One item in a session's outbound queue.
///
/// Kept two words wide: a queue allocates room for a block of items up front, so a large
/// item type would cost every idle session kilobytes (a [`Message`] is a few hundred bytes).
#[derive(Debug)]
pub enum Outgoing {
    Msg(Box<Message>),
    Shared(Arc<Shared>),
    /// Close the connection after everything queued before this has been written.
    Close,
}

impl Outgoing {
    /// A message for this session only.
    pub fn msg(m: Message) -> Self {
        Outgoing::Msg(Box::new(m))
    }
    pub fn message(&self) -> Option<&Message> {
        match self {
            Outgoing::Msg(m) => Some(m),
            Outgoing::Shared(s) => Some(&s.msg),
            Outgoing::Close => None,
        }
    }
}

/// Why a message could not be queued for a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The session's queue is full: it is not reading fast enough.
    Full,
    /// The session is gone.
    Closed,
}

/// The sending end of a session's outbound queue, plus a way to close it when the queue is full.
#[derive(Debug, Clone)]
pub struct OutTx {
    kind: TxKind,
    closer: Arc<Notify>,
}

#[derive(Debug, Clone)]
enum TxKind {
    /// A network connection: its writer task encodes.
    Net(mpsc::Sender<Outgoing>),
    /// An in-process client: typed messages, no encoding.
    Local(mpsc::Sender<Message>),
}

impl OutTx {
    /// A queue to a network connection's writer; `closer` wakes it for an immediate close.
    pub fn net(tx: mpsc::Sender<Outgoing>, closer: Arc<Notify>) -> Self {
        OutTx {
            kind: TxKind::Net(tx),
            closer,
        }
    }
    /// A queue to an in-process client.
    pub fn local(tx: mpsc::Sender<Message>, closer: Arc<Notify>) -> Self {
        OutTx {
            kind: TxKind::Local(tx),
            closer,
        }
    }

    /// Queues without waiting.
    pub fn send(&self, out: Outgoing) -> Result<(), SendError> {
        match &self.kind {
            TxKind::Net(tx) => tx.try_send(out).map_err(map_err),
            TxKind::Local(tx) => match out {
                Outgoing::Msg(m) => tx.try_send(*m).map_err(map_err),
                Outgoing::Shared(s) => tx.try_send(s.msg.clone()).map_err(map_err),
                Outgoing::Close => {
                    self.closer.notify_one();
                    Ok(())
                }
            },
        }
    }

    pub fn msg(&self, m: Message) -> Result<(), SendError> {
        self.send(Outgoing::msg(m))
    }

    /// Closes the connection without waiting for the queue to drain.
    pub fn close_now(&self) {
        self.closer.notify_one();
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
    #[test]
    fn queue_item_is_small() {
        assert!(std::mem::size_of::<super::Outgoing>() <= 16);
    }
}
