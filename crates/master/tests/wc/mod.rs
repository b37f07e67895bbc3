//! Helpers of the web cluster manager tests (`clusters_wc*.rs`): a master with management
//! realms `mr1`/`mr2` and three paired nodes, calls into `crossbarfabriccenter.mrealm.webcluster.*`.
#![allow(dead_code)]

use crate::common::{call, create_mrealm, node_secret, pair_oid, s, wamp_err, Fixture};
use wamp_client::Session;
use wamp_proto::Value;

pub const WC: &str = "crossbarfabriccenter.mrealm.webcluster.";
pub const IA: &str = "wamp.error.invalid_argument";
pub const NSO: &str = "crossbar.error.no_such_object";
pub const TCE: &str = "wamp.error.type_check_error";
pub const IC: &str = "wamp.error.invalid_configuration";
pub const AE: &str = "crossbar.error.already_exists";
pub const NA: &str = "wamp.error.not_authorized";

pub const WEBCLUSTER_KEYS: &[&str] = &[
    "oid",
    "label",
    "description",
    "tags",
    "name",
    "status",
    "owner_oid",
    "changed",
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

pub struct Setup {
    pub fx: Fixture,
    pub global: Session,
    /// The superuser as `owner` on mr1.
    pub su: Session,
    pub mr1: String,
    /// node1, node2 (mr1), node3 (mr2).
    pub nodes: [String; 3],
}

pub async fn setup() -> Setup {
    let fx = Fixture::start().await;
    let global = fx.superuser(None).await;
    let mr1 = s(&create_mrealm(&global, "mr1").await, "oid").to_owned();
    create_mrealm(&global, "mr2").await;
    let nodes = [
        pair_oid(&global, &node_secret(1), "mr1", "node1").await,
        pair_oid(&global, &node_secret(2), "mr1", "node2").await,
        pair_oid(&global, &node_secret(3), "mr2", "node3").await,
    ];
    let su = fx.superuser(Some("mr1")).await;
    Setup {
        fx,
        global,
        su,
        mr1,
        nodes,
    }
}

pub fn v(j: serde_json::Value) -> Value {
    Value::from(j)
}

pub async fn wc(s: &Session, name: &str, args: Vec<Value>) -> Value {
    call(s, &format!("{WC}{name}"), args)
        .await
        .unwrap_or_else(|e| panic!("{name} failed: {e}"))
}

pub async fn wc_err(s: &Session, name: &str, args: Vec<Value>) -> (String, String) {
    wamp_err(call(s, &format!("{WC}{name}"), args).await)
}

pub async fn create(s: &Session, cfg: serde_json::Value) -> String {
    let c = wc(s, "create_webcluster", vec![v(cfg)]).await;
    self::s(&c, "oid").to_owned()
}

/// Everything stored about a cluster, to show a refused call changed nothing.
pub async fn snapshot(s: &Session, oid: &str) -> (Value, Value, Value) {
    let c = wc(s, "get_webcluster", vec![oid.into()]).await;
    let n = wc(s, "list_webcluster_nodes", vec![oid.into()]).await;
    let ws = wc(s, "list_webcluster_services", vec![oid.into()]).await;
    (c, n, ws)
}
