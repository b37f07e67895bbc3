//! Answers to INVOCATIONs: what a simulated node returns for each of its registered
//! procedures. The status, worker and tracing procedures behave like Crossbar's (WIRE.md §3,
//! §4, §7, with synthetic trace records); the informational ones return plausible values; the
//! ones that would change a real node (start workers, docker, manhole, ...) are refused with
//! `crossbar.error.feature_unavailable`.

use wamp_proto::time::{iso8601, now_ns};
use wamp_proto::{dict, Dict, Payload, Value};

use crate::payload::{self, NodeFacts, Rng};
use crate::procedures::{self, Proc};

/// A refused invocation: error URI and message.
pub type Refusal = (&'static str, String);

/// One router-worker trace of a simulated node.
#[derive(Debug, Clone)]
pub struct Trace {
    pub id: String,
    pub worker: usize,
    pub started_ns: u64,
    pub batching_ms: u64,
    pub options: Dict,
    pub next_period: u64,
    pub next_seq: u64,
    /// When the next `on_trace_data` batch is due (ns since the epoch).
    pub due_ns: u64,
}

impl Trace {
    /// The trace object (`start_trace` / `get_trace` result).
    pub fn object(&self, authid: &str, status: &str, ended: Option<u64>) -> Value {
        let runtime = ended.unwrap_or_else(now_ns).saturating_sub(self.started_ns) as f64 / 1e9;
        Value::Dict(dict! {
            "id" => self.id.clone(),
            "node_id" => authid,
            "worker_id" => procedures::worker_id(self.worker),
            "persistent_id" => Value::Null,
            "status" => status,
            "started" => iso8601(self.started_ns),
            "ended" => ended.map(iso8601),
            "runtime" => runtime,
            "options" => Value::Dict(self.options.clone()),
            "next_period" => self.next_period,
            "next_seq" => self.next_seq,
        })
    }
}

/// The node state invocations read and change.
pub struct Ctx<'a> {
    pub facts: NodeFacts<'a>,
    pub traces: &'a mut Vec<Trace>,
    pub rng: &'a mut Rng,
}

/// Answers procedure `p` called with `args`/`kwargs`.
pub fn answer(
    p: Proc,
    args: &[Value],
    kwargs: &Dict,
    ctx: &mut Ctx<'_>,
) -> Result<Payload, Refusal> {
    let one = |v: Value| Ok(Payload::args(vec![v]));
    match p {
        Proc::Node(name) => node(name, args, ctx).map(|v| Payload::args(vec![v])),
        Proc::Worker(w, name) => match name {
            "start_trace" => one(start_trace(w, args, kwargs, ctx)?),
            "stop_trace" => one(stop_trace(w, args, ctx)?),
            "get_traces" => one(Value::List(
                ctx.traces
                    .iter()
                    .filter(|t| t.worker == w)
                    .map(|t| Value::Str(t.id.clone()))
                    .collect(),
            )),
            "get_trace" => {
                one(find(w, args, ctx).map(|t| t.object(ctx.facts.authid, "running", None))?)
            }
            "get_trace_data" => one(trace_data(w, args, kwargs, ctx)?),
            _ => worker(w, name, ctx).map(|v| Payload::args(vec![v])),
        },
    }
}

fn node(name: &str, args: &[Value], ctx: &mut Ctx<'_>) -> Result<Value, Refusal> {
    let f = &ctx.facts;
    Ok(match name {
        "get_status" => payload::node_status(f),
        "get_workers" => Value::List(
            (0..f.workers)
                .map(|w| procedures::worker_id(w).into())
                .collect(),
        ),
        "get_worker" => {
            let id = args.first().and_then(Value::as_str).unwrap_or_default();
            let w = procedures::worker_index(id, f.workers).ok_or_else(|| no_such_worker(id))?;
            payload::worker_info(f, w)
        }
        "get_public_key" => f.pubkey.into(),
        "get_cpu_count" => Value::Int(4),
        "get_cpus" | "get_cpu_affinity" => Value::List((0..4i64).map(Value::Int).collect()),
        "get_process_info" | "get_process_stats" | "get_process_monitor" => {
            payload::process_info(f.pid, f.started_ns)
        }
        "get_system_stats" => Value::Dict(dict! { "cpu_count" => 4i64, "timestamp" => now_ns() }),
        "started" => iso8601(f.started_ns).into(),
        "uptime" => (now_ns().saturating_sub(f.started_ns) as f64 / 1e9).into(),
        "utcnow" => iso8601(now_ns()).into(),
        "get_manhole" => Value::Null,
        "trigger_gc" | "set_process_stats_monitoring" => Value::Null,
        "get_worker_log" => Value::List(Vec::new()),
        _ => return Err(unavailable(name)),
    })
}

fn worker(w: usize, name: &str, ctx: &mut Ctx<'_>) -> Result<Value, Refusal> {
    let f = &ctx.facts;
    Ok(match name {
        "get_router_realms" | "get_router_transports" | "get_router_components" => {
            Value::List(Vec::new())
        }
        "get_profilers" | "get_pythonpath" | "get_router_realm_links" => Value::List(Vec::new()),
        "get_process_info" | "get_process_stats" | "get_process_monitor" => {
            payload::process_info(f.pid + w as u64 + 1, f.started_ns)
        }
        "get_cpu_count" => Value::Int(4),
        "get_cpus" | "get_cpu_affinity" => Value::List((0..4i64).map(Value::Int).collect()),
        "get_node_id" => f.authid.into(),
        "started" => iso8601(f.started_ns).into(),
        "uptime" => (now_ns().saturating_sub(f.started_ns) as f64 / 1e9).into(),
        "utcnow" => iso8601(now_ns()).into(),
        "get_manhole" | "trigger_gc" | "set_process_stats_monitoring" => Value::Null,
        _ => return Err(unavailable(name)),
    })
}

fn no_such_worker(id: &str) -> Refusal {
    (
        "crossbar.error.no_such_worker",
        format!("no worker with ID '{id}'"),
    )
}

fn unavailable(name: &str) -> Refusal {
    (
        "crossbar.error.feature_unavailable",
        format!("{name} is not available on a simulated node"),
    )
}

fn no_such_trace(id: &str) -> Refusal {
    (
        "crossbar.error.no_such_object",
        format!("No trace with ID '{id}'"),
    )
}

fn trace_id(args: &[Value]) -> Result<&str, Refusal> {
    args.first().and_then(Value::as_str).ok_or((
        "wamp.error.invalid_argument",
        "trace_id must be a string".to_owned(),
    ))
}

fn find<'t>(w: usize, args: &[Value], ctx: &'t Ctx<'_>) -> Result<&'t Trace, Refusal> {
    let id = trace_id(args)?;
    ctx.traces
        .iter()
        .find(|t| t.worker == w && t.id == id)
        .ok_or_else(|| no_such_trace(id))
}

fn start_trace(
    w: usize,
    args: &[Value],
    kwargs: &Dict,
    ctx: &mut Ctx<'_>,
) -> Result<Value, Refusal> {
    let id = trace_id(args)?.to_owned();
    if ctx.traces.iter().any(|t| t.worker == w && t.id == id) {
        return Err((
            "crossbar.error.already_running",
            format!("trace '{id}' is already running"),
        ));
    }
    let given = kwargs
        .get("trace_options")
        .or_else(|| args.get(1))
        .and_then(Value::as_dict);
    let opt = |k: &str| given.and_then(|g| g.get(k)).cloned();
    let batching_ms = opt("batching_period")
        .and_then(|v| v.as_u64())
        .unwrap_or(200)
        .max(10);
    let options = dict! {
        "trace_level" => opt("trace_level").unwrap_or_else(|| "message".into()),
        "trace_app_payload" => opt("trace_app_payload").unwrap_or(Value::Bool(false)),
        "batching_period" => batching_ms,
        "persist" => opt("persist").unwrap_or(Value::Bool(false)),
        "duration" => opt("duration").unwrap_or(Value::Null),
        "limit" => opt("limit").unwrap_or(Value::Int(60)),
    };
    let now = now_ns();
    let t = Trace {
        id,
        worker: w,
        started_ns: now,
        batching_ms,
        options,
        next_period: 1,
        next_seq: 0,
        due_ns: now + batching_ms * 1_000_000,
    };
    let obj = t.object(ctx.facts.authid, "running", None);
    ctx.traces.push(t);
    Ok(obj)
}

fn stop_trace(w: usize, args: &[Value], ctx: &mut Ctx<'_>) -> Result<Value, Refusal> {
    let id = trace_id(args)?;
    let pos = ctx
        .traces
        .iter()
        .position(|t| t.worker == w && t.id == id)
        .ok_or_else(|| no_such_trace(id))?;
    let t = ctx.traces.remove(pos);
    Ok(t.object(ctx.facts.authid, "stopped", Some(now_ns())))
}

/// `get_trace_data(trace_id, from_seq=None, to_seq=None, limit=None)`: synthetic records.
fn trace_data(
    w: usize,
    args: &[Value],
    kwargs: &Dict,
    ctx: &mut Ctx<'_>,
) -> Result<Value, Refusal> {
    let t = find(w, args, ctx)?;
    let arg = |i: usize, k: &str| {
        kwargs
            .get(k)
            .or_else(|| args.get(i))
            .and_then(Value::as_u64)
    };
    let from = arg(1, "from_seq").unwrap_or(0);
    let to = arg(2, "to_seq").unwrap_or(t.next_seq.max(from + 10));
    let limit = arg(3, "limit").unwrap_or(100).min(1000);
    let n = to.saturating_sub(from).min(limit);
    let authid = ctx.facts.authid;
    Ok(Value::List(payload::trace_records(
        authid, from, n, ctx.rng,
    )))
}

/// The `on_trace_data` batches now due: `(worker, args)` per batch, advancing each trace.
pub fn due_batches(
    traces: &mut [Trace],
    now: u64,
    rng: &mut Rng,
    authid: &str,
) -> Vec<(usize, Vec<Value>)> {
    let mut out = Vec::new();
    for t in traces.iter_mut().filter(|t| t.due_ns <= now) {
        let n = 1 + rng.below(5);
        let records = payload::trace_records(authid, t.next_seq, n, rng);
        let period = dict! {
            "period" => t.next_period,
            "period_start" => iso8601(t.due_ns - t.batching_ms * 1_000_000),
            "finished_ts" => now,
            "finished_pc" => now,
            "first_seq" => t.next_seq,
            "last_seq" => t.next_seq + n - 1,
        };
        out.push((
            t.worker,
            vec![
                t.id.clone().into(),
                Value::Dict(period),
                Value::List(records),
            ],
        ));
        t.next_period += 1;
        t.next_seq += n;
        t.due_ns = now + t.batching_ms * 1_000_000;
    }
    out
}

/// The earliest due time of any trace (ns since the epoch).
pub fn next_due(traces: &[Trace]) -> Option<u64> {
    traces.iter().map(|t| t.due_ns).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(traces: &'a mut Vec<Trace>, rng: &'a mut Rng) -> Ctx<'a> {
        Ctx {
            facts: NodeFacts {
                authid: "n1",
                pubkey: "ab",
                mrealm: "default",
                session: 1,
                started_ns: 0,
                workers: 1,
                pid: 10,
            },
            traces,
            rng,
        }
    }

    #[test]
    fn traces_start_produce_data_and_stop() {
        let (mut traces, mut rng) = (Vec::new(), Rng(1));
        let mut c = ctx(&mut traces, &mut rng);
        let opts = dict! { "trace_options" => dict! { "batching_period" => 50 } };
        let started = answer(
            Proc::Worker(0, "start_trace"),
            &["t1".into()],
            &opts,
            &mut c,
        )
        .unwrap();
        assert_eq!(
            started.args[0].get("status").and_then(Value::as_str),
            Some("running")
        );
        let again = answer(
            Proc::Worker(0, "start_trace"),
            &["t1".into()],
            &Dict::new(),
            &mut c,
        );
        assert_eq!(again.unwrap_err().0, "crossbar.error.already_running");
        let data = answer(
            Proc::Worker(0, "get_trace_data"),
            &["t1".into()],
            &Dict::new(),
            &mut c,
        )
        .unwrap();
        assert!(!data.args[0].as_list().unwrap().is_empty());
        let batches = due_batches(c.traces, now_ns() + 1_000_000_000, c.rng, "n1");
        assert_eq!(batches.len(), 1);
        let stopped = answer(
            Proc::Worker(0, "stop_trace"),
            &["t1".into()],
            &Dict::new(),
            &mut c,
        )
        .unwrap();
        assert_eq!(
            stopped.args[0].get("status").and_then(Value::as_str),
            Some("stopped")
        );
        let gone = answer(
            Proc::Worker(0, "get_trace"),
            &["t1".into()],
            &Dict::new(),
            &mut c,
        );
        assert_eq!(gone.unwrap_err().0, "crossbar.error.no_such_object");
    }

    #[test]
    fn unknown_worker_and_mutators_are_refused() {
        let (mut traces, mut rng) = (Vec::new(), Rng(1));
        let mut c = ctx(&mut traces, &mut rng);
        let e = answer(
            Proc::Node("get_worker"),
            &["w9".into()],
            &Dict::new(),
            &mut c,
        );
        assert_eq!(e.unwrap_err().0, "crossbar.error.no_such_worker");
        let e = answer(Proc::Node("start_worker"), &[], &Dict::new(), &mut c);
        assert_eq!(e.unwrap_err().0, "crossbar.error.feature_unavailable");
        let w = answer(Proc::Node("get_workers"), &[], &Dict::new(), &mut c).unwrap();
        assert_eq!(w.args[0], Value::List(vec!["router1".into()]));
    }
}
