//! The reconcilers of the router and web cluster managers (skeleton: filled by the
//! deployment work of issue 13).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use uuid::Uuid;

use super::call::{Wake, Waker};
use crate::error::Result;
use crate::mrealm::ctx::Ctx;
use crate::mrealm::nodes::Transition;
use crate::reconcile::{Action, Handle, Reconciler, Runtime, RuntimeConfig};

/// What the reconciler last saw of one worker it manages (for `stat_*`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WorkerState {
    pub node_oid: Uuid,
    /// The edge worker id (`wg1_1`, `cpw-1a2b3c4d-0`).
    pub worker_id: String,
    /// `router` or `proxy`.
    pub worker_type: &'static str,
    /// `running`, `starting`, `failed`, `offline` (its node is), `stopping`.
    pub status: &'static str,
    /// Since when (ns since the epoch).
    pub since: u64,
    /// The last failure (node, remote error URI and message), if the last attempt failed.
    pub last_error: Option<String>,
}

struct Noop;

impl Reconciler for Noop {
    type Key = Uuid;
    type Error = std::convert::Infallible;
    fn name(&self) -> &'static str {
        "clusters"
    }
    async fn reconcile(&self, _: &Uuid) -> std::result::Result<Action, Self::Error> {
        Ok(Action::AwaitChange)
    }
}

/// The reconcilers of one management realm.
pub(crate) struct Deployer {
    rc: Handle<Uuid>,
    wc: Handle<Uuid>,
}

impl Deployer {
    pub(crate) fn start(
        _ctx: &Arc<Ctx>,
        _transitions: broadcast::Receiver<Transition>,
    ) -> Result<Deployer> {
        let rc = Runtime::spawn(Arc::new(Noop), RuntimeConfig::default());
        let wc = Runtime::spawn(Arc::new(Noop), RuntimeConfig::default());
        Ok(Deployer { rc, wc })
    }

    /// What the router cluster's reconciler last saw of its workers.
    pub(crate) fn router_workers(&self, _cluster: Uuid) -> Vec<WorkerState> {
        Vec::new()
    }

    /// What the web cluster's reconciler last saw of its workers.
    pub(crate) fn web_workers(&self, _cluster: Uuid) -> Vec<WorkerState> {
        Vec::new()
    }

    pub(crate) async fn stop(&self) {
        let _ = self.rc.shutdown(Duration::from_secs(1)).await;
        let _ = self.wc.shutdown(Duration::from_secs(1)).await;
    }
}

impl Waker for Deployer {
    fn wake(&self, wake: Wake) {
        match wake {
            Wake::RouterCluster(c) => self.rc.trigger(c),
            Wake::WebCluster(c) => self.wc.trigger(c),
        }
    }
}
