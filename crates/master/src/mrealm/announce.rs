//! Announcing node transitions: `on_node_ready` / `on_node_shutdown` on the management realm,
//! forwarded to the global realm, in the order in which the owner task ([`super::owner`])
//! decided them, exactly once each. On the global realm they reach only the superuser and the
//! users with a role on this management realm ([`Audience`], read at each event).
//!
//! The owner hands transitions over without waiting ([`Announcer::announce`]); one task per
//! management realm publishes them one after the other, so a slow acknowledged publish on the
//! global realm delays later announcements (keeping their order) but never the owner. In-process
//! listeners (the managers, the health check) get every transition from
//! [`Announcer::subscribe`].

use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tracing::{info, warn};
use wamp_client::{PublishOptions, Session};
use wamp_proto::{Dict, Value};

use super::nodes::Transition;
use crate::authz::Audience;
use crate::wire::mrealm::{ON_NODE_READY, ON_NODE_SHUTDOWN};

/// Transitions an in-process listener may lag behind before it is told it lagged.
const LISTENER_CAPACITY: usize = 4096;

/// The owner's side: hands transitions to the announcing task.
#[derive(Clone)]
pub(crate) struct Announcer {
    tx: mpsc::UnboundedSender<Transition>,
    listeners: broadcast::Sender<Transition>,
}

impl Announcer {
    /// Starts the announcing task: events on `session` (the management realm), forwarded on
    /// `global` (the domain controller's session on the global realm, with who may receive
    /// them there) when given. The task ends once every [`Announcer`] is dropped and what it
    /// was handed is published.
    pub(crate) fn spawn(
        session: Session,
        global: Option<(Session, Audience)>,
    ) -> (Announcer, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (listeners, _) = broadcast::channel(LISTENER_CAPACITY);
        let task = tokio::spawn(run(rx, session, global));
        (Announcer { tx, listeners }, task)
    }

    /// Queues a transition for publication (never waits) and tells the in-process listeners.
    pub(crate) fn announce(&self, t: Transition) {
        let _ = self.listeners.send(t.clone());
        if self.tx.send(t).is_err() {
            warn!("node transition not announced: the announcer has stopped");
        }
    }

    /// Every transition from now on, in order (a listener that lags gets `Lagged` and should
    /// re-read the node view).
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Transition> {
        self.listeners.subscribe()
    }
}

/// The topic and arguments of a transition's event.
pub(crate) fn event(t: &Transition) -> (&'static str, Vec<Value>) {
    let topic = if t.is_ready() {
        ON_NODE_READY
    } else {
        ON_NODE_SHUTDOWN
    };
    let n = t.node();
    (topic, vec![Value::from(n.oid.to_string()), n.to_value()])
}

async fn run(
    mut rx: mpsc::UnboundedReceiver<Transition>,
    s: Session,
    global: Option<(Session, Audience)>,
) {
    let (mut local, mut global) = (Some(s), global);
    while let Some(t) = rx.recv().await {
        let (topic, args) = event(&t);
        publish(&mut local, topic, args.clone(), PublishOptions::default()).await;
        let Some((g, audience)) = &global else {
            continue;
        };
        // acknowledged, as Crossbar's domain controller publishes
        let opts = PublishOptions {
            eligible_authid: audience.authids(),
            ..PublishOptions::acknowledged()
        };
        let mut g = Some(g.clone());
        publish(&mut g, topic, args, opts).await;
        if g.is_none() {
            global = None;
        }
    }
}

/// Publishes on `session`; once it is closed (the master is shutting down) it is dropped, so
/// later transitions are not published there and not warned about one by one.
async fn publish(
    session: &mut Option<Session>,
    topic: &str,
    args: Vec<Value>,
    opts: PublishOptions,
) {
    let Some(s) = session.as_ref() else { return };
    match s.publish(topic, args, Dict::new(), opts).await {
        Ok(_) => {}
        Err(wamp_client::Error::Closed { reason }) => {
            info!(%topic, %reason, "session closed: node transitions are no longer announced on it");
            *session = None;
        }
        Err(e) => warn!(%topic, error = %e, "cannot announce a node transition"),
    }
}
