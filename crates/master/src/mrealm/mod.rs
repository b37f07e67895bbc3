//! The management realm controller: one in-process `trusted` session per management realm.
//!
//! It answers `crossbarfabriccenter.mrealm.get_status` (which edge nodes call as their uplink
//! test) and publishes `crossbarfabriccenter.mrealm.on_tick` every `tick_interval`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use store::MrealmRecord;
use tokio::task::JoinHandle;
use wamp_client::{PublishOptions, RegisterOptions, Session};
use wamp_proto::{dict, Dict, Value};

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
    tasks: Vec<JoinHandle<()>>,
}

impl Controller {
    pub(crate) async fn start(master: &Arc<Master>, rec: &MrealmRecord) -> Result<Controller> {
        let session = master
            .local_session(&rec.name, &format!("mrealm-controller-{}", rec.name))
            .await?;
        let state = Arc::new(State {
            realm: rec.name.clone(),
            started: now_ns(),
            tick: AtomicU64::new(0),
        });
        let st = state.clone();
        session
            .register(
                "crossbarfabriccenter.mrealm.get_status",
                RegisterOptions::default(),
                move |_| {
                    let v = status(&st);
                    async move { Ok((vec![v], Dict::new())) }
                },
            )
            .await
            .map_err(|e| MasterError::Internal(format!("register get_status: {e}")))?;
        let period = Duration::from_secs_f64(master.config.tick_interval.max(0.01));
        let ticker = tokio::spawn(tick_loop(session.clone(), state, period));
        Ok(Controller {
            session,
            tasks: vec![ticker],
        })
    }

    pub(crate) async fn stop(self) {
        for t in self.tasks {
            t.abort();
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), self.session.leave()).await;
    }
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
        let opts = PublishOptions::default();
        if session
            .publish(
                "crossbarfabriccenter.mrealm.on_tick",
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
