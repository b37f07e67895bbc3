//! The caller side: waiting for results, progressive results, timeouts and cancelling.
//!
//! A pending call is removed from the shared map when its waiter goes away (dropped future,
//! dropped handle, timeout), so a late RESULT is simply ignored.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use wamp_proto::{wamp_errors, Dict, Id, Message};

use crate::error::{Error, Result, WampError};
use crate::options::CancelMode;
use crate::state::Shared;
use crate::types::CallResult;

/// Forgets a pending request when dropped, unless disarmed.
pub(crate) struct PendingGuard<'a> {
    shared: &'a Shared,
    id: Id,
}

impl<'a> PendingGuard<'a> {
    pub(crate) fn new(shared: &'a Shared, id: Id) -> Self {
        PendingGuard { shared, id }
    }
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.shared.forget(self.id);
    }
}

/// Waits for the final result of a call made with a oneshot reply.
pub(crate) async fn wait_once(
    shared: &Shared,
    id: Id,
    rx: oneshot::Receiver<Result<CallResult>>,
    timeout: Option<Duration>,
) -> Result<CallResult> {
    let _guard = PendingGuard::new(shared, id);
    let answer = match timeout {
        None => rx.await,
        Some(t) => match tokio::time::timeout(t, rx).await {
            Ok(answer) => answer,
            Err(_) => return Err(timed_out(shared, id, t)),
        },
    };
    answer.map_err(|_| shared.closed_error())?
}

/// Gives up on a call: tells the router (`killnowait`) and builds the error.
fn timed_out(shared: &Shared, id: Id, after: Duration) -> Error {
    shared.forget(id);
    shared.try_send(cancel_message(id, CancelMode::KillNoWait));
    Error::Timeout(format!("call {id} got no result within {after:?}"))
}

fn cancel_message(request: Id, mode: CancelMode) -> Message {
    let mut options = Dict::new();
    options.insert("mode".into(), mode.as_str().into());
    Message::Cancel { request, options }
}

/// A call in flight: yields its progressive results, then the final one, and can be cancelled.
/// Dropping it stops listening (the call itself goes on; cancel it to stop it).
pub struct CallHandle {
    id: Id,
    results: mpsc::UnboundedReceiver<Result<CallResult>>,
    shared: Arc<Shared>,
    deadline: Option<(Instant, Duration)>,
    finished: bool,
}

impl std::fmt::Debug for CallHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CallHandle({})", self.id)
    }
}

impl CallHandle {
    pub(crate) fn new(
        id: Id,
        results: mpsc::UnboundedReceiver<Result<CallResult>>,
        shared: Arc<Shared>,
        timeout: Option<Duration>,
    ) -> Self {
        let deadline = timeout.map(|t| (Instant::now() + t, t));
        CallHandle {
            id,
            results,
            shared,
            deadline,
            finished: false,
        }
    }

    /// The CALL request id.
    pub fn request_id(&self) -> Id {
        self.id
    }

    /// The next result: progressive ones (`is_progress()`), then the final one or an error,
    /// then `None`.
    pub async fn next(&mut self) -> Option<Result<CallResult>> {
        if self.finished {
            return None;
        }
        let item = match self.deadline {
            None => self.results.recv().await,
            Some((at, t)) => match tokio::time::timeout_at(at, self.results.recv()).await {
                Ok(item) => item,
                Err(_) => Some(Err(timed_out(&self.shared, self.id, t))),
            },
        };
        let item = item.unwrap_or_else(|| Err(self.shared.closed_error()));
        if !matches!(&item, Ok(r) if r.is_progress()) {
            self.finished = true;
        }
        Some(item)
    }

    /// The final result, skipping progressive ones.
    pub async fn result(mut self) -> Result<CallResult> {
        while let Some(item) = self.next().await {
            match item {
                Ok(r) if r.is_progress() => continue,
                other => return other,
            }
        }
        Err(Error::Protocol("call already finished".into()))
    }

    /// Sends CANCEL. The outcome arrives through [`CallHandle::next`], usually as
    /// `wamp.error.canceled` (at once for `skip`/`killnowait`, after the callee for `kill`).
    ///
    /// `skip` is settled locally: the call fails with `wamp.error.canceled` at once and any
    /// later answer is ignored (Crossbar 26.10 sends the caller nothing for `skip`).
    pub async fn cancel(&self, mode: CancelMode) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.shared.send(cancel_message(self.id, mode)).await?;
        if mode == CancelMode::Skip {
            if let Some(pending) = self.shared.take(self.id) {
                pending.fail(WampError::new(wamp_errors::CANCELED).into());
            }
        }
        Ok(())
    }
}

impl Drop for CallHandle {
    fn drop(&mut self) {
        if !self.finished {
            self.shared.forget(self.id);
        }
    }
}
