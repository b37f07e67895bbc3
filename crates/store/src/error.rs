//! Errors of the store layer.

use uuid::Uuid;

/// What can go wrong reading or writing the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] redb::Error),
    #[error("corrupt record in table {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
    #[error(
        "the database at {path} has schema version {found}, but this mrealm understands up to \
         version {supported}: refusing to open it (use a newer mrealm, or restore a backup)"
    )]
    NewerSchema {
        path: String,
        found: u32,
        supported: u32,
    },
    #[error("the database at {path} has an unreadable schema version: refusing to open it")]
    UnknownSchema { path: String },
    #[error("a management realm named '{0}' already exists")]
    MrealmExists(String),
    #[error("no management realm with oid {0}")]
    NoSuchMrealm(Uuid),
    #[error("management realm {oid} still has {nodes} paired node(s)")]
    MrealmHasNodes { oid: Uuid, nodes: usize },
    #[error("node with public key {pubkey} is already paired (node {oid})")]
    NodeAlreadyPaired { pubkey: String, oid: Uuid },
    #[error("a node with authid '{authid}' is already paired in management realm {mrealm}")]
    AuthidTaken { authid: String, mrealm: Uuid },
    #[error("no node with oid {0}")]
    NoSuchNode(Uuid),
    #[error("node {0} is not paired")]
    NodeNotPaired(Uuid),
    #[error("backup failed: {0}")]
    Backup(String),
}

impl StoreError {
    pub(crate) fn corrupt(table: &'static str, e: impl std::fmt::Display) -> Self {
        StoreError::Corrupt {
            table,
            reason: e.to_string(),
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self { StoreError::Db(e.into()) }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
