//! Where the managers' objects live in the store's document table (`store::DocsTxn`), and
//! typed reads and writes of them. Every key starts with the management realm's oid, so
//! management realms never see each other's objects, and every listing is a bounded prefix
//! scan (Crossbar's unbounded range scans, ⚠D28, cannot happen).
//!
//! | key | document |
//! |---|---|
//! | `<m>/rc/<cluster>` | [`RouterCluster`](super::model::RouterCluster) |
//! | `<m>/rc_node/<cluster>/<node>` | [`RcMembership`](super::model::RcMembership) |
//! | `<m>/wg/<cluster>/<group>` | [`WorkerGroup`](super::model::WorkerGroup) |
//! | `<m>/placement/<cluster>/<group>/<placement>` | [`Placement`](super::model::Placement) |
//! | `<m>/wc/<cluster>` | [`WebCluster`](super::model::WebCluster) |
//! | `<m>/wc_node/<cluster>/<node>` | [`WcMembership`](super::model::WcMembership) |
//! | `<m>/ws/<cluster>/<service>` | [`WebService`](super::model::WebService) |
//! | `<m>/deployed/<kind>/<cluster>/<node>` | what the reconciler started there (reconcilers) |

use serde::de::DeserializeOwned;
use serde::Serialize;
use store::{DocsTxn, Store, StoreError};
use uuid::Uuid;

use crate::error::Result;

/// The keys of one management realm's objects.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keys {
    m: Uuid,
}

impl Keys {
    pub(crate) fn new(mrealm: Uuid) -> Keys {
        Keys { m: mrealm }
    }

    pub(crate) fn rc(&self, c: Uuid) -> String {
        format!("{}/rc/{c}", self.m)
    }
    pub(crate) fn rc_all(&self) -> String {
        format!("{}/rc/", self.m)
    }
    pub(crate) fn rc_node(&self, c: Uuid, n: Uuid) -> String {
        format!("{}/rc_node/{c}/{n}", self.m)
    }
    pub(crate) fn rc_nodes(&self, c: Uuid) -> String {
        format!("{}/rc_node/{c}/", self.m)
    }
    pub(crate) fn wg(&self, c: Uuid, g: Uuid) -> String {
        format!("{}/wg/{c}/{g}", self.m)
    }
    pub(crate) fn wgs(&self, c: Uuid) -> String {
        format!("{}/wg/{c}/", self.m)
    }
    pub(crate) fn wgs_all(&self) -> String {
        format!("{}/wg/", self.m)
    }
    pub(crate) fn placement(&self, c: Uuid, g: Uuid, p: Uuid) -> String {
        format!("{}/placement/{c}/{g}/{p}", self.m)
    }
    pub(crate) fn placements_of_group(&self, c: Uuid, g: Uuid) -> String {
        format!("{}/placement/{c}/{g}/", self.m)
    }
    pub(crate) fn placements_of_cluster(&self, c: Uuid) -> String {
        format!("{}/placement/{c}/", self.m)
    }
    pub(crate) fn wc(&self, c: Uuid) -> String {
        format!("{}/wc/{c}", self.m)
    }
    pub(crate) fn wc_all(&self) -> String {
        format!("{}/wc/", self.m)
    }
    pub(crate) fn wc_node(&self, c: Uuid, n: Uuid) -> String {
        format!("{}/wc_node/{c}/{n}", self.m)
    }
    pub(crate) fn wc_nodes(&self, c: Uuid) -> String {
        format!("{}/wc_node/{c}/", self.m)
    }
    pub(crate) fn ws(&self, c: Uuid, s: Uuid) -> String {
        format!("{}/ws/{c}/{s}", self.m)
    }
    pub(crate) fn wss(&self, c: Uuid) -> String {
        format!("{}/ws/{c}/", self.m)
    }
    /// `kind` is `rc` or `wc`.
    pub(crate) fn deployed(&self, kind: &str, c: Uuid, n: Uuid) -> String {
        format!("{}/deployed/{kind}/{c}/{n}", self.m)
    }
    pub(crate) fn deployed_of(&self, kind: &str, c: Uuid) -> String {
        format!("{}/deployed/{kind}/{c}/", self.m)
    }
    pub(crate) fn deployed_all(&self, kind: &str) -> String {
        format!("{}/deployed/{kind}/", self.m)
    }
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        StoreError::Corrupt {
            table: "mrealm_docs",
            reason: format!("{key}: {e}"),
        }
        .into()
    })
}

fn encode<T: Serialize>(key: &str, doc: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(doc).map_err(|e| {
        StoreError::Corrupt {
            table: "mrealm_docs",
            reason: format!("{key}: {e}"),
        }
        .into()
    })
}

/// Typed reads, from a snapshot ([`Store`]) or inside a write transaction ([`DocsTxn`]).
pub(crate) trait Read {
    fn raw_get(&self, key: &str) -> std::result::Result<Option<Vec<u8>>, StoreError>;
    fn raw_scan(&self, prefix: &str) -> std::result::Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// The document at `key`.
    fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.raw_get(key)? {
            Some(b) => decode(key, &b).map(Some),
            None => Ok(None),
        }
    }

    /// The documents under `prefix`, in key order.
    fn scan<T: DeserializeOwned>(&self, prefix: &str) -> Result<Vec<T>> {
        self.raw_scan(prefix)?
            .iter()
            .map(|(k, b)| decode(k, b))
            .collect()
    }
}

impl Read for Store {
    fn raw_get(&self, key: &str) -> std::result::Result<Option<Vec<u8>>, StoreError> {
        self.docs_get(key)
    }
    fn raw_scan(&self, prefix: &str) -> std::result::Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.docs_scan(prefix)
    }
}

impl Read for DocsTxn<'_> {
    fn raw_get(&self, key: &str) -> std::result::Result<Option<Vec<u8>>, StoreError> {
        DocsTxn::get(self, key)
    }
    fn raw_scan(&self, prefix: &str) -> std::result::Result<Vec<(String, Vec<u8>)>, StoreError> {
        DocsTxn::scan(self, prefix)
    }
}

/// Writes `doc` at `key`.
pub(crate) fn put<T: Serialize>(txn: &mut DocsTxn<'_>, key: &str, doc: &T) -> Result<()> {
    let bytes = encode(key, doc)?;
    txn.put(key, &bytes)?;
    Ok(())
}

/// Removes every document under `prefix`; how many there were.
pub(crate) fn remove_all(txn: &mut DocsTxn<'_>, prefix: &str) -> Result<usize> {
    let keys: Vec<String> = txn.scan(prefix)?.into_iter().map(|(k, _)| k).collect();
    for k in &keys {
        txn.remove(k)?;
    }
    Ok(keys.len())
}

/// Runs `f` in one write transaction of `store` (all or nothing).
pub(crate) fn write<T>(store: &Store, f: impl FnOnce(&mut DocsTxn<'_>) -> Result<T>) -> Result<T> {
    store.docs_write(f)
}
