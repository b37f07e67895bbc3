//! The reader task: takes every message the router sends after WELCOME and routes it to the
//! waiting request, subscription or registration. It never waits on a user: replies go into
//! oneshot or unbounded channels, and handlers run in their own tasks.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use wamp_proto::message::code;
use wamp_proto::{wamp_errors, Dict, Id, Message, Payload, Value};

use crate::error::{Error, WampError};
use crate::register::{invocation_error, start_invocation, Invocation};
use crate::state::{CallReply, Pending, Shared, Subscriber};
use crate::transport::Incoming;
use crate::types::{CallResult, Event};

/// How long to keep reading after we closed, so the peer's close handshake can complete.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Reads until the session ends, then shuts the session down with the reason.
pub(crate) async fn run_reader(
    shared: Arc<Shared>,
    mut incoming: Incoming,
    mut close: watch::Receiver<bool>,
) {
    let reason = loop {
        let next = tokio::select! {
            next = incoming.next() => next,
            _ = close.changed() => {
                incoming.drain(CLOSE_GRACE).await;
                break shared.closed_reason().unwrap_or_else(|| "session closed locally".into());
            }
        };
        match next {
            None => break "transport closed".to_owned(),
            Some(Err(e)) => break format!("transport failed: {e}"),
            Some(Ok(msg)) => {
                if let Some(reason) = dispatch(&shared, msg).await {
                    break reason;
                }
            }
        }
    };
    shared.shutdown(reason);
    // Let the router's close (or the end of the stream) arrive before dropping the receiver.
    incoming.drain(CLOSE_GRACE).await;
}

/// Handles one message; `Some(reason)` when it ends the session.
async fn dispatch(shared: &Arc<Shared>, msg: Message) -> Option<String> {
    tracing::trace!(?msg, "received");
    match msg {
        Message::Result {
            request,
            details,
            payload,
        } => on_result(shared, request, details, payload),
        Message::Error {
            request_type,
            request,
            error,
            payload,
            ..
        } => {
            on_error(
                shared,
                request_type,
                request,
                WampError {
                    uri: error,
                    args: payload.args,
                    kwargs: payload.kwargs,
                },
            );
        }
        Message::Published {
            request,
            publication,
        } => {
            if let Some(Pending::Publish(tx)) = take(shared, request, "PUBLISHED") {
                let _ = tx.send(Ok(publication));
            }
        }
        Message::Subscribed {
            request,
            subscription,
        } => on_subscribed(shared, request, subscription),
        Message::Registered {
            request,
            registration,
        } => on_registered(shared, request, registration),
        Message::Unsubscribed { request, .. } | Message::Unregistered { request, .. } => {
            on_removed(shared, request)
        }
        Message::Event {
            subscription,
            publication,
            details,
            payload,
        } => {
            on_event(
                shared,
                Event {
                    subscription,
                    publication,
                    args: payload.args,
                    kwargs: payload.kwargs,
                    details,
                },
            );
        }
        Message::Invocation {
            request,
            registration,
            details,
            payload,
        } => {
            return on_invocation(shared, request, registration, details, payload).await;
        }
        Message::Interrupt { request, .. } => return on_interrupt(shared, request).await,
        Message::Goodbye { reason, .. } => return Some(on_goodbye(shared, reason).await),
        Message::Abort { reason, details } => {
            let message = details
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default();
            tracing::warn!(%reason, message, "router aborted the session");
            return Some(reason);
        }
        other => return Some(protocol_violation(shared, other.name()).await),
    }
    None
}

/// Takes the pending request `id`, logging when nobody waits for it (late or unknown).
fn take(shared: &Shared, id: Id, what: &str) -> Option<Pending> {
    let pending = shared.take(id);
    if pending.is_none() {
        tracing::debug!(request = id, what, "answer for a request nobody waits for");
    }
    pending
}

fn on_result(shared: &Shared, request: Id, details: Dict, payload: Payload) {
    let result = CallResult::new(details, payload);
    if result.is_progress() {
        let st = shared.lock();
        if let Some(Pending::Call(CallReply::Stream(tx))) = st.pending.get(&request) {
            let _ = tx.send(Ok(result));
        }
        return;
    }
    match take(shared, request, "RESULT") {
        Some(Pending::Call(CallReply::Once(tx))) => drop(tx.send(Ok(result))),
        Some(Pending::Call(CallReply::Stream(tx))) => drop(tx.send(Ok(result))),
        Some(other) => unexpected(shared, request, other, "RESULT"),
        None => {}
    }
}

fn on_error(shared: &Shared, request_type: u64, request: Id, e: WampError) {
    if request_type == code::INVOCATION || request_type == code::INTERRUPT {
        tracing::debug!(request, uri = %e.uri, "ERROR for a callee-side request");
        return;
    }
    if let Some(pending) = take(shared, request, "ERROR") {
        pending.fail(Error::from(e));
    }
}

fn on_subscribed(shared: &Shared, request: Id, subscription: Id) {
    let mut st = shared.lock();
    match st.pending.remove(&request) {
        Some(Pending::Subscribe { reply, events, key }) => {
            st.subscriptions
                .entry(subscription)
                .or_default()
                .push(Subscriber { key, events });
            let _ = reply.send(Ok(subscription));
        }
        Some(other) => {
            drop(st);
            unexpected(shared, request, other, "SUBSCRIBED");
        }
        None => tracing::debug!(request, "SUBSCRIBED for a request nobody waits for"),
    }
}

fn on_registered(shared: &Shared, request: Id, registration: Id) {
    let mut st = shared.lock();
    match st.pending.remove(&request) {
        Some(Pending::Register { reply, handler }) => {
            st.registrations.insert(registration, handler);
            let _ = reply.send(Ok(registration));
        }
        Some(other) => {
            drop(st);
            unexpected(shared, request, other, "REGISTERED");
        }
        None => tracing::debug!(request, "REGISTERED for a request nobody waits for"),
    }
}

fn on_removed(shared: &Shared, request: Id) {
    match take(shared, request, "UNSUBSCRIBED/UNREGISTERED") {
        Some(Pending::Unsubscribe(tx) | Pending::Unregister(tx)) => drop(tx.send(Ok(()))),
        Some(Pending::Ignore) | None => {}
        Some(other) => unexpected(shared, request, other, "UNSUBSCRIBED/UNREGISTERED"),
    }
}

/// A reply of the wrong kind for its request: fail the request.
fn unexpected(_shared: &Shared, request: Id, pending: Pending, what: &str) {
    tracing::warn!(request, what, "reply does not match the request type");
    pending.fail(Error::Protocol(format!(
        "router answered request {request} with {what}"
    )));
}

fn on_event(shared: &Shared, event: Event) {
    let mut st = shared.lock();
    let Some(subs) = st.subscriptions.get_mut(&event.subscription) else {
        tracing::debug!(
            subscription = event.subscription,
            "EVENT for an unknown subscription"
        );
        return;
    };
    if let [only] = subs.as_slice() {
        let _ = only.events.send(event);
        return;
    }
    subs.retain(|s| s.events.send(event.clone()));
}

async fn on_invocation(
    shared: &Arc<Shared>,
    request: Id,
    registration: Id,
    details: Dict,
    payload: Payload,
) -> Option<String> {
    let handler = shared.lock().registrations.get(&registration).cloned();
    let reply = match handler {
        Some(handler) => {
            let inv = Invocation::new(request, registration, details, payload, shared.out.clone());
            // a handler that finishes on its first poll is answered here, without a task
            let reply = start_invocation(shared, handler, inv)?;
            return shared.send(reply).await.err().map(|e| e.to_string());
        }
        None => invocation_error(request, WampError::new(wamp_errors::NO_SUCH_REGISTRATION)),
    };
    tracing::debug!(
        request,
        registration,
        "INVOCATION for an unknown registration"
    );
    shared.send(reply).await.err().map(|e| e.to_string())
}

async fn on_interrupt(shared: &Shared, request: Id) -> Option<String> {
    let task = shared.lock().invocations.remove(&request);
    let task = task?;
    task.abort();
    let reply = invocation_error(request, WampError::new(wamp_errors::CANCELED));
    shared.send(reply).await.err().map(|e| e.to_string())
}

/// The router's GOODBYE: either the answer to ours, or its own (which we answer).
async fn on_goodbye(shared: &Shared, reason: String) -> String {
    let ours = shared.lock().goodbye.take();
    match ours {
        Some(tx) => drop(tx.send(reason.clone())),
        None => {
            let reply = Message::Goodbye {
                details: Dict::new(),
                reason: wamp_errors::GOODBYE_AND_OUT.into(),
            };
            let _ = shared.send(reply).await;
        }
    }
    reason
}

async fn protocol_violation(shared: &Shared, what: &str) -> String {
    tracing::warn!(message = what, "unexpected message from the router");
    let mut details = Dict::new();
    details.insert(
        "message".into(),
        format!("unexpected {what} in an established session").into(),
    );
    let abort = Message::Abort {
        details,
        reason: wamp_errors::PROTOCOL_VIOLATION.into(),
    };
    let _ = shared.send(abort).await;
    wamp_errors::PROTOCOL_VIOLATION.to_owned()
}
