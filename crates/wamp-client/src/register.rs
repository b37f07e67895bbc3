//! The callee side: registrations, invocations and the task that runs a handler.
//!
//! Each INVOCATION runs its handler in its own task, so a slow procedure never stalls the
//! reader. Whoever first removes the invocation from the shared map answers it: the task
//! (YIELD or ERROR) or an INTERRUPT (the task is aborted, which drops the handler's future, and
//! `wamp.error.canceled` is sent). A panicking handler answers `wamp.error.runtime_error`.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};
use wamp_proto::message::code;
use wamp_proto::{wamp_errors, Dict, Id, Message, Payload, Value};

use crate::error::{Result, WampError};
use crate::state::{Handler, Pending, Shared};

/// One call of a registered procedure, handed to its handler.
#[derive(Debug)]
pub struct Invocation {
    /// The INVOCATION request id (router scope).
    pub request: Id,
    pub registration: Id,
    pub args: Vec<Value>,
    pub kwargs: Dict,
    pub details: Dict,
    out: mpsc::Sender<Message>,
}

impl Invocation {
    pub(crate) fn new(
        request: Id,
        registration: Id,
        details: Dict,
        payload: Payload,
        out: mpsc::Sender<Message>,
    ) -> Self {
        Invocation {
            request,
            registration,
            args: payload.args,
            kwargs: payload.kwargs,
            details,
            out,
        }
    }

    /// The concrete procedure (sent by routers for prefix and wildcard registrations).
    pub fn procedure(&self) -> Option<&str> {
        self.details.get("procedure").and_then(Value::as_str)
    }

    /// The caller's session id, if the router disclosed it.
    pub fn caller(&self) -> Option<Id> {
        self.details.get("caller").and_then(Value::as_u64)
    }

    /// The caller's authid, if the router disclosed it.
    pub fn caller_authid(&self) -> Option<&str> {
        self.details.get("caller_authid").and_then(Value::as_str)
    }

    /// Whether the caller asked for progressive results.
    pub fn receive_progress(&self) -> bool {
        self.details
            .get("receive_progress")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// Sends a progressive result. Does nothing if the caller did not ask for them.
    pub async fn progress(&self, args: Vec<Value>, kwargs: Dict) -> Result<()> {
        if !self.receive_progress() {
            return Ok(());
        }
        let mut options = Dict::new();
        options.insert("progress".into(), true.into());
        let msg = Message::Yield {
            request: self.request,
            options,
            payload: Payload::new(args, kwargs),
        };
        self.out
            .send(msg)
            .await
            .map_err(|_| crate::Error::closed("transport closed"))
    }
}

/// A procedure registered by this session. Dropping it keeps the registration; call
/// [`Registration::unregister`] to remove it.
#[derive(Clone)]
pub struct Registration {
    id: Id,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Registration({})", self.id)
    }
}

impl Registration {
    pub(crate) fn new(id: Id, shared: Arc<Shared>) -> Self {
        Registration { id, shared }
    }

    /// The router's registration id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// Removes the registration (UNREGISTER) and waits for the router's answer.
    pub async fn unregister(self) -> Result<()> {
        self.shared.lock().registrations.remove(&self.id);
        let (tx, rx) = oneshot::channel();
        let registration = self.id;
        self.shared
            .send_request(Pending::Unregister(tx), |request| Message::Unregister {
                request,
                registration,
            })
            .await?;
        rx.await.map_err(|_| self.shared.closed_error())?
    }
}

/// Starts the handler of one INVOCATION. Called with the state locked, so the task is in the
/// map before it can try to remove itself.
/// Runs a handler: polled once right here (no lock held, since it may use the session); if it
/// is done, its answer is returned; otherwise it goes on in its own task, which an INTERRUPT
/// can abort, and answers by itself.
pub(crate) fn start_invocation(
    shared: &Arc<Shared>,
    handler: Handler,
    inv: Invocation,
) -> Option<Message> {
    let request = inv.request;
    let mut fut = Box::pin(AssertUnwindSafe(handler(inv)).catch_unwind());
    if let Some(outcome) = (&mut fut).now_or_never() {
        return Some(answer(request, outcome));
    }
    // spawned under the lock, so the task cannot finish before its abort handle is recorded
    let mut st = shared.lock();
    let task = tokio::spawn(finish_invocation(Arc::clone(shared), request, fut));
    st.invocations.insert(request, task.abort_handle());
    None
}

type Outcome = std::thread::Result<Result<(Vec<Value>, Dict), WampError>>;

async fn finish_invocation(
    shared: Arc<Shared>,
    request: Id,
    fut: std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + Send>>,
) {
    let msg = answer(request, fut.await);
    if shared.lock().invocations.remove(&request).is_none() {
        return; // interrupted: the reader has answered already
    }
    let _ = shared.send(msg).await;
}

/// The YIELD or ERROR for a handler's outcome.
fn answer(request: Id, outcome: Outcome) -> Message {
    match outcome {
        Ok(Ok((args, kwargs))) => Message::Yield {
            request,
            options: Dict::new(),
            payload: Payload::new(args, kwargs),
        },
        Ok(Err(e)) => invocation_error(request, e),
        Err(_) => {
            tracing::error!(request, "procedure handler panicked");
            let e =
                WampError::with_message(wamp_errors::RUNTIME_ERROR, "procedure handler panicked");
            invocation_error(request, e)
        }
    }
}

/// The ERROR answering an INVOCATION.
pub(crate) fn invocation_error(request: Id, e: WampError) -> Message {
    Message::Error {
        request_type: code::INVOCATION,
        request,
        details: Dict::new(),
        error: e.uri,
        payload: Payload::new(e.args, e.kwargs),
    }
}
