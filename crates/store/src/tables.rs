//! Table definitions and the JSON record helpers shared by the store's modules.

use redb::{ReadableTable, Table, TableDefinition};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::StoreError;

pub const META: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("meta");
pub const SCHEMA_KEY: &str = "schema_version";
pub const MREALMS: TableDefinition<'static, u128, &[u8]> = TableDefinition::new("mrealms");
pub const MREALM_BY_NAME: TableDefinition<'static, &str, u128> =
    TableDefinition::new("idx_mrealms_by_name");
pub const NODES: TableDefinition<'static, u128, &[u8]> = TableDefinition::new("nodes");
pub const NODE_BY_PUBKEY: TableDefinition<'static, &str, u128> =
    TableDefinition::new("idx_nodes_by_pubkey");
/// Key: `<mrealm oid>/<authid>`.
pub const NODE_BY_AUTHID: TableDefinition<'static, &str, u128> =
    TableDefinition::new("idx_nodes_by_authid");
pub const USERS: TableDefinition<'static, u128, &[u8]> = TableDefinition::new("users");
pub const USER_BY_PUBKEY: TableDefinition<'static, &str, u128> =
    TableDefinition::new("idx_users_by_pubkey");
/// Key: `<user oid>/<mrealm oid>`.
pub const USER_ROLES: TableDefinition<'static, &str, &[u8]> =
    TableDefinition::new("user_mrealm_roles");

/// Reads and decodes one record.
pub fn get<T: DeserializeOwned>(
    table: &impl ReadableTable<u128, &'static [u8]>,
    name: &'static str,
    oid: Uuid,
) -> Result<Option<T>, StoreError> {
    match table.get(oid.as_u128())? {
        Some(v) => serde_json::from_slice(v.value())
            .map(Some)
            .map_err(|e| StoreError::corrupt(name, e)),
        None => Ok(None),
    }
}

/// Encodes and writes one record.
pub fn put<T: Serialize>(
    table: &mut Table<'_, u128, &'static [u8]>,
    name: &'static str,
    oid: Uuid,
    rec: &T,
) -> Result<(), StoreError> {
    let doc = serde_json::to_vec(rec).map_err(|e| StoreError::corrupt(name, e))?;
    table.insert(oid.as_u128(), doc.as_slice())?;
    Ok(())
}
