//! The idle scenario: the master's RSS and CPU (% of one core) over a quiet window, with
//! whatever nodes are connected (none, or the simulated fleet of `--nodes` when built with the
//! simulator). RSS is sampled every second (max and last are reported), CPU at the edges.

use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;

use super::proc::TreeSample;
use super::target::{opt, print_table, write_json, TargetArgs};

#[derive(Debug, Args)]
pub struct IdleArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Seconds measured.
    #[arg(long, default_value_t = 60.0)]
    pub window: f64,
    /// Simulated nodes to connect first (0: none).
    #[arg(long, default_value_t = 0)]
    pub nodes: usize,
    /// Heartbeat period of the simulated nodes, seconds.
    #[arg(long, default_value_t = 10.0)]
    pub period: f64,
}

/// What one idle window measured.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct IdleFigures {
    pub seconds: f64,
    pub cpu_s: f64,
    pub rss_last: u64,
    pub rss_max: u64,
}

impl IdleFigures {
    pub(super) fn cpu_pct(&self) -> f64 {
        100.0 * self.cpu_s / self.seconds.max(1e-9)
    }
}

pub async fn run(args: IdleArgs) -> anyhow::Result<()> {
    let t = &args.target;
    let pid = t
        .master_pid
        .ok_or_else(|| anyhow::anyhow!("the idle scenario needs --master-pid"))?;
    let fleet = super::fleet::maybe_start(t, args.nodes, args.period).await?;
    let fig = measure(pid, Duration::from_secs_f64(args.window)).await?;
    let online = fleet.as_ref().map(|f| f.online());
    let sim = super::fleet::stop(fleet).await;
    report(&args, &fig, online, sim)
}

/// Samples the tree rooted at `pid` for `window`.
pub(super) async fn measure(pid: u32, window: Duration) -> anyhow::Result<IdleFigures> {
    let gone = || anyhow::anyhow!("master process {pid} is gone");
    let first = TreeSample::take(pid).ok_or_else(gone)?;
    let t0 = Instant::now();
    let mut fig = IdleFigures {
        rss_max: first.rss,
        ..IdleFigures::default()
    };
    let mut last = first.clone();
    while t0.elapsed() < window {
        let left = window.saturating_sub(t0.elapsed());
        tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        last = TreeSample::take(pid).ok_or_else(gone)?;
        fig.rss_max = fig.rss_max.max(last.rss);
    }
    fig.seconds = t0.elapsed().as_secs_f64();
    fig.cpu_s = last.cpu_since(&first);
    fig.rss_last = last.rss;
    Ok(fig)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn report(
    args: &IdleArgs,
    fig: &IdleFigures,
    online: Option<usize>,
    sim: serde_json::Value,
) -> anyhow::Result<()> {
    let t = &args.target;
    let title = format!(
        "{} {} idle, {} simulated nodes, {:.0}s window",
        t.target, t.url, args.nodes, fig.seconds
    );
    let head = [
        "nodes",
        "RSS MiB",
        "max RSS MiB",
        "CPU s",
        "CPU % of a core",
    ];
    let row = vec![
        args.nodes.to_string(),
        format!("{:.1}", mib(fig.rss_last)),
        format!("{:.1}", mib(fig.rss_max)),
        format!("{:.2}", fig.cpu_s),
        format!("{:.2}", fig.cpu_pct()),
    ];
    print_table(&title, &head, &[row]);
    if let Some(n) = online {
        println!(
            "nodes connected at the end: {n}; heartbeat period {}s",
            opt(Some(args.period), 1)
        );
    }
    let params = json!({"window_s": args.window, "nodes": args.nodes, "period_s": args.period});
    let results = json!([{
        "nodes": args.nodes,
        "seconds": fig.seconds,
        "rss_bytes": fig.rss_last,
        "rss_max_bytes": fig.rss_max,
        "cpu_s": fig.cpu_s,
        "cpu_pct_of_core": fig.cpu_pct(),
        "online": online,
        "sim": sim,
    }]);
    write_json(t, "idle", params, results)
}
