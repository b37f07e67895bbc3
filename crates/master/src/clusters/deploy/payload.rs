//! The configurations sent to edge nodes (spec §4.3 with ⚠D36 fixed: a null `tcp_port` is
//! 8080, and `tcp_version` and `tls_*` are applied), and the edge worker ids.

use serde_json::{json, Map, Value as Json};
use uuid::Uuid;

use crate::clusters::model::{WebCluster, WebService};

/// The port of a web cluster whose `tcp_port` is unset.
pub(crate) const DEFAULT_PORT: u64 = 8080;

/// `cpw-<oid[:8]>-<i>`: proxy worker `i` of web cluster `oid` on each member node.
pub(crate) fn proxy_worker_id(cluster: Uuid, i: u32) -> String {
    let oid = cluster.to_string();
    format!("cpw-{}-{i}", &oid[..8])
}

/// The options of a managed router worker.
pub(crate) fn router_worker_options(worker: &str) -> Json {
    json!({
        "env": {"inherit": ["PYTHONPATH"]},
        "title": format!("Managed router worker {worker}"),
        "extra": {},
    })
}

fn copy(from: &WebCluster, setting: &str, to: &mut Map<String, Json>, key: &str) {
    let v = from.setting(setting);
    if !v.is_null() {
        to.insert(key.to_owned(), v.clone());
    }
}

fn flag(from: &WebCluster, setting: &str) -> Json {
    Json::Bool(from.setting(setting).as_bool() == Some(true))
}

fn tls(wc: &WebCluster) -> Option<Json> {
    if wc.setting("tls_key").is_null() || wc.setting("tls_certificate").is_null() {
        return None;
    }
    let mut t = Map::new();
    copy(wc, "tls_key", &mut t, "key");
    copy(wc, "tls_certificate", &mut t, "certificate");
    copy(wc, "tls_chain_certificates", &mut t, "chain_certificates");
    copy(wc, "tls_ca_certificates", &mut t, "ca_certificates");
    copy(wc, "tls_dhparam", &mut t, "dhparam");
    copy(wc, "tls_ciphers", &mut t, "ciphers");
    Some(Json::Object(t))
}

/// The `primary` web transport of every proxy worker of `wc`.
pub(crate) fn web_transport(wc: &WebCluster) -> Json {
    let port = match wc.setting("tcp_port") {
        Json::Null => json!(DEFAULT_PORT),
        p => p.clone(),
    };
    let mut endpoint = Map::new();
    endpoint.insert("type".into(), json!("tcp"));
    endpoint.insert("port".into(), port);
    endpoint.insert("shared".into(), flag(wc, "tcp_shared"));
    copy(wc, "tcp_interface", &mut endpoint, "interface");
    copy(wc, "tcp_backlog", &mut endpoint, "backlog");
    copy(wc, "tcp_version", &mut endpoint, "version");
    if let Some(t) = tls(wc) {
        endpoint.insert("tls".into(), t);
    }
    let mut options = Map::new();
    options.insert("access_log".into(), flag(wc, "http_access_log"));
    options.insert(
        "display_tracebacks".into(),
        flag(wc, "http_display_tracebacks"),
    );
    options.insert("hsts".into(), flag(wc, "http_hsts"));
    copy(wc, "http_hsts_max_age", &mut options, "hsts_max_age");
    copy(wc, "http_client_timeout", &mut options, "client_timeout");
    json!({
        "id": "primary",
        "type": "web",
        "endpoint": Json::Object(endpoint),
        "paths": {},
        "options": Json::Object(options),
    })
}

/// What `start_web_transport_service` gets for `ws`: `{"type": …, <its config>}` (spec §4.3
/// `<service config>`), as JSON so it can be stored and compared.
pub(crate) fn service(ws: &WebService) -> Json {
    let mut d = Map::new();
    d.insert("type".into(), json!(ws.service_type));
    for (k, v) in &ws.config {
        d.insert(k.clone(), v.clone());
    }
    Json::Object(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_web_transport_applies_every_setting() {
        let mut wc = WebCluster {
            oid: Uuid::nil(),
            common: Default::default(),
            name: "wc".into(),
            status: crate::clusters::model::Status::Starting,
            owner_oid: Uuid::nil(),
            changed: 0,
            settings: Map::new(),
        };
        assert_eq!(
            web_transport(&wc)["endpoint"],
            json!({"type": "tcp", "port": 8080, "shared": false})
        );
        for (k, v) in [
            ("tcp_port", json!(443)),
            ("tcp_version", json!(6)),
            ("tcp_interface", json!("::")),
            ("tcp_backlog", json!(100)),
            ("tls_key", json!("k.pem")),
            ("tls_certificate", json!("c.pem")),
            ("tls_dhparam", json!("dh.pem")),
            ("http_hsts", json!(true)),
            ("http_hsts_max_age", json!(60)),
            ("http_client_timeout", json!(5)),
        ] {
            wc.settings.insert(k.into(), v);
        }
        let t = web_transport(&wc);
        let endpoint = json!({"type": "tcp", "port": 443, "shared": false, "version": 6,
            "interface": "::", "backlog": 100,
            "tls": {"key": "k.pem", "certificate": "c.pem", "dhparam": "dh.pem"}});
        assert_eq!(t["endpoint"], endpoint);
        let options = json!({"access_log": false, "display_tracebacks": false, "hsts": true,
            "hsts_max_age": 60, "client_timeout": 5});
        assert_eq!(t["options"], options);
        let id = proxy_worker_id(
            Uuid::parse_str("1a2b3c4d-0000-4000-8000-000000000000").expect("uuid"),
            3,
        );
        assert_eq!(id, "cpw-1a2b3c4d-3");
    }
}
