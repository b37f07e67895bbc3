//! The tracing API of a management realm (`crossbarfabriccenter.mrealm.*_trace*`, WIRE.md §7):
//! traces defined on the master, each running a worker-level trace on a set of router workers.
//!
//! A trace is stored (store `traces` table) with its status: `stopped` → `starting` →
//! `running` → `stopping` → `stopped` (or `stopping_failed` when a worker could not be
//! stopped). Start, stop and data calls fan out concurrently to
//! `crossbarfabriccenter.node.<authid>.worker.<wid>.{start_trace,stop_trace,get_trace_data}`,
//! each bounded by [`WORKER_TIMEOUT`]. Reading (and acting on) a trace needs the caller's
//! authrole to be in `eligible_reader_roles` (when given) and not in `exclude_reader_roles`; a
//! trace the caller may not read is, for that caller, a trace that does not exist. The
//! `on_trace_*` events are published to the same audience, and so is the workers' trace data
//! (`trace_data.rs`).
//! The semantics and errors are documented in docs/controller-api.md, section "Tracing".

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use store::Store;

use futures_util::future::join_all;
use futures_util::FutureExt;
use store::TraceRecord;
use tokio::task::JoinHandle;
use uuid::Uuid;
use wamp_client::{Invocation, MatchPolicy};
use wamp_client::{RegisterOptions, Session, SubscribeOptions, WampError};
use wamp_proto::{dict, Dict, Value};

use super::ctx::{Ctx, Nodes};
use crate::args::{parse_uuid, Args};
use crate::error::{MasterError, Result};
use crate::util::{iso8601, now_ns};

#[path = "trace_data.rs"]
mod data;
#[path = "trace_workers.rs"]
mod workers;
use workers::split;

/// How long one worker may take to answer a start, stop or data call.
pub(crate) const WORKER_TIMEOUT: Duration = Duration::from_secs(10);

/// The error of an operation not allowed in the trace's current status.
pub(crate) const INVALID_STATE: &str = crate::wire::errors::INVALID_STATE;

const PROC_PREFIX: &str = crate::wire::mrealm::PREFIX;
const EVENT_PREFIX: &str = crate::wire::mrealm::TRACING_PREFIX;
const DATA_TOPIC: &str = crate::wire::node::ON_TRACE_DATA_ANY;

type Reply = std::result::Result<Value, WampError>;

/// What the tracing procedures need.
pub(crate) struct Tracing {
    store: Arc<Store>,
    mrealm_oid: Uuid,
    session: Session,
    nodes: Nodes,
    /// Serializes the check-and-set of a trace's status.
    guard: Mutex<()>,
    timeout: Duration,
}

/// One invocation: its arguments and the caller's disclosed authrole.
pub(crate) struct Call {
    args: Vec<Value>,
    kwargs: Dict,
    role: Option<String>,
}

impl Call {
    fn from_invocation(inv: Invocation) -> Call {
        let role = inv.details.get("caller_authrole").and_then(Value::as_str);
        Call {
            role: role.map(str::to_owned),
            args: inv.args,
            kwargs: inv.kwargs,
        }
    }

    fn a(&self) -> Args<'_> {
        Args::new(&self.args, &self.kwargs)
    }

    fn role(&self) -> Option<&str> {
        self.role.as_deref()
    }
}

/// Restores the stored traces, registers the procedures and returns the task republishing
/// the workers' `on_trace_data` events.
pub(crate) async fn start(ctx: &Ctx) -> Result<JoinHandle<()>> {
    let t = Arc::new(Tracing {
        store: ctx.store.clone(),
        mrealm_oid: ctx.mrealm.oid,
        session: ctx.session.clone(),
        nodes: ctx.nodes.clone(),
        guard: Mutex::new(()),
        timeout: WORKER_TIMEOUT,
    });
    t.restore()?;
    register(&t, "create_trace", Tracing::create_trace).await?;
    register(&t, "start_trace", Tracing::start_trace).await?;
    register(&t, "stop_trace", Tracing::stop_trace).await?;
    register(&t, "delete_trace", Tracing::delete_trace).await?;
    register(&t, "get_trace", Tracing::get_trace).await?;
    register(&t, "get_traces", Tracing::get_traces).await?;
    register(&t, "get_trace_data", Tracing::get_trace_data).await?;
    let sub = t
        .session
        .subscribe(
            DATA_TOPIC,
            SubscribeOptions::with_match(MatchPolicy::Wildcard),
        )
        .await
        .map_err(|e| MasterError::Internal(format!("subscribe {DATA_TOPIC}: {e}")))?;
    Ok(tokio::spawn(async move {
        let mut sub = sub;
        while let Some(e) = sub.recv().await {
            t.on_trace_data(e).await;
        }
    }))
}

async fn register<F, Fut>(t: &Arc<Tracing>, name: &str, f: F) -> Result<()>
where
    F: Fn(Arc<Tracing>, Call) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let target = t.clone();
    let uri = format!("{PROC_PREFIX}{name}");
    t.session
        .register(&uri, RegisterOptions::default(), move |inv| {
            f(target.clone(), Call::from_invocation(inv)).map(|r| r.map(|v| (vec![v], Dict::new())))
        })
        .await
        .map_err(|e| MasterError::Internal(format!("register {uri}: {e}")))?;
    Ok(())
}

// === the procedures ===

impl Tracing {
    /// `create_trace(trace_id, traced_workers, trace_options=None, eligible_reader_roles=None,
    /// exclude_reader_roles=None)` → the trace info (status `stopped`).
    async fn create_trace(self: Arc<Self>, c: Call) -> Reply {
        let a = c.a();
        let rec = TraceRecord {
            mrealm_oid: self.mrealm_oid,
            trace_id: trace_id(&a)?,
            traced_workers: self.traced_workers(&a)?,
            trace_options: a
                .opt_dict(2, "trace_options")?
                .map(|d| (&Value::Dict(d.clone())).into()),
            eligible_reader_roles: roles(&a, 3, "eligible_reader_roles")?,
            exclude_reader_roles: roles(&a, 4, "exclude_reader_roles")?,
            status: "stopped".into(),
            created: now_ns() / 1000,
            note: None,
        };
        let existing = self.store.create_trace(&rec).map_err(MasterError::from)?;
        if let Some(old) = existing {
            return Err(MasterError::AlreadyExists(format!(
                "trace with ID \"{}\" already exists (status \"{}\")",
                old.trace_id, old.status
            ))
            .into());
        }
        let info = info(&rec);
        self.publish("on_trace_created", &rec, info.clone()).await;
        Ok(info)
    }

    /// `start_trace(trace_id)` → `{"started": [...], "failed": [...]}`; status `running`.
    async fn start_trace(self: Arc<Self>, c: Call) -> Reply {
        let id = trace_id(&c.a())?;
        let mut rec = self.transition(&id, c.role(), &["stopped"], "starting", "start")?;
        self.publish("on_trace_starting", &rec, info(&rec)).await;
        let targets = self.targets(&rec);
        let outcomes = join_all(targets.iter().map(|t| self.start_one(t, &rec))).await;
        let (started, failed) = split(&targets, outcomes);
        rec.status = "running".into();
        self.save(&rec)?;
        let result = dict! { "started" => started, "failed" => failed };
        self.publish("on_trace_started", &rec, merged(&rec, &result))
            .await;
        Ok(result.into())
    }

    /// `stop_trace(trace_id)` → `{"stopped": [...], "failed": [...]}`; status `stopped`, or
    /// `stopping_failed` when a worker failed (or its node is offline).
    async fn stop_trace(self: Arc<Self>, c: Call) -> Reply {
        let id = trace_id(&c.a())?;
        let from = ["running", "stopping_failed"];
        let mut rec = self.transition(&id, c.role(), &from, "stopping", "stop")?;
        self.publish("on_trace_stopping", &rec, info(&rec)).await;
        let targets = self.targets(&rec);
        let outcomes = join_all(targets.iter().map(|t| self.stop_one(t, &rec))).await;
        let (stopped, failed) = split(&targets, outcomes);
        let ok = matches!(&failed, Value::List(l) if l.is_empty());
        rec.status = if ok { "stopped" } else { "stopping_failed" }.into();
        self.save(&rec)?;
        let result = dict! { "stopped" => stopped, "failed" => failed };
        self.publish("on_trace_stopped", &rec, merged(&rec, &result))
            .await;
        Ok(result.into())
    }

    /// `delete_trace(trace_id)` → `{}`; only when `stopped` or `stopping_failed`.
    async fn delete_trace(self: Arc<Self>, c: Call) -> Reply {
        let id = trace_id(&c.a())?;
        let rec = {
            let _g = crate::lock(&self.guard);
            let rec = self.find(&id, c.role())?;
            check_status(&rec, &["stopped", "stopping_failed"], "delete")?;
            let store = &self.store;
            store
                .delete_trace(self.mrealm_oid, &id)
                .map_err(MasterError::from)?;
            rec
        };
        self.publish("on_trace_deleted", &rec, info(&rec)).await;
        Ok(Dict::new().into())
    }

    /// `get_trace(trace_id)` → the trace info, or null (also for a trace the caller may not read).
    async fn get_trace(self: Arc<Self>, c: Call) -> Reply {
        let id = trace_id(&c.a())?;
        Ok(self.visible(&id, c.role())?.map(|r| info(&r)).into())
    }

    /// `get_traces()` → the sorted ids of the traces the caller may read.
    async fn get_traces(self: Arc<Self>, c: Call) -> Reply {
        let all = self
            .store
            .list_traces(self.mrealm_oid)
            .map_err(MasterError::from)?;
        let ids = all
            .into_iter()
            .filter(|r| readable(r, c.role()))
            .map(|r| Value::from(r.trace_id))
            .collect();
        Ok(Value::List(ids))
    }

    /// `get_trace_data(trace_id, limit=None)` →
    /// `{node_oid: {worker_id: {"success": bool, "data": ...}}}`.
    async fn get_trace_data(self: Arc<Self>, c: Call) -> Reply {
        let a = c.a();
        let id = trace_id(&a)?;
        let limit = match a.get(1, "limit") {
            None => Value::Null,
            Some(v @ (Value::Int(0..) | Value::UInt(_))) => v.clone(),
            Some(v) => {
                return Err(invalid(&format!(
                    "'limit' expected a non-negative int or null, got {}",
                    v.type_name()
                ))
                .into())
            }
        };
        let rec = self.find(&id, c.role())?;
        let targets = self.targets(&rec);
        let calls = targets.iter().map(|t| {
            let kw = dict! { "limit" => limit.clone() };
            self.call_worker(t, "get_trace_data", vec![id.clone().into(), 0.into()], kw)
        });
        let outcomes = join_all(calls).await;
        let mut out = Dict::new();
        for (t, o) in targets.iter().zip(outcomes) {
            let entry = match o {
                Ok(v) => dict! { "success" => true, "data" => v },
                Err(f) => dict! { "success" => false, "data" => f.text() },
            };
            let node = out
                .entry(t.oid.to_string())
                .or_insert_with(|| Value::Dict(Dict::new()));
            if let Value::Dict(d) = node {
                d.insert(t.wid.clone(), entry.into());
            }
        }
        Ok(out.into())
    }
}

// === state, access and events ===

impl Tracing {
    /// Brings back the traces of this management realm after a (re)start: a trace caught in
    /// `starting` or `running` stays `running` (the workers' traces live in the node processes,
    /// which did not restart with the master; `stop_trace` stops them), one caught in
    /// `stopping` becomes `stopping_failed`. Either gets a `note` saying so.
    fn restore(&self) -> Result<()> {
        for mut rec in self.store.list_traces(self.mrealm_oid)? {
            let (status, note) = match rec.status.as_str() {
                "starting" | "running" => (
                    "running",
                    "restored as running after a master restart (the workers were not re-checked)",
                ),
                "stopping" => (
                    "stopping_failed",
                    "the master restarted while the trace was stopping: call stop_trace again",
                ),
                _ => continue,
            };
            rec.status = status.into();
            rec.note = Some(note.into());
            self.store.put_trace(&rec)?;
        }
        Ok(())
    }

    /// The trace, if it exists and the caller may read it.
    fn visible(&self, id: &str, role: Option<&str>) -> Result<Option<TraceRecord>> {
        let rec = self.store.get_trace(self.mrealm_oid, id)?;
        Ok(rec.filter(|r| readable(r, role)))
    }

    /// The trace, or `no_such_object`.
    fn find(&self, id: &str, role: Option<&str>) -> Result<TraceRecord> {
        self.visible(id, role)?
            .ok_or_else(|| MasterError::NoSuchObject(format!("No trace with ID '{id}'")))
    }

    /// Checks the status is one of `from` and moves to `to`, atomically.
    fn transition(
        &self,
        id: &str,
        role: Option<&str>,
        from: &[&str],
        to: &str,
        verb: &str,
    ) -> std::result::Result<TraceRecord, WampError> {
        let _g = crate::lock(&self.guard);
        let mut rec = self.find(id, role)?;
        check_status(&rec, from, verb)?;
        rec.status = to.into();
        rec.note = None;
        self.save(&rec)?;
        Ok(rec)
    }

    /// Writes a status reached after the workers answered (no other transition can interleave:
    /// `starting` and `stopping` admit none).
    fn save(&self, rec: &TraceRecord) -> Result<()> {
        Ok(self.store.put_trace(rec)?)
    }

    /// Publishes `crossbarfabriccenter.mrealm.tracing.<event> [trace_id, payload]` to the
    /// trace's readers.
    async fn publish(&self, event: &str, rec: &TraceRecord, payload: Value) {
        self.publish_to(event, rec, vec![rec.trace_id.clone().into(), payload])
            .await;
    }

    async fn publish_to(&self, event: &str, rec: &TraceRecord, args: Vec<Value>) {
        let opts = data::readers(Some(rec));
        let topic = format!("{EVENT_PREFIX}{event}");
        if let Err(e) = self.session.publish(&topic, args, Dict::new(), opts).await {
            tracing::warn!(topic, error = %e, "cannot publish tracing event");
        }
    }
}

/// Whether a caller with `role` may read the trace.
fn readable(rec: &TraceRecord, role: Option<&str>) -> bool {
    let has = |l: &Option<Vec<String>>| role.is_some_and(|r| l.iter().flatten().any(|x| x == r));
    let eligible = match &rec.eligible_reader_roles {
        Some(l) if !l.is_empty() => has(&rec.eligible_reader_roles),
        _ => true,
    };
    eligible && !has(&rec.exclude_reader_roles)
}

fn check_status(
    rec: &TraceRecord,
    from: &[&str],
    verb: &str,
) -> std::result::Result<(), WampError> {
    if from.contains(&rec.status.as_str()) {
        return Ok(());
    }
    Err(WampError::with_message(
        INVALID_STATE,
        format!(
            "cannot {verb} trace with ID \"{}\" currently in status \"{}\"",
            rec.trace_id, rec.status
        ),
    ))
}

/// The trace info object.
fn info(r: &TraceRecord) -> Value {
    let workers = r
        .traced_workers
        .iter()
        .map(|(n, w)| Value::List(vec![n.to_string().into(), w.clone().into()]))
        .collect();
    let roles = |l: &Option<Vec<String>>| {
        l.as_ref()
            .map(|l| Value::List(l.iter().cloned().map(Value::from).collect()))
    };
    dict! {
        "trace_id" => r.trace_id.clone(),
        "traced_workers" => Value::List(workers),
        "trace_options" => r.trace_options.clone().map(Value::from),
        "eligible_reader_roles" => roles(&r.eligible_reader_roles),
        "exclude_reader_roles" => roles(&r.exclude_reader_roles),
        "status" => r.status.clone(),
        "created" => iso8601(r.created.saturating_mul(1000)),
        "note" => r.note.clone(),
    }
    .into()
}

/// The trace info with the keys of a start or stop result added.
fn merged(rec: &TraceRecord, result: &Dict) -> Value {
    let mut v = info(rec);
    if let Value::Dict(d) = &mut v {
        d.extend(result.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    v
}

// === arguments ===

fn invalid(msg: &str) -> MasterError {
    MasterError::InvalidArgument(msg.to_owned())
}

fn trace_id(a: &Args<'_>) -> Result<String> {
    let id = a.str(0, "trace_id")?;
    if id.is_empty() {
        return Err(invalid("invalid trace_id: must not be empty"));
    }
    Ok(id.to_owned())
}

/// An optional list of role names.
fn roles(a: &Args<'_>, i: usize, name: &str) -> Result<Option<Vec<String>>> {
    let list = match a.get(i, name) {
        None => return Ok(None),
        Some(Value::List(l)) => l,
        Some(v) => {
            let msg = format!(
                "'{name}' expected a list of str or null, got {}",
                v.type_name()
            );
            return Err(invalid(&msg));
        }
    };
    list.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(&format!("'{name}' must hold only strings")))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

impl Tracing {
    /// `traced_workers`: a non-empty list of distinct `[node_oid, worker_id]` pairs naming
    /// nodes of this management realm.
    fn traced_workers(&self, a: &Args<'_>) -> Result<Vec<(Uuid, String)>> {
        let list = match a.get(1, "traced_workers") {
            Some(Value::List(l)) if !l.is_empty() => l,
            Some(Value::List(_)) => return Err(invalid("'traced_workers' must not be empty")),
            Some(v) => {
                let got = v.type_name();
                return Err(invalid(&format!(
                    "'traced_workers' expected a list, got {got}"
                )));
            }
            None => return Err(invalid("missing required argument 'traced_workers'")),
        };
        let mut out: Vec<(Uuid, String)> = Vec::with_capacity(list.len());
        for item in list {
            let pair = self.traced_worker(item)?;
            if out.contains(&pair) {
                return Err(invalid(&format!(
                    "duplicate traced worker [{}, {}]",
                    pair.0, pair.1
                )));
            }
            out.push(pair);
        }
        Ok(out)
    }

    fn traced_worker(&self, item: &Value) -> Result<(Uuid, String)> {
        let (node, wid) = match item.as_list().map(Vec::as_slice) {
            Some([Value::Str(n), Value::Str(w)]) => (n, w),
            _ => {
                return Err(invalid(
                    "each traced worker must be a pair [node_oid, worker_id] of strings",
                ))
            }
        };
        let oid = parse_uuid(node, "node_oid")?;
        let bad = |c: char| c == '.' || c == '#' || c.is_whitespace();
        if wid.is_empty() || wid.contains(bad) {
            return Err(invalid(&format!(
                "invalid worker_id \"{wid}\": must be a non-empty URI component"
            )));
        }
        let node = self.store.get_node(oid)?;
        let here = node.filter(|n| n.mrealm_oid == Some(self.mrealm_oid));
        if here.is_none() {
            return Err(MasterError::NoSuchObject(format!(
                "no node with object ID {oid} in management realm"
            )));
        }
        Ok((oid, wid.clone()))
    }
}
