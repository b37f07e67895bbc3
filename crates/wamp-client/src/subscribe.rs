//! The subscriber side: a [`Subscription`] is a stream of events; dropping it unsubscribes.
//!
//! The router may hand the same subscription id to two SUBSCRIBEs of one session (same topic
//! and match policy), so several local subscribers can share an id; UNSUBSCRIBE is sent when
//! the last of them goes.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::sync::{mpsc, oneshot};
use wamp_proto::{Id, Message};

use crate::error::Result;
use crate::state::{Pending, Shared};
use crate::types::Event;

/// Events of one subscription. The stream ends when the session closes.
pub struct Subscription {
    id: Id,
    key: u64,
    events: mpsc::UnboundedReceiver<Event>,
    shared: Arc<Shared>,
    active: bool,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Subscription({})", self.id)
    }
}

impl Subscription {
    pub(crate) fn new(
        id: Id,
        key: u64,
        events: mpsc::UnboundedReceiver<Event>,
        shared: Arc<Shared>,
    ) -> Self {
        Subscription {
            id,
            key,
            events,
            shared,
            active: true,
        }
    }

    /// The router's subscription id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The next event; `None` once the session is closed.
    pub async fn recv(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// An event already received, without waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.events.try_recv().ok()
    }

    /// Unsubscribes and waits for the router's answer (if this was the last local subscriber).
    pub async fn unsubscribe(mut self) -> Result<()> {
        self.active = false;
        if !self.detach() {
            return Ok(());
        }
        let (tx, rx) = oneshot::channel();
        let subscription = self.id;
        self.shared
            .send_request(Pending::Unsubscribe(tx), |request| Message::Unsubscribe {
                request,
                subscription,
            })
            .await?;
        rx.await.map_err(|_| self.shared.closed_error())?
    }

    /// Removes this local subscriber; true if it was the last one of its subscription id.
    fn detach(&self) -> bool {
        let mut st = self.shared.lock();
        if st.closed.is_some() {
            return false;
        }
        let Some(subs) = st.subscriptions.get_mut(&self.id) else {
            return false;
        };
        subs.retain(|s| s.key != self.key);
        if !subs.is_empty() {
            return false;
        }
        st.subscriptions.remove(&self.id);
        true
    }
}

impl Stream for Subscription {
    type Item = Event;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.events.poll_recv(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if !self.active || !self.detach() {
            return;
        }
        let subscription = self.id;
        if let Ok(request) = self.shared.request(Pending::Ignore) {
            if !self.shared.try_send(Message::Unsubscribe {
                request,
                subscription,
            }) {
                self.shared.forget(request);
            }
        }
    }
}
