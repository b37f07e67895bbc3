//! Per-management-realm heartbeat history: the raw node and worker heartbeat logs (the fields
//! of Crossbar's `MNodeLog` / `MWorkerLog`, kept as JSON documents) and their downsampled
//! 5-minute aggregates, which are kept longer.
//!
//! Keys are composite byte strings that sort by (mrealm oid, node oid, time) and
//! (mrealm oid, node oid, worker id, time): `mrealm (16) | node (16) [| len (u16 BE) | worker]
//! | timestamp (u64 BE, ns)`. A node's or worker's history is therefore one contiguous key
//! range, read newest-first or oldest-first without scanning anything else. The worker id is
//! length-prefixed so no worker's range is a prefix of another's. The timestamp of a raw
//! record is the master's receive time; when two records of one node/worker collide on the
//! same nanosecond, the later one is moved forward by 1 ns, so nothing is overwritten.
//!
//! Appends take a whole batch in one write transaction (group commit). Retention lives in
//! `retention` ([`Store::apply_retention`](crate::Store::apply_retention)): raw records older than the raw horizon are folded into aggregates and
//! deleted; aggregates older than the aggregate horizon are deleted, so disk stays bounded.

mod retention;
#[cfg(test)]
mod tests;

use redb::{ReadableTable, ReadableTableMetadata, Table, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::{Store, StoreError};

pub use retention::RetentionStats;

pub(crate) const NODE_LOGS: TableDefinition<'static, &[u8], &[u8]> =
    TableDefinition::new("mnode_logs");
pub(crate) const WORKER_LOGS: TableDefinition<'static, &[u8], &[u8]> =
    TableDefinition::new("mworker_logs");
pub(crate) const NODE_LOG_AGGS: TableDefinition<'static, &[u8], &[u8]> =
    TableDefinition::new("mnode_log_aggregates");
pub(crate) const WORKER_LOG_AGGS: TableDefinition<'static, &[u8], &[u8]> =
    TableDefinition::new("mworker_log_aggregates");

/// Width of one aggregate bucket: 5 minutes, in ns.
pub const AGGREGATE_BUCKET_NS: u64 = 300 * 1_000_000_000;

/// The two numbers a heartbeat is downsampled by (both optional: not every heartbeat has them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// CPU usage, percent.
    pub cpu: Option<f64>,
    /// Memory usage, percent.
    pub mem: Option<f64>,
}

/// One node heartbeat as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeLog {
    pub mrealm: Uuid,
    pub node: Uuid,
    /// Receive time, ns since the epoch (the key).
    pub timestamp: u64,
    pub metrics: Metrics,
    /// The `MNodeLog` fields; its `timestamp` is set to the stored key time.
    pub doc: Json,
}

/// One worker heartbeat as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerLog {
    pub mrealm: Uuid,
    pub node: Uuid,
    pub worker: String,
    /// Receive time, ns since the epoch (the key).
    pub timestamp: u64,
    pub metrics: Metrics,
    /// The `MWorkerLog` fields; its `timestamp` is set to the stored key time.
    pub doc: Json,
}

/// Min / max / sum of one metric over the samples that had it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub n: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub sum: f64,
}

impl Stat {
    fn add(&mut self, v: Option<f64>) {
        let Some(v) = v.filter(|v| v.is_finite()) else {
            return;
        };
        self.n += 1;
        self.sum += v;
        self.min = Some(self.min.map_or(v, |m| m.min(v)));
        self.max = Some(self.max.map_or(v, |m| m.max(v)));
    }

    fn merge(&mut self, o: &Stat) {
        self.n += o.n;
        self.sum += o.sum;
        self.min = min_opt(self.min, o.min, f64::min);
        self.max = min_opt(self.max, o.max, f64::max);
    }

    /// The mean, when there was at least one sample.
    pub fn avg(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
}

fn min_opt(a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(f(a, b)),
        (a, b) => a.or(b),
    }
}

/// The downsampled heartbeats of one node or worker in one 5-minute bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    /// Start of the bucket, ns since the epoch.
    pub bucket: u64,
    pub count: u64,
    pub cpu: Stat,
    pub mem: Stat,
    /// Time and document of the newest heartbeat folded in.
    pub last_timestamp: u64,
    pub last: Json,
}

impl Aggregate {
    fn add(&mut self, ts: u64, rec: &Stored) {
        self.count += 1;
        self.cpu.add(rec.metrics.cpu);
        self.mem.add(rec.metrics.mem);
        if ts >= self.last_timestamp {
            self.last_timestamp = ts;
            self.last = rec.doc.clone();
        }
    }

    fn merge(&mut self, o: Aggregate) {
        self.count += o.count;
        self.cpu.merge(&o.cpu);
        self.mem.merge(&o.mem);
        if o.last_timestamp >= self.last_timestamp {
            self.last_timestamp = o.last_timestamp;
            self.last = o.last;
        }
    }
}

/// The stored value of a raw record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Stored {
    #[serde(flatten)]
    metrics: Metrics,
    doc: Json,
}

/// The oldest-first or newest-first window of a history query.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Inclusive lower bound, ns.
    pub from: u64,
    /// Inclusive upper bound, ns.
    pub until: u64,
    pub limit: usize,
}

impl Window {
    /// Everything, at most `limit` records.
    pub fn all(limit: usize) -> Window {
        Window {
            from: 0,
            until: u64::MAX,
            limit,
        }
    }
}

// === keys ===

pub(crate) fn node_prefix(mrealm: Uuid, node: Uuid) -> Vec<u8> {
    let mut k = Vec::with_capacity(40);
    k.extend_from_slice(mrealm.as_bytes());
    k.extend_from_slice(node.as_bytes());
    k
}

pub(crate) fn worker_prefix(mrealm: Uuid, node: Uuid, worker: &str) -> Vec<u8> {
    let mut k = node_prefix(mrealm, node);
    let name = worker.as_bytes();
    let name = &name[..name.len().min(u16::MAX as usize)];
    k.extend_from_slice(&(name.len() as u16).to_be_bytes());
    k.extend_from_slice(name);
    k
}

pub(crate) fn with_time(prefix: &[u8], ts: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 8);
    k.extend_from_slice(prefix);
    k.extend_from_slice(&ts.to_be_bytes());
    k
}

/// Splits a key into its prefix and timestamp.
pub(crate) fn split_key(key: &[u8]) -> Option<(&[u8], u64)> {
    let at = key.len().checked_sub(8)?;
    let (prefix, ts) = key.split_at(at);
    Some((prefix, u64::from_be_bytes(ts.try_into().ok()?)))
}

// === writing ===

type RawTable<'t> = Table<'t, &'static [u8], &'static [u8]>;

/// Inserts one record, moving it forward past any record already at its nanosecond.
fn insert(
    table: &mut RawTable<'_>,
    name: &'static str,
    prefix: &[u8],
    ts: u64,
    metrics: Metrics,
    doc: &Json,
) -> Result<(), StoreError> {
    let mut ts = ts;
    while table.get(with_time(prefix, ts).as_slice())?.is_some() {
        ts = ts
            .checked_add(1)
            .ok_or(StoreError::corrupt(name, "timestamp overflow"))?;
    }
    let mut doc = doc.clone();
    if let Json::Object(o) = &mut doc {
        o.insert("timestamp".into(), ts.into());
    }
    let bytes =
        serde_json::to_vec(&Stored { metrics, doc }).map_err(|e| StoreError::corrupt(name, e))?;
    table.insert(with_time(prefix, ts).as_slice(), bytes.as_slice())?;
    Ok(())
}

fn write_batch<T>(
    txn: &WriteTransaction,
    def: TableDefinition<'_, &[u8], &[u8]>,
    name: &'static str,
    recs: &[T],
    f: impl Fn(&T) -> (Vec<u8>, u64, Metrics, &Json),
) -> Result<(), StoreError> {
    if recs.is_empty() {
        return Ok(());
    }
    let mut table = txn.open_table(def)?;
    for r in recs {
        let (prefix, ts, metrics, doc) = f(r);
        insert(&mut table, name, &prefix, ts, metrics, doc)?;
    }
    Ok(())
}

fn node_fields(r: &NodeLog) -> (Vec<u8>, u64, Metrics, &Json) {
    (
        node_prefix(r.mrealm, r.node),
        r.timestamp,
        r.metrics,
        &r.doc,
    )
}

fn worker_fields(r: &WorkerLog) -> (Vec<u8>, u64, Metrics, &Json) {
    let prefix = worker_prefix(r.mrealm, r.node, &r.worker);
    (prefix, r.timestamp, r.metrics, &r.doc)
}

/// Creates the log tables (called when the database is opened).
pub(crate) fn create_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    for def in [NODE_LOGS, WORKER_LOGS, NODE_LOG_AGGS, WORKER_LOG_AGGS] {
        txn.open_table(def)?;
    }
    Ok(())
}

// === reading ===

/// Reads one key range of `def`, newest first, decoding each value with `f`.
fn read_range<T>(
    store: &Store,
    def: TableDefinition<'_, &[u8], &[u8]>,
    prefix: &[u8],
    w: Window,
    mut f: impl FnMut(u64, &[u8]) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    if w.from > w.until || w.limit == 0 {
        return Ok(Vec::new());
    }
    let txn = store.begin_read()?;
    let table = txn.open_table(def)?;
    let (lo, hi) = (with_time(prefix, w.from), with_time(prefix, w.until));
    let mut out = Vec::new();
    for entry in table.range(lo.as_slice()..=hi.as_slice())?.rev() {
        let (k, v) = entry?;
        let ts = split_key(k.value()).map_or(0, |(_, ts)| ts);
        out.push(f(ts, v.value())?);
        if out.len() >= w.limit {
            break;
        }
    }
    Ok(out)
}

fn decode<T: for<'de> Deserialize<'de>>(name: &'static str, v: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(v).map_err(|e| StoreError::corrupt(name, e))
}

impl Store {
    /// Appends node heartbeats, all in one write transaction.
    pub fn append_node_logs(&self, recs: &[NodeLog]) -> Result<(), StoreError> {
        self.append_logs(recs, &[])
    }

    /// Appends worker heartbeats, all in one write transaction.
    pub fn append_worker_logs(&self, recs: &[WorkerLog]) -> Result<(), StoreError> {
        self.append_logs(&[], recs)
    }

    /// Appends node and worker heartbeats together, in one write transaction.
    pub fn append_logs(&self, nodes: &[NodeLog], workers: &[WorkerLog]) -> Result<(), StoreError> {
        if nodes.is_empty() && workers.is_empty() {
            return Ok(());
        }
        let txn = self.begin_write()?;
        write_batch(&txn, NODE_LOGS, "mnode_logs", nodes, node_fields)?;
        write_batch(&txn, WORKER_LOGS, "mworker_logs", workers, worker_fields)?;
        self.commit(txn)?;
        Ok(())
    }

    /// A node's raw heartbeats in `[from, until]`, newest first, at most `limit`.
    pub fn node_logs(
        &self,
        mrealm: Uuid,
        node: Uuid,
        w: Window,
    ) -> Result<Vec<NodeLog>, StoreError> {
        read_range(self, NODE_LOGS, &node_prefix(mrealm, node), w, |ts, v| {
            let s: Stored = decode("mnode_logs", v)?;
            Ok(NodeLog {
                mrealm,
                node,
                timestamp: ts,
                metrics: s.metrics,
                doc: s.doc,
            })
        })
    }

    /// A worker's raw heartbeats in `[from, until]`, newest first, at most `limit`.
    pub fn worker_logs(
        &self,
        mrealm: Uuid,
        node: Uuid,
        worker: &str,
        w: Window,
    ) -> Result<Vec<WorkerLog>, StoreError> {
        let prefix = worker_prefix(mrealm, node, worker);
        read_range(self, WORKER_LOGS, &prefix, w, |ts, v| {
            let s: Stored = decode("mworker_logs", v)?;
            let worker = worker.to_owned();
            Ok(WorkerLog {
                mrealm,
                node,
                worker,
                timestamp: ts,
                metrics: s.metrics,
                doc: s.doc,
            })
        })
    }

    /// A node's aggregates whose bucket starts in `[from, until]`, newest first.
    pub fn node_aggregates(
        &self,
        mrealm: Uuid,
        node: Uuid,
        w: Window,
    ) -> Result<Vec<Aggregate>, StoreError> {
        read_range(
            self,
            NODE_LOG_AGGS,
            &node_prefix(mrealm, node),
            w,
            |_, v| decode("mnode_log_aggregates", v),
        )
    }

    /// A worker's aggregates whose bucket starts in `[from, until]`, newest first.
    pub fn worker_aggregates(
        &self,
        mrealm: Uuid,
        node: Uuid,
        worker: &str,
        w: Window,
    ) -> Result<Vec<Aggregate>, StoreError> {
        let prefix = worker_prefix(mrealm, node, worker);
        read_range(self, WORKER_LOG_AGGS, &prefix, w, |_, v| {
            decode("mworker_log_aggregates", v)
        })
    }

    /// Number of raw (node, worker) heartbeat records stored, over all management realms.
    pub fn log_counts(&self) -> Result<(u64, u64), StoreError> {
        let txn = self.begin_read()?;
        let nodes = txn.open_table(NODE_LOGS)?.len()?;
        let workers = txn.open_table(WORKER_LOGS)?.len()?;
        Ok((nodes, workers))
    }
}
