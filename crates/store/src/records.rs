//! The records the store keeps, in the shapes the master's API returns them.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use uuid::Uuid;

/// A management realm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MrealmRecord {
    pub oid: Uuid,
    pub name: String,
    pub label: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Creation time, microseconds since the epoch (as Crossbar's `created`).
    pub created: u64,
    /// oid of the owning user.
    pub owner: Uuid,
    pub cf_router_worker: Option<String>,
    pub cf_container_worker: Option<String>,
}

/// A node known by its public key; paired while `mrealm_oid` and `authid` are set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub oid: Uuid,
    /// Ed25519 public key, 64 lower-case hex characters.
    pub pubkey: String,
    pub mrealm_oid: Option<Uuid>,
    pub authid: Option<String>,
    pub authextra: Option<Json>,
    pub label: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    pub owner_oid: Option<Uuid>,
    pub cluster_ip: Option<String>,
}

impl NodeRecord {
    pub fn is_paired(&self) -> bool {
        self.mrealm_oid.is_some() && self.authid.is_some()
    }
}

/// A user, known by the public key they authenticate with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    pub oid: Uuid,
    pub authid: String,
    pub email: Option<String>,
    pub pubkey: String,
    /// Registration time, microseconds since the epoch.
    pub created: u64,
}

/// A user's roles on one management realm (`owner`, `admin`, `operator`, `developer`, `guest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MrealmRoles {
    pub user_oid: Uuid,
    pub mrealm_oid: Uuid,
    pub roles: Vec<String>,
}
