//! The history procedures of the management realm controller:
//! `get_node_logs(node_oid, from_ts=None, until_ts=None, limit=None)` and
//! `get_worker_logs(node_oid, worker_id, from_ts=None, until_ts=None, limit=None)`.
//!
//! Timestamps are ns since the epoch (the master's receive time), both bounds inclusive; the
//! answer is a list of `MNodeLog` / `MWorkerLog` documents, newest first, at most `limit`
//! (default [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]).

use std::sync::Arc;

use serde_json::Value as Json;
use store::Window;
use uuid::Uuid;
use wamp_proto::Value;

use super::ctx::Ctx;
use crate::args::{parse_uuid, Args};
use crate::error::{MasterError, Result};

/// Records answered when no `limit` is given.
pub(crate) const DEFAULT_LIMIT: usize = 100;
/// Largest `limit` accepted.
pub(crate) const MAX_LIMIT: usize = 10_000;

/// Registers the history procedures.
pub(crate) async fn register_all(ctx: &Arc<Ctx>) -> Result<()> {
    let api = Arc::new(HistoryApi(ctx.clone()));
    let s = &ctx.session;
    super::register(s, "get_node_logs", &api, HistoryApi::get_node_logs).await?;
    super::register(s, "get_worker_logs", &api, HistoryApi::get_worker_logs).await
}

/// The history procedures, over the controller's context.
struct HistoryApi(Arc<Ctx>);

impl HistoryApi {
    /// `get_node_logs(node_oid, from_ts=None, until_ts=None, limit=None)`.
    fn get_node_logs(&self, a: &Args<'_>) -> Result<Value> {
        let node = self.node(a)?;
        let w = window(a, 1)?;
        let logs = self.0.store.node_logs(self.0.mrealm.oid, node, w)?;
        Ok(docs(logs.into_iter().map(|l| l.doc)))
    }

    /// `get_worker_logs(node_oid, worker_id, from_ts=None, until_ts=None, limit=None)`.
    fn get_worker_logs(&self, a: &Args<'_>) -> Result<Value> {
        let node = self.node(a)?;
        let worker = a.str(1, "worker_id")?;
        let w = window(a, 2)?;
        let logs = self
            .0
            .store
            .worker_logs(self.0.mrealm.oid, node, worker, w)?;
        Ok(docs(logs.into_iter().map(|l| l.doc)))
    }

    /// The `node_oid` argument: a node paired to this management realm.
    fn node(&self, a: &Args<'_>) -> Result<Uuid> {
        let oid = match a.get(0, "node_oid") {
            Some(Value::Str(s)) => parse_uuid(s, "node_oid")?,
            Some(v) => return Err(bad("node_oid", "str", v)),
            None => {
                return Err(MasterError::InvalidArgument(
                    "missing required argument 'node_oid'".into(),
                ))
            }
        };
        let node = self.0.store.get_node(oid)?;
        match node.filter(|n| n.mrealm_oid == Some(self.0.mrealm.oid)) {
            Some(n) => Ok(n.oid),
            None => Err(MasterError::NoSuchObject(format!(
                "no node with object ID {oid} in management realm"
            ))),
        }
    }
}

/// `from_ts`, `until_ts`, `limit` starting at position `i`.
fn window(a: &Args<'_>, i: usize) -> Result<Window> {
    let from = opt_u64(a, i, "from_ts")?.unwrap_or(0);
    let until = opt_u64(a, i + 1, "until_ts")?.unwrap_or(u64::MAX);
    let limit = match opt_u64(a, i + 2, "limit")? {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT as u64).contains(&n) => n as usize,
        Some(n) => {
            return Err(MasterError::InvalidArgument(format!(
                "'limit' must be between 1 and {MAX_LIMIT}, got {n}"
            )))
        }
    };
    Ok(Window { from, until, limit })
}

fn opt_u64(a: &Args<'_>, i: usize, name: &str) -> Result<Option<u64>> {
    match a.get(i, name) {
        None => Ok(None),
        Some(v @ (Value::Int(_) | Value::UInt(_))) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad(name, "non-negative int", v)),
        Some(v) => Err(bad(name, "int or null", v)),
    }
}

fn bad(name: &str, want: &str, got: &Value) -> MasterError {
    MasterError::InvalidArgument(format!(
        "'{name}' expected type={want} got={}",
        got.type_name()
    ))
}

fn docs(it: impl Iterator<Item = Json>) -> Value {
    Value::List(it.map(Value::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wamp_proto::{dict, Dict};

    #[test]
    fn window_arguments_are_checked() {
        let kw = Dict::new();
        let w = window(&Args::new(&[], &kw), 1).expect("defaults");
        assert_eq!((w.from, w.until, w.limit), (0, u64::MAX, DEFAULT_LIMIT));
        let args = [
            Value::from("x"),
            Value::from(5),
            Value::Null,
            Value::from(7),
        ];
        let w = window(&Args::new(&args, &kw), 1).expect("positional");
        assert_eq!((w.from, w.until, w.limit), (5, u64::MAX, 7));
        let kw = dict! { "until_ts" => 9, "limit" => 10_000 };
        let w = window(&Args::new(&[], &kw), 1).expect("keywords");
        assert_eq!((w.until, w.limit), (9, 10_000));
        for kw in [
            dict! { "limit" => 0 },
            dict! { "limit" => 10_001 },
            dict! { "from_ts" => -1 },
            dict! { "from_ts" => "yesterday" },
            dict! { "until_ts" => 1.5 },
        ] {
            let e = window(&Args::new(&[], &kw), 1).expect_err("invalid");
            assert_eq!(e.uri(), "wamp.error.invalid_argument", "{kw:?}");
        }
    }
}
