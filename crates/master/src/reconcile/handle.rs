//! The user's side of a runtime: [`Handle`] (send triggers, read [`Stats`], shut down), the
//! commands it sends to the scheduler task, and the counters the scheduler publishes.
//!
//! Every request travels over one unbounded channel, so the scheduler sees them in the order
//! they were made (a `forget` then a `trigger` of the same key recreates it). The counters are
//! plain atomics written only by the scheduler, read without a lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

/// What a handle asks of the scheduler.
pub(super) enum Command<K> {
    Trigger(K),
    TriggerAll,
    Forget(K),
    KnownKeys(oneshot::Sender<Vec<K>>),
    Shutdown(Duration),
}

/// How the scheduler task ended: `None` while it runs.
pub(super) type Outcome = Option<Result<(), RuntimeError>>;

/// What stopping a runtime can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// Runs were still in flight when the grace period ran out; they were aborted.
    #[error("{in_flight} reconciles still running after {grace:?}; aborted")]
    ShutdownTimedOut { in_flight: usize, grace: Duration },
    /// The scheduler task ended without saying how (it panicked: a bug).
    #[error("the reconcile scheduler task is gone")]
    SchedulerGone,
}

/// A snapshot of a runtime's counters (each read atomically, the set not as one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Reconciles finished, whatever their outcome.
    pub runs: u64,
    /// Runs whose reconciler returned an error.
    pub errors: u64,
    /// Runs dropped at the reconcile timeout.
    pub timeouts: u64,
    /// Runs that panicked.
    pub panics: u64,
    /// Reconciles running now.
    pub in_flight: u64,
    /// Keys due and waiting for a free slot.
    pub queued: u64,
    /// Keys known (triggered and not forgotten).
    pub keys: u64,
    /// How long the last finished run took.
    pub last_duration: Duration,
}

/// The counters behind [`Stats`], written by the scheduler.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub runs: AtomicU64,
    pub errors: AtomicU64,
    pub timeouts: AtomicU64,
    pub panics: AtomicU64,
    pub in_flight: AtomicU64,
    pub queued: AtomicU64,
    pub keys: AtomicU64,
    pub last_duration_ns: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn set(counter: &AtomicU64, value: usize) {
        counter.store(u64::try_from(value).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub fn finished(&self, took: Duration) {
        Counters::add(&self.runs);
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.last_duration_ns.store(ns, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            runs: get(&self.runs),
            errors: get(&self.errors),
            timeouts: get(&self.timeouts),
            panics: get(&self.panics),
            in_flight: get(&self.in_flight),
            queued: get(&self.queued),
            keys: get(&self.keys),
            last_duration: Duration::from_nanos(get(&self.last_duration_ns)),
        }
    }
}

/// Feeds a running reconcile runtime. Cheap to clone; the runtime stops when the last clone
/// is dropped. After the runtime has stopped, requests are ignored.
pub struct Handle<K> {
    commands: mpsc::UnboundedSender<Command<K>>,
    counters: Arc<Counters>,
    outcome: watch::Receiver<Outcome>,
}

impl<K> Clone for Handle<K> {
    fn clone(&self) -> Self {
        Handle {
            commands: self.commands.clone(),
            counters: self.counters.clone(),
            outcome: self.outcome.clone(),
        }
    }
}

impl<K> std::fmt::Debug for Handle<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<K> Handle<K> {
    pub(super) fn new(
        commands: mpsc::UnboundedSender<Command<K>>,
        counters: Arc<Counters>,
        outcome: watch::Receiver<Outcome>,
    ) -> Self {
        Handle {
            commands,
            counters,
            outcome,
        }
    }

    /// `key` (new or known) changed, or something it depends on did: run it soon. If it is
    /// running, exactly one more run follows right after, however many triggers arrive.
    pub fn trigger(&self, key: K) {
        let _ = self.commands.send(Command::Trigger(key));
    }

    /// Triggers every known key.
    pub fn trigger_all(&self) {
        let _ = self.commands.send(Command::TriggerAll);
    }

    /// `key` is gone: drop it and any pending schedule. A run in flight finishes but is not
    /// requeued; a later [`Handle::trigger`] brings the key back.
    pub fn forget(&self, key: K) {
        let _ = self.commands.send(Command::Forget(key));
    }

    /// The keys known now (in no particular order); empty once the runtime has stopped.
    pub async fn known_keys(&self) -> Vec<K> {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::KnownKeys(tx)).is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// The runtime's counters now.
    pub fn stats(&self) -> Stats {
        self.counters.snapshot()
    }

    /// Stops scheduling, waits up to `grace` for the runs in flight (their outcome is logged,
    /// nothing is requeued), aborts those still running then, and ends the scheduler.
    /// Calling it again, from any clone, waits for the same end and returns its outcome.
    pub async fn shutdown(&self, grace: Duration) -> Result<(), RuntimeError> {
        // fails if the scheduler already stopped or is stopping: then just wait for its end
        let _ = self.commands.send(Command::Shutdown(grace));
        let mut outcome = self.outcome.clone();
        // an error means the scheduler task is gone: what it said last is still readable
        let _ = outcome.wait_for(Option::is_some).await;
        let result = outcome.borrow().clone();
        result.unwrap_or(Err(RuntimeError::SchedulerGone))
    }
}
