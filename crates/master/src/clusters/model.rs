//! The stored objects of the router cluster and web cluster managers (clusters spec §3), as
//! serde records, and their wire shapes (`marshal`). Timestamps are integer nanoseconds since
//! the epoch; oids are canonical hyphenated UUID strings on the wire.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use uuid::Uuid;
use wamp_proto::{Dict, Value};

/// The status of a cluster, worker group or placement (spec §3.3; the codes are Crossbar's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum Status {
    None,
    Stopped,
    Starting,
    Running,
    Paused,
    Stopping,
    Error,
    Degraded,
}

impl Status {
    /// The name on the wire (`"STOPPED"`, …).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Status::None => "NONE",
            Status::Stopped => "STOPPED",
            Status::Starting => "STARTING",
            Status::Running => "RUNNING",
            Status::Paused => "PAUSED",
            Status::Stopping => "STOPPING",
            Status::Error => "ERROR",
            Status::Degraded => "DEGRADED",
        }
    }

    /// Marshalled as Crossbar does for clusters, worker groups and placements: `NONE` is null.
    pub(crate) fn to_value(self) -> Value {
        match self {
            Status::None => Value::Null,
            s => s.name().into(),
        }
    }

    /// Whether the object's desired state is "deployed" (the reconciler keeps it running):
    /// STARTING, RUNNING, or DEGRADED (running, but not on every member right now).
    pub(crate) fn is_active(self) -> bool {
        matches!(self, Status::Starting | Status::Running | Status::Degraded)
    }
}

/// The fields every configuration element has (spec §3.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Common {
    pub label: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
}

impl Common {
    fn marshal_into(&self, d: &mut Dict) {
        d.insert("label".into(), self.label.clone().into());
        d.insert("description".into(), self.description.clone().into());
        let tags = self
            .tags
            .as_ref()
            .map(|t| Value::List(t.iter().map(|s| s.as_str().into()).collect()));
        d.insert("tags".into(), tags.unwrap_or(Value::Null));
    }
}

fn oid(u: Uuid) -> Value {
    u.to_string().into()
}

fn opt_u64(v: Option<u64>) -> Value {
    v.into()
}

/// A router cluster (`<routercluster>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RouterCluster {
    pub oid: Uuid,
    #[serde(flatten)]
    pub common: Common,
    pub name: String,
    pub status: Status,
    pub owner_oid: Uuid,
    /// ns since the epoch.
    pub changed: u64,
}

impl RouterCluster {
    pub(crate) fn marshal(&self) -> Value {
        let mut d = Dict::new();
        d.insert("oid".into(), oid(self.oid));
        self.common.marshal_into(&mut d);
        d.insert("name".into(), self.name.as_str().into());
        d.insert("status".into(), self.status.to_value());
        d.insert("owner_oid".into(), oid(self.owner_oid));
        d.insert("changed".into(), self.changed.into());
        Value::Dict(d)
    }
}

/// A node's membership in a router cluster (`<rc_membership>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RcMembership {
    pub cluster_oid: Uuid,
    pub node_oid: Uuid,
    /// Not enforced (as in Crossbar); 0 is stored as null.
    pub softlimit: Option<u64>,
    pub hardlimit: Option<u64>,
}

impl RcMembership {
    pub(crate) fn marshal(&self) -> Value {
        let mut d = Dict::new();
        d.insert("cluster_oid".into(), oid(self.cluster_oid));
        d.insert("node_oid".into(), oid(self.node_oid));
        d.insert("softlimit".into(), opt_u64(self.softlimit));
        d.insert("hardlimit".into(), opt_u64(self.hardlimit));
        Value::Dict(d)
    }
}

/// A router worker group (`<workergroup>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WorkerGroup {
    pub oid: Uuid,
    #[serde(flatten)]
    pub common: Common,
    pub cluster_oid: Uuid,
    pub name: String,
    /// 1..=128.
    pub scale: u32,
    pub status: Status,
    pub changed: u64,
}

impl WorkerGroup {
    pub(crate) fn marshal(&self) -> Value {
        let mut d = Dict::new();
        d.insert("oid".into(), oid(self.oid));
        self.common.marshal_into(&mut d);
        d.insert("cluster_oid".into(), oid(self.cluster_oid));
        d.insert("name".into(), self.name.as_str().into());
        d.insert("scale".into(), u64::from(self.scale).into());
        d.insert("status".into(), self.status.to_value());
        d.insert("changed".into(), self.changed.into());
        Value::Dict(d)
    }
}

/// Where one router worker of a worker group runs (spec §3.2 "placement"; Crossbar exposes
/// none of it, mrealm shows it in `get_routercluster_workergroup` and `stat_*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Placement {
    pub oid: Uuid,
    pub worker_group_oid: Uuid,
    pub cluster_oid: Uuid,
    pub node_oid: Uuid,
    /// The edge worker id: `<workergroup name>_<i>`, i from 1.
    pub worker_name: String,
    pub status: Status,
    pub changed: u64,
    /// 0 until a router transport was started on the worker (issue 14).
    pub tcp_listening_port: u16,
}

impl Placement {
    pub(crate) fn marshal(&self) -> Value {
        let mut d = Dict::new();
        d.insert("oid".into(), oid(self.oid));
        d.insert("worker_group_oid".into(), oid(self.worker_group_oid));
        d.insert("cluster_oid".into(), oid(self.cluster_oid));
        d.insert("node_oid".into(), oid(self.node_oid));
        d.insert("worker_name".into(), self.worker_name.as_str().into());
        d.insert("status".into(), self.status.to_value());
        d.insert("changed".into(), self.changed.into());
        d.insert(
            "tcp_listening_port".into(),
            u64::from(self.tcp_listening_port).into(),
        );
        Value::Dict(d)
    }
}

/// A web cluster (`<webcluster>`): the router cluster's keys plus the `tcp_*`, `tls_*` and
/// `http_*` settings, kept in `settings` under their wire names (null when unset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WebCluster {
    pub oid: Uuid,
    #[serde(flatten)]
    pub common: Common,
    pub name: String,
    pub status: Status,
    pub owner_oid: Uuid,
    pub changed: u64,
    /// `tcp_version`, `tcp_port`, `tcp_shared`, `tcp_interface`, `tcp_backlog`, `tls_key`,
    /// `tls_certificate`, `tls_chain_certificates`, `tls_ca_certificates`, `tls_dhparam`,
    /// `tls_ciphers`, `http_client_timeout`, `http_hsts`, `http_hsts_max_age`,
    /// `http_access_log`, `http_display_tracebacks` (validated by the web cluster API).
    pub settings: Map<String, Json>,
}

/// The settings of a web cluster, in the order Crossbar marshals them.
pub(crate) const WEBCLUSTER_SETTINGS: &[&str] = &[
    "tcp_version",
    "tcp_port",
    "tcp_shared",
    "tcp_interface",
    "tcp_backlog",
    "tls_key",
    "tls_certificate",
    "tls_chain_certificates",
    "tls_ca_certificates",
    "tls_dhparam",
    "tls_ciphers",
    "http_client_timeout",
    "http_hsts",
    "http_hsts_max_age",
    "http_access_log",
    "http_display_tracebacks",
];

impl WebCluster {
    pub(crate) fn marshal(&self) -> Value {
        let mut d = Dict::new();
        d.insert("oid".into(), oid(self.oid));
        self.common.marshal_into(&mut d);
        d.insert("name".into(), self.name.as_str().into());
        d.insert("status".into(), self.status.to_value());
        d.insert("owner_oid".into(), oid(self.owner_oid));
        d.insert("changed".into(), self.changed.into());
        for k in WEBCLUSTER_SETTINGS {
            let v = self.settings.get(*k).cloned().unwrap_or(Json::Null);
            d.insert((*k).into(), v.into());
        }
        Value::Dict(d)
    }

    /// A setting (null when unset).
    pub(crate) fn setting(&self, key: &str) -> &Json {
        self.settings.get(key).unwrap_or(&Json::Null)
    }
}

/// A node's membership in a web cluster (`<wc_membership>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WcMembership {
    pub cluster_oid: Uuid,
    pub node_oid: Uuid,
    /// Proxy workers on this node (null: 1; 0 is stored as null).
    pub parallel: Option<u32>,
    /// `true`: the node gets no workers (`false` is stored as null).
    pub standby: Option<bool>,
}

impl WcMembership {
    pub(crate) fn marshal(&self) -> Value {
        let mut d = Dict::new();
        d.insert("cluster_oid".into(), oid(self.cluster_oid));
        d.insert("node_oid".into(), oid(self.node_oid));
        d.insert("parallel".into(), opt_u64(self.parallel.map(u64::from)));
        d.insert("standby".into(), self.standby.into());
        Value::Dict(d)
    }

    /// How many proxy workers the node runs (0 for a standby node).
    pub(crate) fn workers(&self) -> u32 {
        if self.standby == Some(true) {
            0
        } else {
            self.parallel.unwrap_or(1).max(1)
        }
    }
}

/// A web service of a web cluster (`<webservice>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WebService {
    pub oid: Uuid,
    #[serde(flatten)]
    pub common: Common,
    pub webcluster_oid: Uuid,
    /// One path segment (`"info"`, `"ws"`).
    pub path: String,
    /// The service type (`json`, `static`, …).
    #[serde(rename = "type")]
    pub service_type: String,
    /// The type's other keys, as given (validated at add time).
    pub config: Map<String, Json>,
}

impl WebService {
    pub(crate) fn marshal(&self) -> Value {
        let mut d = Dict::new();
        d.insert("oid".into(), oid(self.oid));
        self.common.marshal_into(&mut d);
        d.insert("webcluster_oid".into(), oid(self.webcluster_oid));
        d.insert("path".into(), self.path.as_str().into());
        d.insert("type".into(), self.service_type.as_str().into());
        for (k, v) in &self.config {
            d.insert(k.clone(), v.clone().into());
        }
        Value::Dict(d)
    }
}
