//! The node health check (Crossbar's `check_and_apply`), a reconciler on the runtime
//! ([`crate::reconcile`]): every `check_interval` after it came online, each online node is
//! asked for `crossbarfabriccenter.node.<authid>.get_status` (bounded by `check_timeout`), and
//! the owner task is told what was found, with the node's generation at the time the check
//! began — so a late answer can never undo a newer transition.
//!
//! | the node's answer | outcome |
//! |---|---|
//! | a result | healthy (worker counts from `workers_by_type`, when reported) |
//! | `wamp.error.no_such_procedure` | gone: the node is marked offline |
//! | another ERROR | healthy (the node is there) |
//! | no answer, or the session failed | nothing changes; tried again next period |
//!
//! Keys are node oids. A node that comes online is triggered; its first run only notes the
//! node's generation and requeues a period later, so the first call comes one period after the
//! node came online (measured on the runtime's clock). A node that is offline when its turn
//! comes waits for its next transition; an unpaired one is forgotten.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinHandle;
use tracing::debug;
use uuid::Uuid;
use wamp_proto::{Dict, Value};

use super::ctx::Ctx;
use super::heartbeat::accept::worker_counts;
use super::nodes::{CheckOutcome, Transition};
use super::owner::Control;
use crate::reconcile::{
    Action, Backoff, CallError, Handle, NodeCaller, ReconcileError, Reconciler, Runtime,
    RuntimeConfig,
};

/// Checks in flight at once.
pub(crate) const CONCURRENCY: usize = 64;

/// The health-check reconciler of one management realm.
struct Check {
    ctx: Arc<Ctx>,
    caller: NodeCaller,
    /// The generation each online node had when it was first seen online: its first check
    /// waits a period from there (the lock is never held across an await).
    seen: Mutex<HashMap<Uuid, u64>>,
}

impl Check {
    /// Records the node's online generation; `true` if it is new (the node just came online).
    fn newly_online(&self, oid: Uuid, generation: u64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.insert(oid, generation) != Some(generation)
    }

    fn forget(&self, oid: &Uuid) {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(oid);
    }
}

impl Reconciler for Check {
    type Key = Uuid;
    /// A check that gets no answer is not a failure of the check: the node is tried again next
    /// period (a frozen node is closed by the transport's ping timeout), and the owner is told
    /// nothing.
    type Error = std::convert::Infallible;

    fn name(&self) -> &'static str {
        "node-health"
    }

    async fn reconcile(&self, oid: &Uuid) -> Result<Action, Self::Error> {
        let period = self.ctx.config.check_interval;
        let node = self.ctx.nodes.view().get(oid).filter(|n| n.online).cloned();
        let Some(node) = node else {
            self.forget(oid);
            return Ok(Action::AwaitChange);
        };
        // the first check comes one period after the node came online
        if self.newly_online(*oid, node.generation) {
            return Ok(Action::Requeue(period));
        }
        let outcome = match self
            .caller
            .call_node(&node.authid, "get_status", Vec::new(), Dict::new())
            .await
        {
            Ok(r) => CheckOutcome::Healthy(workers(&r.args)),
            Err(e) if e.is_no_such_procedure() => CheckOutcome::Gone,
            Err(CallError::Remote { .. }) => CheckOutcome::Healthy(None),
            Err(e) => {
                debug!(authid = %node.authid, error = %e, "health check unanswered");
                return Ok(Action::Requeue(period));
            }
        };
        debug!(authid = %node.authid, ?outcome, "health check");
        let _ = self.ctx.control.send(Control::Checked {
            oid: *oid,
            generation: node.generation,
            outcome,
        });
        Ok(Action::Requeue(period))
    }

    /// A run that timed out (or panicked) is tried again one period later, no faster.
    fn error_policy(
        &self,
        _: &Uuid,
        _: &ReconcileError<Self::Error>,
        _: u32,
        _: &Backoff,
    ) -> Action {
        Action::Requeue(self.ctx.config.check_interval)
    }
}

/// `workers_by_type` of a node's `get_status` answer.
fn workers(args: &[Value]) -> Option<std::collections::BTreeMap<String, u64>> {
    let w = args.first()?.get("workers_by_type")?.as_dict()?;
    worker_counts(w).ok()
}

/// The running health check of one management realm.
pub(crate) struct Health {
    handle: Handle<Uuid>,
    listener: JoinHandle<()>,
}

impl Health {
    /// Starts the runtime and the task that feeds it node transitions.
    pub(crate) fn start(ctx: &Arc<Ctx>, transitions: broadcast::Receiver<Transition>) -> Health {
        let timeout = ctx.config.check_timeout;
        let check = Arc::new(Check {
            ctx: ctx.clone(),
            caller: NodeCaller::new(ctx.session.clone(), timeout),
            seen: Mutex::new(HashMap::new()),
        });
        let config = RuntimeConfig {
            concurrency: CONCURRENCY,
            resync: None,
            reconcile_timeout: timeout + Duration::from_secs(2),
            backoff: Backoff::default(),
        };
        let handle = Runtime::spawn(check, config);
        let listener = tokio::spawn(follow(ctx.clone(), handle.clone(), transitions));
        Health { handle, listener }
    }

    /// Stops the checks (those in flight get a second to finish).
    pub(crate) async fn stop(self) {
        self.listener.abort();
        let _ = self.handle.shutdown(Duration::from_secs(1)).await;
    }
}

/// Triggers nodes that come online, forgets unpaired ones.
async fn follow(ctx: Arc<Ctx>, handle: Handle<Uuid>, mut rx: broadcast::Receiver<Transition>) {
    loop {
        match rx.recv().await {
            Ok(Transition::Ready(n)) => handle.trigger(n.oid),
            Ok(Transition::Shutdown(n)) => {
                if ctx.nodes.view().get(&n.oid).is_none() {
                    handle.forget(n.oid);
                }
            }
            Err(RecvError::Lagged(_)) => {
                for n in ctx.nodes.view().online() {
                    handle.trigger(n.oid);
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}
