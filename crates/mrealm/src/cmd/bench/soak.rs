//! The soak scenario (`mrealm bench soak`, `scripts/soak`): starts its own master
//! (`mrealm master start` in a work directory with a fresh superuser key), connects a simulated
//! fleet ([`mrealm_sim`]), churns it for `--duration` (GOODBYE, TCP drop and freeze, a third
//! each), samples the master's RSS (`/proc/<pid>/status` VmRSS) and open FDs
//! (`/proc/<pid>/fd`), then stops the churn and checks the verdict (docs/operations.md,
//! "Soak"):
//!
//! * **RSS flat**: the median of the last 20 % of the churn samples after the warm-up is at
//!   most the median of the first 20 % × (1 + `--rss-tolerance`), or + `--rss-slack-mib`
//!   if that is larger (small fleets);
//! * **FDs flat**: every churn sample ≤ baseline (before any node) + nodes + `--fd-slack`, and
//!   the last window's median ≤ the first window's + `--fd-slack`;
//! * **all online**: after the churn, the simulator and `get_nodes("online")` both count every
//!   node within `--settle`;
//! * **heartbeats stored**: `get_node_logs` of `--hb-nodes` nodes spread over the fleet hold
//!   ≥ 85 % of the heartbeats they should have sent since the churn began (each ≥ 50 %);
//! * **log clean**: no WARN/ERROR line in the master log (`master.log`) but the [`ALLOWED`]
//!   ones, no panic; the master stops on SIGTERM with exit 0; the nodes saw no WAMP error.
//!
//! Writes a JSON report (parameters, samples, checks) and exits non-zero on failure.

mod probe;
mod verdict;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use mrealm_sim::{parse_duration, Fleet, SimConfig};
use serde_json::{json, Value as Json};
use wamp_client::{Dict, Value};
use wamp_proto::time::now_ns;

use crate::cli::{Conn, ConnArgs};
use probe::{probe, MasterProc, Sample, Sampler, CHURN, PHASES, SETTLE};
use verdict::{check, fds_flat, judge_heartbeats, rss_flat, scan_log, Check, ALLOWED};

#[derive(Debug, Args)]
pub struct SoakArgs {
    /// How long to churn (e.g. 5m, 1h); the verdict comes after it.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub duration: Duration,
    /// Simulated nodes.
    #[arg(long, default_value_t = 10_000)]
    pub nodes: usize,
    /// Churn: fraction of the nodes that leave and come back per minute.
    #[arg(long, default_value_t = 0.01)]
    pub churn: f64,
    /// Heartbeat period of the nodes.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub period: Duration,
    /// Seconds between samples [default: duration / 300, within 1 s … 10 s].
    #[arg(long, value_parser = parse_duration)]
    pub sample_every: Option<Duration>,
    /// Churn time not judged for flatness [default: 10 % of --duration, at least 30 s].
    #[arg(long, value_parser = parse_duration)]
    pub warmup: Option<Duration>,
    /// Allowed RSS growth from the first to the last window, as a fraction.
    #[arg(long, default_value_t = 0.10)]
    pub rss_tolerance: f64,
    /// Allowed RSS growth in MiB when larger than the fraction (small fleets).
    #[arg(long, default_value_t = 16.0)]
    pub rss_slack_mib: f64,
    /// Capacity of the master's database page cache (`db_cache_mb`, default 64 MiB): RSS is
    /// judged net of min(database file size, this); 0 judges the raw RSS.
    #[arg(long, default_value_t = 64.0)]
    pub db_cache_mib: f64,
    /// Open FDs allowed above baseline + nodes, and growth between the windows.
    #[arg(long, default_value_t = 64)]
    pub fd_slack: u64,
    /// How long every node may take to be online again after the churn stops.
    #[arg(long, default_value = "180s", value_parser = parse_duration)]
    pub settle: Duration,
    /// Nodes whose stored heartbeats are counted through get_node_logs.
    #[arg(long, default_value_t = 20)]
    pub hb_nodes: usize,
    /// Work directory (superuser key, master cbdir, master.log, report.json) [default: a new
    /// directory under $TMPDIR].
    #[arg(long)]
    pub dir: Option<PathBuf>,
    // clap prints this as --help text (rustdoc is not what reads it): `<dir>` stays verbatim
    #[allow(rustdoc::invalid_html_tags)]
    /// Where to write the JSON report [default: <dir>/report.json].
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The mrealm binary to run the master with [default: this one].
    #[arg(long)]
    pub master_bin: Option<PathBuf>,
    /// MREALM_LOG of the master.
    #[arg(long, default_value = "info")]
    pub master_log: String,
    /// Keep the master's database (deleted after a passing run otherwise).
    #[arg(long)]
    pub keep: bool,
}

impl SoakArgs {
    fn sample_every(&self) -> Duration {
        let auto = (self.duration / 300).clamp(Duration::from_secs(1), Duration::from_secs(10));
        self.sample_every.unwrap_or(auto)
    }

    fn warmup(&self) -> Duration {
        let auto = (self.duration / 10).max(Duration::from_secs(30));
        self.warmup.unwrap_or(auto).min(self.duration / 2)
    }
}

pub async fn run(args: SoakArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.nodes > 0 && !args.duration.is_zero(),
        "--nodes and --duration must be > 0"
    );
    let dir = work_dir(args.dir.as_deref())?;
    eprintln!("soak: work directory {}", dir.display());
    crate::cmd::init::run(crate::cmd::init::InitArgs {
        dir: Some(dir.clone()),
        yes: true,
    })?;
    let mut master = MasterProc::start(&args, &dir).await?;
    let baseline = probe(master.pid).context("cannot read the master's /proc entries")?;
    let mut signals = crate::signals::shutdown_on_signals()?;
    let outcome = tokio::select! {
        r = soak(&args, &master, &dir) => r,
        _ = signals.wait_for(|stop| *stop) => Err(anyhow::anyhow!("interrupted by a signal")),
    };
    let exit = master.stop().await;
    let log = std::fs::read_to_string(&master.log).unwrap_or_default();
    let mut run = match outcome {
        Ok(run) => run,
        Err(e) => Run::failed(format!("{e:#}")),
    };
    run.checks
        .extend(final_checks(&args, &run, baseline, exit, &log));
    finish(&args, &dir, &master, baseline, &run, &log)
}

/// What the churn run produced.
#[derive(Debug, Default)]
struct Run {
    samples: Vec<Sample>,
    checks: Vec<Check>,
    sim: Json,
    ramp_s: Option<f64>,
    settle_s: Option<f64>,
    hb: Json,
}

impl Run {
    fn failed(why: String) -> Run {
        Run {
            checks: vec![check("run", false, why)],
            ..Run::default()
        }
    }
}

/// Ramp up, churn, settle, count heartbeats; the master keeps running.
async fn soak(args: &SoakArgs, master: &MasterProc, dir: &Path) -> anyhow::Result<Run> {
    let key = dir.join("default.priv");
    let mut cfg = SimConfig::new(master.url.clone(), args.nodes, key.clone());
    cfg.period = args.period;
    cfg.prefix = "soak".into();
    let fleet = Fleet::prepare(cfg)
        .await
        .context("cannot prepare the simulated fleet")?;
    let db = master.cbdir.join("mrealm.db");
    let sampler = Sampler::spawn(master.pid, db, fleet.clone(), args.sample_every());
    let mut run = Run::default();
    let ramp = fleet.connect_all(&|_| {}).await;
    run.ramp_s = ramp.as_ref().ok().map(Duration::as_secs_f64);
    run.checks.push(check(
        "ramp",
        ramp.is_ok(),
        ramp.map_or_else(
            |e| e.to_string(),
            |d| format!("all online in {:.1} s", d.as_secs_f64()),
        ),
    ));
    sampler.start_churn();
    let churn_ns = now_ns();
    eprintln!(
        "soak: churning {} nodes at {}/min for {:?}",
        args.nodes, args.churn, args.duration
    );
    fleet
        .run_churn(args.churn, tokio::time::sleep(args.duration))
        .await;
    sampler.set_phase(SETTLE);
    let conn = Conn::open(&conn_args(&master.url, &key), Some("default")).await?;
    let (settled, detail) = settle(&conn, &fleet, args.settle).await;
    run.settle_s = settled;
    run.checks
        .push(check("all online", settled.is_some(), detail));
    let (hb_check, hb) = heartbeats(&conn, &fleet, args, churn_ns).await;
    run.checks.push(hb_check);
    run.hb = hb;
    run.samples = sampler.stop().await;
    let summary = tokio::time::timeout(Duration::from_secs(120), fleet.shutdown()).await;
    run.sim = summary
        .ok()
        .and_then(|s| serde_json::to_value(s).ok())
        .unwrap_or(Json::Null);
    all_gone(&conn).await;
    conn.close().await;
    Ok(run)
}

/// Waits (at most 30 s) until the master has processed every node's departure, so that the
/// SIGTERM that follows finds no node event still in flight.
async fn all_gone(conn: &Conn) {
    for _ in 0..60 {
        if online_on_master(conn).await == Some(0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn conn_args(url: &str, key: &Path) -> ConnArgs {
    ConnArgs {
        url: Some(url.to_owned()),
        key: Some(key.to_owned()),
        realm: None,
        json: false,
    }
}

/// Waits until the simulator and the master both count every node online.
async fn settle(conn: &Conn, fleet: &Fleet, limit: Duration) -> (Option<f64>, String) {
    let t0 = Instant::now();
    let n = fleet.len();
    loop {
        let sim = fleet.stats().online;
        let master = online_on_master(conn).await;
        let detail = format!(
            "{sim}/{n} online (simulator), {}/{n} (get_nodes)",
            master.map_or("?".into(), |m| m.to_string())
        );
        if sim == n && master == Some(n) {
            let took = t0.elapsed().as_secs_f64();
            return (
                Some(took),
                format!("{detail} {took:.1} s after the churn stopped"),
            );
        }
        if t0.elapsed() > limit {
            return (None, format!("{detail} after {:.0} s", limit.as_secs_f64()));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn online_on_master(conn: &Conn) -> Option<usize> {
    let args = vec![Value::Str("online".into())];
    let r = conn
        .call(
            "list online nodes",
            master::wire::mrealm::GET_NODES,
            args,
            Dict::new(),
        )
        .await;
    r.ok()?.as_list().map(Vec::len)
}

/// Stored node heartbeats since the churn began of `--hb-nodes` nodes spread over the fleet.
async fn heartbeats(conn: &Conn, fleet: &Fleet, args: &SoakArgs, since_ns: u64) -> (Check, Json) {
    let secs = now_ns().saturating_sub(since_ns) as f64 / 1e9;
    let expected = (secs / args.period.as_secs_f64()).floor().min(10_000.0) as u64;
    let k = args.hb_nodes.clamp(1, fleet.len());
    let mut counts = Vec::new();
    for j in 0..k {
        let authid = fleet.authid(j * fleet.len() / k);
        let count = stored(conn, &authid, since_ns).await;
        counts.push((authid, count));
    }
    let verdict = judge_heartbeats(&counts, expected);
    let per_node: BTreeMap<_, _> = counts.iter().cloned().collect();
    (
        verdict,
        json!({"expected_per_node": expected, "stored": per_node}),
    )
}

/// `get_node_logs(oid, since_ns, None, 10000)`'s length for the node `authid`.
async fn stored(conn: &Conn, authid: &str, since_ns: u64) -> Option<u64> {
    let what = "look up a node";
    let node = conn
        .call(
            what,
            master::wire::mrealm::GET_NODE_BY_AUTHID,
            vec![Value::Str(authid.into())],
            Dict::new(),
        )
        .await
        .ok()?;
    let oid = node.as_dict()?.get("oid")?.as_str()?.to_owned();
    let args = vec![
        Value::Str(oid),
        Value::from(since_ns),
        Value::Null,
        Value::Int(10_000),
    ];
    let logs = conn
        .call(
            "read heartbeats",
            master::wire::mrealm::GET_NODE_LOGS,
            args,
            Dict::new(),
        )
        .await
        .ok()?;
    logs.as_list().map(|l| l.len() as u64)
}

/// VmRSS less what redb's page cache may hold: the database file's size, up to the cache's
/// capacity (docs/operations.md, "Soak").
fn net_rss(s: &Sample, cache_kib: u64) -> u64 {
    s.rss_kib.saturating_sub(s.db_kib.min(cache_kib))
}

/// The checks on the samples, the master's exit and its log.
fn final_checks(
    args: &SoakArgs,
    run: &Run,
    base: (u64, u64),
    exit: Option<i32>,
    log: &str,
) -> Vec<Check> {
    let warm = args.warmup().as_secs_f64();
    let judged: Vec<&Sample> = run
        .samples
        .iter()
        .filter(|s| s.phase == CHURN && s.t >= warm)
        .collect();
    let cache_kib = (args.db_cache_mib * 1024.0) as u64;
    let rss: Vec<u64> = judged.iter().map(|s| net_rss(s, cache_kib)).collect();
    let fds: Vec<u64> = judged.iter().map(|s| s.fds).collect();
    let slack_kib = (args.rss_slack_mib * 1024.0) as u64;
    let scan = scan_log(log);
    let sim_errors = run.sim.get("errors").and_then(Json::as_u64);
    vec![
        rss_flat(&rss, args.rss_tolerance, slack_kib),
        fds_flat(
            &fds,
            base.1 + args.nodes as u64 + args.fd_slack,
            args.fd_slack,
        ),
        check(
            "master log clean",
            scan.unexpected_count == 0,
            scan.summary(),
        ),
        check(
            "master stopped cleanly",
            exit == Some(0),
            format!("exit status {exit:?} after SIGTERM"),
        ),
        check(
            "no WAMP errors at the nodes",
            sim_errors == Some(0),
            format!("simulator errors: {sim_errors:?}"),
        ),
    ]
}

fn work_dir(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = match given {
        Some(d) => d.to_owned(),
        None => {
            let stamp = now_ns() / 1_000_000;
            std::env::temp_dir().join(format!("mrealm-soak-{}-{stamp}", std::process::id()))
        }
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Writes the report, prints the verdict, cleans up; fails if any check failed.
fn finish(
    args: &SoakArgs,
    dir: &Path,
    m: &MasterProc,
    base: (u64, u64),
    run: &Run,
    log: &str,
) -> anyhow::Result<()> {
    let passed = run.checks.iter().all(|c| c.ok);
    let path = args.json.clone().unwrap_or_else(|| dir.join("report.json"));
    let doc = report(args, m, base, run, log, passed);
    let text = serde_json::to_string_pretty(&doc)? + "\n";
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "soak: {} nodes, churn {}/min, {:?} (warm-up {:?}), master log {}",
        args.nodes,
        args.churn,
        args.duration,
        args.warmup(),
        m.log.display()
    );
    for c in &run.checks {
        println!(
            "  {:<4} {:<28} {}",
            if c.ok { "ok" } else { "FAIL" },
            c.name,
            c.detail
        );
    }
    println!(
        "soak: {} — report {}",
        if passed { "PASSED" } else { "FAILED" },
        path.display()
    );
    if passed && !args.keep {
        let _ = std::fs::remove_dir_all(&m.cbdir);
    }
    anyhow::ensure!(passed, "soak failed (see {})", path.display());
    Ok(())
}

fn report(
    args: &SoakArgs,
    m: &MasterProc,
    base: (u64, u64),
    run: &Run,
    log: &str,
    passed: bool,
) -> Json {
    let scan = scan_log(log);
    let samples: Vec<Json> = run.samples.iter().map(|s| json!({"t_s": (s.t * 10.0).round() / 10.0, "phase": PHASES[s.phase as usize], "rss_kib": s.rss_kib, "db_kib": s.db_kib, "fds": s.fds, "online": s.online})).collect();
    let checks: Vec<Json> = run
        .checks
        .iter()
        .map(|c| json!({"name": c.name, "ok": c.ok, "detail": c.detail}))
        .collect();
    let allowed: Vec<Json> = ALLOWED.iter().map(|(p, why)| json!({"pattern": p, "why": why, "count": scan.allowed.get(p).copied().unwrap_or(0)})).collect();
    json!({
        "scenario": "soak", "passed": passed,
        "params": {"nodes": args.nodes, "churn_per_min": args.churn, "duration_s": args.duration.as_secs_f64(),
                   "period_s": args.period.as_secs_f64(), "sample_every_s": args.sample_every().as_secs_f64(),
                   "warmup_s": args.warmup().as_secs_f64(), "rss_tolerance": args.rss_tolerance, "db_cache_mib": args.db_cache_mib,
                   "rss_slack_mib": args.rss_slack_mib, "fd_slack": args.fd_slack, "settle_s": args.settle.as_secs_f64()},
        "master": {"pid": m.pid, "url": m.url, "log": m.log, "baseline_rss_kib": base.0, "baseline_fds": base.1},
        "ramp_s": run.ramp_s, "settle_s": run.settle_s, "heartbeats": run.hb, "sim": run.sim,
        "log": {"allowed": allowed, "unexpected_count": scan.unexpected_count, "unexpected": scan.unexpected},
        "checks": checks, "samples": samples,
    })
}
