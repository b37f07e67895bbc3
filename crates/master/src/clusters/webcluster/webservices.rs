//! Web services of a web cluster: list (bounded to the cluster, `prefix` implemented), add
//! (validated, unique path, allowed while the cluster runs: the reconciler deploys it),
//! remove (only the cluster's own; the reconciler stops it on the nodes), get, get by path.

use serde_json::{Map, Value as Json};
use uuid::Uuid;
use wamp_proto::{Dict, Value};

use super::clusters::to_json;
use super::{no_object, settings, WebClusters};
use crate::clusters::call::{check_room, Call, Reply, Wake};
use crate::clusters::db::{self, Read};
use crate::clusters::model::{Common, WebService};
use crate::clusters::services::{self, SERVICE_TYPES};
use crate::error::{MasterError, Result};
use crate::util::now_ns;
use crate::wire::webcluster::uri;

/// The keys of a web service that are not the type's configuration.
const COMMON_KEYS: &[&str] = &["label", "description", "tags"];

fn services_of(w: &WebClusters, r: &impl Read, oid: Uuid) -> Result<Vec<WebService>> {
    r.scan(&w.keys().wss(oid))
}

/// `list_webcluster_services(webcluster_oid, prefix)`: `{path: webservice_oid}` of this
/// cluster's services whose path starts with `prefix`.
pub(super) fn list(w: &WebClusters, c: &Call<'_>) -> Result<Reply> {
    let oid = c.oid(0, "webcluster_oid", "webcluster_oid")?;
    let prefix = c.opt_str(1, "prefix")?.unwrap_or("");
    let store = w.ctx.store.as_ref();
    w.cluster(store, oid, no_object(oid))?;
    let mut d = Dict::new();
    for s in services_of(w, store, oid)? {
        if s.path.starts_with(prefix) {
            d.insert(s.path, s.oid.to_string().into());
        }
    }
    Ok(Reply::result(Value::Dict(d)))
}

/// Whether `path` is one URL path segment: `^[a-zA-Z0-9_\-.~]+$`, not `.` or `..`.
/// The longest service path.
const MAX_PATH_LEN: usize = 255;

/// The largest service definition (as JSON): it is stored, sent to every worker of the
/// cluster and kept in each node's deployment record.
const MAX_SERVICE_BYTES: usize = 64 << 10;

fn is_segment(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= MAX_PATH_LEN
        && path != "."
        && path != ".."
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.~".contains(&b))
}

fn ia(msg: String) -> MasterError {
    MasterError::InvalidArgument(msg)
}

/// Checks a service definition in the spec's order (path, type, `webservice.path`, the type's
/// checker, the common fields) and splits it into the common fields, type and config.
fn parse_service(path: &str, def: &Dict) -> Result<(Common, String, Map<String, Json>)> {
    if !is_segment(path) {
        return Err(ia(format!(
            "invalid path \"{path}\" (must be one path segment of at most {MAX_PATH_LEN} \
             characters matching ^[a-zA-Z0-9_\\-.~]+$)"
        )));
    }
    let mut config = to_json(def);
    let size = serde_json::to_vec(&config).map_or(usize::MAX, |b| b.len());
    if size > MAX_SERVICE_BYTES {
        return Err(ia(format!(
            "webservice definition is {size} bytes, more than the {MAX_SERVICE_BYTES} a web \
             service may hold"
        )));
    }
    let service_type = match config.get("type") {
        None => return Err(ia("missing type in webservice".into())),
        Some(Json::String(t)) if SERVICE_TYPES.contains(&t.as_str()) => t.clone(),
        Some(Json::String(t)) => return Err(ia(format!("invalid webservice type \"{t}\""))),
        Some(t) => return Err(ia(format!("invalid webservice type \"{t}\""))),
    };
    if let Some(p) = config.remove("path") {
        if p.as_str() != Some(path) {
            return Err(ia(format!(
                "webservice path {p} differs from path \"{path}\""
            )));
        }
    }
    let mut common = Map::new();
    for k in COMMON_KEYS {
        if let Some(v) = config.remove(*k) {
            common.insert((*k).to_owned(), v);
        }
    }
    services::check(&service_type, &config).map_err(|why| {
        ia(format!(
            "invalid webservice configuration for type \"{service_type}\": {why}"
        ))
    })?;
    let common = settings::parse_common(&common).map_err(|why| {
        MasterError::InvalidConfiguration(format!(
            "could not parse web service configuration ({why})"
        ))
    })?;
    config.remove("type");
    Ok((common, service_type, config))
}

/// `add_webcluster_service(webcluster_oid, path, webservice)`: IA, NSP, IA path/type/config,
/// IC, NSO, NA, AE (duplicate path); stores it, bumps the cluster's `changed`, wakes the
/// reconciler (a running cluster deploys it on every member).
pub(super) fn add(w: &WebClusters, c: &Call<'_>) -> Result<Reply> {
    let oid = c.oid(0, "webcluster_oid", "webcluster_oid")?;
    let path = c.str(1, "path")?;
    let def = c.dict(2, "webservice")?;
    let who = w.principal(c)?;
    let (common, service_type, config) = parse_service(path, def)?;
    let ws = WebService {
        oid: Uuid::new_v4(),
        common,
        webcluster_oid: oid,
        path: path.to_owned(),
        service_type,
        config,
    };
    let k = w.keys();
    db::write(&w.ctx.store, |txn| {
        let mut wc = w.cluster(txn, oid, no_object(oid))?;
        let msg = "only owner is allowed to add web service to a web cluster";
        w.check_owner(&who, &wc, msg)?;
        let services = services_of(w, txn, oid)?;
        if services.iter().any(|s| s.path == path) {
            return Err(MasterError::AlreadyExists(format!(
                "duplicate path \"{path}\" in web cluster {}",
                wc.name
            )));
        }
        check_room(
            services.len(),
            "web services",
            &format!("web cluster {}", wc.name),
        )?;
        db::put(txn, &k.ws(oid, ws.oid), &ws)?;
        wc.changed = now_ns();
        db::put(txn, &k.wc(oid), &wc)
    })?;
    let r = Reply::event(uri("on_webservice_added"), ws.marshal());
    Ok(r.wake(Wake::WebCluster(oid)))
}

fn no_service(s: Uuid) -> MasterError {
    MasterError::NoSuchObject(format!("no object with oid {s} found"))
}

/// `remove_webcluster_service(webcluster_oid, webservice_oid)`: IA ×2, NSP, NSO cluster, NA,
/// NSO service (also when it belongs to another cluster); wakes the reconciler.
pub(super) fn remove(w: &WebClusters, c: &Call<'_>) -> Result<Reply> {
    let oid = c.oid(0, "webcluster_oid", "webcluster_oid")?;
    let sid = c.oid(1, "webservice_oid", "webservice_oid")?;
    let who = w.principal(c)?;
    let k = w.keys();
    let ws: WebService = db::write(&w.ctx.store, |txn| {
        let mut wc = w.cluster(txn, oid, no_object(oid))?;
        let msg = "only owner is allowed to remove a web service from a web cluster";
        w.check_owner(&who, &wc, msg)?;
        let ws = Read::get(&*txn, &k.ws(oid, sid))?.ok_or_else(|| no_service(sid))?;
        txn.remove(&k.ws(oid, sid))?;
        wc.changed = now_ns();
        db::put(txn, &k.wc(oid), &wc)?;
        Ok(ws)
    })?;
    let r = Reply::event(uri("on_webservice_removed"), ws.marshal());
    Ok(r.wake(Wake::WebCluster(oid)))
}

/// `get_webcluster_service(webcluster_oid, webservice_oid)`: IA ×2, NSO cluster, NSO service.
pub(super) fn get(w: &WebClusters, c: &Call<'_>) -> Result<Reply> {
    let oid = c.oid(0, "webcluster_oid", "webcluster_oid")?;
    let sid = c.oid(1, "webservice_oid", "webservice_oid")?;
    let store = w.ctx.store.as_ref();
    w.cluster(store, oid, no_object(oid))?;
    let ws: WebService = store
        .get(&w.keys().ws(oid, sid))?
        .ok_or_else(|| no_service(sid))?;
    Ok(Reply::result(ws.marshal()))
}

/// `get_webcluster_service_by_path(webcluster_oid, path)`: IA, NSO cluster, NSO path.
pub(super) fn get_by_path(w: &WebClusters, c: &Call<'_>) -> Result<Reply> {
    let oid = c.oid(0, "webcluster_oid", "webcluster_oid")?;
    let path = c.str(1, "path")?;
    let store = w.ctx.store.as_ref();
    w.cluster(store, oid, no_object(oid))?;
    match services_of(w, store, oid)?
        .into_iter()
        .find(|s| s.path == path)
    {
        Some(ws) => Ok(Reply::result(ws.marshal())),
        None => Err(MasterError::NoSuchObject(format!(
            "no webservice for path \"{path}\" found"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments() {
        for ok in ["info", "ws", "a.b", "x~y", "A-Z_0"] {
            assert!(is_segment(ok), "{ok}");
        }
        for bad in ["", "/", "a/b", ".", "..", "a b", "ä"] {
            assert!(!is_segment(bad), "{bad}");
        }
        assert!(is_segment(&"a".repeat(MAX_PATH_LEN)));
        assert!(!is_segment(&"a".repeat(MAX_PATH_LEN + 1)));
    }
}
