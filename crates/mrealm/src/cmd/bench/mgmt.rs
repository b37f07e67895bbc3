//! The management-call scenario: latency and master CPU per call of the management realm
//! procedures `get_node`, `get_nodes` and `get_status`, sequential (one call in flight) and
//! pipelined (W in flight), with `--pair` bench nodes paired beforehand so `get_nodes` answers
//! a real list.
//!
//! Each (procedure, mode) phase warms up, then measures for `--duration`; the master's CPU
//! time (its whole process tree) is read at the window edges, giving CPU milliseconds per call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::{json, Value as Json};
use wamp_client::{CallOptions, Dict, Session, Value};

use super::proc::{own_cpu_s, TreeSample};
use super::report::Latencies;
use super::rpc::micros_since;
use super::target::{opt, pair_nodes, print_table, write_json, TargetArgs};
use super::{Clock, MEASURE, STOP};

const PREFIX: &str = master::wire::mrealm::PREFIX;

#[derive(Debug, Args)]
pub struct MgmtArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Bench nodes paired (as bench-00000, ...) before measuring.
    #[arg(long, default_value_t = 100)]
    pub pair: usize,
    /// Calls in flight in the pipelined mode.
    #[arg(long, default_value_t = 16)]
    pub window: usize,
    /// Seconds measured per procedure and mode.
    #[arg(long, default_value_t = 5.0)]
    pub duration: f64,
    /// Seconds of load before each measuring window.
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
}

/// What one phase measured.
struct Phase {
    procedure: &'static str,
    window: usize,
    seconds: f64,
    calls: u64,
    errors: u64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    master_cpu_s: Option<f64>,
    bench_cpu_s: Option<f64>,
}

impl Phase {
    fn cpu_ms_per_call(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.master_cpu_s.map(|c| c * 1000.0 / self.calls as f64))?
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.procedure.to_owned(),
            self.window.to_string(),
            format!("{:.0}", self.calls as f64 / self.seconds),
            opt(self.p50_ms, 3),
            opt(self.p99_ms, 3),
            opt(self.master_cpu_s, 2),
            opt(self.cpu_ms_per_call(), 4),
            self.errors.to_string(),
        ]
    }

    fn to_json(&self) -> Json {
        json!({
            "procedure": format!("{PREFIX}{}", self.procedure),
            "window": self.window,
            "mode": if self.window == 1 { "sequential" } else { "pipelined" },
            "seconds": self.seconds,
            "calls": self.calls,
            "calls_per_s": self.calls as f64 / self.seconds,
            "errors": self.errors,
            "latency_p50_ms": self.p50_ms,
            "latency_p99_ms": self.p99_ms,
            "master_cpu_s": self.master_cpu_s,
            "master_cpu_ms_per_call": self.cpu_ms_per_call(),
            "bench_cpu_s": self.bench_cpu_s,
        })
    }
}

pub async fn run(args: MgmtArgs) -> anyhow::Result<()> {
    let t = &args.target;
    let new = pair_nodes(t, "bench-", args.pair).await?;
    let conn = t.connect(true).await?;
    let session = conn.session().clone();
    let nodes = call_once(&session, "get_nodes", vec![]).await?;
    let oids = nodes.as_list().map(|l| l.len()).unwrap_or(0);
    let first = nodes
        .as_list()
        .and_then(|l| l.first().cloned())
        .ok_or_else(|| anyhow::anyhow!("get_nodes returned no nodes"))?;
    let mut phases = Vec::new();
    let procs: [(&'static str, Vec<Value>); 3] = [
        ("get_node", vec![first]),
        ("get_nodes", vec![]),
        ("get_status", vec![]),
    ];
    for (procedure, call_args) in procs {
        for window in [1, args.window] {
            phases.push(phase(&args, &session, procedure, &call_args, window).await);
        }
    }
    conn.close().await;
    let title = format!(
        "{} {} management calls, mrealm {:?} with {oids} nodes ({new} newly paired), \
         {:.0}s per phase",
        t.target, t.url, t.mrealm, args.duration
    );
    let head = [
        "procedure",
        "W",
        "calls/s",
        "p50 ms",
        "p99 ms",
        "cpu s",
        "cpu ms/call",
        "errors",
    ];
    let rows: Vec<_> = phases.iter().map(Phase::row).collect();
    print_table(&title, &head, &rows);
    let params = json!({"paired_nodes": oids, "window": args.window,
                        "duration_s": args.duration, "warmup_s": args.warmup});
    let results = Json::Array(phases.iter().map(Phase::to_json).collect());
    write_json(t, "mgmt", params, results)
}

/// One call with a bounded wait; its first result.
async fn call_once(session: &Session, procedure: &str, args: Vec<Value>) -> anyhow::Result<Value> {
    let opts = CallOptions::timeout(Duration::from_secs(30));
    let uri = format!("{PREFIX}{procedure}");
    let r = session
        .call(&uri, args, Dict::new(), opts)
        .await
        .map_err(|e| anyhow::anyhow!("{uri}: {e}"))?;
    Ok(r.args.into_iter().next().unwrap_or(Value::Null))
}

/// Runs one procedure with `window` calls in flight; measures the window.
async fn phase(
    args: &MgmtArgs,
    session: &Session,
    procedure: &'static str,
    call_args: &[Value],
    window: usize,
) -> Phase {
    let clock = Arc::new(Clock::default());
    let uri = format!("{PREFIX}{procedure}");
    let task = tokio::spawn(call_loop(
        session.clone(),
        uri,
        call_args.to_vec(),
        window,
        Arc::clone(&clock),
    ));
    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
    let (cpu0, own0) = (TreeSample::maybe(args.target.master_pid), own_cpu_s());
    clock.set(MEASURE);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(args.duration)).await;
    clock.set(STOP);
    let seconds = t0.elapsed().as_secs_f64();
    let (cpu1, own1) = (TreeSample::maybe(args.target.master_pid), own_cpu_s());
    let (mut lat, errors) = task.await.unwrap_or_default();
    Phase {
        procedure,
        window,
        seconds,
        calls: lat.len() as u64,
        errors,
        p50_ms: lat.quantile_ms(0.50),
        p99_ms: lat.quantile_ms(0.99),
        master_cpu_s: cpu0.zip(cpu1).map(|(a, b)| b.cpu_since(&a)),
        bench_cpu_s: own0.zip(own1).map(|(a, b)| b - a),
    }
}

/// Keeps `window` calls in flight until the clock says stop; latencies inside the window.
async fn call_loop(
    session: Session,
    uri: String,
    args: Vec<Value>,
    window: usize,
    clock: Arc<Clock>,
) -> (Latencies, u64) {
    let (mut lat, mut errors) = (Latencies::default(), 0);
    let one = |s: Session, u: String, a: Vec<Value>| async move {
        let start = Instant::now();
        let opts = CallOptions::timeout(Duration::from_secs(30));
        s.call(&u, a, Dict::new(), opts)
            .await
            .map(|_| micros_since(start))
    };
    let mut inflight = FuturesUnordered::new();
    for _ in 0..window {
        inflight.push(one(session.clone(), uri.clone(), args.clone()));
    }
    while let Some(outcome) = inflight.next().await {
        let phase = clock.phase();
        match (outcome, phase) {
            (Ok(us), MEASURE) => lat.push(us),
            (Err(_), MEASURE) => errors += 1,
            _ => {}
        }
        if phase == STOP || session.is_closed() {
            break;
        }
        inflight.push(one(session.clone(), uri.clone(), args.clone()));
    }
    (lat, errors)
}
