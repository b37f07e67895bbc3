//! The desired-state managers of a management realm: router clusters with their worker groups
//! (`crossbarfabriccenter.mrealm.routercluster.*`) and web clusters with their services
//! (`crossbarfabriccenter.mrealm.webcluster.*`), contract `../shared/spec/mrealm-clusters-api.md`
//! §2.2, §2.3, §3, §4.2-§4.7; the operator's view is docs/clusters.md.
//!
//! ```text
//!  procedures (routercluster.rs, webcluster.rs)        reconcilers (deploy/), one key per cluster
//!  check args ─► one write txn (db.rs) ─► event ─► wake ─► reconcile(cluster): read desired state,
//!                                                          ask each online member node what runs,
//!  node online (announcer) ──────────────────────► wake    start what is missing, stop what is
//!  master start: every cluster not STOPPED ──────► wake    no longer wanted, record it (deployed)
//! ```
//!
//! The procedures never call a node; the reconcilers never answer a caller. They share only
//! the store and the reconcilers' handles ([`deploy::Deployer`], which also reports what it
//! observed for `stat_*`).

pub(crate) mod call;
pub(crate) mod db;
pub(crate) mod deploy;
pub(crate) mod model;
mod routercluster;
mod services;
mod webcluster;

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::error::Result;
use crate::mrealm::ctx::Ctx;
use crate::mrealm::nodes::Transition;
use deploy::Deployer;

/// The running managers of one management realm.
pub(crate) struct Managers {
    deployer: Arc<Deployer>,
}

impl Managers {
    /// Starts the reconcilers (re-applying every cluster that is not STOPPED), then registers
    /// the procedures.
    pub(crate) async fn start(
        ctx: &Arc<Ctx>,
        transitions: broadcast::Receiver<Transition>,
    ) -> Result<Managers> {
        let deployer = Arc::new(Deployer::start(ctx, transitions)?);
        routercluster::register_all(ctx, &deployer).await?;
        webcluster::register_all(ctx, &deployer).await?;
        Ok(Managers { deployer })
    }

    /// Stops the reconcilers (runs in flight get a moment to finish); what runs on the nodes
    /// stays as it is.
    pub(crate) async fn stop(self) {
        self.deployer.stop().await;
    }
}
