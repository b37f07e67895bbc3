//! The simulated fleet of the master benchmarks ([`mrealm_sim`]): paired through the master's
//! global API with the superuser key, then connected over WebSocket to the master under test.

use std::time::Duration;

use anyhow::Context;
use mrealm_sim::{Fleet, SimConfig};
use serde_json::Value as Json;

pub(super) use mrealm_sim::Disconnect;

use super::target::TargetArgs;

/// A connected simulated fleet.
pub(super) struct Running {
    fleet: Fleet,
    /// How many nodes it has.
    pub nodes: usize,
    /// Time from the first connect until all were online.
    pub connect_time: Duration,
}

impl Running {
    pub(super) fn authid(&self, i: usize) -> String {
        self.fleet.authid(i)
    }

    /// Heartbeats sent so far.
    pub(super) fn sent(&self) -> u64 {
        self.fleet.stats().heartbeats_sent
    }

    /// Nodes online now (as the simulator sees them).
    pub(super) fn online(&self) -> usize {
        self.fleet.stats().online
    }

    /// The worker ids whose heartbeats each node sends: its router workers and `controller`.
    pub(super) fn worker_ids(&self) -> Vec<String> {
        let workers = self.fleet.config().workers;
        let mut ids: Vec<String> = (0..workers)
            .map(mrealm_sim::procedures::worker_id)
            .collect();
        ids.push("controller".into());
        ids
    }

    pub(super) fn set_period(&self, period: Duration) {
        self.fleet.set_period(period);
    }

    pub(super) async fn disconnect(&self, i: usize, how: Disconnect) {
        self.fleet.disconnect(i, how).await;
    }

    pub(super) async fn reconnect(&self, i: usize) -> anyhow::Result<Duration> {
        Ok(self.fleet.reconnect(i).await?)
    }
}

/// Pairs and connects `nodes` simulated nodes named `<prefix>-00000`, ... to the master.
pub(super) async fn start(
    t: &TargetArgs,
    nodes: usize,
    period: Duration,
    prefix: &str,
) -> anyhow::Result<Running> {
    let mut cfg = SimConfig::new(t.url.clone(), nodes, t.superuser_key.clone());
    cfg.mrealm = t.mrealm.clone();
    cfg.period = period;
    cfg.prefix = prefix.to_owned();
    let fleet = Fleet::prepare(cfg)
        .await
        .with_context(|| format!("cannot prepare {nodes} simulated nodes"))?;
    let connected = fleet.connect_all(&|_| {}).await;
    match connected {
        Ok(connect_time) => Ok(Running {
            fleet,
            nodes,
            connect_time,
        }),
        Err(e) => {
            let online = fleet.stats().online;
            let _ = tokio::time::timeout(Duration::from_secs(120), fleet.shutdown()).await;
            Err(anyhow::anyhow!(
                "{online}/{nodes} simulated nodes online: {e}"
            ))
        }
    }
}

/// Starts a fleet unless `nodes` is 0.
pub(super) async fn maybe_start(
    t: &TargetArgs,
    nodes: usize,
    period: f64,
) -> anyhow::Result<Option<Running>> {
    if nodes == 0 {
        return Ok(None);
    }
    let period = Duration::from_secs_f64(period);
    Ok(Some(start(t, nodes, period, "idle").await?))
}

/// Shuts the fleet down (GOODBYE from every node, bounded); the simulator's summary as JSON.
pub(super) async fn stop(running: Option<Running>) -> Json {
    let Some(r) = running else {
        return Json::Null;
    };
    match tokio::time::timeout(Duration::from_secs(120), r.fleet.shutdown()).await {
        Ok(summary) => serde_json::to_value(summary).unwrap_or(Json::Null),
        Err(_) => Json::String("shutdown timed out".into()),
    }
}
