//! The management realm controller: one per management realm, built from narrow parts.
//!
//! ```text
//!  inputs                          owner task (owner.rs)            readers and outputs
//!  ingest session: joins, leaves,  the only writer of the node  ─► NodeView snapshots (ctx.rs):
//!  node announcements, heartbeats  map (nodes.rs); applies         api.rs, remote.rs, tracing.rs,
//!  ─► one ordered EventQueue ────► inputs in order, in batches     health.rs, the managers
//!  health checks, unpairing  ────► (Control)                   ─► transitions ─► announce.rs
//!                                                              ─► heartbeats ─► heartbeat/
//! ```
//!
//! Three in-process `trusted` sessions per management realm: `session` serves the procedures
//! (node procedures [`api`], history [`history`], remote API forwarders [`remote`], tracing) and
//! makes the calls into the nodes; `ingest` only receives the high-volume events, so that a
//! burst of them never queues in front of a call; `status` serves `get_status` alone (the edge
//! nodes' uplink check, which must never wait behind a burst of other calls) and publishes
//! `on_tick`. The node health check ([`health`]) runs on
//! the reconciler runtime ([`crate::reconcile`]), as the desired-state managers will.
//! `crossbarfabriccenter.mrealm.on_tick` is published every `tick_interval`.

mod announce;
mod api;
pub(crate) mod ctx;
pub(crate) mod health;
pub mod heartbeat;
mod history;
pub(crate) mod nodes;
pub(crate) mod owner;
mod remote;
mod remote_events;
#[cfg(test)]
mod tests;
#[path = "tracing.rs"]
mod trace_api;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use store::Store;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;
use wamp_client::{PublishOptions, RegisterOptions, Session};
use wamp_proto::{dict, Dict, Value};

use crate::args::Args;
use crate::error::{MasterError, Result};
use crate::util::{now_ns, utcnow};
use crate::wire;
use ctx::{ControllerConfig, Ctx, MrealmId, Nodes};
use heartbeat::{AckRegistry, Writer};
use owner::{Control, Owner};

/// What the master gives a controller.
pub(crate) struct Deps {
    pub store: Arc<Store>,
    pub mrealm: MrealmId,
    pub config: ControllerConfig,
    /// The superuser's user oid.
    pub superuser_oid: Uuid,
    /// Serves procedures and calls nodes.
    pub session: Session,
    /// Receives the events the owner follows.
    pub ingest: Session,
    /// Serves `get_status` alone (the edge nodes' uplink check) and publishes `on_tick`.
    pub status: Session,
    /// The domain controller's session: node transitions are forwarded to the global realm.
    pub global: Option<Session>,
    /// Durable-acknowledge mode: the management realm's heartbeat acknowledge gate.
    pub acks: Option<Arc<AckRegistry>>,
}

/// A running management realm controller.
pub(crate) struct Controller {
    session: Session,
    ingest: Session,
    status: Session,
    control: mpsc::UnboundedSender<Control>,
    tasks: Vec<JoinHandle<()>>,
    health: health::Health,
    /// The router and web cluster managers.
    managers: crate::clusters::Managers,
    /// The owner task: ends by itself once `ingest` is closed and its backlog handled.
    owner: JoinHandle<()>,
    /// The announcer: ends once the owner is gone and what it announced is published.
    announcer: JoinHandle<()>,
    /// The heartbeat writer: ends once the owner is gone and its queue is drained.
    flush: JoinHandle<()>,
}

impl Controller {
    pub(crate) async fn start(d: Deps) -> Result<Controller> {
        let (history, flush, retention) =
            Writer::start(d.store.clone(), d.mrealm.oid, d.config.retention);
        let audience = crate::authz::Audience::new(d.store.clone(), d.mrealm.oid);
        let global = d.global.map(|g| (g, audience));
        let (announcer, announcer_task) = Announcer::spawn(d.session.clone(), global);
        let (owner, view) = Owner::new(
            d.store.clone(),
            d.mrealm.oid,
            announcer.clone(),
            history,
            d.acks,
        );
        let (control, control_rx) = mpsc::unbounded_channel();
        let ctx = Arc::new(Ctx {
            store: d.store,
            mrealm: d.mrealm,
            config: d.config,
            superuser_oid: d.superuser_oid,
            session: d.session.clone(),
            nodes: Nodes::new(view),
            control: control.clone(),
        });
        let inputs = owner::subscribe(&d.ingest, &owner::TOPICS).await?;
        let owner = tokio::spawn(owner.run(inputs, control_rx));
        let state = Arc::new(State {
            realm: ctx.mrealm.name.clone(),
            started: now_ns(),
            tick: AtomicU64::new(0),
        });
        register(&d.status, "get_status", &state, |st, _| Ok(st.status())).await?;
        api::register_all(&ctx).await?;
        history::register_all(&ctx).await?;
        let republisher = remote::start(&ctx, &d.ingest).await?;
        let tracer = trace_api::start(&ctx).await?;
        let health = health::Health::start(&ctx, announcer.subscribe());
        let managers = crate::clusters::Managers::start(&ctx, announcer.subscribe()).await?;
        drop(announcer);
        let ticker = tokio::spawn(tick_loop(d.status.clone(), state, ctx.config.tick_interval));
        Ok(Controller {
            session: d.session,
            ingest: d.ingest,
            status: d.status,
            control,
            tasks: vec![retention, ticker, republisher, tracer],
            health,
            managers,
            owner,
            announcer: announcer_task,
            flush,
        })
    }

    /// The node was unpaired: the owner forgets it.
    pub(crate) fn unpaired(&self, oid: Uuid) {
        let _ = self.control.send(Control::Unpaired(oid));
    }

    pub(crate) async fn stop(self) {
        // Stop the health checks, then close the ingest session: the owner still handles the
        // events delivered before (acknowledged heartbeats reach the writer), then ends.
        self.health.stop().await;
        self.managers.stop().await;
        drop(self.control);
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ingest.leave()).await;
        let mut owner = self.owner;
        if tokio::time::timeout(Duration::from_secs(3), &mut owner)
            .await
            .is_err()
        {
            tracing::warn!("controller event backlog not handled within 3 s");
            owner.abort();
            let _ = owner.await;
        }
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks {
            let _ = t.await; // the aborted tasks drop their handles on the heartbeat queue
        }
        // queued heartbeats are written before the controller is gone
        if tokio::time::timeout(Duration::from_secs(5), self.flush)
            .await
            .is_err()
        {
            tracing::warn!("heartbeat history not flushed within 5 s");
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), self.announcer).await;
        let _ = tokio::time::timeout(Duration::from_secs(1), self.session.leave()).await;
        let _ = tokio::time::timeout(Duration::from_secs(1), self.status.leave()).await;
    }
}

use announce::Announcer;

/// What `get_status` and the ticker share.
struct State {
    realm: String,
    started: u64,
    tick: AtomicU64,
}

impl State {
    fn status(&self) -> Value {
        let tick = self.tick.load(Ordering::Relaxed);
        wire::controller_status("management", &self.realm, self.started, tick)
    }
}

/// Registers `crossbarfabriccenter.mrealm.<name>`, answered synchronously by `f`.
pub(crate) async fn register<T, F>(
    session: &Session,
    name: &str,
    target: &Arc<T>,
    f: F,
) -> Result<()>
where
    T: Send + Sync + 'static,
    F: Fn(&T, &Args<'_>) -> Result<Value> + Send + Sync + 'static,
{
    let target = target.clone();
    let uri = wire::mrealm::uri(name);
    session
        .register(&uri, RegisterOptions::default(), move |inv| {
            let out =
                f(&target, &Args::new(&inv.args, &inv.kwargs)).map(|v| (vec![v], Dict::new()));
            async move { out.map_err(Into::into) }
        })
        .await
        .map_err(|e| MasterError::Internal(format!("register {uri}: {e}")))?;
    Ok(())
}

async fn tick_loop(session: Session, st: Arc<State>, period: Duration) {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let tick = st.tick.fetch_add(1, Ordering::Relaxed) + 1;
        let payload = dict! { "now" => utcnow(), "tick" => tick };
        let opts = PublishOptions::default();
        if session
            .publish(
                wire::mrealm::ON_TICK,
                vec![payload.into()],
                Dict::new(),
                opts,
            )
            .await
            .is_err()
        {
            return;
        }
    }
}
