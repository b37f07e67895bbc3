//! The fleet: prepares keys, the management realm and pairings, spawns one lean task per
//! node, and is the handle benchmarks and the CLI drive (connect, disconnect, reconnect,
//! change the period, churn, shut down).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::config::SimConfig;
use crate::error::SimError;
use crate::keys::{KeyStore, NodeKey};
use crate::node::{self, Ctrl, Disconnect, Ident, Shared};
use crate::pairing::{self, Superuser};
use crate::stats::{self, Counters, FleetStats, Summary};

/// A simulated fleet. Cheap to clone.
#[derive(Clone)]
pub struct Fleet {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: SimConfig,
    shared: Arc<Shared>,
    ctrls: Vec<mpsc::Sender<Ctrl>>,
    created: Instant,
    all_online: Mutex<Option<Duration>>,
}

impl Fleet {
    /// Keys, management realm and pairing (idempotent), then one idle task per node.
    pub async fn prepare(cfg: SimConfig) -> Result<Fleet, SimError> {
        cfg.validate()?;
        crate::net::ensure_fds(cfg.nodes)?;
        let target = crate::net::resolve(&cfg.url).await?;
        let authids: Vec<String> = (0..cfg.nodes).map(|i| cfg.authid(i)).collect();
        let store = KeyStore::new(cfg.keys_dir.clone(), &cfg.prefix);
        let keys = store.load_or_create(&authids)?;
        pair(&cfg, &store, &authids, &keys).await?;
        let shared = Arc::new(Shared {
            sources: crate::net::source_addrs(&target, cfg.nodes, cfg.source_addrs),
            target,
            mrealm: cfg.mrealm.clone(),
            workers: cfg.workers,
            period_ns: AtomicU64::new(period_ns(cfg.period)),
            counters: Counters::default(),
            connect_gate: Semaphore::new(cfg.connect_concurrency),
        });
        let ctrls = authids
            .into_iter()
            .zip(keys)
            .enumerate()
            .map(|(index, (authid, key))| spawn(&shared, Ident { index, authid, key }))
            .collect();
        Ok(Fleet {
            inner: Arc::new(Inner {
                cfg,
                shared,
                ctrls,
                created: Instant::now(),
                all_online: Mutex::new(None),
            }),
        })
    }

    /// Brings every node online; `progress` gets the number online so far. Returns the time
    /// until all were online (WELCOME, all REGISTERED, uplink `get_status` answered).
    pub async fn connect_all(
        &self,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Duration, SimError> {
        let t0 = Instant::now();
        let mut waits: FuturesUnordered<_> =
            (0..self.len()).map(|i| self.request_connect(i)).collect();
        let (mut ok, mut failed, mut first) = (0, 0, None);
        while let Some(r) = waits.next().await {
            match r {
                Ok(_) => ok += 1,
                Err(e) => {
                    failed += 1;
                    first.get_or_insert(e);
                }
            }
            progress(ok);
        }
        let took = t0.elapsed();
        if let Some(first) = first {
            return Err(SimError::Connect {
                failed,
                total: self.len(),
                first,
            });
        }
        *lock(&self.inner.all_online) = Some(took);
        Ok(took)
    }

    async fn request_connect(&self, i: usize) -> Result<Duration, String> {
        let (tx, rx) = oneshot::channel();
        self.send(i, Ctrl::Connect(tx)).await?;
        rx.await.map_err(|_| "node task ended".to_owned())?
    }

    async fn send(&self, i: usize, c: Ctrl) -> Result<(), String> {
        let tx = self
            .inner
            .ctrls
            .get(i)
            .ok_or_else(|| format!("no node {i}"))?;
        tx.send(c).await.map_err(|_| "node task ended".to_owned())
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> FleetStats {
        self.inner.shared.counters.snapshot(self.len())
    }

    pub fn len(&self) -> usize {
        self.inner.ctrls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.ctrls.is_empty()
    }

    /// The authid of node `i`.
    pub fn authid(&self, i: usize) -> String {
        self.inner.cfg.authid(i)
    }

    /// The configuration the fleet runs with.
    pub fn config(&self) -> &SimConfig {
        &self.inner.cfg
    }

    /// Takes node `i` off the master the given way (returns once done).
    pub async fn disconnect(&self, i: usize, how: Disconnect) {
        let (tx, rx) = oneshot::channel();
        if self.send(i, Ctrl::Disconnect(how, tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Brings node `i` back; returns the time until it was joined and registered.
    pub async fn reconnect(&self, i: usize) -> Result<Duration, SimError> {
        self.request_connect(i).await.map_err(SimError::Node)
    }

    /// Changes the heartbeat period (each node picks it up at its next tick).
    pub fn set_period(&self, period: Duration) {
        self.inner
            .shared
            .period_ns
            .store(period_ns(period), Relaxed);
    }

    /// Disconnects and reconnects nodes at `churn_per_min` (fraction of the fleet per
    /// minute) until `stop` completes; see [`crate::churn`].
    pub async fn run_churn(&self, churn_per_min: f64, stop: impl std::future::Future<Output = ()>) {
        crate::churn::run(self, churn_per_min, stop).await;
    }

    /// GOODBYE from every node, then the summary.
    pub async fn shutdown(self) -> Summary {
        let online_at_end = self.inner.shared.counters.online.load(Relaxed);
        let mut acks: FuturesUnordered<_> = (0..self.len())
            .map(|i| {
                let f = self.clone();
                async move {
                    let (tx, rx) = oneshot::channel();
                    if f.send(i, Ctrl::Shutdown(tx)).await.is_ok() {
                        let _ = rx.await;
                    }
                }
            })
            .collect();
        let drain = async { while acks.next().await.is_some() {} };
        let _ = tokio::time::timeout(Duration::from_secs(15), drain).await;
        Summary {
            stats: self.stats(),
            online_at_end,
            time_to_all_online_s: lock(&self.inner.all_online).map(stats::secs),
            elapsed_s: self.inner.created.elapsed().as_secs_f64(),
            rss_bytes: stats::rss_bytes(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn period_ns(p: Duration) -> u64 {
    u64::try_from(p.as_nanos()).unwrap_or(u64::MAX).max(1)
}

fn spawn(shared: &Arc<Shared>, id: Ident) -> mpsc::Sender<Ctrl> {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(node::run(shared.clone(), id, rx));
    tx
}

/// Ensures the management realm and pairs the nodes not yet recorded as paired.
async fn pair(
    cfg: &SimConfig,
    store: &KeyStore,
    authids: &[String],
    keys: &[NodeKey],
) -> Result<(), SimError> {
    let su = Superuser::load(&cfg.superuser_key)?;
    let session = su.join(&cfg.url, None).await?;
    pairing::ensure_mrealm(&su, &session, &cfg.url, &cfg.mrealm).await?;
    let done = store.paired(&cfg.url, &cfg.mrealm)?;
    let todo: Vec<(String, NodeKey)> = authids
        .iter()
        .zip(keys)
        .filter(|(a, _)| !done.contains(*a))
        .map(|(a, k)| (a.clone(), *k))
        .collect();
    let total = todo.len();
    let (paired, failed) = pairing::pair_nodes(&session, &cfg.mrealm, todo).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), session.leave()).await;
    store.record_paired(&cfg.url, &cfg.mrealm, &paired)?;
    match failed.into_iter().next() {
        Some(first) => Err(SimError::Pairing {
            failed: total - paired.len(),
            total,
            first,
        }),
        None => Ok(()),
    }
}
