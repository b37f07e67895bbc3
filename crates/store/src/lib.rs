//! `store`: mrealm's embedded, crash-safe database (redb, one file in the cbdir).
//!
//! Global tables hold management realms, nodes, users and user roles per management realm, with
//! unique indices by name, public key and (mrealm, authid). Records are JSON documents keyed by
//! their oid (a UUID stored as `u128`). Every mutating call is one write transaction committed
//! with `Durability::Immediate`: when it returns, the change is on disk, and a crash at any
//! moment leaves either all of it or none of it. The schema version is stored; a database from a
//! newer mrealm, or one whose version cannot be read, is refused rather than touched.

mod backup;
mod docs;
mod error;
mod handle;
pub mod logs;
pub mod nodes;
mod records;
mod tables;
pub mod traces;

use std::path::Path;

use redb::{Database, ReadableTable};
use uuid::Uuid;

pub use backup::BackupStats;
pub use docs::DocsTxn;
pub use error::StoreError;
pub use handle::Health;
pub use logs::{Aggregate, Metrics, NodeLog, RetentionStats, Stat, Window, WorkerLog};
pub use records::{MrealmRecord, MrealmRoles, NodeRecord, UserRecord};
use tables::*;
pub use traces::TraceRecord;

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: u32 = 1;

/// The page cache [`Store::open`] uses: 64 MiB.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// The database.
pub struct Store {
    handle: handle::DbHandle,
    path: std::path::PathBuf,
    cache_bytes: usize,
}

impl Store {
    /// Opens (or creates) the database file, checking its schema version.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with_cache(path, DEFAULT_CACHE_BYTES)
    }

    /// Opens (or creates) the database file with a page cache of at most `cache_bytes`
    /// (redb's own default is 1 GiB, which a heartbeat-heavy master fills and keeps resident).
    pub fn open_with_cache(path: &Path, cache_bytes: usize) -> Result<Store, StoreError> {
        let db = Self::builder(cache_bytes).create(path)?;
        let store = Store {
            handle: handle::DbHandle::new(db),
            path: path.to_path_buf(),
            cache_bytes,
        };
        store.check_schema(path)?;
        Ok(store)
    }

    fn builder(cache_bytes: usize) -> redb::Builder {
        let mut b = Database::builder();
        b.set_cache_size(cache_bytes);
        b
    }

    fn check_schema(&self, path: &Path) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            let found = meta.get(SCHEMA_KEY)?.map(|v| v.value().to_vec());
            match found {
                None => {
                    meta.insert(SCHEMA_KEY, SCHEMA_VERSION.to_le_bytes().as_slice())?;
                }
                Some(bytes) => {
                    let path = path.display().to_string();
                    let arr: [u8; 4] = bytes
                        .try_into()
                        .map_err(|_| StoreError::UnknownSchema { path: path.clone() })?;
                    let found = u32::from_le_bytes(arr);
                    if found > SCHEMA_VERSION {
                        return Err(StoreError::NewerSchema {
                            path,
                            found,
                            supported: SCHEMA_VERSION,
                        });
                    }
                    if found == 0 {
                        return Err(StoreError::UnknownSchema { path });
                    }
                }
            }
            for def in [MREALMS, NODES, USERS] {
                txn.open_table(def)?;
            }
            txn.open_table(MREALM_BY_NAME)?;
            txn.open_table(NODE_BY_PUBKEY)?;
            txn.open_table(NODE_BY_AUTHID)?;
            txn.open_table(USER_BY_PUBKEY)?;
            txn.open_table(USER_ROLES)?;
            logs::create_tables(&txn)?;
            txn.open_table(traces::TRACES)?;
            txn.open_table(docs::DOCS)?;
        }
        self.commit(txn)?;
        Ok(())
    }

    /// The stored schema version.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let txn = self.begin_read()?;
        let meta = txn.open_table(META)?;
        let v = meta
            .get(SCHEMA_KEY)?
            .map(|v| v.value().to_vec())
            .unwrap_or_default();
        Ok(v.try_into().map(u32::from_le_bytes).unwrap_or(0))
    }

    // === management realms ===

    /// Creates a management realm; its name must be new.
    pub fn create_mrealm(&self, rec: &MrealmRecord) -> Result<(), StoreError> {
        self.create_mrealm_with_roles(rec, None)
    }

    /// Creates an mrealm and, in the same transaction, the owner's role grant, so a crash can
    /// never leave an mrealm without its owner roles.
    pub fn create_mrealm_with_roles(
        &self,
        rec: &MrealmRecord,
        owner_roles: Option<&MrealmRoles>,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        {
            let mut by_name = txn.open_table(MREALM_BY_NAME)?;
            if by_name.get(rec.name.as_str())?.is_some() {
                return Err(StoreError::MrealmExists(rec.name.clone()));
            }
            by_name.insert(rec.name.as_str(), rec.oid.as_u128())?;
            put(&mut txn.open_table(MREALMS)?, "mrealms", rec.oid, rec)?;
            if let Some(roles) = owner_roles {
                let doc =
                    serde_json::to_vec(roles).map_err(|e| StoreError::corrupt("user_roles", e))?;
                let key = pair_key(roles.user_oid, roles.mrealm_oid);
                txn.open_table(USER_ROLES)?
                    .insert(key.as_str(), doc.as_slice())?;
            }
        }
        self.commit(txn)?;
        Ok(())
    }

    pub fn get_mrealm(&self, oid: Uuid) -> Result<Option<MrealmRecord>, StoreError> {
        let txn = self.begin_read()?;
        get(&txn.open_table(MREALMS)?, "mrealms", oid)
    }

    pub fn get_mrealm_by_name(&self, name: &str) -> Result<Option<MrealmRecord>, StoreError> {
        let txn = self.begin_read()?;
        let oid = txn
            .open_table(MREALM_BY_NAME)?
            .get(name)?
            .map(|v| Uuid::from_u128(v.value()));
        match oid {
            Some(oid) => get(&txn.open_table(MREALMS)?, "mrealms", oid),
            None => Ok(None),
        }
    }

    /// All management realms, ordered by name.
    pub fn list_mrealms(&self) -> Result<Vec<MrealmRecord>, StoreError> {
        let txn = self.begin_read()?;
        let by_name = txn.open_table(MREALM_BY_NAME)?;
        let table = txn.open_table(MREALMS)?;
        let mut out = Vec::new();
        for entry in by_name.iter()? {
            let (_, oid) = entry?;
            if let Some(rec) = get(&table, "mrealms", Uuid::from_u128(oid.value()))? {
                out.push(rec);
            }
        }
        Ok(out)
    }

    /// Replaces a management realm's record (its name cannot change).
    pub fn update_mrealm(&self, rec: &MrealmRecord) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        {
            let mut table = txn.open_table(MREALMS)?;
            let old: Option<MrealmRecord> = get(&table, "mrealms", rec.oid)?;
            let old = old.ok_or(StoreError::NoSuchMrealm(rec.oid))?;
            let fixed = MrealmRecord {
                name: old.name,
                ..rec.clone()
            };
            put(&mut table, "mrealms", rec.oid, &fixed)?;
        }
        self.commit(txn)?;
        Ok(())
    }

    /// Deletes a management realm. With paired nodes it is refused unless `cascade`, which
    /// unpairs them; returns the unpaired nodes (as they were) and the deleted record.
    pub fn delete_mrealm(
        &self,
        oid: Uuid,
        cascade: bool,
    ) -> Result<(MrealmRecord, Vec<NodeRecord>), StoreError> {
        let txn = self.begin_write()?;
        let out = {
            let mut mrealms = txn.open_table(MREALMS)?;
            let rec: MrealmRecord =
                get(&mrealms, "mrealms", oid)?.ok_or(StoreError::NoSuchMrealm(oid))?;
            let nodes: Vec<NodeRecord> = nodes::in_mrealm(&txn.open_table(NODES)?, oid)?;
            if !nodes.is_empty() && !cascade {
                return Err(StoreError::MrealmHasNodes {
                    oid,
                    nodes: nodes.len(),
                });
            }
            for n in &nodes {
                nodes::unpair_in(&txn, n.oid)?;
            }
            mrealms.remove(oid.as_u128())?;
            txn.open_table(MREALM_BY_NAME)?.remove(rec.name.as_str())?;
            (rec, nodes)
        };
        self.commit(txn)?;
        Ok(out)
    }

    // === users ===

    /// Inserts or replaces a user (indexed by public key).
    pub fn put_user(&self, rec: &UserRecord) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        {
            put(&mut txn.open_table(USERS)?, "users", rec.oid, rec)?;
            txn.open_table(USER_BY_PUBKEY)?
                .insert(rec.pubkey.as_str(), rec.oid.as_u128())?;
        }
        self.commit(txn)?;
        Ok(())
    }

    /// All users.
    pub fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let txn = self.begin_read()?;
        let table = txn.open_table(USERS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (_, doc) = entry?;
            out.push(
                serde_json::from_slice(doc.value()).map_err(|e| StoreError::corrupt("users", e))?,
            );
        }
        Ok(out)
    }

    /// A user by authid (users are few: a scan).
    pub fn user_by_authid(&self, authid: &str) -> Result<Option<UserRecord>, StoreError> {
        let txn = self.begin_read()?;
        let table = txn.open_table(USERS)?;
        for entry in table.iter()? {
            let (_, doc) = entry?;
            let rec: UserRecord =
                serde_json::from_slice(doc.value()).map_err(|e| StoreError::corrupt("users", e))?;
            if rec.authid == authid {
                return Ok(Some(rec));
            }
        }
        Ok(None)
    }

    pub fn user_by_pubkey(&self, pubkey: &str) -> Result<Option<UserRecord>, StoreError> {
        let txn = self.begin_read()?;
        let oid = txn
            .open_table(USER_BY_PUBKEY)?
            .get(pubkey)?
            .map(|v| Uuid::from_u128(v.value()));
        match oid {
            Some(oid) => get(&txn.open_table(USERS)?, "users", oid),
            None => Ok(None),
        }
    }

    /// Sets a user's roles on a management realm (an empty list removes them).
    pub fn set_user_roles(&self, roles: &MrealmRoles) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        {
            let mut table = txn.open_table(USER_ROLES)?;
            let key = pair_key(roles.user_oid, roles.mrealm_oid);
            if roles.roles.is_empty() {
                table.remove(key.as_str())?;
            } else {
                let doc =
                    serde_json::to_vec(roles).map_err(|e| StoreError::corrupt("user_roles", e))?;
                table.insert(key.as_str(), doc.as_slice())?;
            }
        }
        self.commit(txn)?;
        Ok(())
    }

    pub fn user_roles(&self, user: Uuid, mrealm: Uuid) -> Result<Vec<String>, StoreError> {
        let txn = self.begin_read()?;
        let table = txn.open_table(USER_ROLES)?;
        let Some(doc) = table.get(pair_key(user, mrealm).as_str())? else {
            return Ok(Vec::new());
        };
        let roles: MrealmRoles = serde_json::from_slice(doc.value())
            .map_err(|e| StoreError::corrupt("user_roles", e))?;
        Ok(roles.roles)
    }

    /// The authids of the users holding a role on management realm `mrealm` (users are few: a
    /// scan of the role grants), sorted.
    pub fn authids_with_roles_on(&self, mrealm: Uuid) -> Result<Vec<String>, StoreError> {
        let txn = self.begin_read()?;
        let grants = txn.open_table(USER_ROLES)?;
        let users = txn.open_table(USERS)?;
        let suffix = format!("/{mrealm}");
        let mut out = Vec::new();
        for entry in grants.iter()? {
            let (key, _) = entry?;
            let Some(user) = key.value().strip_suffix(suffix.as_str()) else {
                continue;
            };
            let Ok(user) = Uuid::parse_str(user) else {
                continue;
            };
            if let Some(u) = get::<UserRecord>(&users, "users", user)? {
                out.push(u.authid);
            }
        }
        out.sort();
        Ok(out)
    }
}

/// The key of a (first, second) pair in a string-keyed index.
fn pair_key(a: Uuid, b: impl std::fmt::Display) -> String {
    format!("{a}/{b}")
}
