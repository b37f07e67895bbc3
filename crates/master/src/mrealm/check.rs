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

#[cfg(test)]
mod tests {
    //! The check loop under paused time, against a stand-in for a node's `get_status`
    //! registered by an in-process session (the node itself is put into the map directly).

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use wamp_client::RegisterOptions;
    use wamp_proto::dict;

    use super::*;
    use crate::mrealm::heartbeats::{Retention, Writer};
    use crate::mrealm::nodes::{NodeMap, Transition};
    use crate::{Master, MasterConfig};

    async fn driver(dir: &std::path::Path) -> Arc<Driver> {
        let config = MasterConfig {
            cbdir: dir.to_path_buf(),
            ..MasterConfig::default()
        };
        let master = Master::start(config).await.expect("master");
        let rec = store::MrealmRecord {
            oid: Uuid::new_v4(),
            name: "mr1".into(),
            label: None,
            description: None,
            tags: None,
            created: 0,
            owner: master.superuser_oid,
            cf_router_worker: None,
            cf_container_worker: None,
        };
        master.store.create_mrealm(&rec).expect("create");
        master.activate_mrealm(&rec).await.expect("activate");
        let keep = Retention {
            raw: Duration::from_secs(3600),
            aggregates: Duration::from_secs(3600),
        };
        let (history, _, _) = Writer::start(master.store.clone(), rec.oid, keep);
        Arc::new(Driver {
            session: master
                .local_session("mr1", "check-test")
                .await
                .expect("session"),
            ingest: master
                .local_session("mr1", "check-test-ingest")
                .await
                .expect("session"),
            master,
            mrealm_oid: rec.oid,
            map: Arc::new(Mutex::new(NodeMap::default())),
            history,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn checks_every_period_never_overlapping_and_marks_gone_nodes_offline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = driver(dir.path()).await;
        let oid = Uuid::new_v4();
        assert!(matches!(
            d.map.lock().expect("map").joined(oid, "n1", 1),
            Some(Transition::Ready(..))
        ));
        // a node whose get_status takes 15 s: longer than the 10 s period
        let node = d
            .master
            .local_session("mr1", "fake-node")
            .await
            .expect("node");
        let (calls, busy, overlap) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let (c, b, o) = (calls.clone(), busy.clone(), overlap.clone());
        let reg = node
            .register(
                "crossbarfabriccenter.node.n1.get_status",
                RegisterOptions::default(),
                move |_| {
                    let (c, b, o) = (c.clone(), b.clone(), o.clone());
                    async move {
                        c.fetch_add(1, Ordering::SeqCst);
                        if b.fetch_add(1, Ordering::SeqCst) > 0 {
                            o.fetch_add(1, Ordering::SeqCst);
                        }
                        tokio::time::sleep(Duration::from_secs(15)).await;
                        b.fetch_sub(1, Ordering::SeqCst);
                        let status = dict! { "workers_by_type" => dict! { "router" => 2 } };
                        Ok((vec![status.into()], Dict::new()))
                    }
                },
            )
            .await
            .expect("register");
        let task = tokio::spawn(run(
            d.clone(),
            Duration::from_secs(10),
            Duration::from_secs(30),
        ));
        tokio::time::sleep(Duration::from_secs(61)).await;
        // checks at 10 s and 25 s (the slow answer delays the next tick), then 40 s and 55 s
        let n = calls.load(Ordering::SeqCst);
        assert!((3..=4).contains(&n), "{n} checks in 61 s");
        assert_eq!(overlap.load(Ordering::SeqCst), 0, "two checks overlapped");
        let workers = d
            .map
            .lock()
            .expect("map")
            .get(&oid)
            .map(|s| s.workers.clone())
            .expect("node");
        assert_eq!(workers.get("router"), Some(&2));
        // the node's procedures disappear: the next check marks it offline
        reg.unregister().await.expect("unregister");
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(!d.map.lock().expect("map").get(&oid).expect("node").online);
        task.abort();
    }
}
