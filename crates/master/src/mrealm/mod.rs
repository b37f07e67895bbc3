//! The management realm controller: two in-process `trusted` sessions per management realm —
//! one serving the procedures, one receiving the high-volume events (joins, leaves, heartbeats,
//! node events), so that a burst of events never queues in front of a call.
//!
//! It keeps the run-time node map ([`nodes`]) driven by session and heartbeat events
//! ([`events`]) and the periodic health check ([`check`]), answers the node procedures
//! ([`api`]) and `get_status` (which edge nodes call as their uplink test), and publishes
//! `crossbarfabriccenter.mrealm.on_tick` every `tick_interval`. The remote API forwarders and
//! node event republishing are in [`remote`] and [`remote_events`]. Heartbeats are stored by
//! the history writer ([`heartbeats`], records built in [`hblog`]) and queried with
//! `get_node_logs` / `get_worker_logs` ([`history`]).

mod api;
mod check;
mod events;
pub mod hbcheck;
mod hblog;
pub(crate) mod heartbeats;
mod history;
pub(crate) mod nodes;
mod remote;
mod remote_events;
#[path = "tracing.rs"]
mod trace_api;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use store::MrealmRecord;
use tokio::task::JoinHandle;
use wamp_client::{PublishOptions, RegisterOptions, Session};
use wamp_proto::{dict, Dict, Value};

use crate::args::Args;
use crate::error::{MasterError, Result};
use crate::util::{iso8601, naturaldelta, now_ns, utcnow};
use crate::Master;

/// Run-time state shared by the controller's handlers and loops.
struct State {
    realm: String,
    started: u64,
    tick: AtomicU64,
}

/// A running management realm controller.
pub(crate) struct Controller {
    session: Session,
    ingest: Session,
    tasks: Vec<JoinHandle<()>>,
    /// The event loop: ends by itself once `ingest` is closed and its backlog handled.
    events: JoinHandle<()>,
    /// The heartbeat writer: ends once the tasks holding its queue are gone and it is drained.
    flush: JoinHandle<()>,
}

impl Controller {
    pub(crate) async fn start(master: &Arc<Master>, rec: &MrealmRecord) -> Result<Controller> {
        let authid = format!("mrealm-controller-{}", rec.name);
        let session = master.local_session(&rec.name, &authid).await?;
        // events arrive on their own session: a heartbeat burst never delays a procedure call
        let ingest = master
            .local_session(&rec.name, &format!("{authid}-ingest"))
            .await?;
        let state = Arc::new(State {
            realm: rec.name.clone(),
            started: now_ns(),
            tick: AtomicU64::new(0),
        });
        register(&session, "get_status", &state, |st, _| Ok(status(st))).await?;
        let map = Arc::new(Mutex::new(nodes::NodeMap::default()));
        let node_api = Arc::new(api::NodeApi {
            master: master.clone(),
            mrealm_oid: rec.oid,
            map: map.clone(),
        });
        register(&session, "get_nodes", &node_api, |a, x| a.get_nodes(x)).await?;
        register(&session, "get_node", &node_api, |a, x| a.get_node(x)).await?;
        register(&session, "get_node_by_authid", &node_api, |a, x| {
            a.get_node_by_authid(x)
        })
        .await?;
        let republisher = remote::start(&session, &ingest, master, rec, map.clone()).await?;
        let tracer = trace_api::start(&session, master, rec, map.clone()).await?;
        let (history, flush, retention) = history::start(&session, master, rec.oid).await?;
        let driver = Arc::new(events::Driver {
            master: master.clone(),
            mrealm_oid: rec.oid,
            session: session.clone(),
            ingest: ingest.clone(),
            map,
            history,
        });
        let cfg = &master.config;
        let ticker = tokio::spawn(tick_loop(session.clone(), state, secs(cfg.tick_interval)));
        let checker = tokio::spawn(check::run(
            driver.clone(),
            secs(cfg.check_interval),
            secs(cfg.check_timeout),
        ));
        let events = tokio::spawn(async move {
            if let Err(e) = events::run(driver).await {
                tracing::error!(error = %e, "management realm controller event loop failed");
            }
        });
        let tasks = vec![retention, ticker, checker, republisher, tracer];
        Ok(Controller {
            session,
            ingest,
            tasks,
            events,
            flush,
        })
    }

    pub(crate) async fn stop(self) {
        // Close the ingest session first: the event loop still handles the events delivered
        // before (acknowledged heartbeats reach the writer), then ends by itself.
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ingest.leave()).await;
        let mut events = self.events;
        if tokio::time::timeout(Duration::from_secs(3), &mut events)
            .await
            .is_err()
        {
            tracing::warn!("controller event backlog not handled within 3 s");
            events.abort();
            let _ = events.await;
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
        let _ = tokio::time::timeout(Duration::from_secs(1), self.session.leave()).await;
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.01))
}

/// Registers `crossbarfabriccenter.mrealm.<name>`, answered synchronously by `f`.
async fn register<T, F>(session: &Session, name: &str, target: &Arc<T>, f: F) -> Result<()>
where
    T: Send + Sync + 'static,
    F: Fn(&T, &Args) -> Result<Value> + Send + Sync + 'static,
{
    let target = target.clone();
    let uri = format!("crossbarfabriccenter.mrealm.{name}");
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

fn status(st: &State) -> Value {
    let uptime = now_ns().saturating_sub(st.started) / 1_000_000_000;
    dict! {
        "type" => "management",
        "realm" => st.realm.clone(),
        "now" => utcnow(),
        "started" => iso8601(st.started),
        "uptime" => naturaldelta(uptime),
        "tick" => st.tick.load(Ordering::Relaxed),
    }
    .into()
}

async fn tick_loop(session: Session, st: Arc<State>, period: Duration) {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let tick = st.tick.fetch_add(1, Ordering::Relaxed) + 1;
        let payload = dict! { "now" => utcnow(), "tick" => tick };
        let topic = "crossbarfabriccenter.mrealm.on_tick";
        let opts = PublishOptions::default();
        if session
            .publish(topic, vec![payload.into()], Dict::new(), opts)
            .await
            .is_err()
        {
            return;
        }
    }
}
