//! What a management realm controller's parts are given: its store handle, its management
//! realm, its configuration, its session, the node view and the owner's control input — not
//! the whole `Master`. Everything here is cheap to clone or shared behind an `Arc`.

use std::sync::Arc;
use std::time::Duration;

use store::Store;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;
use wamp_client::Session;

use super::heartbeat::Retention;
use super::nodes::NodeView;
use super::owner::Control;
use crate::config::MasterConfig;

/// The controller's part of the master's configuration, typed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ControllerConfig {
    /// `on_tick` period.
    pub tick_interval: Duration,
    /// Health check period per online node.
    pub check_interval: Duration,
    /// Timeout of one health-check call.
    pub check_timeout: Duration,
    /// Heartbeat history retention.
    pub retention: Retention,
}

impl From<&MasterConfig> for ControllerConfig {
    fn from(c: &MasterConfig) -> Self {
        ControllerConfig {
            tick_interval: c.tick_interval,
            check_interval: c.check_interval,
            check_timeout: c.check_timeout,
            retention: Retention {
                raw: c.log_retention,
                aggregates: c.aggregate_retention,
            },
        }
    }
}

/// A management realm: its oid and name.
#[derive(Debug, Clone)]
pub(crate) struct MrealmId {
    pub oid: Uuid,
    pub name: String,
}

/// Read access to the node map: consistent snapshots, never blocking the owner.
#[derive(Clone)]
pub(crate) struct Nodes(watch::Receiver<NodeView>);

impl Nodes {
    pub(crate) fn new(rx: watch::Receiver<NodeView>) -> Nodes {
        Nodes(rx)
    }

    /// The current snapshot (O(1); the watch's lock is held only to clone it).
    pub(crate) fn view(&self) -> NodeView {
        self.0.borrow().clone()
    }

    /// Whether the node is online now.
    pub(crate) fn is_online(&self, oid: &Uuid) -> bool {
        self.0.borrow().is_online(oid)
    }
}

/// The context every part of one controller shares.
pub(crate) struct Ctx {
    pub store: Arc<Store>,
    pub mrealm: MrealmId,
    pub config: ControllerConfig,
    /// The superuser's user oid (owner of what the superuser creates).
    pub superuser_oid: Uuid,
    /// The controller's session on the management realm: serves procedures, calls nodes.
    pub session: Session,
    pub nodes: Nodes,
    /// The owner's control input (health-check results, unpairing).
    pub control: mpsc::UnboundedSender<Control>,
}
