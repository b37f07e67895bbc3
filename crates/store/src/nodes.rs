//! Nodes: pairing (public key → management realm + authid), unpairing and lookups.

use redb::{ReadableTable, WriteTransaction};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::tables::*;
use crate::{pair_key, NodeRecord, Store, StoreError};

/// What to pair.
#[derive(Debug, Clone)]
pub struct Pairing {
    /// The oid a new node record gets (a fresh one when `None`); a re-paired key keeps its own.
    pub oid: Option<Uuid>,
    pub pubkey: String,
    pub mrealm_oid: Uuid,
    pub authid: String,
    pub authextra: Option<Json>,
    pub owner_oid: Option<Uuid>,
    pub cluster_ip: Option<String>,
}

/// The paired nodes of one management realm, ordered by authid.
pub(crate) fn in_mrealm(
    table: &impl ReadableTable<u128, &'static [u8]>,
    mrealm: Uuid,
) -> Result<Vec<NodeRecord>, StoreError> {
    let mut out = Vec::new();
    for entry in table.iter()? {
        let (_, doc) = entry?;
        let rec: NodeRecord =
            serde_json::from_slice(doc.value()).map_err(|e| StoreError::corrupt("nodes", e))?;
        if rec.mrealm_oid == Some(mrealm) && rec.is_paired() {
            out.push(rec);
        }
    }
    out.sort_by(|a, b| a.authid.cmp(&b.authid));
    Ok(out)
}

/// Unpairs a node inside an open write transaction; returns (before, after).
pub(crate) fn unpair_in(
    txn: &WriteTransaction,
    oid: Uuid,
) -> Result<(NodeRecord, NodeRecord), StoreError> {
    let mut nodes = txn.open_table(NODES)?;
    let before: NodeRecord = get(&nodes, "nodes", oid)?.ok_or(StoreError::NoSuchNode(oid))?;
    let (Some(mrealm), Some(authid)) = (before.mrealm_oid, before.authid.as_deref()) else {
        return Err(StoreError::NodeNotPaired(oid));
    };
    txn.open_table(NODE_BY_AUTHID)?
        .remove(pair_key(mrealm, authid).as_str())?;
    let after = NodeRecord {
        mrealm_oid: None,
        authid: None,
        authextra: None,
        ..before.clone()
    };
    put(&mut nodes, "nodes", oid, &after)?;
    Ok((before, after))
}

fn lookup(
    table: &impl ReadableTable<&'static str, u128>,
    key: &str,
) -> Result<Option<Uuid>, StoreError> {
    Ok(table.get(key)?.map(|v| Uuid::from_u128(v.value())))
}

impl Store {
    /// Pairs a public key to a management realm under `authid`. A key that was paired before
    /// and unpaired keeps its node oid.
    pub fn pair_node(&self, p: &Pairing) -> Result<NodeRecord, StoreError> {
        let txn = self.begin_write()?;
        let rec = {
            if get::<crate::MrealmRecord>(&txn.open_table(MREALMS)?, "mrealms", p.mrealm_oid)?
                .is_none()
            {
                return Err(StoreError::NoSuchMrealm(p.mrealm_oid));
            }
            let mut nodes = txn.open_table(NODES)?;
            let mut by_pubkey = txn.open_table(NODE_BY_PUBKEY)?;
            let existing = match lookup(&by_pubkey, &p.pubkey)? {
                Some(oid) => get::<NodeRecord>(&nodes, "nodes", oid)?,
                None => None,
            };
            if let Some(n) = existing.as_ref().filter(|n| n.is_paired()) {
                return Err(StoreError::NodeAlreadyPaired {
                    pubkey: p.pubkey.clone(),
                    oid: n.oid,
                });
            }
            let mut by_authid = txn.open_table(NODE_BY_AUTHID)?;
            let akey = pair_key(p.mrealm_oid, &p.authid);
            if by_authid.get(akey.as_str())?.is_some() {
                return Err(StoreError::AuthidTaken {
                    authid: p.authid.clone(),
                    mrealm: p.mrealm_oid,
                });
            }
            let rec = new_record(existing, p);
            put(&mut nodes, "nodes", rec.oid, &rec)?;
            by_pubkey.insert(p.pubkey.as_str(), rec.oid.as_u128())?;
            by_authid.insert(akey.as_str(), rec.oid.as_u128())?;
            rec
        };
        self.commit(txn)?;
        Ok(rec)
    }

    /// Unpairs a node; returns the record before and after.
    pub fn unpair_node(&self, oid: Uuid) -> Result<(NodeRecord, NodeRecord), StoreError> {
        let txn = self.begin_write()?;
        let out = unpair_in(&txn, oid)?;
        self.commit(txn)?;
        Ok(out)
    }

    /// Replaces the descriptive fields of a node (label, description, tags, cluster_ip, ...);
    /// the pairing fields cannot be changed here.
    pub fn update_node(&self, rec: &NodeRecord) -> Result<NodeRecord, StoreError> {
        let txn = self.begin_write()?;
        let fixed = {
            let mut nodes = txn.open_table(NODES)?;
            let old: NodeRecord =
                get(&nodes, "nodes", rec.oid)?.ok_or(StoreError::NoSuchNode(rec.oid))?;
            let fixed = NodeRecord {
                pubkey: old.pubkey,
                mrealm_oid: old.mrealm_oid,
                authid: old.authid,
                ..rec.clone()
            };
            put(&mut nodes, "nodes", rec.oid, &fixed)?;
            fixed
        };
        self.commit(txn)?;
        Ok(fixed)
    }

    pub fn get_node(&self, oid: Uuid) -> Result<Option<NodeRecord>, StoreError> {
        let txn = self.begin_read()?;
        get(&txn.open_table(NODES)?, "nodes", oid)
    }

    pub fn node_by_pubkey(&self, pubkey: &str) -> Result<Option<NodeRecord>, StoreError> {
        let txn = self.begin_read()?;
        match lookup(&txn.open_table(NODE_BY_PUBKEY)?, pubkey)? {
            Some(oid) => get(&txn.open_table(NODES)?, "nodes", oid),
            None => Ok(None),
        }
    }

    pub fn node_by_authid(
        &self,
        mrealm: Uuid,
        authid: &str,
    ) -> Result<Option<NodeRecord>, StoreError> {
        let txn = self.begin_read()?;
        match lookup(&txn.open_table(NODE_BY_AUTHID)?, &pair_key(mrealm, authid))? {
            Some(oid) => get(&txn.open_table(NODES)?, "nodes", oid),
            None => Ok(None),
        }
    }

    /// Every node record (paired or not).
    pub fn list_nodes(&self) -> Result<Vec<NodeRecord>, StoreError> {
        let txn = self.begin_read()?;
        let table = txn.open_table(NODES)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (_, doc) = entry?;
            out.push(
                serde_json::from_slice(doc.value()).map_err(|e| StoreError::corrupt("nodes", e))?,
            );
        }
        Ok(out)
    }

    /// The paired nodes of a management realm, ordered by authid.
    pub fn list_nodes_by_mrealm(&self, mrealm: Uuid) -> Result<Vec<NodeRecord>, StoreError> {
        let txn = self.begin_read()?;
        in_mrealm(&txn.open_table(NODES)?, mrealm)
    }
}

fn new_record(existing: Option<NodeRecord>, p: &Pairing) -> NodeRecord {
    let base = existing.unwrap_or_else(|| NodeRecord {
        oid: p.oid.unwrap_or_else(Uuid::new_v4),
        pubkey: p.pubkey.clone(),
        mrealm_oid: None,
        authid: None,
        authextra: None,
        label: None,
        description: None,
        tags: None,
        owner_oid: None,
        cluster_ip: None,
    });
    NodeRecord {
        mrealm_oid: Some(p.mrealm_oid),
        authid: Some(p.authid.clone()),
        authextra: p.authextra.clone(),
        owner_oid: p.owner_oid.or(base.owner_oid),
        cluster_ip: p.cluster_ip.clone().or(base.cluster_ip.clone()),
        ..base
    }
}
