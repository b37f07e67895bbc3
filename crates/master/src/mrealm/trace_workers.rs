//! The worker side of the tracing API: which workers a trace runs on, calling their
//! `start_trace` / `stop_trace` / `get_trace_data` procedures, and the `failed` entries.
//!
//! A worker whose node is offline (or no longer paired here) is not called and is reported as
//! failed without an `error`. A worker that answers `crossbar.error.already_running` to a start
//! is stopped and started afresh (no data from an orphaned trace); one that answers
//! `crossbar.error.no_such_object` to a stop is not tracing, and is neither stopped nor failed.

use store::TraceRecord;
use uuid::Uuid;
use wamp_client::{CallOptions, Error as ClientError};
use wamp_proto::{dict, Dict, Value};

use super::Tracing;

/// One traced worker as seen now.
pub(super) struct Target {
    pub oid: Uuid,
    pub wid: String,
    /// The node's authid, while it is paired in this management realm.
    pub authid: Option<String>,
    pub online: bool,
}

/// Why a worker call did not succeed.
pub(super) enum Fail {
    /// The node is offline: not called.
    Offline,
    /// The worker (or the router) answered an error, or did not answer in time.
    Error { uri: String, message: String },
}

impl Fail {
    pub fn text(&self) -> String {
        match self {
            Fail::Offline => "node not online".into(),
            Fail::Error { uri, message } if message.is_empty() => uri.clone(),
            Fail::Error { uri, message } => format!("{uri}: {message}"),
        }
    }

    fn is(&self, want: &str) -> bool {
        matches!(self, Fail::Error { uri, .. } if uri == want)
    }
}

/// A worker's answer: `Ok(Some(result))`, `Ok(None)` (nothing to do there) or a failure.
pub(super) type Outcome = Result<Option<Value>, Fail>;

impl Tracing {
    /// The traced workers of `rec`, with their nodes' current authid and status.
    pub(super) fn targets(&self, rec: &TraceRecord) -> Vec<Target> {
        let view = self.nodes.view();
        rec.traced_workers
            .iter()
            .map(|(oid, wid)| {
                let node = self.store.get_node(*oid).ok().flatten();
                let authid = node
                    .filter(|n| n.mrealm_oid == Some(self.mrealm_oid))
                    .and_then(|n| n.authid);
                Target {
                    oid: *oid,
                    wid: wid.clone(),
                    online: authid.is_some() && view.is_online(oid),
                    authid,
                }
            })
            .collect()
    }

    /// Calls `crossbarfabriccenter.node.<authid>.worker.<wid>.<proc>`; its first result.
    pub(super) async fn call_worker(
        &self,
        t: &Target,
        proc: &str,
        args: Vec<Value>,
        kwargs: Dict,
    ) -> Result<Value, Fail> {
        let Some(authid) = t.authid.as_deref().filter(|_| t.online) else {
            return Err(Fail::Offline);
        };
        let uri = crate::wire::node::worker_uri(authid, &t.wid, proc);
        let opts = CallOptions::timeout(self.timeout);
        match self.session.call(&uri, args, kwargs, opts).await {
            Ok(r) => Ok(r.args.into_iter().next().unwrap_or(Value::Null)),
            Err(ClientError::Wamp { uri, args, .. }) => Err(Fail::Error {
                uri,
                message: args
                    .first()
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            }),
            Err(ClientError::Timeout(_)) => Err(Fail::Error {
                uri: "wamp.error.timeout".into(),
                message: format!("no answer within {} s", self.timeout.as_secs_f64()),
            }),
            Err(e) => Err(Fail::Error {
                uri: wamp_proto::wamp_errors::RUNTIME_ERROR.into(),
                message: e.to_string(),
            }),
        }
    }

    /// Starts the trace on one worker (restarting a trace already running there).
    pub(super) async fn start_one(&self, t: &Target, rec: &TraceRecord) -> Outcome {
        let id = Value::from(rec.trace_id.clone());
        let opts = rec.trace_options.clone().map(Value::from);
        let kw = dict! { "trace_options" => opts };
        let first = self.call_worker(t, "start_trace", vec![id.clone()], kw.clone());
        match first.await {
            Err(f) if f.is(crate::wire::errors::ALREADY_RUNNING) => {
                let _ = self
                    .call_worker(t, "stop_trace", vec![id.clone()], Dict::new())
                    .await;
                self.call_worker(t, "start_trace", vec![id], kw)
                    .await
                    .map(Some)
            }
            other => other.map(Some),
        }
    }

    /// Stops the trace on one worker.
    pub(super) async fn stop_one(&self, t: &Target, rec: &TraceRecord) -> Outcome {
        let id = Value::from(rec.trace_id.clone());
        match self
            .call_worker(t, "stop_trace", vec![id], Dict::new())
            .await
        {
            Err(f) if f.is(crate::wire::errors::NO_SUCH_OBJECT) => Ok(None),
            other => other.map(Some),
        }
    }
}

/// Splits outcomes into (results, failed entries), both as lists.
pub(super) fn split(targets: &[Target], outcomes: Vec<Outcome>) -> (Value, Value) {
    let (mut done, mut failed) = (Vec::new(), Vec::new());
    for (t, o) in targets.iter().zip(outcomes) {
        match o {
            Ok(Some(v)) => done.push(v),
            Ok(None) => {}
            Err(f) => failed.push(failure(t, &f)),
        }
    }
    (Value::List(done), Value::List(failed))
}

/// `{"node_id", "node_status", "worker_id"[, "error"]}`.
fn failure(t: &Target, f: &Fail) -> Value {
    let mut d = dict! {
        "node_id" => t.oid.to_string(),
        "node_status" => if t.online { "online" } else { "offline" },
        "worker_id" => t.wid.clone(),
    };
    if let Fail::Error { .. } = f {
        d.insert("error".into(), f.text().into());
    }
    d.into()
}
