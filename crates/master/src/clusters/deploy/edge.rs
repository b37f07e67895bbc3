//! The remote calls the cluster reconcilers make into one edge node (Crossbar's node controller
//! `crossbar/node/controller.py` and its proxy workers `crossbar/worker/proxy.py`,
//! `crossbar/worker/transport.py`), each bounded by a timeout, each "absent" answer turned into
//! `Ok(false)`/`Ok(None)` so callers only see real failures as errors.
//!
//! | query | "absent" error |
//! |---|---|
//! | `get_worker(worker_id)` | `crossbar.error.no_such_worker` |
//! | `worker.<w>.get_proxy_transport(transport_id)` | `crossbar.error.no_such_object` |
//! | `worker.<w>.get_web_transport_service(transport_id, path)` | `crossbar.error.not_running` |

use std::time::Duration;

use serde_json::Value as Json;
use wamp_proto::{Dict, Value};

use crate::reconcile::{CallError, NodeCaller};
use crate::wire;

/// Timeout of `start_worker` (a worker process has to come up).
pub(crate) const START_WORKER_TIMEOUT: Duration = Duration::from_secs(30);
/// Timeout of every other call.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(10);

const NO_SUCH_WORKER: &str = "crossbar.error.no_such_worker";
const NO_SUCH_OBJECT: &str = "crossbar.error.no_such_object";
const NOT_RUNNING: &str = "crossbar.error.not_running";

/// The web transport every proxy worker of a web cluster runs.
pub(crate) const TRANSPORT_ID: &str = "primary";

/// One node, as the reconcilers talk to it.
pub(crate) struct Edge<'a> {
    pub caller: &'a NodeCaller,
    pub authid: &'a str,
}

fn absent_if<T>(r: Result<T, CallError>, absent: &str) -> Result<Option<T>, CallError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.error_uri() == Some(absent) => Ok(None),
        Err(e) => Err(e),
    }
}

impl Edge<'_> {
    async fn node(&self, proc: &str, args: Vec<Value>, t: Duration) -> Result<Value, CallError> {
        let uri = wire::node::uri(self.authid, proc);
        let r = self
            .caller
            .with_timeout(t)
            .call(&uri, args, Dict::new())
            .await?;
        Ok(r.args.into_iter().next().unwrap_or(Value::Null))
    }

    async fn worker(&self, wid: &str, proc: &str, args: Vec<Value>) -> Result<Value, CallError> {
        let uri = wire::node::worker_uri(self.authid, wid, proc);
        let caller = self.caller.with_timeout(CALL_TIMEOUT);
        let r = caller.call(&uri, args, Dict::new()).await?;
        Ok(r.args.into_iter().next().unwrap_or(Value::Null))
    }

    /// The worker's `status` (`starting`, `connected`, `started`), `None` if it does not exist.
    pub(crate) async fn get_worker(&self, wid: &str) -> Result<Option<String>, CallError> {
        let r = self
            .node("get_worker", vec![wid.into()], CALL_TIMEOUT)
            .await;
        let info = absent_if(r, NO_SUCH_WORKER)?;
        Ok(info.map(|i| {
            i.get("status")
                .and_then(Value::as_str)
                .unwrap_or("started")
                .to_owned()
        }))
    }

    /// `start_worker(worker_id, worker_type, worker_options)`.
    pub(crate) async fn start_worker(
        &self,
        wid: &str,
        worker_type: &str,
        options: Value,
    ) -> Result<(), CallError> {
        let args = vec![wid.into(), worker_type.into(), options];
        self.node("start_worker", args, START_WORKER_TIMEOUT)
            .await
            .map(drop)
    }

    /// `stop_worker(worker_id)`; `false` if there was no such worker.
    pub(crate) async fn stop_worker(&self, wid: &str) -> Result<bool, CallError> {
        let r = self
            .node("stop_worker", vec![wid.into()], CALL_TIMEOUT)
            .await;
        Ok(absent_if(r, NO_SUCH_WORKER)?.is_some())
    }

    /// Whether the worker runs the web transport `primary`.
    pub(crate) async fn has_transport(&self, wid: &str) -> Result<bool, CallError> {
        let r = self
            .worker(wid, "get_proxy_transport", vec![TRANSPORT_ID.into()])
            .await;
        Ok(absent_if(r, NO_SUCH_OBJECT)?.is_some())
    }

    /// `start_proxy_transport("primary", config)`.
    pub(crate) async fn start_transport(&self, wid: &str, config: &Json) -> Result<(), CallError> {
        let args = vec![TRANSPORT_ID.into(), Value::from(config.clone())];
        self.worker(wid, "start_proxy_transport", args)
            .await
            .map(drop)
    }

    /// Whether a web service runs at `path` of the transport `primary`.
    pub(crate) async fn has_service(&self, wid: &str, path: &str) -> Result<bool, CallError> {
        let args = vec![TRANSPORT_ID.into(), path.into()];
        let r = self.worker(wid, "get_web_transport_service", args).await;
        Ok(absent_if(r, NOT_RUNNING)?.is_some())
    }

    /// `start_web_transport_service("primary", path, config)`.
    pub(crate) async fn start_service(
        &self,
        wid: &str,
        path: &str,
        config: &Json,
    ) -> Result<(), CallError> {
        let args = vec![
            TRANSPORT_ID.into(),
            path.into(),
            Value::from(config.clone()),
        ];
        self.worker(wid, "start_web_transport_service", args)
            .await
            .map(drop)
    }

    /// `stop_web_transport_service("primary", path)`; `false` if nothing ran there.
    pub(crate) async fn stop_service(&self, wid: &str, path: &str) -> Result<bool, CallError> {
        let args = vec![TRANSPORT_ID.into(), path.into()];
        let r = self.worker(wid, "stop_web_transport_service", args).await;
        Ok(absent_if(r, NOT_RUNNING)?.is_some())
    }
}

/// Whether an error means the node as a whole cannot be worked on now (no answer, broken
/// session, or its procedures are gone): the rest of the node's work is skipped this round.
pub(crate) fn node_unreachable(e: &CallError) -> bool {
    !matches!(e, CallError::Remote { .. }) || e.is_no_such_procedure()
}

/// `<authid>: <error uri>: <message>` (what `WorkerState::last_error` shows).
pub(crate) fn describe(authid: &str, e: &CallError) -> String {
    match e {
        CallError::Remote { error, .. } => match e.message() {
            Some(m) => format!("{authid}: {error}: {m}"),
            None => format!("{authid}: {error}"),
        },
        CallError::Timeout { procedure, after } => {
            format!("{authid}: timeout: {procedure} gave no answer within {after:?}")
        }
        CallError::Transport { source, .. } => format!("{authid}: transport: {source}"),
    }
}
