//! Documents: the desired state of the management realms' managers (router clusters, worker
//! groups, placements, web clusters, web services, memberships, what was deployed), as JSON
//! documents under string keys in one table.
//!
//! The store does not know the documents' shapes or key scheme (the master does); it offers
//! point reads, **bounded** prefix scans (a scan returns exactly the keys that start with the
//! prefix, never a neighbour's), and write transactions that either commit every change or
//! none: [`Store::docs_write`] commits only when its closure returns `Ok`.

use redb::{ReadableTable, Table, TableDefinition};

use crate::{Store, StoreError};

/// Key: chosen by the master, e.g. `<mrealm oid>/rc/<cluster oid>`.
pub(crate) const DOCS: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("mrealm_docs");

/// The smallest string greater than every string starting with `prefix` (none when the
/// prefix is all `char::MAX`, which keys never are).
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = char::from_u32(u32::from(last) + 1) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn scan_in(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    prefix: &str,
) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let mut out = Vec::new();
    let end = prefix_end(prefix);
    let range = match &end {
        Some(end) => table.range::<&str>(prefix..end.as_str())?,
        None => table.range::<&str>(prefix..)?,
    };
    for entry in range {
        let (k, v) = entry?;
        if !k.value().starts_with(prefix) {
            break;
        }
        out.push((k.value().to_owned(), v.value().to_vec()));
    }
    Ok(out)
}

/// Reads and writes inside one write transaction ([`Store::docs_write`]).
pub struct DocsTxn<'t> {
    table: Table<'t, &'static str, &'static [u8]>,
}

impl DocsTxn<'_> {
    /// The document at `key`.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.table.get(key)?.map(|v| v.value().to_vec()))
    }

    /// Every document whose key starts with `prefix`, in key order.
    pub fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        scan_in(&self.table, prefix)
    }

    /// Inserts or replaces the document at `key`.
    pub fn put(&mut self, key: &str, doc: &[u8]) -> Result<(), StoreError> {
        self.table.insert(key, doc)?;
        Ok(())
    }

    /// Removes the document at `key`; whether there was one.
    pub fn remove(&mut self, key: &str) -> Result<bool, StoreError> {
        Ok(self.table.remove(key)?.is_some())
    }
}

impl Store {
    /// The document at `key`.
    pub fn docs_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.begin_read()?;
        let table = txn.open_table(DOCS)?;
        Ok(table.get(key)?.map(|v| v.value().to_vec()))
    }

    /// Every document whose key starts with `prefix`, in key order, from one snapshot.
    pub fn docs_scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let txn = self.begin_read()?;
        let table = txn.open_table(DOCS)?;
        scan_in(&table, prefix)
    }

    /// Runs `f` in one write transaction: committed (durably) when `f` returns `Ok`, rolled
    /// back entirely when it returns `Err` (a refused request changes nothing).
    pub fn docs_write<T, E>(&self, f: impl FnOnce(&mut DocsTxn<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let txn = self.begin_write()?;
        let out = {
            let table = txn.open_table(DOCS).map_err(StoreError::from)?;
            let mut docs = DocsTxn { table };
            f(&mut docs)?
        };
        self.commit(txn)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("t.db")).expect("open");
        (dir, s)
    }

    #[test]
    fn a_scan_returns_exactly_the_keys_under_its_prefix() {
        let (_d, s) = store();
        s.docs_write(|t| -> Result<(), StoreError> {
            for k in ["m/rc/a", "m/rc/b", "m/rcx", "m/rc", "m/rd/a", "m/r"] {
                t.put(k, k.as_bytes())?;
            }
            Ok(())
        })
        .expect("write");
        let keys: Vec<String> = s
            .docs_scan("m/rc/")
            .expect("scan")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["m/rc/a", "m/rc/b"]);
        assert_eq!(
            s.docs_get("m/rcx").expect("get").as_deref(),
            Some(&b"m/rcx"[..])
        );
    }

    #[test]
    fn a_failed_write_changes_nothing() {
        let (_d, s) = store();
        let r = s.docs_write(|t| -> Result<(), StoreError> {
            t.put("k1", b"v")?;
            Err(StoreError::Backup("refused".into()))
        });
        assert!(r.is_err());
        assert_eq!(s.docs_get("k1").expect("get"), None);
        s.docs_write(|t| -> Result<bool, StoreError> { t.remove("nothing") })
            .expect("remove nothing");
    }
}
