//! Benchmark results: latency samples, per-scenario figures, the printed table and the JSON.

use std::path::Path;

use anyhow::Context;
use serde_json::json;

use super::{RouterBenchArgs, Window};

/// Latency samples in microseconds.
#[derive(Debug, Default)]
pub(super) struct Latencies {
    micros: Vec<u32>,
}

impl Latencies {
    pub(super) fn push(&mut self, micros: u32) {
        self.micros.push(micros);
    }

    pub(super) fn merge(&mut self, other: Latencies) {
        self.micros.extend(other.micros);
    }

    pub(super) fn len(&self) -> usize {
        self.micros.len()
    }

    /// The `q`-quantile (0..=1) in milliseconds; sorts the samples.
    pub(super) fn quantile_ms(&mut self, q: f64) -> Option<f64> {
        if self.micros.is_empty() {
            return None;
        }
        self.micros.sort_unstable();
        let last = self.micros.len() - 1;
        let at = ((last as f64) * q).round() as usize;
        Some(f64::from(self.micros[at.min(last)]) / 1000.0)
    }
}

/// The figures of one scenario run.
#[derive(Debug, Clone)]
pub(super) struct ScenarioResult {
    pub name: &'static str,
    pub seconds: f64,
    /// Calls (RPC) or acknowledged publishes (PubSub) completed in the window.
    pub ops: u64,
    /// Events received by all subscribers in the window (PubSub only).
    pub events: Option<u64>,
    pub errors: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub router_cpu_s: Option<f64>,
    pub bench_cpu_s: Option<f64>,
}

impl ScenarioResult {
    pub(super) fn new(
        name: &'static str,
        window: Window,
        ops: u64,
        events: Option<u64>,
        mut latencies: Latencies,
        errors: u64,
    ) -> Self {
        ScenarioResult {
            name,
            seconds: window.elapsed.as_secs_f64(),
            ops,
            events,
            errors,
            p50_ms: latencies.quantile_ms(0.50),
            p99_ms: latencies.quantile_ms(0.99),
            router_cpu_s: window.router_cpu,
            bench_cpu_s: window.bench_cpu,
        }
    }

    fn ops_per_s(&self) -> f64 {
        self.ops as f64 / self.seconds
    }

    fn events_per_s(&self) -> Option<f64> {
        Some(self.events? as f64 / self.seconds)
    }

    /// Router CPU seconds per 1000 calls or publishes.
    fn router_cpu_per_1k(&self) -> Option<f64> {
        per_1k(self.router_cpu_s?, self.ops)
    }

    /// Router CPU seconds per 1000 delivered events.
    fn router_cpu_per_1k_events(&self) -> Option<f64> {
        per_1k(self.router_cpu_s?, self.events?)
    }

    fn to_json(&self) -> serde_json::Value {
        json!({
            "scenario": self.name,
            "seconds": self.seconds,
            "ops": self.ops,
            "ops_per_s": self.ops_per_s(),
            "events": self.events,
            "events_per_s": self.events_per_s(),
            "errors": self.errors,
            "latency_p50_ms": self.p50_ms,
            "latency_p99_ms": self.p99_ms,
            "router_cpu_s": self.router_cpu_s,
            "router_cpu_s_per_1k_ops": self.router_cpu_per_1k(),
            "router_cpu_s_per_1k_events": self.router_cpu_per_1k_events(),
            "bench_cpu_s": self.bench_cpu_s,
        })
    }
}

fn per_1k(cpu: f64, count: u64) -> Option<f64> {
    (count > 0).then(|| cpu * 1000.0 / count as f64)
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"))
}

/// Prints one aligned line per scenario.
pub(super) fn print_table(args: &RouterBenchArgs, results: &[ScenarioResult]) {
    println!(
        "{} {} ({}), clients={} window={} payload={}B, {:.0}s measured after {:.0}s warm-up",
        args.label,
        args.url,
        args.serializer.subprotocol(),
        args.clients,
        args.window,
        args.payload,
        args.duration,
        args.warmup
    );
    println!(
        "{:<8} {:>11} {:>11} {:>8} {:>8} {:>7} {:>9} {:>11} {:>8}",
        "scenario",
        "ops/s",
        "events/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "rtr cpu",
        "cpu s/1k",
        "gen cpu"
    );
    for r in results {
        println!(
            "{:<8} {:>11.0} {:>11} {:>8} {:>8} {:>7} {:>9} {:>11} {:>8}",
            r.name,
            r.ops_per_s(),
            opt(r.events_per_s(), 0),
            opt(r.p50_ms, 3),
            opt(r.p99_ms, 3),
            r.errors,
            opt(r.router_cpu_s, 2),
            opt(r.router_cpu_per_1k(), 5),
            opt(r.bench_cpu_s, 2),
        );
    }
}

/// Writes the run's parameters and results to `path`.
pub(super) fn write_json(
    path: &Path,
    args: &RouterBenchArgs,
    results: &[ScenarioResult],
) -> anyhow::Result<()> {
    let doc = json!({
        "label": args.label,
        "url": args.url,
        "realm": args.realm,
        "serializer": args.serializer.subprotocol(),
        "clients": args.clients,
        "window": args.window,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "payload_bytes": args.payload,
        "router_pids": args.router_pids,
        "results": results.iter().map(ScenarioResult::to_json).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&doc)?;
    std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
}
