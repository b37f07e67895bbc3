//! Online backup: a consistent copy of every table, taken from one read transaction while the
//! database stays open and writable.
//!
//! redb's read transactions are snapshots (MVCC), so writers carry on while the copy runs and the
//! copy holds exactly the state of one commit. The copy goes to `<to>.tmp`, is committed with
//! immediate durability, then renamed into place; an existing `to` is never overwritten.

use std::path::{Path, PathBuf};

use redb::{Database, ReadTransaction, TableError, TableHandle};

use crate::docs::DOCS;
use crate::logs::{NODE_LOGS, NODE_LOG_AGGS, WORKER_LOGS, WORKER_LOG_AGGS};
use crate::tables::*;
use crate::traces::TRACES;
use crate::{Store, StoreError};

/// What a backup wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupStats {
    /// Rows copied over all tables.
    pub rows: u64,
    /// Size of the backup file.
    pub bytes: u64,
}

/// Copies one table; a table the source never created is skipped.
macro_rules! copy_table {
    ($src:expr, $dst:expr, $def:expr, $rows:expr) => {{
        match $src.open_table($def) {
            Err(TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(redb::Error::from(e).into()),
            Ok(from) => {
                let mut to = $dst.open_table($def)?;
                for row in redb::ReadableTable::iter(&from)? {
                    let (k, v) = row?;
                    to.insert(k.value(), v.value())?;
                    $rows += 1;
                }
            }
        }
    }};
}

impl Store {
    /// Writes a consistent copy of the whole database to `to`, which must not exist.
    pub fn backup_to(&self, to: &Path) -> Result<BackupStats, StoreError> {
        if to.exists() {
            return Err(StoreError::Backup(format!(
                "{} exists: not overwriting it",
                to.display()
            )));
        }
        let tmp = tmp_path(to);
        let _ = std::fs::remove_file(&tmp);
        let snapshot = self.begin_read()?;
        let rows = write_copy(&snapshot, &tmp).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })?;
        std::fs::rename(&tmp, to).map_err(|e| io("rename", &tmp, e))?;
        let bytes = std::fs::metadata(to).map_err(|e| io("stat", to, e))?.len();
        Ok(BackupStats { rows, bytes })
    }
}

fn write_copy(src: &ReadTransaction, tmp: &Path) -> Result<u64, StoreError> {
    let db = Database::create(tmp)?;
    let txn = db.begin_write()?;
    let mut rows = 0u64;
    {
        copy_table!(src, txn, META, rows);
        copy_table!(src, txn, MREALMS, rows);
        copy_table!(src, txn, MREALM_BY_NAME, rows);
        copy_table!(src, txn, NODES, rows);
        copy_table!(src, txn, NODE_BY_PUBKEY, rows);
        copy_table!(src, txn, NODE_BY_AUTHID, rows);
        copy_table!(src, txn, USERS, rows);
        copy_table!(src, txn, USER_BY_PUBKEY, rows);
        copy_table!(src, txn, USER_ROLES, rows);
        copy_table!(src, txn, TRACES, rows);
        copy_table!(src, txn, DOCS, rows);
        copy_table!(src, txn, NODE_LOGS, rows);
        copy_table!(src, txn, WORKER_LOGS, rows);
        copy_table!(src, txn, NODE_LOG_AGGS, rows);
        copy_table!(src, txn, WORKER_LOG_AGGS, rows);
    }
    txn.commit()?;
    drop(db);
    check_tables_known(src)?;
    Ok(rows)
}

/// Refuses to call a backup complete when the database has a table this code does not copy (a
/// table added without adding it to the list above).
fn check_tables_known(src: &ReadTransaction) -> Result<(), StoreError> {
    let known: [String; 15] = [
        META.name().to_owned(),
        MREALMS.name().to_owned(),
        MREALM_BY_NAME.name().to_owned(),
        NODES.name().to_owned(),
        NODE_BY_PUBKEY.name().to_owned(),
        NODE_BY_AUTHID.name().to_owned(),
        USERS.name().to_owned(),
        USER_BY_PUBKEY.name().to_owned(),
        USER_ROLES.name().to_owned(),
        TRACES.name().to_owned(),
        DOCS.name().to_owned(),
        NODE_LOGS.name().to_owned(),
        WORKER_LOGS.name().to_owned(),
        NODE_LOG_AGGS.name().to_owned(),
        WORKER_LOG_AGGS.name().to_owned(),
    ];
    for t in src.list_tables()? {
        if !known.iter().any(|k| k == t.name()) {
            return Err(StoreError::Backup(format!(
                "table {} is not covered by the backup",
                t.name()
            )));
        }
    }
    Ok(())
}

fn tmp_path(to: &Path) -> PathBuf {
    let mut s = to.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

fn io(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Backup(format!("{what} {}: {e}", path.display()))
}
