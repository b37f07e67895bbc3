//! The user-facing [`Session`]: join a realm, then call, register, publish and subscribe.
//!
//! A `Session` is a cheap handle (clone it freely). The session lives as long as a handle
//! exists or until [`Session::leave`], a GOODBYE/ABORT from the router, or the transport
//! closing; then every pending request fails with [`Error::Closed`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use wamp_proto::{wamp_errors, Dict, Id, Message, Payload, Value};

use crate::call::{wait_once, CallHandle};
use crate::dispatch::run_reader;
use crate::error::{Error, Result, WampError};
use crate::join::handshake;
use crate::options::{CallOptions, JoinOptions, PublishOptions, RegisterOptions, SubscribeOptions};
use crate::queue::{EventQueue, Sink};
use crate::register::{Invocation, Registration};
use crate::state::{CallReply, Handler, Pending, Shared};
use crate::subscribe::Subscription;
use crate::transport::Transport;
use crate::types::{CallResult, Welcome};

/// How long [`Session::leave`] waits for the router's GOODBYE.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(5);

/// An established WAMP session.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    welcome: Welcome,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle is gone: nobody can use the session any more.
        self.shared.close_transport();
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session({})", self.inner.welcome.session)
    }
}

// === impl Session: lifecycle ===

impl Session {
    /// Joins a realm over `transport`. An ABORT gives [`Error::Aborted`].
    pub async fn join(transport: Transport, opts: JoinOptions) -> Result<Session> {
        let (close_tx, close_rx) = watch::channel(false);
        let (out, mut incoming) = transport.start(close_rx.clone());
        let welcome = match handshake(&out, &mut incoming, &opts).await {
            Ok(w) => w,
            Err(e) => {
                close_tx.send_replace(true);
                return Err(e);
            }
        };
        tracing::debug!(session = welcome.session, realm = ?welcome.realm, "joined");
        let shared = Shared::new(out, close_tx);
        tokio::spawn(run_reader(Arc::clone(&shared), incoming, close_rx));
        Ok(Session {
            inner: Arc::new(Inner { shared, welcome }),
        })
    }

    /// The WELCOME the router sent.
    pub fn welcome(&self) -> &Welcome {
        &self.inner.welcome
    }

    /// The session id.
    pub fn id(&self) -> Id {
        self.inner.welcome.session
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.shared().closed_reason().is_some()
    }

    /// Waits until the session ends and returns why (a close reason URI or a transport error).
    pub async fn closed(&self) -> String {
        let mut rx = self.shared().watch_closed();
        let result = rx.wait_for(Option::is_some).await;
        match result {
            Ok(reason) => reason.clone().unwrap_or_default(),
            Err(_) => "session dropped".into(),
        }
    }

    /// Leaves the realm with `wamp.close.close_realm` and closes the transport.
    pub async fn leave(&self) -> Result<()> {
        self.leave_with(wamp_errors::CLOSE_REALM).await
    }

    /// Leaves with a given reason: GOODBYE, wait for the router's GOODBYE, close.
    /// Leaving a session that has already ended is not an error.
    pub async fn leave_with(&self, reason: &str) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        {
            let mut st = self.shared().lock();
            if st.closed.is_some() {
                return Ok(());
            }
            st.goodbye = Some(tx);
        }
        let goodbye = Message::Goodbye {
            details: Dict::new(),
            reason: reason.into(),
        };
        let answer = match self.shared().send(goodbye).await {
            Ok(()) => tokio::time::timeout(LEAVE_TIMEOUT, rx).await,
            Err(_) => Ok(Ok(reason.to_owned())), // transport already gone: nothing to wait for
        };
        let Ok(answer) = answer else {
            self.shared().shutdown(reason.into());
            return Err(Error::Timeout("no GOODBYE from the router".into()));
        };
        // The router's GOODBYE reason (or why the session ended meanwhile).
        self.shared()
            .shutdown(answer.unwrap_or_else(|_| reason.to_owned()));
        Ok(())
    }
}

// === impl Session: caller and publisher ===

impl Session {
    /// Calls a procedure and waits for its final result.
    pub async fn call(
        &self,
        procedure: &str,
        args: Vec<Value>,
        kwargs: Dict,
        opts: CallOptions,
    ) -> Result<CallResult> {
        let (tx, rx) = oneshot::channel();
        let msg = call_message(procedure, args, kwargs, &opts);
        let id = self
            .shared()
            .send_request(Pending::Call(CallReply::Once(tx)), msg)
            .await?;
        wait_once(self.shared(), id, rx, opts.timeout).await
    }

    /// Starts a call and returns a handle yielding its results as they come, which can
    /// cancel it. Asks for progressive results (`receive_progress` is forced on).
    pub async fn call_progressive(
        &self,
        procedure: &str,
        args: Vec<Value>,
        kwargs: Dict,
        opts: CallOptions,
    ) -> Result<CallHandle> {
        let opts = CallOptions {
            receive_progress: true,
            ..opts
        };
        self.start_call(procedure, args, kwargs, opts).await
    }

    /// Starts a call and returns its handle; `opts` are sent as given.
    pub async fn start_call(
        &self,
        procedure: &str,
        args: Vec<Value>,
        kwargs: Dict,
        opts: CallOptions,
    ) -> Result<CallHandle> {
        let (tx, rx) = mpsc::unbounded_channel();
        let msg = call_message(procedure, args, kwargs, &opts);
        let id = self
            .shared()
            .send_request(Pending::Call(CallReply::Stream(tx)), msg)
            .await?;
        Ok(CallHandle::new(
            id,
            rx,
            Arc::clone(self.shared()),
            opts.timeout,
        ))
    }

    /// Publishes an event. With `acknowledge`, waits for PUBLISHED and returns the
    /// publication id; otherwise returns `None` once the message is queued.
    pub async fn publish(
        &self,
        topic: &str,
        args: Vec<Value>,
        kwargs: Dict,
        opts: PublishOptions,
    ) -> Result<Option<Id>> {
        let options = opts.to_dict();
        let payload = Payload::new(args, kwargs);
        let topic = topic.to_owned();
        if !opts.acknowledge {
            let request = self.shared().next_id();
            self.shared()
                .send(Message::Publish {
                    request,
                    options,
                    topic,
                    payload,
                })
                .await?;
            return Ok(None);
        }
        let (tx, rx) = oneshot::channel();
        let build = |request| Message::Publish {
            request,
            options,
            topic,
            payload,
        };
        let id = self
            .shared()
            .send_request(Pending::Publish(tx), build)
            .await?;
        let _guard = crate::call::PendingGuard::new(self.shared(), id);
        let publication = rx.await.map_err(|_| self.shared().closed_error())??;
        Ok(Some(publication))
    }
}

fn call_message(
    procedure: &str,
    args: Vec<Value>,
    kwargs: Dict,
    opts: &CallOptions,
) -> impl FnOnce(Id) -> Message {
    let options = opts.to_dict();
    let procedure = procedure.to_owned();
    move |request| Message::Call {
        request,
        options,
        procedure,
        payload: Payload::new(args, kwargs),
    }
}

// === impl Session: callee and subscriber ===

impl Session {
    /// Registers a procedure. `handler` runs once per invocation in its own task; it may send
    /// progressive results with [`Invocation::progress`]. On INTERRUPT its future is dropped
    /// and `wamp.error.canceled` is answered.
    pub async fn register<F, Fut>(
        &self,
        procedure: &str,
        opts: RegisterOptions,
        handler: F,
    ) -> Result<Registration>
    where
        F: Fn(Invocation) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(Vec<Value>, Dict), WampError>> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |inv| Box::pin(handler(inv)));
        let (tx, rx) = oneshot::channel();
        let options = opts.to_dict();
        let procedure = procedure.to_owned();
        let build = |request| Message::Register {
            request,
            options,
            procedure,
        };
        let id = self
            .shared()
            .send_request(Pending::Register { reply: tx, handler }, build)
            .await?;
        let _guard = crate::call::PendingGuard::new(self.shared(), id);
        let registration = rx.await.map_err(|_| self.shared().closed_error())??;
        Ok(Registration::new(registration, Arc::clone(self.shared())))
    }

    /// Removes a registration (same as [`Registration::unregister`]).
    pub async fn unregister(&self, registration: Registration) -> Result<()> {
        registration.unregister().await
    }

    /// Subscribes to a topic; the returned [`Subscription`] yields its events.
    pub async fn subscribe(&self, topic: &str, opts: SubscribeOptions) -> Result<Subscription> {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        self.subscribe_into(topic, opts, Sink::own(events_tx), events_rx)
            .await
    }

    /// Subscribes with the events going to `queue`, in the router's delivery order together
    /// with the queue's other subscriptions; `lossy` events are dropped while the queue is
    /// over its limit. The returned handle yields no events; dropping it unsubscribes.
    pub async fn subscribe_queued(
        &self,
        topic: &str,
        opts: SubscribeOptions,
        queue: &EventQueue,
        lossy: bool,
    ) -> Result<Subscription> {
        let sink = queue
            .sink(lossy)
            .ok_or_else(|| Error::Protocol("the event queue is sealed".into()))?;
        let (_, none) = mpsc::unbounded_channel();
        self.subscribe_into(topic, opts, sink, none).await
    }

    async fn subscribe_into(
        &self,
        topic: &str,
        opts: SubscribeOptions,
        events: Sink,
        events_rx: mpsc::UnboundedReceiver<crate::types::Event>,
    ) -> Result<Subscription> {
        let (tx, rx) = oneshot::channel();
        let key = self.shared().lock().next_key();
        let options = opts.to_dict();
        let topic = topic.to_owned();
        let pending = Pending::Subscribe {
            reply: tx,
            events,
            key,
        };
        let build = |request| Message::Subscribe {
            request,
            options,
            topic,
        };
        let id = self.shared().send_request(pending, build).await?;
        let _guard = crate::call::PendingGuard::new(self.shared(), id);
        let subscription = rx.await.map_err(|_| self.shared().closed_error())??;
        Ok(Subscription::new(
            subscription,
            key,
            events_rx,
            Arc::clone(self.shared()),
        ))
    }

    /// Unsubscribes (same as [`Subscription::unsubscribe`]).
    pub async fn unsubscribe(&self, subscription: Subscription) -> Result<()> {
        subscription.unsubscribe().await
    }
}
