//! The authorization table: every procedure of the global realm with the [`Permission`] its
//! caller needs, and what each management realm role may do (docs/authorization.md prints both).
//!
//! The global rows are enforced by the domain controller: a procedure is registered only
//! through its row ([`global_rule`]), so a procedure without one fails the master's start. The
//! management realm rows are enforced by the router (the role rules of
//! [`crate::roles::mrealm_roles`] and [`crate::roles::MrealmAuthorizer`]); the test below checks
//! that the router does what each row says, `Future` rows (the procedures of the cluster and
//! application realm managers, issue 18) included.

use wamp_router::Action;

use crate::wire::{domain, mrealm, user};

/// The roles a user can hold on a management realm; any of them lets it read the realm.
pub const READ: &[&str] = crate::roles::USER_ROLES;
/// The roles that manage a management realm's nodes and its description.
pub const MANAGE: &[&str] = &["owner", "admin"];
/// The role that may delete a management realm.
pub const OWN: &[&str] = &["owner"];

/// Who may call a global procedure. The superuser (and the master's own in-process `trusted`
/// sessions) may call every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Every user of the global realm.
    AnyUser,
    /// The superuser only.
    Superuser,
    /// A user holding one of these roles on the management realm the call is about; a list
    /// answers only such realms (and their nodes).
    OnMrealm(&'static [&'static str]),
    /// A user on its own user record; a list answers only that record.
    OwnRecord,
}

/// One global procedure and who may call it.
#[derive(Debug)]
pub struct GlobalRule {
    pub uri: &'static str,
    pub permission: Permission,
}

const fn g(uri: &'static str, permission: Permission) -> GlobalRule {
    GlobalRule { uri, permission }
}

use Permission::{AnyUser, OnMrealm, OwnRecord, Superuser};

/// Every procedure of the global realm.
pub const GLOBAL: &[GlobalRule] = &[
    g(domain::GET_STATUS, AnyUser),
    g(domain::GET_VERSION, AnyUser),
    g(domain::GET_LICENSE, AnyUser),
    g(domain::BACKUP_DATABASE, Superuser),
    g(mrealm::LIST_MREALMS, OnMrealm(READ)),
    g(mrealm::GET_MREALM, OnMrealm(READ)),
    g(mrealm::GET_MREALM_BY_NAME, OnMrealm(READ)),
    // the creator becomes the new realm's owner
    g(mrealm::CREATE_MREALM, AnyUser),
    g(mrealm::MODIFY_MREALM, OnMrealm(MANAGE)),
    g(mrealm::DELETE_MREALM, OnMrealm(OWN)),
    g(mrealm::DELETE_MREALM_BY_NAME, OnMrealm(OWN)),
    g(mrealm::PAIR_NODE, OnMrealm(MANAGE)),
    g(mrealm::UNPAIR_NODE, OnMrealm(MANAGE)),
    g(mrealm::UNPAIR_NODE_BY_PUBKEY, OnMrealm(MANAGE)),
    g(mrealm::LIST_NODES, OnMrealm(READ)),
    g(mrealm::LIST_NODES_BY_MREALM, OnMrealm(READ)),
    g(mrealm::LIST_NODES_BY_MREALM_NAME, OnMrealm(READ)),
    g(mrealm::GET_NODE, OnMrealm(READ)),
    g(mrealm::GET_NODE_BY_NAME, OnMrealm(READ)),
    g(mrealm::MODIFY_NODE, OnMrealm(MANAGE)),
    g(mrealm::STAT_NODE, OnMrealm(READ)),
    g(mrealm::SET_ROLES_ON_MREALM_FOR_USER, Superuser),
    g(user::LIST_USERS, OwnRecord),
    g(user::GET_USER, OwnRecord),
    g(user::GET_USER_BY_EMAIL, OwnRecord),
    g(user::GET_USER_BY_PUBKEY, OwnRecord),
    g(user::CREATE_USER, Superuser),
];

/// The row of global procedure `uri`.
pub fn global_rule(uri: &str) -> Option<&'static GlobalRule> {
    GLOBAL.iter().find(|r| r.uri == uri)
}

/// Every role of a management realm, from the most to the least privileged (the node apart).
pub const MREALM_ROLES: &[&str] = &[
    "owner",
    "backend",
    "trusted",
    "admin",
    "operator",
    "developer",
    "guest",
    "public",
    "node",
];

/// Whether a management realm row is served today or comes with a later issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Served,
    /// Procedures of the cluster and application realm managers (clusters spec §1): the row is
    /// what the router already applies to their prefix.
    Future,
}

/// What the roles of a management realm may do with a set of URIs.
#[derive(Debug)]
pub struct MrealmRule {
    /// The URIs, in words.
    pub what: &'static str,
    /// One URI of the set (checked against the router by the test below).
    pub example: &'static str,
    pub action: Action,
    pub roles: &'static [&'static str],
    pub status: Status,
}

/// The roles that may use the whole management API: `owner` … `developer`.
const FULL: &[&str] = MREALM_ROLES.split_at(6).0;
/// [`FULL`] and `guest`.
const READERS: &[&str] = MREALM_ROLES.split_at(7).0;
/// [`READERS`] and `public`.
const ANYONE: &[&str] = MREALM_ROLES.split_at(8).0;

const fn m(
    what: &'static str,
    example: &'static str,
    action: Action,
    roles: &'static [&'static str],
    status: Status,
) -> MrealmRule {
    MrealmRule {
        what,
        example,
        action,
        roles,
        status,
    }
}

use Action::{Call, Publish, Register, Subscribe};
use Status::{Future, Served};

/// A management realm: who may call, register, publish and subscribe what.
pub const MREALM: &[MrealmRule] = &[
    m("`crossbarfabriccenter.mrealm.get_status`", mrealm::GET_STATUS, Call, MREALM_ROLES, Served),
    m(
        "the other public procedures: `get_nodes`, `remote.node.get_workers`, `remote.node.get_worker`, `remote.router.get_router_realms`, `remote.realm.meta.wamp.session.list|get`",
        mrealm::GET_NODES,
        Call,
        ANYONE,
        Served,
    ),
    m(
        "the other controller reads `crossbarfabriccenter.mrealm.get_*` (nodes, logs, traces)",
        mrealm::GET_NODE_LOGS,
        Call,
        READERS,
        Served,
    ),
    m(
        "every other `crossbarfabriccenter.mrealm.*` procedure (tracing)",
        "crossbarfabriccenter.mrealm.create_trace",
        Call,
        FULL,
        Served,
    ),
    m(
        "every other `crossbarfabriccenter.remote.*` forwarder",
        "crossbarfabriccenter.remote.node.start_worker",
        Call,
        FULL,
        Served,
    ),
    m(
        "`wamp.session.kill`, `kill_by_authid`, `kill_by_authrole`",
        "wamp.session.kill_by_authrole",
        Call,
        &["trusted"],
        Served,
    ),
    m(
        "the other meta procedures `wamp.*` (reads)",
        "wamp.session.list",
        Call,
        FULL,
        Served,
    ),
    m(
        "procedures a node registers (`crossbarfabriccenter.node.<authid>.*`)",
        "crossbarfabriccenter.node.node1.get_status",
        Call,
        FULL,
        Served,
    ),
    m(
        "register anything (a node: only under `crossbarfabriccenter.node.<its authid>.`)",
        "com.example.proc",
        Register,
        &["owner", "backend", "trusted"],
        Served,
    ),
    m(
        "publish anything (a node: under its own prefix and the two heartbeat topics)",
        "com.example.topic",
        Publish,
        &["owner", "backend", "trusted"],
        Served,
    ),
    m(
        "subscribe to the master's events (`on_node_ready`, tracing events to the trace's readers, remote API events)",
        mrealm::ON_NODE_READY,
        Subscribe,
        READERS,
        Served,
    ),
    m(
        "subscribe to the nodes' raw trace data `crossbarfabriccenter.node.<a>.worker.<w>.on_trace_data` (any match policy that can reach it, e.g. prefix `crossbarfabriccenter.`)",
        "crossbarfabriccenter.node.node1.worker.w1.on_trace_data",
        Subscribe,
        &["trusted"],
        Served,
    ),
    m(
        "application realm manager `crossbarfabriccenter.mrealm.arealm.*`",
        "crossbarfabriccenter.mrealm.arealm.create_arealm",
        Call,
        FULL,
        Future,
    ),
    m(
        "router and web cluster reads `crossbarfabriccenter.mrealm.{routercluster,webcluster}.{list,get,stat}_*`",
        "crossbarfabriccenter.mrealm.webcluster.stat_webcluster",
        Call,
        READERS,
        Served,
    ),
    m(
        "every other router cluster procedure `crossbarfabriccenter.mrealm.routercluster.*` (the managers also check the caller is a user, and the object's owner for start/stop/delete)",
        "crossbarfabriccenter.mrealm.routercluster.create_routercluster",
        Call,
        FULL,
        Served,
    ),
    m(
        "every other web cluster procedure `crossbarfabriccenter.mrealm.webcluster.*` (the same checks)",
        "crossbarfabriccenter.mrealm.webcluster.create_webcluster",
        Call,
        FULL,
        Served,
    ),
    m(
        "metadata manager `crossbarfabriccenter.mrealm.metadata.*`",
        "crossbarfabriccenter.mrealm.metadata.get_metadata",
        Call,
        FULL,
        Future,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::{mrealm_roles, MrealmAuthorizer};
    use wamp_router::role::{Authorizer, Decision};
    use wamp_router::session::SessionInfo;

    fn session(role: &str) -> SessionInfo {
        SessionInfo {
            id: 1,
            realm: "mr1".into(),
            authid: if role == "node" { "node1" } else { "someone" }.into(),
            authrole: role.into(),
            authmethod: "cryptosign".into(),
            authprovider: "dynamic".into(),
            authextra: Default::default(),
            transport: Default::default(),
            features: Default::default(),
        }
    }

    /// What the router decides for `role` (as `Realm::authorize` does: trusted first, then the
    /// authorizer, then the role rules).
    fn router_allows(role: &str, action: Action, uri: &str) -> bool {
        if role == "trusted" {
            return true;
        }
        match MrealmAuthorizer::default().authorize(&session(role), action, uri) {
            Decision::Allow { .. } => true,
            Decision::Deny(_) => false,
            Decision::UseRoles => mrealm_roles()
                .iter()
                .find(|r| r.name == role)
                .and_then(|r| r.permission_for(uri))
                .is_some_and(|p| p.allows(action)),
        }
    }

    #[test]
    fn the_router_enforces_the_management_realm_table() {
        for row in MREALM {
            for role in MREALM_ROLES {
                let want = row.roles.contains(role);
                let got = router_allows(role, row.action, row.example);
                assert_eq!(got, want, "{role} {:?} {}", row.action, row.example);
            }
        }
    }

    #[test]
    fn role_sets() {
        assert_eq!(FULL.last(), Some(&"developer"));
        assert_eq!(READERS.last(), Some(&"guest"));
        assert_eq!(ANYONE.last(), Some(&"public"));
    }

    #[test]
    fn every_global_row_is_unique_and_under_the_global_api() {
        let mut seen = std::collections::HashSet::new();
        for r in GLOBAL {
            assert!(seen.insert(r.uri), "{} twice", r.uri);
            assert!(r.uri.starts_with("crossbarfabriccenter."), "{}", r.uri);
        }
        assert!(global_rule(mrealm::PAIR_NODE).is_some());
        assert!(global_rule("crossbarfabriccenter.mrealm.nope").is_none());
    }
}
