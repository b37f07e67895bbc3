//! One ordered event queue shared by several subscriptions, with a backlog bound for the
//! events a consumer may afford to lose.
//!
//! Each [`crate::Subscription`] normally has a stream of its own, so the order between events
//! of different subscriptions is lost once they wait in different queues. An [`EventQueue`]
//! keeps the router's delivery order across all subscriptions made with
//! [`crate::Session::subscribe_queued`]. Subscriptions marked `lossy` are dropped (and
//! counted) while the queue holds `limit` or more events, so a consumer that falls behind a
//! flood of them keeps bounded memory; the other subscriptions are always queued.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::types::Event;

/// How full a queue is.
#[derive(Debug)]
struct Backlog {
    queued: AtomicUsize,
    limit: usize,
    dropped: AtomicU64,
}

/// Where the reader puts a subscription's events.
pub(crate) struct Sink {
    tx: mpsc::UnboundedSender<Event>,
    queue: Option<(Arc<Backlog>, bool)>,
}

impl Sink {
    /// The subscription's own stream.
    pub(crate) fn own(tx: mpsc::UnboundedSender<Event>) -> Sink {
        Sink { tx, queue: None }
    }

    /// Delivers (or, lossy and over the limit, drops) an event; `false` once nobody listens.
    pub(crate) fn send(&self, event: Event) -> bool {
        if let Some((backlog, lossy)) = &self.queue {
            if *lossy && backlog.queued.load(Ordering::Relaxed) >= backlog.limit {
                backlog.dropped.fetch_add(1, Ordering::Relaxed);
                return !self.tx.is_closed();
            }
            backlog.queued.fetch_add(1, Ordering::Relaxed);
        }
        self.tx.send(event).is_ok()
    }
}

/// An ordered queue of the events of several subscriptions.
#[derive(Debug)]
pub struct EventQueue {
    /// Kept until [`EventQueue::seal`], so subscriptions can be added.
    tx: Option<mpsc::UnboundedSender<Event>>,
    rx: mpsc::UnboundedReceiver<Event>,
    backlog: Arc<Backlog>,
}

impl EventQueue {
    /// A queue that drops events of lossy subscriptions while `limit` or more are waiting.
    pub fn new(limit: usize) -> EventQueue {
        let (tx, rx) = mpsc::unbounded_channel();
        let backlog = Arc::new(Backlog {
            queued: AtomicUsize::new(0),
            limit,
            dropped: AtomicU64::new(0),
        });
        EventQueue {
            tx: Some(tx),
            rx,
            backlog,
        }
    }

    /// A sender into this queue; `None` once sealed.
    pub(crate) fn sink(&self, lossy: bool) -> Option<Sink> {
        Some(Sink {
            tx: self.tx.clone()?,
            queue: Some((self.backlog.clone(), lossy)),
        })
    }

    /// No more subscriptions will be added: from now on [`EventQueue::recv`] ends (`None`)
    /// once the sessions of all its subscriptions are closed and the queue is drained.
    pub fn seal(&mut self) {
        self.tx = None;
    }

    /// The next event in delivery order; after [`EventQueue::seal`], `None` once every
    /// subscription's session is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<Event> {
        let e = self.rx.recv().await?;
        self.backlog.queued.fetch_sub(1, Ordering::Relaxed);
        Some(e)
    }

    /// The next event if one is waiting now (never waits).
    pub fn try_recv(&mut self) -> Option<Event> {
        let e = self.rx.try_recv().ok()?;
        self.backlog.queued.fetch_sub(1, Ordering::Relaxed);
        Some(e)
    }

    /// Events waiting now.
    pub fn len(&self) -> usize {
        self.backlog.queued.load(Ordering::Relaxed)
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Events of lossy subscriptions dropped so far.
    pub fn dropped(&self) -> u64 {
        self.backlog.dropped.load(Ordering::Relaxed)
    }
}
