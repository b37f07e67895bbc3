//! The roles of the global realm and of every management realm, and the management realm's
//! authorizer (a node inside its own URI space, session-ending and raw trace data for the
//! master only). The whole model, as one table, is [`crate::authz`].
//!
//! Management realm roles (as Crossbar defines `owner`, `backend`, `node`, `public`, plus the
//! user roles mrealm stores per management realm):
//!
//! | role | may |
//! |---|---|
//! | `owner`, `backend`, `trusted` | everything |
//! | `admin`, `operator`, `developer` | call and subscribe anything |
//! | `guest` | call what `public` may, every `crossbarfabriccenter.mrealm.get_*` read procedure and the cluster managers' `list_*`, `get_*`, `stat_*`, subscribe anything |
//! | `public` | call the read procedures listed in WIRE.md §2.2 |
//! | `node` | register and publish under `crossbarfabriccenter.node.<its authid>.`, publish the node heartbeats, call `crossbarfabriccenter.mrealm.get_status` |
//!
//! and, for every role but `trusted` (the master's own sessions), [`MrealmAuthorizer`] refuses
//! the meta procedures that end sessions ([`KILL_PROCEDURES`]) and subscriptions that could
//! receive a node's raw `…worker.<wid>.on_trace_data` (its readers get it republished).

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
    // the cluster managers' reads: list_*, get_*, stat_* (clusters spec §2.2, §2.3)
    for manager in ["routercluster", "webcluster"] {
        for read in ["get_", "list_", "stat_"] {
            let prefix = format!("crossbarfabriccenter.mrealm.{manager}.{read}");
            guest.push(rule(
                &prefix,
                MatchPolicy::Prefix,
                true,
                false,
                false,
                false,
            ));
        }
    }
    vec![
        Role::new("owner", all()),
        Role::new("backend", all()),
        Role::new("trusted", all()),
        Role::new("admin", read_all()),
        Role::new("operator", read_all()),
        Role::new("developer", read_all()),
        Role::new("guest", guest),
        Role::new("public", public_calls()),
        // the node role's rules depend on the node's authid: see `MrealmAuthorizer`
        Role::new("node", Vec::new()),
    ]
}

/// The meta procedures that end sessions: only the master's own `trusted` sessions (which the
/// router never asks the authorizer about) may call them, so the controllers cannot be killed
/// from outside and no management realm role can drop the fleet.
pub const KILL_PROCEDURES: &[&str] = &[
    "wamp.session.kill",
    "wamp.session.kill_by_authid",
    "wamp.session.kill_by_authrole",
];

/// A management realm's authorizer, asked before the role rules for every role but `trusted`:
/// keeps `node` sessions inside their own URI space (none for a stored authid that breaks
/// [`wire::node::check_authid`]), and refuses every other role [`KILL_PROCEDURES`] and the
/// subscriptions that could receive nodes' raw trace data; everything else is left to the role
/// rules. Node heartbeats are held to `max_heartbeat_rate` per node session.
#[derive(Debug, Default)]
pub struct MrealmAuthorizer {
    pub heartbeats: Option<crate::ratelimit::HeartbeatLimiter>,
}

impl Authorizer for MrealmAuthorizer {
    fn authorize(&self, s: &SessionInfo, action: Action, uri: &str) -> Decision {
        if s.authrole == "node" {
            return self.node(s, action, uri);
        }
        match action {
            Action::Call if KILL_PROCEDURES.contains(&uri) => deny(
                s,
                action,
                uri,
                "only the master's own sessions may end sessions",
            ),
            Action::Subscribe if may_receive_trace_data(uri) => deny(
                s,
                action,
                uri,
                "nodes' raw trace data is for the master: a trace's readers get it on crossbarfabriccenter.mrealm.tracing.on_trace_data and crossbarfabriccenter.remote.tracing.on_trace_data",
            ),
            _ => Decision::UseRoles,
        }
    }
}

fn deny(s: &SessionInfo, action: Action, uri: &str, why: &str) -> Decision {
    Decision::Deny(format!(
        "session (session_id={}, authid=\"{}\", authrole=\"{}\") is not authorized to {} \"{uri}\" on realm \"{}\": {why}",
        s.id,
        s.authid,
        s.authrole,
        action.phrase(),
        s.realm
    ))
}

impl MrealmAuthorizer {
    fn node(&self, s: &SessionInfo, action: Action, uri: &str) -> Decision {
        if let Err(why) = wire::node::check_authid(&s.authid) {
            return deny(s, action, uri, &format!("{why}; re-pair the node"));
        }
        let own = wire::node::uri(&s.authid, "");
        let allowed = match action {
            Action::Register => uri.starts_with(&own),
            Action::Publish
                if uri == wire::node::ON_HEARTBEAT || uri == wire::node::ON_WORKER_HEARTBEAT =>
            {
                if let Some(l) = self.heartbeats.as_ref().filter(|l| !l.allow(s.id)) {
                    return Decision::Deny(l.reason());
                }
                true
            }
            Action::Publish => uri.starts_with(&own),
            Action::Call => uri == wire::mrealm::GET_STATUS,
            Action::Subscribe => false,
        };
        if allowed {
            return Decision::Allow { disclose: true };
        }
        let why = format!("a node may only use its own URIs under \"{own}\"");
        deny(s, action, uri, &why)
    }
}

/// `crossbarfabriccenter.node.<authid>.worker.<wid>.on_trace_data`, by component (an empty one
/// is an id).
const TRACE_DATA: [&str; 6] = [
    "crossbarfabriccenter",
    "node",
    "",
    "worker",
    "",
    "on_trace_data",
];

/// Whether a subscription to `uri` could receive a node's raw trace data under some match
/// policy (the authorizer is not told which): as an exact or wildcard URI of the six components
/// of [`TRACE_DATA`], or as a prefix of such a topic (`""`, `crossbarfabriccenter.`,
/// `crossbarfabriccenter.node.n1.`, …). Node authids obey [`wire::node::check_authid`], so
/// `crossbarfabriccenter.node.on_heartbeat` cannot begin one.
pub(crate) fn may_receive_trace_data(uri: &str) -> bool {
    let parts: Vec<&str> = uri.split('.').collect();
    let wildcard = parts.len() == TRACE_DATA.len()
        && parts
            .iter()
            .zip(TRACE_DATA)
            .all(|(p, want)| p.is_empty() || want.is_empty() || *p == want);
    let Some((last, whole)) = parts.split_last() else {
        return true;
    };
    let Some(&next) = TRACE_DATA.get(whole.len()) else {
        return wildcard;
    };
    let whole_match = whole
        .iter()
        .zip(TRACE_DATA)
        .enumerate()
        .all(|(i, (p, want))| match i {
            2 => wire::node::check_authid(p).is_ok(),
            _ if want.is_empty() => !p.is_empty(),
            _ => *p == want,
        });
    let last_begins = match whole.len() {
        2 => last.is_empty() || wire::node::check_authid(last).is_ok(),
        _ if next.is_empty() => true,
        _ => next.starts_with(last),
    };
    wildcard || (whole_match && last_begins)
}

#[cfg(test)]
mod tests {
    use super::may_receive_trace_data as reaches;

    #[test]
    fn subscriptions_that_could_receive_raw_trace_data() {
        for uri in [
            "",
            "crossbarfabriccenter",
            "crossbarfabriccenter.",
            "crossbarfabriccenter.no",
            "crossbarfabriccenter.node.",
            "crossbarfabriccenter.node.n",
            "crossbarfabriccenter.node.node1.",
            "crossbarfabriccenter.node.node1.wor",
            "crossbarfabriccenter.node.node1.worker.w1.",
            "crossbarfabriccenter.node.node1.worker.w1.on_trace",
            "crossbarfabriccenter.node.node1.worker.w1.on_trace_data",
            "crossbarfabriccenter.node..worker..on_trace_data",
            ".....",
            "crossbarfabriccenter.node.node1.worker..",
        ] {
            assert!(reaches(uri), "{uri:?}");
        }
        for uri in [
            "crossbarfabriccenter.node.on_heartbeat",
            "crossbarfabriccenter.node.on_worker_heartbeat",
            "crossbarfabriccenter.mrealm.",
            "crossbarfabriccenter.remote.tracing.on_trace_data",
            "crossbarfabriccenter.node.node1.on_router_started",
            "crossbarfabriccenter.node.node1.worker.w1.on_log",
            "crossbarfabriccenter.node.node1.worker.w1.on_trace_data.x",
            "crossbarfabriccenter.node..worker..on_log",
            "com.example",
        ] {
            assert!(!reaches(uri), "{uri:?}");
        }
    }
}
