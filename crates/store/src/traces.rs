//! Traces: the tracing definitions of a management realm (which workers to trace, with which
//! options, who may read them) and their status, so they survive a master restart.
//!
//! One table, keyed by `<mrealm oid>/<trace id>` (the oid has a fixed length, so any trace id is
//! unambiguous), holding a JSON [`TraceRecord`]. The table is created when the store is opened.

use redb::{ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::{pair_key, Store, StoreError};

/// Key: `<mrealm oid>/<trace id>`.
pub(crate) const TRACES: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("traces");

/// One trace of a management realm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceRecord {
    pub mrealm_oid: Uuid,
    pub trace_id: String,
    /// (node oid, worker id) pairs.
    pub traced_workers: Vec<(Uuid, String)>,
    pub trace_options: Option<Json>,
    pub eligible_reader_roles: Option<Vec<String>>,
    pub exclude_reader_roles: Option<Vec<String>>,
    /// `stopped`, `starting`, `running`, `stopping` or `stopping_failed`.
    pub status: String,
    /// Creation time, microseconds since the epoch.
    pub created: u64,
    /// Why the status is what it is, when the master changed it by itself (e.g. at restart).
    #[serde(default)]
    pub note: Option<String>,
}

fn decode(bytes: &[u8]) -> Result<TraceRecord, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt("traces", e))
}

fn encode(rec: &TraceRecord) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(rec).map_err(|e| StoreError::corrupt("traces", e))
}

impl Store {
    /// Stores a new trace. When one with the same id exists in that management realm, nothing
    /// is written and the existing record is returned.
    pub fn create_trace(&self, rec: &TraceRecord) -> Result<Option<TraceRecord>, StoreError> {
        let txn = self.begin_write()?;
        {
            let mut table = txn.open_table(TRACES)?;
            let key = pair_key(rec.mrealm_oid, &rec.trace_id);
            if let Some(old) = table.get(key.as_str())? {
                return decode(old.value()).map(Some);
            }
            table.insert(key.as_str(), encode(rec)?.as_slice())?;
        }
        self.commit(txn)?;
        Ok(None)
    }

    /// Replaces a trace's record (inserting it if it is gone).
    pub fn put_trace(&self, rec: &TraceRecord) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        {
            let key = pair_key(rec.mrealm_oid, &rec.trace_id);
            txn.open_table(TRACES)?
                .insert(key.as_str(), encode(rec)?.as_slice())?;
        }
        self.commit(txn)?;
        Ok(())
    }

    pub fn get_trace(
        &self,
        mrealm: Uuid,
        trace_id: &str,
    ) -> Result<Option<TraceRecord>, StoreError> {
        let txn = self.begin_read()?;
        let table = txn.open_table(TRACES)?;
        let found = table.get(pair_key(mrealm, trace_id).as_str())?;
        found.map(|v| decode(v.value())).transpose()
    }

    /// The traces of one management realm, ordered by trace id.
    pub fn list_traces(&self, mrealm: Uuid) -> Result<Vec<TraceRecord>, StoreError> {
        let txn = self.begin_read()?;
        let table = txn.open_table(TRACES)?;
        let prefix = pair_key(mrealm, "");
        let mut out = Vec::new();
        for entry in table.range(prefix.as_str()..)? {
            let (key, doc) = entry?;
            if !key.value().starts_with(&prefix) {
                break;
            }
            out.push(decode(doc.value())?);
        }
        Ok(out)
    }

    /// Deletes a trace; returns whether it existed.
    pub fn delete_trace(&self, mrealm: Uuid, trace_id: &str) -> Result<bool, StoreError> {
        let txn = self.begin_write()?;
        let existed = txn
            .open_table(TRACES)?
            .remove(pair_key(mrealm, trace_id).as_str())?
            .is_some();
        self.commit(txn)?;
        Ok(existed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(mrealm: Uuid, id: &str) -> TraceRecord {
        TraceRecord {
            mrealm_oid: mrealm,
            trace_id: id.into(),
            traced_workers: vec![(Uuid::new_v4(), "w1".into())],
            trace_options: Some(serde_json::json!({"batching_period": 200})),
            eligible_reader_roles: None,
            exclude_reader_roles: Some(vec!["guest".into()]),
            status: "stopped".into(),
            created: 1,
            note: None,
        }
    }

    #[test]
    fn traces_are_per_mrealm_and_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        let (m1, m2) = (Uuid::new_v4(), Uuid::new_v4());
        {
            let store = Store::open(&path).expect("open");
            assert_eq!(store.create_trace(&rec(m1, "b")).expect("create"), None);
            assert_eq!(store.create_trace(&rec(m1, "a/x")).expect("create"), None);
            assert_eq!(store.create_trace(&rec(m2, "a")).expect("create"), None);
            let dup = store.create_trace(&rec(m1, "b")).expect("dup");
            assert_eq!(dup.map(|r| r.trace_id), Some("b".to_string()));
            let mut running = rec(m1, "b");
            running.status = "running".into();
            store.put_trace(&running).expect("put");
        }
        let store = Store::open(&path).expect("reopen");
        let ids: Vec<String> = store
            .list_traces(m1)
            .expect("list")
            .into_iter()
            .map(|r| r.trace_id)
            .collect();
        assert_eq!(ids, vec!["a/x".to_string(), "b".to_string()]);
        let b = store.get_trace(m1, "b").expect("get").expect("b");
        assert_eq!(b.status, "running");
        assert_eq!(store.get_trace(m2, "b").expect("get"), None);
        assert!(store.delete_trace(m1, "b").expect("delete"));
        assert!(!store.delete_trace(m1, "b").expect("delete again"));
        assert_eq!(store.list_traces(m2).expect("list").len(), 1);
    }
}
