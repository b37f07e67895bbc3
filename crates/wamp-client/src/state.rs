//! Session state shared by the user's handles, the reader task and invocation tasks.
//!
//! Everything lives behind one `std::sync::Mutex` that is only ever held for map operations
//! and channel sends that never wait (oneshot, unbounded), never across an `.await`: replies
//! are matched by request id, so a lock per request would buy nothing, and a short critical
//! section keeps thousands of outstanding calls cheap. Requests are inserted here *before* the
//! message goes out, so no reply can arrive for an unknown request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::AbortHandle;
use wamp_proto::{Dict, Id, IdSeq, Message, Value};

use crate::error::{Error, Result, WampError};
use crate::register::Invocation;
use crate::types::CallResult;

/// What a registered procedure runs for each invocation.
pub(crate) type Handler = Arc<
    dyn Fn(Invocation) -> BoxFuture<'static, Result<(Vec<Value>, Dict), WampError>> + Send + Sync,
>;

/// Where the answer to a CALL goes.
pub(crate) enum CallReply {
    /// Only the final result (progressive results are dropped).
    Once(oneshot::Sender<Result<CallResult>>),
    /// Every result, progressive ones included.
    Stream(mpsc::UnboundedSender<Result<CallResult>>),
}

/// A request waiting for its answer, keyed by request id.
pub(crate) enum Pending {
    Call(CallReply),
    Publish(oneshot::Sender<Result<Id>>),
    /// The event sender is installed by the reader on SUBSCRIBED, before any EVENT can arrive.
    Subscribe {
        reply: oneshot::Sender<Result<Id>>,
        events: crate::queue::Sink,
        key: u64,
    },
    /// The handler is installed by the reader on REGISTERED, before any INVOCATION can arrive.
    Register {
        reply: oneshot::Sender<Result<Id>>,
        handler: Handler,
    },
    Unsubscribe(oneshot::Sender<Result<()>>),
    Unregister(oneshot::Sender<Result<()>>),
    /// An answer nobody waits for (unsubscribe of a dropped subscription).
    Ignore,
}

impl Pending {
    /// Fails the request with `err`.
    pub(crate) fn fail(self, err: Error) {
        match self {
            Pending::Call(CallReply::Once(tx)) => drop(tx.send(Err(err))),
            Pending::Call(CallReply::Stream(tx)) => drop(tx.send(Err(err))),
            Pending::Publish(tx) => drop(tx.send(Err(err))),
            Pending::Subscribe { reply, .. } => drop(reply.send(Err(err))),
            Pending::Register { reply, .. } => drop(reply.send(Err(err))),
            Pending::Unsubscribe(tx) | Pending::Unregister(tx) => drop(tx.send(Err(err))),
            Pending::Ignore => {}
        }
    }
}

/// One local subscriber of a router subscription (several may share one subscription id).
pub(crate) struct Subscriber {
    pub key: u64,
    pub events: crate::queue::Sink,
}

#[derive(Default)]
pub(crate) struct State {
    /// Why the session ended; set once, after which no request is accepted.
    pub closed: Option<String>,
    pub pending: HashMap<Id, Pending>,
    pub subscriptions: HashMap<Id, Vec<Subscriber>>,
    pub registrations: HashMap<Id, Handler>,
    /// Running invocation tasks, removed by whoever answers first: the task or an INTERRUPT.
    pub invocations: HashMap<Id, AbortHandle>,
    /// Waits for the router's GOODBYE after our own.
    pub goodbye: Option<oneshot::Sender<String>>,
    next_key: u64,
}

impl State {
    pub(crate) fn next_key(&mut self) -> u64 {
        self.next_key += 1;
        self.next_key
    }
}

/// The state of one session, shared by every handle and task.
pub(crate) struct Shared {
    /// The writer task's queue.
    pub out: mpsc::Sender<Message>,
    ids: IdSeq,
    state: Mutex<State>,
    /// Set to `true` to make the writer flush and close the transport.
    close_tx: watch::Sender<bool>,
    /// The close reason once the session is over.
    closed_tx: watch::Sender<Option<String>>,
}

impl Shared {
    pub(crate) fn new(out: mpsc::Sender<Message>, close_tx: watch::Sender<bool>) -> Arc<Self> {
        Arc::new(Shared {
            out,
            ids: IdSeq::new(),
            state: Mutex::new(State::default()),
            close_tx,
            closed_tx: watch::channel(None).0,
        })
    }

    /// Locks the state. A poisoned lock is still used: every update is a single map operation.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a pending request under a fresh request id.
    pub(crate) fn request(&self, pending: Pending) -> Result<Id> {
        let mut st = self.lock();
        if let Some(reason) = &st.closed {
            return Err(Error::closed(reason.clone()));
        }
        let id = self.ids.next();
        st.pending.insert(id, pending);
        Ok(id)
    }

    /// Drops a pending request (its caller gave up).
    pub(crate) fn forget(&self, id: Id) {
        self.lock().pending.remove(&id);
    }

    /// Takes a pending request out to answer it.
    pub(crate) fn take(&self, id: Id) -> Option<Pending> {
        self.lock().pending.remove(&id)
    }

    /// A fresh request id for a message that expects no tracked answer.
    pub(crate) fn next_id(&self) -> Id {
        self.ids.next()
    }

    /// The close reason, if the session is over.
    pub(crate) fn closed_reason(&self) -> Option<String> {
        self.lock().closed.clone()
    }

    /// Queues a message for the writer.
    pub(crate) async fn send(&self, msg: Message) -> Result<()> {
        if self.out.send(msg).await.is_err() {
            return Err(self.closed_error());
        }
        Ok(())
    }

    /// Queues a message without waiting (for `Drop` paths); false if the queue is full.
    pub(crate) fn try_send(&self, msg: Message) -> bool {
        match self.out.try_send(msg) {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(error = %e, "could not queue message");
                false
            }
        }
    }

    /// Registers a pending request, sends its message, and unregisters it if sending fails.
    pub(crate) async fn send_request(
        &self,
        pending: Pending,
        build: impl FnOnce(Id) -> Message,
    ) -> Result<Id> {
        let id = self.request(pending)?;
        if let Err(e) = self.send(build(id)).await {
            self.forget(id);
            return Err(e);
        }
        Ok(id)
    }

    pub(crate) fn closed_error(&self) -> Error {
        Error::closed(
            self.closed_reason()
                .unwrap_or_else(|| "transport closed".into()),
        )
    }

    /// Asks the writer to flush and close the transport.
    pub(crate) fn close_transport(&self) {
        self.close_tx.send_replace(true);
    }

    /// A receiver that sees the close reason once the session is over.
    pub(crate) fn watch_closed(&self) -> watch::Receiver<Option<String>> {
        self.closed_tx.subscribe()
    }

    /// Ends the session: fails every pending request, ends every subscription stream, stops
    /// every invocation, and closes the transport. Only the first call has an effect.
    pub(crate) fn shutdown(&self, reason: String) {
        let taken = {
            let mut st = self.lock();
            if st.closed.is_some() {
                return;
            }
            st.closed = Some(reason.clone());
            st.subscriptions.clear();
            st.registrations.clear();
            (
                std::mem::take(&mut st.pending),
                std::mem::take(&mut st.invocations),
                st.goodbye.take(),
            )
        };
        let (pending, invocations, goodbye) = taken;
        tracing::debug!(%reason, pending = pending.len(), "session closed");
        for (_, p) in pending {
            p.fail(Error::closed(reason.clone()));
        }
        for (_, task) in invocations {
            task.abort();
        }
        if let Some(tx) = goodbye {
            let _ = tx.send(reason.clone());
        }
        self.closed_tx.send_replace(Some(reason));
        self.close_transport();
    }
}
