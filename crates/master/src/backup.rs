//! Backups of the database: offline, of a stopped master (`mrealm master backup --cbdir D --to
//! FILE`), and online, by the running master itself (`crossbarfabriccenter.domain.backup_database`,
//! superuser only; `mrealm master backup --online --to FILE`).
//!
//! The online backup copies every table from one read transaction (a snapshot of one commit)
//! into a new file while the master keeps serving and writing; see `store::Store::backup_to`.
//!
//! redb holds an exclusive lock on `mrealm.db` while the master runs, so a backup first opens
//! the database itself: that fails while a master is running (the caller is told to stop it),
//! and it checks the schema version. With the database closed cleanly the file is a
//! consistent snapshot; it is copied to `FILE.tmp`, synced, renamed to `FILE`, and the copy is
//! opened once more to prove it usable. Restore is: stop the master, put the file in place as
//! `<cbdir>/mrealm.db`, start (the schema check applies).

use std::path::Path;

use store::Store;

use crate::error::{MasterError, Result};
use crate::DB_FILE;

/// What a backup copied.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupInfo {
    pub bytes: u64,
    pub mrealms: usize,
    pub nodes: usize,
}

/// `backup_database(path)`: the running master writes a consistent copy of its database to
/// `path` (absolute, on the master's host, must not exist; its directory must exist).
pub(crate) async fn online(
    m: &std::sync::Arc<crate::Master>,
    path: &str,
) -> Result<wamp_proto::Value> {
    let to = std::path::PathBuf::from(path);
    if !to.is_absolute() {
        return Err(MasterError::InvalidArgument(format!(
            "backup path must be absolute (it is a path on the master's host), got \"{path}\""
        )));
    }
    if !to.parent().is_some_and(Path::is_dir) {
        return Err(MasterError::InvalidArgument(format!(
            "the directory of {path} does not exist on the master's host"
        )));
    }
    if to.exists() {
        return Err(MasterError::AlreadyExists(format!(
            "{path} exists: not overwriting it"
        )));
    }
    let store = m.store.clone();
    let started = std::time::Instant::now();
    let stats = tokio::task::spawn_blocking(move || store.backup_to(&to))
        .await
        .map_err(|e| MasterError::Internal(format!("backup task: {e}")))??;
    tracing::info!(%path, rows = stats.rows, bytes = stats.bytes, "online backup written");
    Ok(wamp_proto::dict! {
        "path" => path,
        "rows" => stats.rows,
        "bytes" => stats.bytes,
        "duration_ms" => started.elapsed().as_millis() as u64,
    }
    .into())
}

/// Copies `<cbdir>/mrealm.db` of a stopped master to `to` (which must not exist).
pub fn backup_offline(cbdir: &Path, to: &Path) -> Result<BackupInfo> {
    let db = cbdir.join(DB_FILE);
    if !db.is_file() {
        return Err(MasterError::NoSuchObject(format!(
            "no database at {}",
            db.display()
        )));
    }
    if to.exists() {
        return Err(MasterError::AlreadyExists(format!(
            "{} exists: not overwriting it",
            to.display()
        )));
    }
    drop(open(&db)?); // closes cleanly: the file is now a consistent snapshot
    let tmp = to.with_extension("tmp");
    let io = |what: &str, e: std::io::Error| MasterError::Internal(format!("{what}: {e}"));
    let bytes = std::fs::copy(&db, &tmp).map_err(|e| io("copy", e))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("sync", e))?;
    std::fs::rename(&tmp, to).map_err(|e| io("rename", e))?;
    let copy = open(to)?;
    Ok(BackupInfo {
        bytes,
        mrealms: copy.list_mrealms()?.len(),
        nodes: copy.list_nodes()?.len(),
    })
}

fn open(db: &Path) -> Result<Store> {
    Store::open(db).map_err(|e| {
        if format!("{e:?}").contains("DatabaseAlreadyOpen") {
            MasterError::Internal(format!(
                "{} is in use: a master is running on it; back it up online (`mrealm master backup --online --to FILE`) or stop it first (SIGTERM)",
                db.display()
            ))
        } else {
            e.into()
        }
    })
}
