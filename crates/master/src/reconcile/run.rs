//! One reconcile run: its own task (so a panic stays there), bounded by the run timeout and
//! inside the `reconcile{manager, key}` span; the report it sends back to the scheduler, and
//! how that report becomes `Result<Action, ReconcileError>` and the error policy's answer.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::task::{AbortHandle, JoinError};
use tokio::time::error::Elapsed;
use tokio::time::Instant;
use tracing::{error, info_span, Instrument, Span};

use super::handle::Counters;
use super::{Action, Backoff, ReconcileError, Reconciler};

pub(super) type Key<R> = <R as Reconciler>::Key;
type TaskOutput<R> = Result<Result<Action, <R as Reconciler>::Error>, Elapsed>;

/// What a run reports when its task ends.
pub(super) struct Finished<R: Reconciler> {
    pub key: Key<R>,
    /// The run's span, to log its outcome in.
    pub span: Span,
    pub took: Duration,
    pub result: Result<TaskOutput<R>, JoinError>,
}

/// Spawns one run of `key`; returns what aborts its task and the future of its report.
pub(super) fn spawn<R: Reconciler>(
    reconciler: &Arc<R>,
    key: Key<R>,
    limit: Duration,
) -> (AbortHandle, BoxFuture<'static, Finished<R>>) {
    let span = info_span!("reconcile", manager = reconciler.name(), key = %key);
    let (reconciler, run_key) = (reconciler.clone(), key.clone());
    let run = async move { tokio::time::timeout(limit, reconciler.reconcile(&run_key)).await };
    let task = tokio::spawn(run.instrument(span.clone()));
    let abort = task.abort_handle();
    let started = Instant::now();
    let report = Box::pin(async move {
        let result = task.await;
        Finished {
            key,
            span,
            took: started.elapsed(),
            result,
        }
    });
    (abort, report)
}

/// The outcome of a finished run, counted in `counters` (errors, timeouts, panics).
pub(super) fn outcome<R: Reconciler>(
    result: Result<TaskOutput<R>, JoinError>,
    limit: Duration,
    counters: &Counters,
) -> Result<Action, ReconcileError<R::Error>> {
    match result {
        Ok(Ok(Ok(action))) => Ok(action),
        Ok(Ok(Err(e))) => {
            Counters::add(&counters.errors);
            Err(ReconcileError::Failed(e))
        }
        Ok(Err(_)) => {
            Counters::add(&counters.timeouts);
            Err(ReconcileError::TimedOut(limit))
        }
        Err(e) => {
            Counters::add(&counters.panics);
            Err(ReconcileError::Panicked(panic_message(e)))
        }
    }
}

/// The reconciler's error policy; if that panics too, the configured backoff.
pub(super) fn error_policy<R: Reconciler>(
    reconciler: &R,
    key: &Key<R>,
    error: &ReconcileError<R::Error>,
    failures: u32,
    backoff: &Backoff,
) -> Action {
    let policy = || reconciler.error_policy(key, error, failures, backoff);
    catch_unwind(AssertUnwindSafe(policy)).unwrap_or_else(|_| {
        error!("error_policy panicked; using the default backoff");
        Action::Requeue(backoff.delay(failures))
    })
}

fn panic_message(e: JoinError) -> String {
    if !e.is_panic() {
        return "task cancelled".into();
    }
    let payload = e.into_panic();
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".into()
    }
}
