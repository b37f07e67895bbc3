//! The heartbeat history writer of one management realm controller.
//!
//! Accepted node and worker heartbeats are handed to [`Writer::submit_acked`], which never waits:
//! it puts them on a bounded queue ([`QUEUE_CAPACITY`]) and, when the queue is full, drops them
//! with a rate-limited warning. One writer task drains the queue and group-commits: after the
//! first heartbeat it collects for up to [`BATCH_WINDOW`] or [`BATCH_MAX`] of them, then builds
//! their records ([`super::record`]) and writes the batch in one redb transaction on the
//! blocking pool, so neither the owner task nor the controller's procedures ever wait for the
//! disk or spend time on the records. A second task applies retention
//! (`log_retention`, `aggregate_retention`) every [`RETENTION_EVERY`].
//!
//! Durable-acknowledge mode (`durable_heartbeats`): the [`AckRegistry`] is installed as the
//! management realm's publish acknowledge gate, so an acknowledged heartbeat PUBLISH gets its
//! PUBLISHED only once the batch holding its record is committed. Such a record never waits on a
//! full queue and is never dropped silently: the publisher gets an ERROR
//! ([`NOT_STORED`]) instead, as it does when the heartbeat is invalid ([`INVALID`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use store::Store;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};
use uuid::Uuid;
use wamp_router::broker::{AckFuture, AckRefused, PublishAckGate};
use wamp_router::session::SessionInfo;

use super::accept::{NodeHeartbeat, WorkerHeartbeat};
use super::record::{node_log, worker_log};
use crate::util::now_ns;
use crate::wire::{errors::HEARTBEAT_NOT_STORED, node};

/// Records that may wait for the writer.
pub(crate) const QUEUE_CAPACITY: usize = 100_000;
/// Most records per write transaction.
pub(crate) const BATCH_MAX: usize = 5_000;
/// Longest a batch collects after its first record.
pub(crate) const BATCH_WINDOW: Duration = Duration::from_millis(10);
/// Period of the retention run.
pub(crate) const RETENTION_EVERY: Duration = Duration::from_secs(600);
/// Least time between two "queue full" warnings.
const WARN_EVERY: Duration = Duration::from_secs(5);

/// Longest a durable acknowledge waits for the controller and the disk.
pub(crate) const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// The ERROR of a durable heartbeat publish that was not stored.
pub(crate) const NOT_STORED: &str = HEARTBEAT_NOT_STORED;
/// The topics whose acknowledged publications are gated in durable mode.
const GATED: [&str; 2] = [node::ON_HEARTBEAT, node::ON_WORKER_HEARTBEAT];

/// One accepted heartbeat of node `node` to store, received at `received` (ns).
pub(crate) enum Record {
    Node {
        node: Uuid,
        hb: NodeHeartbeat,
        received: u64,
    },
    Worker {
        node: Uuid,
        hb: WorkerHeartbeat,
        received: u64,
    },
}

/// Completes a durable acknowledge: `Ok` sends PUBLISHED, `Err` an ERROR.
pub(crate) type Ack = oneshot::Sender<Result<(), AckRefused>>;

/// A refusal with the error URI and message.
pub(crate) fn refused(error: &str, message: impl Into<String>) -> AckRefused {
    AckRefused {
        error: error.into(),
        message: message.into(),
    }
}

/// Durable-acknowledge mode: the PUBLISHEDs waiting for their heartbeat to be committed, by
/// publication id. The gate registers one; the controller's event handler takes it and hands it
/// to the writer with the record.
#[derive(Default)]
pub(crate) struct AckRegistry {
    pending: Arc<Mutex<HashMap<u64, Ack>>>,
}

impl AckRegistry {
    /// The acknowledge waiting for `publication`, if its publisher asked for one.
    pub(crate) fn take(&self, publication: u64) -> Option<Ack> {
        lock(&self.pending).remove(&publication)
    }
}

impl PublishAckGate for AckRegistry {
    fn gate(&self, _: &SessionInfo, topic: &str, publication: u64) -> Option<AckFuture> {
        if !GATED.contains(&topic) {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(publication, tx);
        let pending = self.pending.clone();
        Some(Box::pin(async move {
            match tokio::time::timeout(ACK_TIMEOUT, rx).await {
                Ok(Ok(r)) => r,
                Ok(Err(_)) => Err(refused(NOT_STORED, "heartbeat writer stopped")),
                Err(_) => {
                    lock(&pending).remove(&publication);
                    Err(refused(NOT_STORED, "heartbeat not stored in time"))
                }
            }
        }))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How long raw records and aggregates are kept.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retention {
    pub raw: Duration,
    pub aggregates: Duration,
}

/// The sending side of the history queue.
pub(crate) struct Writer {
    tx: mpsc::Sender<(Record, Option<Ack>)>,
    dropped: AtomicU64,
    last_warn: Mutex<Option<Instant>>,
}

impl Writer {
    /// Starts the writer and retention tasks for management realm `mrealm`; returns the queue,
    /// the writer task (it ends once every queue handle is dropped and the queue is drained:
    /// await it to flush) and the retention task.
    pub(crate) fn start(
        store: Arc<Store>,
        mrealm: Uuid,
        keep: Retention,
    ) -> (Arc<Writer>, JoinHandle<()>, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let writer = Arc::new(Writer {
            tx,
            dropped: AtomicU64::new(0),
            last_warn: Mutex::new(None),
        });
        let write = tokio::spawn(write_loop(store.clone(), mrealm, rx));
        let retention = tokio::spawn(retention_loop(store, mrealm, keep));
        (writer, write, retention)
    }

    /// Queues a record without waiting; a full queue drops it. Returns whether it was queued.
    #[cfg(test)]
    pub(crate) fn submit(&self, rec: Record) -> bool {
        self.submit_acked(rec, None)
    }

    /// Like [`Writer::submit`]; `ack` is completed once the record is committed, or with an
    /// ERROR at once if the record cannot be queued.
    pub(crate) fn submit_acked(&self, rec: Record, ack: Option<Ack>) -> bool {
        let (what, ack) = match self.tx.try_send((rec, ack)) {
            Ok(()) => return true,
            Err(TrySendError::Full((_, ack))) => ("heartbeat history queue full", ack),
            Err(TrySendError::Closed((_, ack))) => ("heartbeat history writer stopped", ack),
        };
        self.dropped_one(&format!("{what}: heartbeat not stored"));
        if let Some(a) = ack {
            let _ = a.send(Err(refused(NOT_STORED, what)));
        }
        false
    }

    fn dropped_one(&self, what: &str) {
        let total = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        let mut last = lock(&self.last_warn);
        if last.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
            *last = Some(Instant::now());
            warn!(dropped_total = total, capacity = QUEUE_CAPACITY, "{what}");
        }
    }

    /// Heartbeats dropped so far because the queue was full or closed.
    #[cfg(test)]
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Collects a batch: waits for one record, then takes more for up to [`BATCH_WINDOW`].
/// Returns `false` once the queue is closed and drained.
async fn next_batch(rx: &mut mpsc::Receiver<Queued>, batch: &mut Vec<Queued>) -> bool {
    if rx.recv_many(batch, BATCH_MAX).await == 0 {
        return false;
    }
    let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
    while batch.len() < BATCH_MAX {
        let room = BATCH_MAX - batch.len();
        match tokio::time::timeout_at(deadline, rx.recv_many(batch, room)).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    true
}

/// A queued record and its durable acknowledge.
type Queued = (Record, Option<Ack>);

async fn write_loop(store: Arc<Store>, mrealm: Uuid, mut rx: mpsc::Receiver<Queued>) {
    loop {
        let mut batch = Vec::with_capacity(BATCH_MAX);
        if !next_batch(&mut rx, &mut batch).await {
            return;
        }
        let (records, acks): (Vec<Record>, Vec<Option<Ack>>) = batch.into_iter().unzip();
        let count = records.len();
        let store = store.clone();
        let started = Instant::now();
        let done = tokio::task::spawn_blocking(move || {
            let (mut nodes, mut workers) = (Vec::new(), Vec::new());
            for r in &records {
                match r {
                    Record::Node { node, hb, received } => {
                        nodes.push(node_log(mrealm, *node, hb, *received))
                    }
                    Record::Worker { node, hb, received } => {
                        workers.push(worker_log(mrealm, *node, hb, *received))
                    }
                }
            }
            store.append_logs(&nodes, &workers)
        })
        .await;
        let outcome = match done {
            Ok(Ok(())) => {
                let ms = started.elapsed().as_millis() as u64;
                debug!(count, ms, "heartbeats stored");
                Ok(())
            }
            Ok(Err(e)) => {
                warn!(count, error = %e, "cannot store heartbeats");
                Err(refused(NOT_STORED, format!("cannot store heartbeats: {e}")))
            }
            Err(e) => {
                warn!(count, error = %e, "heartbeat writer failed");
                Err(refused(NOT_STORED, "heartbeat writer failed"))
            }
        };
        for a in acks.into_iter().flatten() {
            let _ = a.send(outcome.clone());
        }
    }
}

async fn retention_loop(store: Arc<Store>, mrealm: Uuid, keep: Retention) {
    let mut every = tokio::time::interval(RETENTION_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let store = store.clone();
        let run = move || store.apply_retention_in(mrealm, keep.raw, keep.aggregates, now_ns());
        match tokio::task::spawn_blocking(run).await {
            Ok(Ok(st)) if st.raw_expired + st.aggregates_expired > 0 => info!(
                %mrealm, raw = st.raw_expired, aggregates = st.aggregates_expired,
                "heartbeat history retention applied"
            ),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => warn!(%mrealm, error = %e, "heartbeat history retention failed"),
            Err(e) => warn!(%mrealm, error = %e, "heartbeat history retention task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::Window;
    use wamp_proto::dict;

    fn rec(_mrealm: Uuid, node: Uuid, i: u64) -> Record {
        let args = ["n1".into(), dict! { "seq" => i }.into()];
        let hb = super::super::accept::accept_node(&args).expect("valid");
        Record::Node {
            node,
            hb,
            received: now_ns() + i,
        }
    }

    #[tokio::test]
    async fn queued_records_are_group_committed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(&dir.path().join("t.db")).expect("open"));
        let (m, n) = (Uuid::new_v4(), Uuid::new_v4());
        let keep = Retention {
            raw: Duration::from_secs(3600),
            aggregates: Duration::from_secs(7200),
        };
        let (w, write, retention) = Writer::start(store.clone(), m, keep);
        let tasks = [write, retention];
        let started = Instant::now();
        for i in 0..12_000 {
            assert!(w.submit(rec(m, n, i)));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while store.log_counts().expect("count").0 < 12_000 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        println!("12,000 queued heartbeats stored in {:?}", started.elapsed());
        assert_eq!(
            store
                .node_logs(m, n, Window::all(20_000))
                .expect("read")
                .len(),
            12_000
        );
        assert_eq!(w.dropped(), 0);
        tasks.iter().for_each(JoinHandle::abort);
    }

    #[tokio::test]
    async fn a_full_queue_drops_instead_of_waiting() {
        let (tx, _rx) = mpsc::channel(2);
        let w = Writer {
            tx,
            dropped: AtomicU64::new(0),
            last_warn: Mutex::new(None),
        };
        let (m, n) = (Uuid::new_v4(), Uuid::new_v4());
        let queued: Vec<bool> = (0..5).map(|i| w.submit(rec(m, n, i))).collect();
        assert_eq!(queued, [true, true, false, false, false]);
        assert_eq!(w.dropped(), 3);
    }
}
