//! A reconciler runtime: drives "make the world match the desired state" loops for a set of
//! keys (nodes, router clusters, web clusters, application realms, ...), in the style of
//! kube-runtime's controller.
//!
//! A [`Reconciler`] says how to converge one key (`reconcile(key) -> Result<Action>`) and what
//! to do when that fails ([`Reconciler::error_policy`]). [`Runtime::spawn`] starts one scheduler
//! task for it and returns a [`Handle`] to feed it: [`Handle::trigger`] when something a key
//! depends on changed, [`Handle::forget`] when the key is gone, [`Handle::shutdown`] to stop.
//!
//! Guarantees (each has a regression test under paused time in `tests/`):
//! - never two reconciles of the same key at once; triggers arriving while a key runs
//!   coalesce into exactly one follow-up run, started as soon as the current run ends;
//! - at most [`RuntimeConfig::concurrency`] reconciles in flight; keys that are due wait in a
//!   FIFO queue, so none starves (a key that requeues itself goes to the back);
//! - [`Action::Requeue`] schedules the key once, at `now + d`; a trigger before then runs it
//!   at once and the pending schedule is replaced by whatever that run returns;
//!   [`Action::AwaitChange`] leaves the key idle until a trigger or the next resync;
//! - every run is bounded by [`RuntimeConfig::reconcile_timeout`] (the future is dropped);
//!   a failure, a timeout or a panic (each run is its own task) goes through
//!   [`Reconciler::error_policy`] with the count of consecutive failures, which a success
//!   resets; the default policy is the exponential [`Backoff`];
//! - [`RuntimeConfig::resync`] triggers every known key once per period;
//! - [`Handle::forget`] drops the key and its schedule; a run in flight finishes, unrequeued.
//!
//! Each run gets a span `reconcile{manager, key}`; failures are logged at WARN, successes at
//! DEBUG with their duration. [`Handle::stats`] counts runs, errors, timeouts and panics.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use master::reconcile::{Action, CallError, NodeCaller, Reconciler, Runtime, RuntimeConfig};
//! use wamp_proto::Dict;
//!
//! /// Health-checks a node every `period` while it is online.
//! struct NodeHealth {
//!     caller: NodeCaller,
//!     period: Duration,
//! }
//!
//! impl Reconciler for NodeHealth {
//!     type Key = String; // the node's authid
//!     type Error = CallError;
//!
//!     fn name(&self) -> &'static str {
//!         "node-health"
//!     }
//!
//!     async fn reconcile(&self, authid: &String) -> Result<Action, CallError> {
//!         let no_args = (Vec::new(), Dict::new());
//!         let _status = self.caller.call_node(authid, "get_status", no_args.0, no_args.1).await?;
//!         Ok(Action::Requeue(self.period))
//!     }
//! }
//!
//! # async fn demo(caller: NodeCaller) {
//! let health = Arc::new(NodeHealth { caller, period: Duration::from_secs(10) });
//! let handle = Runtime::spawn(health, RuntimeConfig::default());
//! handle.trigger("node-1".to_owned()); // the node came online: check it now, then every 10 s
//! handle.forget("node-1".to_owned()); // it went offline
//! let _ = handle.shutdown(Duration::from_secs(5)).await;
//! # }
//! ```
//!
//! Layout: this file (the reconciler contract), [`config`] (tuning and backoff), `handle`
//! (the user's side), `scheduler` (the task owning all schedule state), `run` (one run in
//! its task), [`caller`] (remote calls into edge nodes that cannot forget their timeout).

pub mod caller;
pub mod config;
mod handle;
mod run;
mod scheduler;
#[cfg(test)]
mod tests;

use std::fmt::{Debug, Display};
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

pub use caller::{node_uri, CallError, NodeCaller};
pub use config::{Backoff, RuntimeConfig};
pub use handle::{Handle, RuntimeError, Stats};

/// What to do with a key after a reconcile (or after a failure, from the error policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run the key again after this long (unless a trigger comes first).
    Requeue(Duration),
    /// Leave the key idle until it is triggered (or the next resync).
    AwaitChange,
}

/// Why one reconcile did not succeed; handed to [`Reconciler::error_policy`].
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError<E: std::error::Error + 'static> {
    /// The reconciler returned an error.
    #[error(transparent)]
    Failed(E),
    /// The run took longer than [`RuntimeConfig::reconcile_timeout`] and was dropped.
    #[error("timed out after {0:?}")]
    TimedOut(Duration),
    /// The run panicked (or its task was cancelled); the runtime carries on.
    #[error("panicked: {0}")]
    Panicked(String),
}

/// Converges the state of one kind of object, one key at a time.
///
/// The context a kube-runtime reconciler receives as `ctx` is whatever the implementing
/// struct holds (sessions, stores, maps behind `Arc`s). The runtime guarantees that
/// [`Reconciler::reconcile`] never runs twice at once for the same key, so it may read the
/// world, compare and act without a per-key lock.
pub trait Reconciler: Send + Sync + 'static {
    /// What identifies one object (a node oid, a cluster name, ...).
    type Key: Clone + Eq + Hash + Debug + Display + Send + Sync + 'static;
    /// What one reconcile can fail with.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The name of this manager, in spans and logs (`node-health`, `router-clusters`, ...).
    fn name(&self) -> &'static str;

    /// Makes the world match the desired state of `key` and says when to look again.
    ///
    /// Implement it as `async fn reconcile(&self, key: &Self::Key) -> Result<Action, Self::Error>`;
    /// the future must be `Send` (it runs in its own task, under the run timeout).
    fn reconcile(
        &self,
        key: &Self::Key,
    ) -> impl Future<Output = Result<Action, Self::Error>> + Send;

    /// What to do after a failed run; `failures` counts consecutive failures of `key`,
    /// this one included (1 for the first). The default retries after `backoff.delay(failures)`.
    fn error_policy(
        &self,
        key: &Self::Key,
        error: &ReconcileError<Self::Error>,
        failures: u32,
        backoff: &Backoff,
    ) -> Action {
        let _ = (key, error);
        Action::Requeue(backoff.delay(failures))
    }
}

/// Starts reconcile runtimes.
#[derive(Debug, Clone, Copy)]
pub struct Runtime;

impl Runtime {
    /// Spawns the scheduler task of `reconciler` (on the current tokio runtime) and returns
    /// its handle. The runtime starts with no keys: [`Handle::trigger`] adds them.
    ///
    /// It runs until [`Handle::shutdown`], or until every [`Handle`] is dropped (then runs in
    /// flight are aborted).
    pub fn spawn<R: Reconciler>(reconciler: Arc<R>, config: RuntimeConfig) -> Handle<R::Key> {
        scheduler::spawn(reconciler, config)
    }
}
