//! The fake edge: one session serving `crossbarfabriccenter.node.<authid>.…` for every node
//! (a prefix registration), keeping workers, transports and services in memory, logging every
//! call (`"<authid> <procedure> <worker> <arg 1>"`) and refusing what the test says.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value as Json};
use wamp_client::{Invocation, JoinOptions, RegisterOptions, Session, Transport, WampError};
use wamp_proto::{Dict, MatchPolicy, Value};
use wamp_router::Router;

#[derive(Debug, Default, Clone)]
pub(super) struct FakeWorker {
    pub wtype: String,
    pub options: Json,
    pub transport: Option<Json>,
    pub services: BTreeMap<String, Json>,
}

/// The in-memory edge: workers per node authid, the call log, refusals.
#[derive(Default)]
pub(super) struct FakeEdge {
    pub nodes: HashMap<String, BTreeMap<String, FakeWorker>>,
    pub calls: Vec<String>,
    /// `(authid, procedure)` → error URI.
    pub refuse: HashMap<(String, String), String>,
}

impl FakeEdge {
    pub(super) fn count(&self, what: &str) -> usize {
        self.calls.iter().filter(|c| c.contains(what)).count()
    }

    pub(super) fn workers(&self, authid: &str) -> BTreeMap<String, FakeWorker> {
        self.nodes.get(authid).cloned().unwrap_or_default()
    }
}

fn err(uri: &str) -> WampError {
    WampError::with_message(uri, "refused by the fake")
}

fn arg(inv: &Invocation, i: usize) -> Json {
    inv.args.get(i).map(Json::from).unwrap_or(Json::Null)
}

fn s(j: &Json) -> String {
    j.as_str().unwrap_or_default().to_owned()
}

/// Answers one call of node `authid`.
fn answer(e: &mut FakeEdge, authid: &str, rest: &str, inv: &Invocation) -> Result<Json, WampError> {
    let (wid_of_path, proc) = match rest.strip_prefix("worker.") {
        Some(r) => match r.split_once('.') {
            Some((w, p)) => (Some(w.to_owned()), p.to_owned()),
            None => return Err(err("wamp.error.no_such_procedure")),
        },
        None => (None, rest.to_owned()),
    };
    let wid = wid_of_path.clone().unwrap_or_else(|| s(&arg(inv, 0)));
    e.calls
        .push(format!("{authid} {proc} {wid} {}", s(&arg(inv, 1))));
    if let Some(uri) = e.refuse.get(&(authid.to_owned(), proc.clone())) {
        return Err(err(uri));
    }
    let node = e.nodes.entry(authid.to_owned()).or_default();
    match (wid_of_path, proc.as_str()) {
        (None, "get_worker") => node
            .get(&wid)
            .map(|_| json!({"id": wid, "status": "started"}))
            .ok_or_else(|| err("crossbar.error.no_such_worker")),
        (None, "start_worker") => {
            let w = FakeWorker {
                wtype: s(&arg(inv, 1)),
                options: arg(inv, 2),
                ..FakeWorker::default()
            };
            node.insert(wid.clone(), w);
            Ok(json!({"id": wid}))
        }
        (None, "stop_worker") => node
            .remove(&wid)
            .map(|_| json!({}))
            .ok_or_else(|| err("crossbar.error.no_such_worker")),
        (Some(_), p) => {
            let w = node
                .get_mut(&wid)
                .ok_or_else(|| err("wamp.error.no_such_procedure"))?;
            worker_answer(w, p, inv)
        }
        _ => Err(err("wamp.error.no_such_procedure")),
    }
}

fn worker_answer(w: &mut FakeWorker, proc: &str, inv: &Invocation) -> Result<Json, WampError> {
    let path = s(&arg(inv, 1));
    match proc {
        "get_proxy_transport" => w
            .transport
            .clone()
            .ok_or_else(|| err("crossbar.error.no_such_object")),
        "start_proxy_transport" => {
            w.transport = Some(arg(inv, 1));
            Ok(json!({}))
        }
        "get_web_transport_service" | "stop_web_transport_service"
            if w.transport.is_none() || !w.services.contains_key(&path) =>
        {
            Err(err("crossbar.error.not_running"))
        }
        "get_web_transport_service" => Ok(json!({})),
        "stop_web_transport_service" => {
            w.services.remove(&path);
            Ok(json!({}))
        }
        "start_web_transport_service" if w.services.contains_key(&path) => {
            Err(err("crossbar.error.already_running"))
        }
        "start_web_transport_service" => {
            w.services.insert(path, arg(inv, 2));
            Ok(json!({}))
        }
        _ => Err(err("wamp.error.no_such_procedure")),
    }
}

pub(super) async fn join(router: &Arc<Router>) -> Session {
    let (tx, rx) = router.connect_local();
    Session::join(Transport::local(tx, rx), JoinOptions::realm("mr1"))
        .await
        .expect("join")
}

pub(super) async fn serve_edge(session: &Session, edge: Arc<Mutex<FakeEdge>>) {
    let opts = RegisterOptions {
        match_policy: MatchPolicy::Prefix,
        ..RegisterOptions::default()
    };
    session
        .register("crossbarfabriccenter.node.", opts, move |inv| {
            let edge = edge.clone();
            async move {
                let uri = inv.details.get("procedure").and_then(Value::as_str);
                let rest = uri
                    .and_then(|u| u.strip_prefix("crossbarfabriccenter.node."))
                    .unwrap_or_default();
                let (authid, rest) = rest.split_once('.').unwrap_or_default();
                let mut e = edge.lock().unwrap_or_else(|e| e.into_inner());
                let r = answer(&mut e, authid, rest, &inv)?;
                Ok((vec![Value::from(r)], Dict::new()))
            }
        })
        .await
        .expect("register");
}
