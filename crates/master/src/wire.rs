//! The wire names of the Crossbar master API, in one place for the master and the CLI: realm
//! names, procedure and topic URIs, error URIs, and the builders of the URIs that address one
//! node or one worker (`crossbarfabriccenter.node.<authid>.[worker.<wid>.]<name>`).
//!
//! The payload shapes that more than one module puts on the wire (the node object of the node
//! events, a controller's `get_status`) are built here too, so that a field renamed in one place
//! is renamed everywhere. What each procedure takes and answers is documented in
//! `docs/controller-api.md`; the facts come from the Python master (`../shared/peers/crossbar`).

use wamp_proto::{dict, Value};

/// The global realm: the domain controller, the management realm list, pairing, users.
pub const GLOBAL_REALM: &str = "com.crossbario.fabric";

/// The management realm names Crossbar reserves (no management realm may be called so).
pub const RESERVED_REALM_PREFIX: &str = "com.crossbario";

/// The domain controller's procedures on the global realm.
pub mod domain {
    /// Common prefix.
    pub const PREFIX: &str = "crossbarfabriccenter.domain.";
    pub const GET_STATUS: &str = "crossbarfabriccenter.domain.get_status";
    pub const GET_VERSION: &str = "crossbarfabriccenter.domain.get_version";
    pub const GET_LICENSE: &str = "crossbarfabriccenter.domain.get_license";
    pub const BACKUP_DATABASE: &str = "crossbarfabriccenter.domain.backup_database";
}

/// `crossbarfabriccenter.mrealm.*`: the management realm list and pairing (global realm) and
/// each management realm controller's procedures and events (management realm).
pub mod mrealm {
    /// Common prefix of the procedures and events.
    pub const PREFIX: &str = "crossbarfabriccenter.mrealm.";

    // === global realm: management realms ===
    pub const LIST_MREALMS: &str = "crossbarfabriccenter.mrealm.list_mrealms";
    pub const GET_MREALM: &str = "crossbarfabriccenter.mrealm.get_mrealm";
    pub const GET_MREALM_BY_NAME: &str = "crossbarfabriccenter.mrealm.get_mrealm_by_name";
    pub const CREATE_MREALM: &str = "crossbarfabriccenter.mrealm.create_mrealm";
    pub const MODIFY_MREALM: &str = "crossbarfabriccenter.mrealm.modify_mrealm";
    pub const DELETE_MREALM: &str = "crossbarfabriccenter.mrealm.delete_mrealm";
    pub const DELETE_MREALM_BY_NAME: &str = "crossbarfabriccenter.mrealm.delete_mrealm_by_name";
    pub const ON_MREALM_CREATED: &str = "crossbarfabriccenter.mrealm.on_mrealm_created";
    pub const ON_MREALM_DELETED: &str = "crossbarfabriccenter.mrealm.on_mrealm_deleted";
    /// The topic Crossbar's code meant to publish on deletion (published too).
    pub const ON_REALM_DELETED: &str = "crossbarfabriccenter.mrealm.on_realm_deleted";

    // === global realm: pairing ===
    pub const PAIR_NODE: &str = "crossbarfabriccenter.mrealm.pair_node";
    pub const UNPAIR_NODE: &str = "crossbarfabriccenter.mrealm.unpair_node";
    pub const UNPAIR_NODE_BY_PUBKEY: &str = "crossbarfabriccenter.mrealm.unpair_node_by_pubkey";
    pub const LIST_NODES: &str = "crossbarfabriccenter.mrealm.list_nodes";
    pub const LIST_NODES_BY_MREALM: &str = "crossbarfabriccenter.mrealm.list_nodes_by_mrealm";
    pub const LIST_NODES_BY_MREALM_NAME: &str =
        "crossbarfabriccenter.mrealm.list_nodes_by_mrealm_name";
    // `get_node(node_oid)` is `GET_NODE` below: the same URI on both kinds of realm.
    pub const GET_NODE_BY_NAME: &str = "crossbarfabriccenter.mrealm.get_node_by_name";
    pub const MODIFY_NODE: &str = "crossbarfabriccenter.mrealm.modify_node";
    pub const STAT_NODE: &str = "crossbarfabriccenter.mrealm.stat_node";
    pub const ON_NODE_PAIRED: &str = "crossbarfabriccenter.mrealm.on_node_paired";
    pub const ON_NODE_UNPAIRED: &str = "crossbarfabriccenter.mrealm.on_node_unpaired";
    pub const SET_ROLES_ON_MREALM_FOR_USER: &str =
        "crossbarfabriccenter.mrealm.set_roles_on_mrealm_for_user";

    // === management realm: the controller ===
    pub const GET_STATUS: &str = "crossbarfabriccenter.mrealm.get_status";
    pub const GET_NODES: &str = "crossbarfabriccenter.mrealm.get_nodes";
    pub const GET_NODE: &str = "crossbarfabriccenter.mrealm.get_node";
    pub const GET_NODE_BY_AUTHID: &str = "crossbarfabriccenter.mrealm.get_node_by_authid";
    pub const GET_NODE_LOGS: &str = "crossbarfabriccenter.mrealm.get_node_logs";
    pub const GET_WORKER_LOGS: &str = "crossbarfabriccenter.mrealm.get_worker_logs";
    /// A node came online (management realm, forwarded to the global realm).
    pub const ON_NODE_READY: &str = "crossbarfabriccenter.mrealm.on_node_ready";
    /// A node went offline (management realm, forwarded to the global realm).
    pub const ON_NODE_SHUTDOWN: &str = "crossbarfabriccenter.mrealm.on_node_shutdown";
    pub const ON_TICK: &str = "crossbarfabriccenter.mrealm.on_tick";
    /// Prefix of the tracing events (`on_trace_created`, `on_trace_data`, ...).
    pub const TRACING_PREFIX: &str = "crossbarfabriccenter.mrealm.tracing.";

    /// `crossbarfabriccenter.mrealm.<name>`.
    pub fn uri(name: &str) -> String {
        format!("{PREFIX}{name}")
    }
}

/// The router cluster manager of a management realm (clusters spec §2.2).
pub mod routercluster {
    /// Common prefix of the procedures and events.
    pub const PREFIX: &str = "crossbarfabriccenter.mrealm.routercluster.";

    /// `crossbarfabriccenter.mrealm.routercluster.<name>` (a procedure or an `on_*` event).
    pub fn uri(name: &str) -> String {
        format!("{PREFIX}{name}")
    }
}

/// The web cluster manager of a management realm (clusters spec §2.3).
pub mod webcluster {
    /// Common prefix of the procedures and events.
    pub const PREFIX: &str = "crossbarfabriccenter.mrealm.webcluster.";

    /// `crossbarfabriccenter.mrealm.webcluster.<name>` (a procedure or an `on_*` event).
    pub fn uri(name: &str) -> String {
        format!("{PREFIX}{name}")
    }
}

/// The user API (an mrealm extension on the global realm).
pub mod user {
    /// Common prefix.
    pub const PREFIX: &str = "crossbarfabriccenter.user.";
    pub const LIST_USERS: &str = "crossbarfabriccenter.user.list_users";
    pub const GET_USER: &str = "crossbarfabriccenter.user.get_user";
    pub const GET_USER_BY_EMAIL: &str = "crossbarfabriccenter.user.get_user_by_email";
    pub const GET_USER_BY_PUBKEY: &str = "crossbarfabriccenter.user.get_user_by_pubkey";
    /// An mrealm extension: the superuser adds a user by public key.
    pub const CREATE_USER: &str = "crossbarfabriccenter.user.create_user";
}

/// What edge nodes register and publish on their management realm.
pub mod node {
    /// Common prefix of everything a node offers.
    pub const PREFIX: &str = "crossbarfabriccenter.node.";
    /// A node heartbeat `[authid, heartbeat]`.
    pub const ON_HEARTBEAT: &str = "crossbarfabriccenter.node.on_heartbeat";
    /// A worker heartbeat `[authid, worker_id, heartbeat]`.
    pub const ON_WORKER_HEARTBEAT: &str = "crossbarfabriccenter.node.on_worker_heartbeat";
    /// Any node announcing itself ready (wildcard: the authid is the third component).
    pub const ON_READY_ANY: &str = "crossbarfabriccenter.node..on_ready";
    /// Any node announcing its shutdown (wildcard).
    pub const ON_SHUTDOWN_ANY: &str = "crossbarfabriccenter.node..on_shutdown";
    /// Trace data of any worker of any node (wildcard).
    pub const ON_TRACE_DATA_ANY: &str = "crossbarfabriccenter.node..worker..on_trace_data";

    /// The longest node authid, in bytes.
    pub const MAX_AUTHID_LEN: usize = 255;

    /// Checks a node authid before it is stored (`pair_node`, watch-to-pair) and before a node
    /// session gets its URI space. The authid becomes one component of the node's URIs
    /// (`crossbarfabriccenter.node.<authid>.…`): 1 to [`MAX_AUTHID_LEN`] of `[A-Za-z0-9_-]`, not
    /// beginning with `on_` (what follows `crossbarfabriccenter.node.` there is one of the
    /// master's topics, such as `on_heartbeat`). `Err` is the reason, for an error message.
    pub fn check_authid(authid: &str) -> Result<(), String> {
        let chars = authid
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
        let shown: String = authid.chars().take(64).collect();
        let shown = if shown.len() < authid.len() {
            format!("{shown}… ({} bytes)", authid.len())
        } else {
            shown
        };
        if authid.is_empty() || authid.len() > MAX_AUTHID_LEN || !chars {
            return Err(format!(
                "invalid node authid \"{shown}\": use 1 to {MAX_AUTHID_LEN} letters, digits, '_' and '-' (it becomes part of URIs)"
            ));
        }
        if authid.starts_with("on_") {
            return Err(format!(
                "invalid node authid \"{shown}\": names beginning with \"on_\" are the master's topics under {PREFIX}"
            ));
        }
        Ok(())
    }

    /// `crossbarfabriccenter.node.<authid>.<name>`: a node-level procedure or topic.
    pub fn uri(authid: &str, name: &str) -> String {
        format!("{PREFIX}{authid}.{name}")
    }

    /// `crossbarfabriccenter.node.<authid>.worker.<wid>.<name>`: a worker-level one.
    pub fn worker_uri(authid: &str, wid: &str, name: &str) -> String {
        format!("{PREFIX}{authid}.worker.{wid}.{name}")
    }

    /// `crossbarfabriccenter.node.<authid>.worker.<wid>.realm.<rid>.root.<name>`: the WAMP
    /// meta API of one realm of a router worker.
    pub fn realm_meta_uri(authid: &str, wid: &str, rid: &str, name: &str) -> String {
        format!("{PREFIX}{authid}.worker.{wid}.realm.{rid}.root.{name}")
    }
}

/// The remote API: the master's forwarders into the nodes (management realm).
pub mod remote {
    /// Common prefix: `crossbarfabriccenter.remote.<api>.<procedure>`.
    pub const PREFIX: &str = "crossbarfabriccenter.remote.";
    /// The forwarder of a router worker realm's WAMP meta API.
    pub const REALM_META_PREFIX: &str = "crossbarfabriccenter.remote.realm.meta.";

    /// `crossbarfabriccenter.remote.<api>.<name>`.
    pub fn uri(api: &str, name: &str) -> String {
        format!("{PREFIX}{api}.{name}")
    }
}

/// The router's session meta events the controllers follow.
pub mod meta {
    pub const ON_JOIN: &str = "wamp.session.on_join";
    pub const ON_LEAVE: &str = "wamp.session.on_leave";
}

/// Error URIs of the master API besides the WAMP standard ones (`wamp_proto::wamp_errors`).
pub mod errors {
    pub const NO_SUCH_OBJECT: &str = "crossbar.error.no_such_object";
    pub const ALREADY_EXISTS: &str = "crossbar.error.already_exists";
    pub const DEPENDENT_OBJECTS: &str = "crossbar.error.dependent_objects";
    pub const INVALID_STATE: &str = "crossbar.error.invalid_state";
    pub const ALREADY_RUNNING: &str = "crossbar.error.already_running";
    pub const NOT_STOPPED: &str = "crossbar.error.not_stopped";
    pub const CANNOT_START: &str = "crossbar.error.cannot_start";
    pub const CANNOT_STOP: &str = "crossbar.error.cannot_stop";
    pub const INVALID_CONFIG: &str = "crossbar.error.invalid_config";
    pub const NO_SUCH_WORKER: &str = "crossbar.error.no_such_worker";
    pub const NOT_RUNNING: &str = "crossbar.error.not_running";
    pub const NO_SUCH_PRINCIPAL: &str = "wamp.error.no_such_principal";
    pub const TYPE_CHECK_ERROR: &str = "wamp.error.type_check_error";
    pub const INVALID_CONFIGURATION: &str = "wamp.error.invalid_configuration";
    /// A durable heartbeat publish that was not stored.
    pub const HEARTBEAT_NOT_STORED: &str = "crossbar.error.heartbeat_not_stored";
    pub const INVALID_REALM: &str = "fabric.invalid-realm";
    pub const NO_SUCH_REALM: &str = "fabric.no-such-realm";
    pub const NODE_ALREADY_PAIRED: &str = "fabric.node-already-paired";
    pub const NODE_NOT_PAIRED: &str = "fabric.node-not-paired";
    // === ABORT reasons of the master's authenticator ===
    pub const AUTH_INVALID_PARAMETERS: &str = "fabric.auth-failed.invalid-parameters";
    pub const AUTH_NODE_UNPAIRED: &str = "fabric.auth-failed.node-unpaired";
    pub const AUTH_NODE_ALREADY_CONNECTED: &str = "fabric.auth-failed.node-already-connected";
}

/// What last showed a node alive (`last_activity` of the node object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Started = 2,
    Ready = 3,
    Heartbeat = 4,
    Check = 5,
}

/// The controller's `get_status` (and the domain controller's, with `type` "domain").
pub fn controller_status(kind: &str, realm: &str, started_ns: u64, tick: u64) -> Value {
    use crate::util::{iso8601, now_ns, utcnow};
    let uptime = now_ns().saturating_sub(started_ns) / 1_000_000_000;
    dict! {
        "type" => kind,
        "realm" => realm,
        "now" => utcnow(),
        "started" => iso8601(started_ns),
        "uptime" => naturaldelta(uptime),
        "tick" => tick,
    }
    .into()
}

/// A duration in words as Python's `humanize.naturaldelta` writes it ("47 seconds", "2 minutes").
pub fn naturaldelta(secs: u64) -> String {
    let plural = |n: u64, one: &str, unit: &str| {
        if n == 1 {
            one.to_owned()
        } else {
            format!("{n} {unit}")
        }
    };
    match secs {
        0 => "a moment".into(),
        1..=59 => plural(secs, "a second", "seconds"),
        60..=3599 => plural(secs / 60, "a minute", "minutes"),
        3600..=86_399 => plural(secs / 3600, "an hour", "hours"),
        _ => plural(secs / 86_400, "a day", "days"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural() {
        assert_eq!(naturaldelta(47), "47 seconds");
        assert_eq!(naturaldelta(130), "2 minutes");
        assert_eq!(naturaldelta(1), "a second");
        assert_eq!(naturaldelta(3600), "an hour");
    }

    #[test]
    fn node_uris() {
        assert_eq!(
            node::worker_uri("n1", "w1", "get_status"),
            "crossbarfabriccenter.node.n1.worker.w1.get_status"
        );
        assert_eq!(
            node::realm_meta_uri("n1", "w1", "r1", "wamp.session.list"),
            "crossbarfabriccenter.node.n1.worker.w1.realm.r1.root.wamp.session.list"
        );
        assert_eq!(mrealm::uri("get_nodes"), mrealm::GET_NODES);
        assert!(node::check_authid("node-1_A").is_ok());
        assert!(node::check_authid(&"n".repeat(255)).is_ok());
        for bad in ["", "a.b", "..", "a b", "é", "on_heartbeat", "on_"] {
            assert!(node::check_authid(bad).is_err(), "{bad:?}");
        }
        let long = node::check_authid(&"n".repeat(5000)).expect_err("too long");
        assert!(long.len() < 200 && long.contains("5000 bytes"), "{long}");
        assert_eq!(
            remote::uri("node", "get_workers"),
            "crossbarfabriccenter.remote.node.get_workers"
        );
    }
}
