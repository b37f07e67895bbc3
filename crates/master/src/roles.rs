//! The roles of the global realm and of every management realm, and the authorizer that keeps
//! a node inside its own URI space.
//!
//! Management realm roles (as Crossbar defines `owner`, `backend`, `node`, `public`, plus the
//! user roles mrealm stores per management realm):
//!
//! | role | may |
//! |---|---|
//! | `owner`, `backend`, `trusted` | everything |
//! | `admin`, `operator`, `developer` | call and subscribe anything |
//! | `guest` | call what `public` may and every `crossbarfabriccenter.mrealm.get_*` read procedure, subscribe anything |
//! | `public` | call the read procedures listed in WIRE.md §2.2 |
//! | `node` | register and publish under `crossbarfabriccenter.node.<its authid>.`, publish the node heartbeats, call `crossbarfabriccenter.mrealm.get_status` |

use crate::wire;
use wamp_proto::MatchPolicy;
use wamp_router::role::{Authorizer, Decision};
use wamp_router::session::SessionInfo;
use wamp_router::{Action, Permission, Role};

/// The global realm.
pub use crate::wire::GLOBAL_REALM;

/// The procedures an anonymous (`public`) caller may use on a management realm.
pub const PUBLIC_PROCEDURES: &[&str] = &[
    wire::mrealm::GET_STATUS,
    wire::mrealm::GET_NODES,
    "crossbarfabriccenter.remote.node.get_workers",
    "crossbarfabriccenter.remote.node.get_worker",
    "crossbarfabriccenter.remote.router.get_router_realms",
    "crossbarfabriccenter.remote.realm.meta.wamp.session.list",
    "crossbarfabriccenter.remote.realm.meta.wamp.session.get",
];

/// The user roles that can be stored for a user on a management realm.
pub const USER_ROLES: &[&str] = &["owner", "admin", "operator", "developer", "guest"];

fn rule(
    uri: &str,
    policy: MatchPolicy,
    call: bool,
    register: bool,
    publish: bool,
    subscribe: bool,
) -> Permission {
    Permission {
        uri: uri.into(),
        policy,
        call,
        register,
        publish,
        subscribe,
        disclose_caller: true,
        disclose_publisher: true,
    }
}

fn all() -> Vec<Permission> {
    vec![rule("", MatchPolicy::Prefix, true, true, true, true)]
}

fn public_calls() -> Vec<Permission> {
    PUBLIC_PROCEDURES
        .iter()
        .map(|p| rule(p, MatchPolicy::Exact, true, false, false, false))
        .collect()
}

/// Roles of the global realm: `user` (the superuser and users) and `trusted` (in-process).
pub fn global_roles() -> Vec<Role> {
    vec![
        Role::new(
            "user",
            vec![rule(
                "crossbarfabriccenter.",
                MatchPolicy::Prefix,
                true,
                false,
                false,
                true,
            )],
        ),
        Role::new("trusted", all()),
    ]
}

/// Roles of a management realm.
pub fn mrealm_roles() -> Vec<Role> {
    let read_all = || vec![rule("", MatchPolicy::Prefix, true, false, false, true)];
    let mut guest = public_calls();
    guest.push(rule("", MatchPolicy::Prefix, false, false, false, true));
    guest.push(rule(
        "crossbarfabriccenter.mrealm.get_",
        MatchPolicy::Prefix,
        true,
        false,
        false,
        false,
    ));
    vec![
        Role::new("owner", all()),
        Role::new("backend", all()),
        Role::new("trusted", all()),
        Role::new("admin", read_all()),
        Role::new("operator", read_all()),
        Role::new("developer", read_all()),
        Role::new("guest", guest),
        Role::new("public", public_calls()),
        // the node role's rules depend on the node's authid: see `NodeAuthorizer`
        Role::new("node", Vec::new()),
    ]
}

/// Keeps `node` sessions inside their own URI space (none for a stored authid that breaks
/// [`wire::node::check_authid`]); other roles use the role rules.
#[derive(Debug, Default)]
pub struct NodeAuthorizer;

impl Authorizer for NodeAuthorizer {
    fn authorize(&self, s: &SessionInfo, action: Action, uri: &str) -> Decision {
        if s.authrole != "node" {
            return Decision::UseRoles;
        }
        if let Err(why) = wire::node::check_authid(&s.authid) {
            return Decision::Deny(format!(
                "session (session_id={}, authid=\"{}\", authrole=\"node\") is not authorized to {} \"{uri}\" on realm \"{}\": {why}; re-pair the node",
                s.id,
                s.authid,
                action.phrase(),
                s.realm
            ));
        }
        let own = wire::node::uri(&s.authid, "");
        let allowed = match action {
            Action::Register => uri.starts_with(&own),
            Action::Publish => {
                uri.starts_with(&own)
                    || uri == wire::node::ON_HEARTBEAT
                    || uri == wire::node::ON_WORKER_HEARTBEAT
            }
            Action::Call => uri == wire::mrealm::GET_STATUS,
            Action::Subscribe => false,
        };
        if allowed {
            return Decision::Allow { disclose: true };
        }
        Decision::Deny(format!(
            "session (session_id={}, authid=\"{}\", authrole=\"node\") is not authorized to {} \"{uri}\" on realm \"{}\": a node may only use its own URIs under \"{own}\"",
            s.id,
            s.authid,
            action.phrase(),
            s.realm
        ))
    }
}
