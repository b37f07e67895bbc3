//! The web cluster manager's 16 procedures `crossbarfabriccenter.mrealm.webcluster.*`
//! (clusters spec §2.3) and mrealm's `stat_webcluster`: argument checks in the spec's order,
//! one write transaction per change, the `on_*` event, then a wake of the cluster's
//! reconciler (which deploys, and tears down on stop, see `deploy/`).
//!
//! | file | procedures |
//! |---|---|
//! | `clusters.rs` | `list_webclusters`, `get_webcluster[_by_name]`, `create/delete/start/stop_webcluster`, `stat_webcluster` |
//! | `members.rs` | `list/add/remove/get_webcluster_node[s]` |
//! | `webservices.rs` | `list/add/remove/get_webcluster_service[s]`, `get_webcluster_service_by_path` |
//! | `settings.rs` | what `create_webcluster` accepts |

mod clusters;
mod members;
pub(crate) mod settings;
mod webservices;

use std::sync::Arc;

use uuid::Uuid;

use super::call::{self, Call, Principal, Reply};
use super::db::{Keys, Read};
use super::deploy::Deployer;
use super::model::WebCluster;
use crate::error::{MasterError, Result};
use crate::mrealm::ctx::Ctx;
use crate::wire::webcluster::uri;

/// What the procedures share: the controller's context and the reconcilers (for `stat_*`).
pub(crate) struct WebClusters {
    ctx: Arc<Ctx>,
    deployer: Arc<Deployer>,
}

type Proc = fn(&WebClusters, &Call<'_>) -> Result<Reply>;

const PROCEDURES: &[(&str, Proc)] = &[
    ("list_webclusters", clusters::list),
    ("get_webcluster", clusters::get),
    ("get_webcluster_by_name", clusters::get_by_name),
    ("create_webcluster", clusters::create),
    ("delete_webcluster", clusters::delete),
    ("start_webcluster", clusters::start),
    ("stop_webcluster", clusters::stop),
    ("stat_webcluster", clusters::stat),
    ("list_webcluster_nodes", members::list),
    ("add_webcluster_node", members::add),
    ("remove_webcluster_node", members::remove),
    ("get_webcluster_node", members::get),
    ("list_webcluster_services", webservices::list),
    ("add_webcluster_service", webservices::add),
    ("remove_webcluster_service", webservices::remove),
    ("get_webcluster_service", webservices::get),
    ("get_webcluster_service_by_path", webservices::get_by_path),
];

/// Registers the web cluster procedures on the controller's session.
pub(crate) async fn register_all(ctx: &Arc<Ctx>, deployer: &Arc<Deployer>) -> Result<()> {
    let target = Arc::new(WebClusters {
        ctx: ctx.clone(),
        deployer: deployer.clone(),
    });
    for (name, f) in PROCEDURES {
        call::register(&ctx.session, uri(name), &target, deployer, *f).await?;
    }
    Ok(())
}

impl WebClusters {
    fn keys(&self) -> Keys {
        Keys::new(self.ctx.mrealm.oid)
    }

    fn principal(&self, c: &Call<'_>) -> Result<Principal> {
        call::principal(&self.ctx.store, self.ctx.superuser_oid, c)
    }

    fn check_owner(&self, who: &Principal, wc: &WebCluster, message: &str) -> Result<()> {
        call::check_owner(
            &self.ctx.store,
            self.ctx.mrealm.oid,
            who,
            wc.owner_oid,
            message,
        )
    }

    /// The web cluster `oid` (from `r`), or NSO with `message`.
    fn cluster(
        &self,
        r: &impl Read,
        oid: Uuid,
        message: impl FnOnce() -> String,
    ) -> Result<WebCluster> {
        r.get(&self.keys().wc(oid))?
            .ok_or_else(|| MasterError::NoSuchObject(message()))
    }

    /// The node's authid if it is paired to this management realm, else NSO
    /// `no node with oid … found`.
    fn node_authid(&self, node: Uuid) -> Result<String> {
        match self.ctx.store.get_node(node)? {
            Some(n) if n.mrealm_oid == Some(self.ctx.mrealm.oid) => {
                Ok(n.authid.unwrap_or_default())
            }
            _ => Err(MasterError::NoSuchObject(format!(
                "no node with oid {node} found"
            ))),
        }
    }
}

/// `no object with oid <oid> found`.
fn no_object(oid: Uuid) -> impl FnOnce() -> String {
    move || format!("no object with oid {oid} found")
}

/// `no webcluster with oid <oid> found`.
fn no_webcluster(oid: Uuid) -> impl FnOnce() -> String {
    move || format!("no webcluster with oid {oid} found")
}
