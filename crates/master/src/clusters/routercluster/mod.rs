//! The router cluster manager: the 18 `crossbarfabriccenter.mrealm.routercluster.*` procedures
//! (clusters spec §2.2) over the documents of [`super::db`]. Each procedure checks its
//! arguments in the spec's order, changes the store in one transaction (a refused call changes
//! nothing), and answers a [`Reply`] (event after the commit, then a wake of the cluster's
//! reconciler, which does everything that touches a node).
//!
//! | file | procedures |
//! |---|---|
//! | `cluster.rs` | list/get/get_by_name/create/delete/start/stop |
//! | `nodes.rs` | list/add/remove/get `routercluster_node` |
//! | `groups.rs` | list/add/remove/get/get_by_name `routercluster_workergroup` |
//! | `placement.rs` | where a group's workers go (least-loaded member, ⚠D27) |
//! | `stat.rs` | `stat_routercluster`, `stat_routercluster_workergroup` |
//!
//! Where Crossbar is defective mrealm is correct (docs/clusters.md lists each deviation).

mod cluster;
mod groups;
mod nodes;
mod placement;
mod stat;

use std::sync::Arc;

use store::{NodeRecord, Store};
use uuid::Uuid;
use wamp_proto::{Dict, Value};

use super::call::{self, register, Call, Principal, Reply};
use super::db::Keys;
use super::deploy::Deployer;
use super::model::Common;
use crate::error::{MasterError, Result};
use crate::mrealm::ctx::Ctx;
use crate::wire::routercluster::uri;

/// What the procedures share: the controller's context, the keys of its management realm and
/// the reconcilers (for `stat_*`).
pub(crate) struct Manager {
    ctx: Arc<Ctx>,
    deployer: Arc<Deployer>,
    keys: Keys,
}

/// A procedure: its name, its parameters (positional order = keyword names) and its body.
type Proc = (
    &'static str,
    &'static [&'static str],
    fn(&Manager, &Call<'_>) -> Result<Reply>,
);

const RC: &str = "routercluster_oid";
const NODE: &str = "node_oid";
const WG: &str = "workergroup_oid";

const PROCS: &[Proc] = &[
    ("list_routerclusters", &["return_names"], cluster::list),
    ("get_routercluster", &[RC], cluster::get),
    (
        "get_routercluster_by_name",
        &["routercluster_name"],
        cluster::get_by_name,
    ),
    ("create_routercluster", &["routercluster"], cluster::create),
    ("delete_routercluster", &[RC], cluster::delete),
    ("start_routercluster", &[RC], cluster::start),
    ("stop_routercluster", &[RC], cluster::stop),
    ("stat_routercluster", &[RC], stat::cluster),
    (
        "list_routercluster_nodes",
        &[RC, "return_names", "filter_by_status"],
        nodes::list,
    ),
    ("add_routercluster_node", &[RC, NODE, "config"], nodes::add),
    ("remove_routercluster_node", &[RC, NODE], nodes::remove),
    ("get_routercluster_node", &[RC, NODE], nodes::get),
    (
        "list_routercluster_workergroups",
        &[RC, "return_names", "filter_by_status"],
        groups::list,
    ),
    (
        "add_routercluster_workergroup",
        &[RC, "workergroup"],
        groups::add,
    ),
    (
        "remove_routercluster_workergroup",
        &[RC, WG],
        groups::remove,
    ),
    ("get_routercluster_workergroup", &[RC, WG], groups::get),
    (
        "get_routercluster_workergroup_by_name",
        &["routercluster_name", "workergroup_name"],
        groups::get_by_name,
    ),
    ("stat_routercluster_workergroup", &[RC, WG], stat::group),
];

/// Registers the 18 procedures on the controller's session.
pub(crate) async fn register_all(ctx: &Arc<Ctx>, deployer: &Arc<Deployer>) -> Result<()> {
    let manager = Arc::new(Manager {
        ctx: ctx.clone(),
        deployer: deployer.clone(),
        keys: Keys::new(ctx.mrealm.oid),
    });
    for &(name, params, f) in PROCS {
        let body = move |m: &Manager, c: &Call<'_>| {
            signature(name, params, c)?;
            f(m, c)
        };
        register(&ctx.session, uri(name), &manager, deployer, body).await?;
    }
    Ok(())
}

/// Python's calling convention (spec §0): too many positional arguments, or an unknown
/// keyword, is `wamp.error.runtime_error`.
fn signature(name: &str, params: &[&str], call: &Call<'_>) -> Result<()> {
    if call.args.len() > params.len() {
        return Err(MasterError::Runtime(format!(
            "{name}() takes {} positional arguments but {} were given",
            params.len(),
            call.args.len()
        )));
    }
    match call.kwargs.keys().find(|k| !params.contains(&k.as_str())) {
        Some(k) => Err(MasterError::Runtime(format!(
            "{name}() got an unexpected keyword argument '{k}'"
        ))),
        None => Ok(()),
    }
}

impl Manager {
    fn store(&self) -> &Store {
        &self.ctx.store
    }

    fn mrealm(&self) -> Uuid {
        self.ctx.mrealm.oid
    }

    /// The caller as a user of this master (`wamp.error.no_such_principal` otherwise).
    fn principal(&self, call: &Call<'_>) -> Result<Principal> {
        call::principal(self.store(), self.ctx.superuser_oid, call)
    }

    /// `owner_oid` may be managed by the caller (`wamp.error.not_authorized` with `msg`).
    fn check_owner(&self, who: &Principal, owner_oid: Uuid, msg: &str) -> Result<()> {
        call::check_owner(self.store(), self.mrealm(), who, owner_oid, msg)
    }

    /// The node `oid` if it is paired to this management realm, else
    /// `crossbar.error.no_such_object "no node with oid … found"`.
    fn node(&self, oid: Uuid) -> Result<NodeRecord> {
        match self.store().get_node(oid)? {
            Some(n) if n.is_paired() && n.mrealm_oid == Some(self.mrealm()) => Ok(n),
            _ => Err(nso(format!("no node with oid {oid} found"))),
        }
    }

    /// The authid of a node of this management realm (None once it is unpaired).
    fn node_authid(&self, oid: Uuid) -> Result<Option<String>> {
        Ok(self.node(oid).ok().and_then(|n| n.authid))
    }
}

/// `crossbar.error.no_such_object`.
fn nso(msg: String) -> MasterError {
    MasterError::NoSuchObject(msg)
}

/// A required oid argument whose parse error reads as Crossbar's `invalid <label> "<reason>"`
/// (most procedures; `get_routercluster` and the stat procedures use [`Call::oid`]'s wording).
fn qoid(call: &Call<'_>, i: usize, name: &str, label: &str) -> Result<Uuid> {
    let s = call.str(i, name)?;
    Uuid::parse_str(s).map_err(|_| {
        MasterError::InvalidArgument(format!(
            "invalid {label} \"badly formed hexadecimal UUID string\""
        ))
    })
}

/// `^[a-z][a-z0-9_]{2,63}$` (crossbar/common/checkconfig.py; edge worker ids come from it).
fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    let first = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    first && rest && (3..=64).contains(&s.len())
}

const NAME_PATTERN: &str = "^[a-z][a-z0-9_]{2,63}$";

/// `wamp.error.invalid_configuration "could not parse <what> configuration (<why>)"`.
fn unparsable(what: &str, why: &str) -> MasterError {
    MasterError::InvalidConfiguration(format!("could not parse {what} configuration ({why})"))
}

/// The optional `name` of a configuration: a str, matching [`NAME_PATTERN`].
fn parse_name(d: &Dict, what: &str) -> Result<Option<String>> {
    let name = match d.get("name") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Str(s)) => s,
        Some(v) => {
            let why = format!("'name' must be a str, not {}", v.type_name());
            return Err(unparsable(what, &why));
        }
    };
    if !valid_name(name) {
        return Err(MasterError::InvalidConfiguration(format!(
            "invalid name \"{name}\" in {what} configuration (must match {NAME_PATTERN})"
        )));
    }
    Ok(Some(name.clone()))
}

/// `label`, `description` (str or null) and `tags` (list of str or null) of a configuration.
fn parse_common(d: &Dict, what: &str) -> Result<Common> {
    let text = |key: &str| match d.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.clone())),
        Some(v) => Err(unparsable(
            what,
            &format!("'{key}' must be a str, not {}", v.type_name()),
        )),
    };
    let tags = match d.get("tags") {
        None | Some(Value::Null) => None,
        Some(Value::List(l)) => Some(
            l.iter()
                .map(|t| t.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>()
                .ok_or_else(|| unparsable(what, "'tags' must be a list of str"))?,
        ),
        Some(v) => {
            let why = format!("'tags' must be a list of str, not {}", v.type_name());
            return Err(unparsable(what, &why));
        }
    };
    Ok(Common {
        label: text("label")?,
        description: text("description")?,
        tags,
    })
}

/// A value as JSON, for error messages.
fn show(v: &Value) -> String {
    serde_json::Value::from(v).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_crossbars_pattern() {
        for ok in ["rc1", "cluster_1", "abc", &"a".repeat(64)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "ab",
            "1rc",
            "Rc1",
            "rc-1",
            "rc 1",
            &"a".repeat(65),
            "rcé",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
