//! `mrealm bench`: router throughput benchmarks over WebSocket, against any WAMP router.
//!
//! `mrealm bench router` runs two scenarios with the same load shape against one router URL:
//! RPC (one callee, N pipelined callers) and PubSub (N subscribers, one acknowledged, pipelined
//! publisher). Each scenario warms up, then measures for a fixed time; see `rpc` and `pubsub`.
//! The measuring window is driven by a shared [`Clock`]; `report` prints and serializes results.
//! With `--router-pid` the router's CPU time over the window is read from `/proc/<pid>/stat`.
//!
//! The master benchmarks (`mgmt`, `idle`, `ingest`, `scale`, `liveness`) measure a running
//! master given by `--url`, `--master-pid` and `--superuser-key` (`target`), with simulated
//! nodes from `mrealm_sim` (`fleet`) and CPU/RSS of the master's process tree (`proc`);
//! `bench/master-vs-crossbar.sh` runs them against mrealm and the Python master side by side.

mod cpu;
mod fleet;
mod idle;
mod ingest;
mod liveness;
mod mgmt;
mod proc;
mod pubsub;
mod report;
mod rpc;
mod scale;
mod soak;
mod target;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use wamp_client::{Client, ConnectOptions, JoinOptions, Serializer, Session, Value};

use report::ScenarioResult;

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    target: BenchTarget,
}

#[derive(Debug, Subcommand)]
enum BenchTarget {
    /// RPC calls/s with latency, and PubSub publishes/s and events/s, against a router URL.
    ///
    /// Example: mrealm bench router --url ws://127.0.0.1:8080/ws --realm realm1 --json out.json
    Router(RouterBenchArgs),
    /// Management call cost on a master: get_node, get_nodes, get_status latency and master
    /// CPU per call, sequential and pipelined.
    ///
    /// Example: mrealm bench mgmt --url ws://127.0.0.1:9000/ws --superuser-key default.priv --master-pid 1234
    Mgmt(mgmt::MgmtArgs),
    /// A master's idle RSS and CPU over a window, with 0 or N simulated nodes connected.
    ///
    /// Example: mrealm bench idle --url ws://127.0.0.1:9000/ws --superuser-key default.priv --master-pid 1234 --window 60
    Idle(idle::IdleArgs),
    /// Heartbeat ingest: step a simulated fleet's heartbeat rate up until the master stores
    /// (or processes) fewer than were sent; get_node p99 meanwhile.
    ///
    /// Example: mrealm bench ingest --url ws://127.0.0.1:9000/ws --superuser-key default.priv --nodes 1000 --periods-ms 1000,100,20,10
    Ingest(ingest::IngestArgs),
    /// Scale: N simulated nodes connected over WebSocket; time until all online, master RSS
    /// per node, nodes and registrations the master holds.
    ///
    /// Example: mrealm bench scale --url ws://127.0.0.1:9000/ws --superuser-key default.priv --master-pid 1234 --nodes 1000,5000
    Scale(scale::ScaleArgs),
    /// Liveness: kill / stop / freeze / re-join of simulated nodes until on_node_shutdown /
    /// on_node_ready on the management realm.
    ///
    /// Example: mrealm bench liveness --url ws://127.0.0.1:9000/ws --superuser-key default.priv
    Liveness(liveness::LivenessArgs),
    /// Soak: a master of its own under a churning simulated fleet for --duration; RSS and open
    /// FDs flat, log clean, every node back online, heartbeats stored (docs/operations.md).
    ///
    /// Example: mrealm bench soak --duration 1h --nodes 10000 --churn 0.01
    Soak(soak::SoakArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    Rpc,
    Pubsub,
}

#[derive(Debug, Args)]
pub struct RouterBenchArgs {
    /// WebSocket URL of the router.
    #[arg(long)]
    pub url: String,
    /// Realm to join (anonymous, allowed to call, register, publish and subscribe).
    #[arg(long, default_value = "realm1")]
    pub realm: String,
    /// Serializer: cbor, msgpack, json, or a batched variant such as cbor.batched.
    #[arg(long, default_value = "cbor", value_parser = parse_serializer)]
    pub serializer: Serializer,
    /// Scenarios to run, in order (comma-separated or repeated).
    #[arg(long, value_enum, value_delimiter = ',', default_values = ["rpc", "pubsub"])]
    pub scenario: Vec<Scenario>,
    /// Caller sessions (RPC) or subscriber sessions (PubSub).
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Requests each caller (or the publisher) keeps outstanding.
    #[arg(long, default_value_t = 16)]
    pub window: usize,
    /// Seconds measured per scenario.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds of load before measuring starts (not counted).
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Bytes of the binary argument of each call or event (0: no arguments).
    #[arg(long, default_value_t = 64)]
    pub payload: usize,
    /// Write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Name of the router under test, for the table and the JSON.
    #[arg(long, default_value = "router")]
    pub label: String,
    /// Process id of the router (repeat for several processes) whose CPU time is measured.
    #[arg(long = "router-pid")]
    pub router_pids: Vec<u32>,
}

/// Accepts `cbor`, `cbor.batched` or the full `wamp.2.cbor` subprotocol name.
fn parse_serializer(s: &str) -> Result<Serializer, String> {
    let full = if s.starts_with("wamp.2.") {
        s.to_owned()
    } else {
        format!("wamp.2.{s}")
    };
    Serializer::from_subprotocol(&full).ok_or_else(|| format!("unknown serializer {s:?}"))
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.target {
        BenchTarget::Router(args) => run_router(args).await,
        BenchTarget::Mgmt(args) => mgmt::run(args).await,
        BenchTarget::Idle(args) => idle::run(args).await,
        BenchTarget::Ingest(args) => ingest::run(args).await,
        BenchTarget::Scale(args) => scale::run(args).await,
        BenchTarget::Liveness(args) => liveness::run(args).await,
        BenchTarget::Soak(args) => soak::run(args).await,
    }
}

async fn run_router(args: RouterBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.clients > 0 && args.window > 0,
        "--clients and --window must be > 0"
    );
    anyhow::ensure!(
        args.duration > 0.0 && args.warmup >= 0.0,
        "bad --duration or --warmup"
    );
    let mut results = Vec::new();
    for scenario in &args.scenario {
        let limit = Duration::from_secs_f64(args.warmup + args.duration + 60.0);
        let run = run_scenario(&args, *scenario);
        let result = tokio::time::timeout(limit, run)
            .await
            .with_context(|| format!("{scenario:?} scenario did not finish in {limit:?}"))??;
        results.push(result);
    }
    report::print_table(&args, &results);
    if let Some(path) = &args.json {
        report::write_json(path, &args, &results)?;
    }
    Ok(())
}

async fn run_scenario(
    args: &RouterBenchArgs,
    scenario: Scenario,
) -> anyhow::Result<ScenarioResult> {
    match scenario {
        Scenario::Rpc => rpc::run(args).await,
        Scenario::Pubsub => pubsub::run(args).await,
    }
}

/// Joins the realm over a fresh WebSocket connection.
async fn join(args: &RouterBenchArgs) -> anyhow::Result<Session> {
    let copts = ConnectOptions::with_serializer(args.serializer);
    let jopts = JoinOptions::realm(args.realm.clone());
    let fut = Client::connect_and_join(&args.url, copts, jopts);
    let session = tokio::time::timeout(Duration::from_secs(15), fut)
        .await
        .context("joining timed out")?
        .with_context(|| format!("cannot join {} at {}", args.realm, args.url))?;
    Ok(session)
}

/// Joins `n` sessions concurrently.
async fn join_many(args: &RouterBenchArgs, n: usize) -> anyhow::Result<Vec<Session>> {
    let joins = (0..n).map(|_| join(args));
    futures_util::future::join_all(joins)
        .await
        .into_iter()
        .collect()
}

/// Leaves every session, waiting a bounded time for each.
async fn leave_all(sessions: &[Session]) {
    let leaves = sessions.iter().map(|s| async move {
        let _ = tokio::time::timeout(Duration::from_secs(5), s.leave()).await;
    });
    futures_util::future::join_all(leaves).await;
}

/// The arguments of each call or event: one binary value of `--payload` bytes, or nothing.
fn payload_args(bytes: usize) -> Vec<Value> {
    if bytes == 0 {
        Vec::new()
    } else {
        vec![Value::Bytes(vec![0x5a; bytes])]
    }
}

/// Phases of a scenario (0 is the warm-up), read by every load task after each request.
const MEASURE: u8 = 1;
const STOP: u8 = 2;

/// The shared phase of a scenario.
#[derive(Debug, Default)]
struct Clock {
    phase: AtomicU8,
}

impl Clock {
    fn phase(&self) -> u8 {
        self.phase.load(Ordering::Relaxed)
    }

    fn set(&self, phase: u8) {
        self.phase.store(phase, Ordering::Relaxed);
    }
}

/// What the measuring window saw of the clock and the CPU.
#[derive(Debug, Clone, Copy)]
struct Window {
    elapsed: Duration,
    router_cpu: Option<f64>,
    bench_cpu: Option<f64>,
}

/// Runs the warm-up and the measuring window; `on_start` and `on_stop` run right at its edges
/// (to snapshot counters). The tasks see the phases through `clock`.
async fn measure(
    args: &RouterBenchArgs,
    clock: &Arc<Clock>,
    mut on_start: impl FnMut(),
    mut on_stop: impl FnMut(),
) -> Window {
    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
    let cpu0 = cpu::Sample::take(&args.router_pids);
    on_start();
    clock.set(MEASURE);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(args.duration)).await;
    clock.set(STOP);
    on_stop();
    let elapsed = t0.elapsed();
    let cpu1 = cpu::Sample::take(&args.router_pids);
    Window {
        elapsed,
        router_cpu: cpu1.router_since(&cpu0),
        bench_cpu: cpu1.own_since(&cpu0),
    }
}
