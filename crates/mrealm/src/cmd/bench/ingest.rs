//! The heartbeat ingest scenario: a simulated fleet whose heartbeat period is stepped down
//! (`--periods-ms`), and for each step the heartbeats the fleet sent against the node
//! heartbeats the master stored, counted through the controller's history API
//! (`get_node_logs(node_oid, from_ts, until_ts, limit)`, per node, paged), plus the p99 latency
//! of `get_node` while the fleet beats and the master's CPU.
//!
//! Heartbeats are node heartbeats plus worker heartbeats (each simulated node sends one node
//! heartbeat and one per worker and for its controller per period), all stored by mrealm.
//! A step counts what was stored with a receive time inside the step's window; heartbeats in
//! flight at the window edges make the two counts differ by a few, so a step passes when
//! stored >= sent * (1 - `--tolerance`). Stepping stops at the first failing step or when the
//! simulator cannot keep up (sent < 90 % of the intended rate). The Python master never
//! stores heartbeats (WIRE.md §8, item 6: node heartbeats lack `pubkey`), so there only
//! "processed" is judged: the nodes' `get_node(..).heartbeat` seqs advanced (summed) by at
//! least 98 % of the node heartbeats sent in the step. A step also fails when the master's RSS
//! exceeds `--max-rss-mib` (it is queueing what it cannot process).

use std::time::{Duration, Instant};

use clap::Args;
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value as Json};
use wamp_client::{CallOptions, Dict, Session, Value};
use wamp_proto::time::now_ns;

use super::fleet;
use super::proc::TreeSample;
use super::report::Latencies;
use super::rpc::micros_since;
use super::target::{opt, print_table, write_json, TargetArgs};

const PREFIX: &str = master::wire::mrealm::PREFIX;
/// Largest `limit` the history API accepts (mrealm's `MAX_LIMIT`).
const PAGE: usize = 10_000;

#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Simulated nodes.
    #[arg(long, default_value_t = 1000)]
    pub nodes: usize,
    /// Heartbeat periods to step through, milliseconds, slowest first.
    #[arg(long, value_delimiter = ',', default_values_t = [1000u64, 100, 20, 10])]
    pub periods_ms: Vec<u64>,
    /// Seconds measured per step.
    #[arg(long, default_value_t = 10.0)]
    pub step: f64,
    /// Seconds after changing the period before the step's window opens.
    #[arg(long, default_value_t = 3.0)]
    pub settle: f64,
    /// Fraction of the sent heartbeats that may be missing from the count (edge effects).
    #[arg(long, default_value_t = 0.005)]
    pub tolerance: f64,
    /// Node authid prefix of the fleet.
    #[arg(long, default_value = "ingest")]
    pub prefix: String,
    /// Keep stepping after a failed step.
    #[arg(long)]
    pub all_steps: bool,
    /// Stop stepping when the master's RSS (process tree) exceeds this many MiB: it is
    /// queueing heartbeats it cannot keep up with.
    #[arg(long, default_value_t = 4096)]
    pub max_rss_mib: u64,
    /// What a step must achieve: every heartbeat stored (counted through `get_node_logs`), or
    /// only processed (node heartbeat seqs advanced as far as sent; for masters that store none).
    #[arg(long, value_enum, default_value = "stored")]
    pub judge: Judge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Judge {
    Stored,
    Processed,
}

/// What one step measured.
#[derive(Debug, Default)]
struct Step {
    period_ms: u64,
    seconds: f64,
    sent: u64,
    stored: Option<u64>,
    processed: Option<bool>,
    p99_ms: Option<f64>,
    probes: usize,
    cpu_pct: Option<f64>,
}

impl Step {
    fn sent_rate(&self) -> f64 {
        self.sent as f64 / self.seconds
    }

    fn all_stored(&self, tol: f64) -> Option<bool> {
        Some(self.stored? as f64 >= self.sent as f64 * (1.0 - tol))
    }

    fn to_json(&self, tol: f64) -> Json {
        json!({
            "period_ms": self.period_ms, "seconds": self.seconds, "sent": self.sent,
            "sent_per_s": self.sent_rate(), "stored": self.stored,
            "stored_per_s": self.stored.map(|s| s as f64 / self.seconds),
            "all_stored": self.all_stored(tol), "all_processed": self.processed,
            "get_node_p99_ms": self.p99_ms, "get_node_probes": self.probes,
            "master_cpu_pct_of_core": self.cpu_pct,
        })
    }
}

pub async fn run(args: IngestArgs) -> anyhow::Result<()> {
    let t = &args.target;
    anyhow::ensure!(
        !args.periods_ms.is_empty(),
        "--periods-ms needs at least one period"
    );
    let first = Duration::from_millis(args.periods_ms[0]);
    let running = fleet::start(t, args.nodes, first, &args.prefix).await?;
    let conn = t.connect(true).await?;
    let session = conn.session().clone();
    let oids = fleet_oids(&session, &running).await?;
    let mut steps = Vec::new();
    for &period_ms in &args.periods_ms {
        let s = step(&args, &session, &running, &oids, period_ms).await?;
        print_step(&s, args.tolerance);
        let intended = args.nodes as f64 * 1000.0 / period_ms as f64;
        let ok = s.all_stored(args.tolerance).or(s.processed) == Some(true)
            && s.sent_rate() >= 0.9 * intended;
        steps.push(s);
        if !ok && !args.all_steps {
            break;
        }
    }
    conn.close().await;
    let summary = fleet::stop(Some(running)).await;
    report(&args, &steps, summary)
}

/// The oids of the fleet's nodes (by authid).
async fn fleet_oids(session: &Session, running: &fleet::Running) -> anyhow::Result<Vec<Value>> {
    let names: Vec<String> = (0..running.nodes).map(|i| running.authid(i)).collect();
    let found = stream::iter(names)
        .map(|name| async move {
            let node = call(session, "get_node_by_authid", vec![Value::Str(name)]).await?;
            node.as_dict()
                .and_then(|d| d.get("oid").cloned())
                .ok_or_else(|| anyhow::anyhow!("get_node_by_authid answered without an oid"))
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    found.into_iter().collect()
}

/// How long a probe or seq query may take (an overloaded master answers late or never).
const PROBE_WAIT: Duration = Duration::from_secs(5);

/// One call, bounded by 60 s; its first result.
async fn call(session: &Session, procedure: &str, args: Vec<Value>) -> anyhow::Result<Value> {
    call_within(session, procedure, args, Duration::from_secs(60)).await
}

/// One call, bounded by `wait`; its first result.
async fn call_within(
    session: &Session,
    procedure: &str,
    args: Vec<Value>,
    wait: Duration,
) -> anyhow::Result<Value> {
    let uri = format!("{PREFIX}{procedure}");
    let opts = CallOptions::timeout(wait);
    let r = session
        .call(&uri, args, Dict::new(), opts)
        .await
        .map_err(|e| anyhow::anyhow!("{uri}: {e}"))?;
    Ok(r.args.into_iter().next().unwrap_or(Value::Null))
}

/// Runs one period: settle, measure (with get_node probes), count.
async fn step(
    args: &IngestArgs,
    session: &Session,
    running: &fleet::Running,
    oids: &[Value],
    period_ms: u64,
) -> anyhow::Result<Step> {
    running.set_period(Duration::from_millis(period_ms));
    tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
    let seqs0 = seqs(session, oids).await;
    let (from_ts, sent0, cpu0) = (
        now_ns(),
        running.sent(),
        TreeSample::maybe(args.target.master_pid),
    );
    let t0 = Instant::now();
    let window = Duration::from_secs_f64(args.step);
    let mut lat = probe(args, session, oids, window).await;
    let seconds = t0.elapsed().as_secs_f64();
    let (until_ts, sent1, cpu1) = (
        now_ns(),
        running.sent(),
        TreeSample::maybe(args.target.master_pid),
    );
    let sent = sent1.saturating_sub(sent0);
    let per_beat = running.worker_ids().len() as u64 + 1;
    let seqs1 = seqs(session, oids).await;
    let processed = Some(seq_progress(&seqs0, &seqs1) as f64 >= (sent / per_beat) as f64 * 0.98);
    let over = rss_over(args);
    let stored = match (args.judge, over) {
        (_, Some(rss)) => {
            eprintln!("  master RSS {rss} MiB over --max-rss-mib: not counting, stopping");
            Some(0)
        }
        (Judge::Stored, None) => {
            let workers = running.worker_ids();
            Some(count_stored(session, oids, &workers, from_ts, until_ts).await?)
        }
        (Judge::Processed, None) => None,
    };
    Ok(Step {
        period_ms,
        seconds,
        sent,
        stored,
        processed: processed.map(|p| p && over.is_none()),
        p99_ms: lat.quantile_ms(0.99),
        probes: lat.len(),
        cpu_pct: cpu0
            .zip(cpu1)
            .map(|(a, b)| 100.0 * b.cpu_since(&a) / seconds),
    })
}

/// Sequential `get_node` calls on the fleet's nodes for `window`; their latencies (a call that
/// fails or times out counts with the time it took).
async fn probe(
    args: &IngestArgs,
    session: &Session,
    oids: &[Value],
    window: Duration,
) -> Latencies {
    let mut lat = Latencies::default();
    let t0 = Instant::now();
    let mut i = 0;
    while t0.elapsed() < window && !oids.is_empty() {
        let start = Instant::now();
        let oid = oids[i % oids.len()].clone();
        let _ = call_within(session, "get_node", vec![oid], PROBE_WAIT).await;
        lat.push(micros_since(start));
        i += 1;
        if i % 50 == 0 && rss_over(args).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    lat
}

/// Node and worker heartbeats stored with a receive time in `[from, until]`, over all `oids`
/// (per node: `get_node_logs`, and `get_worker_logs` for each worker and the controller).
async fn count_stored(
    session: &Session,
    oids: &[Value],
    workers: &[String],
    from: u64,
    until: u64,
) -> anyhow::Result<u64> {
    let mut queries = Vec::new();
    for oid in oids {
        queries.push(("get_node_logs", vec![oid.clone()]));
        for w in workers {
            queries.push(("get_worker_logs", vec![oid.clone(), Value::Str(w.clone())]));
        }
    }
    let counts = stream::iter(queries)
        .map(|(procedure, head)| count_logs(session, procedure, head, from, until))
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    counts.into_iter().sum()
}

/// Records of one history query in `[from, until]`, paging newest-first answers.
async fn count_logs(
    session: &Session,
    procedure: &str,
    head: Vec<Value>,
    from: u64,
    mut until: u64,
) -> anyhow::Result<u64> {
    let mut total = 0;
    loop {
        let mut args = head.clone();
        args.extend([
            Value::Int(i64::try_from(from).unwrap_or(i64::MAX)),
            Value::Int(i64::try_from(until).unwrap_or(i64::MAX)),
            Value::Int(PAGE as i64),
        ]);
        let page = call(session, procedure, args).await?;
        let list = page.as_list().map(Vec::as_slice).unwrap_or_default();
        total += list.len() as u64;
        let oldest = list
            .iter()
            .filter_map(|d| d.as_dict()?.get("timestamp")?.as_u64())
            .min();
        match oldest {
            Some(ts) if list.len() >= PAGE && ts > from => until = ts - 1,
            _ => return Ok(total),
        }
    }
}

/// Every node's last heartbeat seq as `get_node` reports it (None: unknown).
async fn seqs(session: &Session, oids: &[Value]) -> Vec<Option<u64>> {
    stream::iter(oids.iter().cloned())
        .map(|oid| async move {
            let node = call_within(session, "get_node", vec![oid], PROBE_WAIT)
                .await
                .ok()?;
            node.as_dict()?.get("heartbeat")?.as_u64()
        })
        .buffered(16)
        .collect()
        .await
}

/// How far the nodes' seqs moved on in all (nodes unknown at either reading count 0).
fn seq_progress(before: &[Option<u64>], after: &[Option<u64>]) -> u64 {
    before
        .iter()
        .zip(after)
        .map(|(b, a)| match (b, a) {
            (Some(b), Some(a)) => a.saturating_sub(*b),
            (None, Some(a)) => *a,
            _ => 0,
        })
        .sum()
}

/// The master's RSS in MiB if it is over `--max-rss-mib` (a growing backlog).
fn rss_over(args: &IngestArgs) -> Option<u64> {
    let rss = TreeSample::maybe(args.target.master_pid)?.rss / 1048576;
    (rss > args.max_rss_mib).then_some(rss)
}

fn print_step(s: &Step, tol: f64) {
    let judged = s
        .all_stored(tol)
        .map(|ok| if ok { "all stored" } else { "LOST" })
        .or(s
            .processed
            .map(|ok| if ok { "processed" } else { "BEHIND" }))
        .unwrap_or("-");
    eprintln!(
        "  period {} ms: sent {:.0}/s, stored {}, {judged}, get_node p99 {} ms",
        s.period_ms,
        s.sent_rate(),
        s.stored.map_or_else(|| "-".into(), |v| v.to_string()),
        opt(s.p99_ms, 2)
    );
}

fn report(args: &IngestArgs, steps: &[Step], summary: Json) -> anyhow::Result<()> {
    let t = &args.target;
    let title = format!(
        "{} {} heartbeat ingest, {} simulated nodes, {:.0}s per step",
        t.target, t.url, args.nodes, args.step
    );
    let head = [
        "period ms",
        "sent/s",
        "sent",
        "stored",
        "all stored",
        "processed",
        "get_node p99 ms",
        "CPU %",
    ];
    let yes = |b: Option<bool>| {
        b.map_or_else(|| "-".into(), |b| if b { "yes" } else { "NO" }.to_string())
    };
    let rows: Vec<Vec<String>> = steps
        .iter()
        .map(|s| {
            vec![
                s.period_ms.to_string(),
                format!("{:.0}", s.sent_rate()),
                s.sent.to_string(),
                s.stored.map_or_else(|| "-".into(), |v| v.to_string()),
                yes(s.all_stored(args.tolerance)),
                yes(s.processed),
                opt(s.p99_ms, 3),
                opt(s.cpu_pct, 1),
            ]
        })
        .collect();
    print_table(&title, &head, &rows);
    let best = |f: &dyn Fn(&Step) -> bool| {
        steps
            .iter()
            .filter(|s| f(s))
            .map(Step::sent_rate)
            .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))))
    };
    let stored_best = best(&|s| s.all_stored(args.tolerance) == Some(true));
    let processed_best = best(&|s| s.processed == Some(true));
    let at_best = steps
        .iter()
        .filter(|s| s.all_stored(args.tolerance).or(s.processed) == Some(true))
        .max_by(|a, b| a.sent_rate().total_cmp(&b.sent_rate()));
    println!(
        "highest rate with all heartbeats stored: {} /s; processed (not stored): {} /s",
        opt(stored_best, 0),
        opt(processed_best, 0)
    );
    let params = json!({"nodes": args.nodes, "periods_ms": args.periods_ms, "step_s": args.step,
                        "settle_s": args.settle, "tolerance": args.tolerance});
    let results = json!([{
        "nodes": args.nodes,
        "max_stored_rate": stored_best,
        "max_processed_rate": processed_best,
        "get_node_p99_ms": at_best.and_then(|s| s.p99_ms),
        "steps": steps.iter().map(|s| s.to_json(args.tolerance)).collect::<Vec<_>>(),
        "sim": summary,
    }]);
    write_json(t, "ingest", params, results)
}
