//! The store's handle on its database file, and its health.
//!
//! redb refuses every transaction after a commit failed with an I/O error (a full disk, for
//! one) until the database is opened again. So the store opens it again: a transaction that
//! finds the database in that state drops the handle and reopens the file (retried by the next
//! transaction while something still holds the old one), and the write is tried once more. Every
//! failed commit is logged with its error and counted; [`Store::health`] reports whether the
//! last write succeeded, for `get_status` and readiness checks.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use redb::{Database, ReadTransaction, ReadableDatabase, StorageError, WriteTransaction};
use tracing::{error, info};

use crate::{Store, StoreError};

/// What [`Store::health`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The last commit succeeded (or none failed since the store was opened).
    pub healthy: bool,
    /// Commits that failed since the store was opened.
    pub failed_writes: u64,
    /// Times the database was opened again after an I/O error.
    pub reopens: u64,
    /// The last commit error, if any.
    pub last_error: Option<String>,
}

/// The handle and the counters behind [`Store::health`].
#[derive(Default)]
pub(crate) struct DbHandle {
    /// `None` while the database is being (or could not be) reopened. Locked only to clone or
    /// swap the handle, never across a transaction.
    db: RwLock<Option<Arc<Database>>>,
    healthy: AtomicBool,
    failed: AtomicU64,
    reopens: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl DbHandle {
    pub(crate) fn new(db: Database) -> DbHandle {
        DbHandle {
            db: RwLock::new(Some(Arc::new(db))),
            healthy: AtomicBool::new(true),
            ..DbHandle::default()
        }
    }
}

/// Whether redb asks for the database to be opened again.
fn needs_reopen(e: &redb::TransactionError) -> bool {
    matches!(e, redb::TransactionError::Storage(StorageError::PreviousIo))
}

impl Store {
    fn current(&self) -> Result<Arc<Database>, StoreError> {
        let db = self
            .handle
            .db
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match db {
            Some(db) => Ok(db),
            None => self.reopen(),
        }
    }

    /// Drops the handle and opens the file again; fails while another thread still holds the
    /// old handle (a transaction in flight), in which case the next transaction tries again.
    fn reopen(&self) -> Result<Arc<Database>, StoreError> {
        let mut slot = self.handle.db.write().unwrap_or_else(|e| e.into_inner());
        *slot = None;
        let db = Arc::new(Self::builder(self.cache_bytes).create(&self.path)?);
        *slot = Some(db.clone());
        let n = self.handle.reopens.fetch_add(1, Ordering::Relaxed) + 1;
        info!(path = %self.path.display(), reopens = n, "database opened again after an I/O error");
        Ok(db)
    }

    pub(crate) fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        let db = self.current()?;
        match db.begin_write() {
            Err(e) if needs_reopen(&e) => {
                drop(db);
                Ok(self.reopen()?.begin_write()?)
            }
            other => Ok(other?),
        }
    }

    pub(crate) fn begin_read(&self) -> Result<ReadTransaction, StoreError> {
        let db = self.current()?;
        match db.begin_read() {
            Err(e) if needs_reopen(&e) => {
                drop(db);
                Ok(self.reopen()?.begin_read()?)
            }
            other => Ok(other?),
        }
    }

    /// Commits, logging and counting a failure.
    pub(crate) fn commit(&self, txn: WriteTransaction) -> Result<(), StoreError> {
        match txn.commit() {
            Ok(()) => {
                self.handle.healthy.store(true, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                let n = self.handle.failed.fetch_add(1, Ordering::Relaxed) + 1;
                self.handle.healthy.store(false, Ordering::Relaxed);
                error!(path = %self.path.display(), error = %e, failed_writes = n, "database write failed");
                *self
                    .handle
                    .last_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                Err(e.into())
            }
        }
    }

    /// Whether the last write succeeded, and the failure counts.
    pub fn health(&self) -> Health {
        let h = &self.handle;
        Health {
            healthy: h.healthy.load(Ordering::Relaxed),
            failed_writes: h.failed.load(Ordering::Relaxed),
            reopens: h.reopens.load(Ordering::Relaxed),
            last_error: h
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}
