//! Retention of the heartbeat history: raw records older than the raw horizon are folded into
//! their 5-minute aggregates and deleted; aggregates older than the aggregate horizon are
//! deleted.
//!
//! Each key range (one node's or one worker's history) is visited by seeking to its first key,
//! so the work is proportional to the number of ranges plus the records expired, not to the
//! table size. Work is split into write transactions of at most [`MAX_PER_TXN`] deletions so a
//! large backlog never holds the database's write lock for long.

use std::time::Duration;

use redb::{ReadableTable, TableDefinition, WriteTransaction};
use uuid::Uuid;

use super::{
    decode, split_key, with_time, Aggregate, Stored, AGGREGATE_BUCKET_NS, NODE_LOGS, NODE_LOG_AGGS,
    WORKER_LOGS, WORKER_LOG_AGGS,
};
use crate::{Store, StoreError};

/// Most records deleted by one retention write transaction.
pub const MAX_PER_TXN: usize = 20_000;

type Def = TableDefinition<'static, &'static [u8], &'static [u8]>;

/// What one retention run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionStats {
    /// Raw records folded into aggregates and deleted.
    pub raw_expired: u64,
    /// Aggregates deleted.
    pub aggregates_expired: u64,
}

/// The (raw, aggregate) table pairs.
const PAIRS: [(Def, Def, &str); 2] = [
    (NODE_LOGS, NODE_LOG_AGGS, "mnode_log_aggregates"),
    (WORKER_LOGS, WORKER_LOG_AGGS, "mworker_log_aggregates"),
];

impl Store {
    /// Applies retention to every management realm: raw records older than `now - raw_keep`
    /// move into aggregates, aggregates whose bucket starts before `now - agg_keep` go.
    pub fn apply_retention(
        &self,
        raw_keep: Duration,
        agg_keep: Duration,
        now: u64,
    ) -> Result<RetentionStats, StoreError> {
        self.retain(&[], raw_keep, agg_keep, now)
    }

    /// [`Store::apply_retention`] for one management realm only.
    pub fn apply_retention_in(
        &self,
        mrealm: Uuid,
        raw_keep: Duration,
        agg_keep: Duration,
        now: u64,
    ) -> Result<RetentionStats, StoreError> {
        self.retain(mrealm.as_bytes(), raw_keep, agg_keep, now)
    }

    fn retain(
        &self,
        scope: &[u8],
        raw_keep: Duration,
        agg_keep: Duration,
        now: u64,
    ) -> Result<RetentionStats, StoreError> {
        let raw_cut = now.saturating_sub(nanos(raw_keep));
        let agg_cut = now.saturating_sub(nanos(agg_keep));
        let mut stats = RetentionStats::default();
        for (raw, agg, name) in PAIRS {
            loop {
                let txn = self.begin_write()?;
                let (n, more) = expire_raw(&txn, raw, agg, name, scope, raw_cut)?;
                self.commit(txn)?;
                stats.raw_expired += n;
                if !more {
                    break;
                }
            }
            loop {
                let txn = self.begin_write()?;
                let (n, more) = expire_segments(&txn, agg, scope, agg_cut, |_, _| Ok(()))?;
                self.commit(txn)?;
                stats.aggregates_expired += n;
                if !more {
                    break;
                }
            }
        }
        Ok(stats)
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Folds the expired raw records of `raw` into `agg` and deletes them.
fn expire_raw(
    txn: &WriteTransaction,
    raw: Def,
    agg: Def,
    name: &'static str,
    scope: &[u8],
    cut: u64,
) -> Result<(u64, bool), StoreError> {
    let mut pending: Vec<(Vec<u8>, Aggregate)> = Vec::new();
    let out = expire_segments(txn, raw, scope, cut, |prefix, rows| {
        for (ts, v) in rows {
            let rec: Stored = decode(name, v)?;
            let bucket = ts - ts % AGGREGATE_BUCKET_NS;
            let key = with_time(prefix, bucket);
            if pending.last().is_none_or(|(k, _)| *k != key) {
                let fresh = Aggregate {
                    bucket,
                    ..Aggregate::default()
                };
                pending.push((key, fresh));
            }
            if let Some((_, a)) = pending.last_mut() {
                a.add(*ts, &rec);
            }
        }
        Ok(())
    })?;
    let mut table = txn.open_table(agg)?;
    for (key, mut a) in pending {
        let old = table.get(key.as_slice())?.map(|v| v.value().to_vec());
        if let Some(old) = old {
            a.merge(decode(name, &old)?);
        }
        let bytes = serde_json::to_vec(&a).map_err(|e| StoreError::corrupt(name, e))?;
        table.insert(key.as_slice(), bytes.as_slice())?;
    }
    Ok(out)
}

/// For each key range (prefix) of `def` inside `scope`, hands the rows with time `< cut` to
/// `f` (oldest first) and deletes them. Returns the number deleted and whether the per
/// transaction budget ran out before everything expired was visited.
fn expire_segments(
    txn: &WriteTransaction,
    def: Def,
    scope: &[u8],
    cut: u64,
    mut f: impl FnMut(&[u8], &[(u64, &[u8])]) -> Result<(), StoreError>,
) -> Result<(u64, bool), StoreError> {
    let mut table = txn.open_table(def)?;
    let mut cursor = scope.to_vec();
    let mut deleted = 0usize;
    loop {
        let first = match table.range(cursor.as_slice()..)?.next() {
            Some(entry) => entry?.0.value().to_vec(),
            None => break,
        };
        let key = first;
        if !key.starts_with(scope) {
            break;
        }
        let Some((prefix, _)) = split_key(&key) else {
            break;
        };
        let prefix = prefix.to_vec();
        let budget = MAX_PER_TXN - deleted;
        let rows = old_rows(&table, &prefix, cut, budget)?;
        let borrowed: Vec<(u64, &[u8])> = rows.iter().map(|(t, v)| (*t, v.as_slice())).collect();
        f(&prefix, &borrowed)?;
        for (ts, _) in &rows {
            table.remove(with_time(&prefix, *ts).as_slice())?;
        }
        deleted += rows.len();
        if deleted >= MAX_PER_TXN {
            return Ok((deleted as u64, true));
        }
        // the smallest key after every key of this range
        cursor = with_time(&prefix, u64::MAX);
        cursor.push(0);
    }
    Ok((deleted as u64, false))
}

/// Up to `budget` rows of one key range with time `< cut`, oldest first.
fn old_rows(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    prefix: &[u8],
    cut: u64,
    budget: usize,
) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    let (lo, hi) = (with_time(prefix, 0), with_time(prefix, cut));
    let mut rows = Vec::new();
    for entry in table.range(lo.as_slice()..hi.as_slice())?.take(budget) {
        let (k, v) = entry?;
        if let Some((_, ts)) = split_key(k.value()) {
            rows.push((ts, v.value().to_vec()));
        }
    }
    Ok(rows)
}
