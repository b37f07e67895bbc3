//! `check_and_apply`: every `check_interval`, health-check every online node through its
//! `crossbarfabriccenter.node.<authid>.get_status`, concurrently (bounded) with a per-call
//! timeout. A runs never overlaps the next (the loop awaits it) and logs one summary line.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use tracing::info;
use uuid::Uuid;
use wamp_client::{CallOptions, Error as ClientError};
use wamp_proto::{Dict, Value};

use super::events::Driver;

/// Calls in flight at once.
const CONCURRENCY: usize = 64;

/// The outcome of one node's check.
enum Outcome {
    Healthy(Option<BTreeMap<String, u64>>),
    Gone,
    Unanswered,
}

pub(crate) async fn run(d: Arc<Driver>, period: Duration, call_timeout: Duration) {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await; // the first tick is immediate: nothing to check yet
    loop {
        interval.tick().await;
        check_once(&d, call_timeout).await;
    }
}

/// One pass over the online nodes.
pub(crate) async fn check_once(d: &Arc<Driver>, call_timeout: Duration) {
    let started = Instant::now();
    let online = d.map.lock().unwrap_or_else(|e| e.into_inner()).online();
    let total = online.len();
    let results: Vec<(Uuid, String, Outcome)> = stream::iter(online)
        .map(|(oid, authid)| {
            let d = d.clone();
            async move {
                let outcome = check_node(&d, &authid, call_timeout).await;
                (oid, authid, outcome)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let (mut healthy, mut gone, mut silent) = (0, 0, 0);
    for (oid, authid, outcome) in results {
        let t = {
            let mut map = d.map.lock().unwrap_or_else(|e| e.into_inner());
            match outcome {
                Outcome::Healthy(w) => {
                    healthy += 1;
                    map.check_ok(oid, &authid, w)
                }
                Outcome::Gone => {
                    gone += 1;
                    map.check_failed(oid)
                }
                Outcome::Unanswered => {
                    silent += 1;
                    None
                }
            }
        };
        if let Some(t) = t {
            d.announce(t).await;
        }
    }
    info!(
        checked = total,
        healthy,
        gone,
        unanswered = silent,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "check_and_apply"
    );
}

async fn check_node(d: &Driver, authid: &str, call_timeout: Duration) -> Outcome {
    let uri = format!("crossbarfabriccenter.node.{authid}.get_status");
    let opts = CallOptions {
        timeout: Some(call_timeout),
        ..CallOptions::default()
    };
    match d.session.call(&uri, Vec::new(), Dict::new(), opts).await {
        Ok(r) => Outcome::Healthy(
            r.args
                .first()
                .and_then(|s| s.get("workers_by_type"))
                .and_then(Value::as_dict)
                .and_then(|w| super::events::worker_counts(w).ok()),
        ),
        Err(e) if e.uri() == Some("wamp.error.no_such_procedure") => Outcome::Gone,
        Err(ClientError::Wamp { .. }) => Outcome::Healthy(None),
        Err(_) => Outcome::Unanswered,
    }
}
