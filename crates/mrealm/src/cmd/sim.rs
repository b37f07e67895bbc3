//! `mrealm sim`: simulate a fleet of Crossbar.io edge nodes against a master (the thin CLI
//! over the `mrealm-sim` crate): pair, ramp up with a progress bar, run (optionally with
//! churn) until --duration or Ctrl-C/SIGTERM, then leave gracefully and print a summary.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mrealm_sim::{parse_duration, Fleet, SimConfig, Summary};

use crate::cli::profile;

/// `mrealm sim` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mrealm sim --url ws://127.0.0.1:9000/ws --nodes 1000\n  \
    mrealm sim --nodes 10000 --period 100ms --duration 60s --json sim.json\n  \
    mrealm sim --nodes 500 --churn 0.05 --keys-dir ./sim-keys"
)]
pub struct SimArgs {
    /// Master URL [default: the profile's `url`, else ws://127.0.0.1:9000/ws].
    #[arg(long, env = "CROSSBAR_FABRIC_URL")]
    pub url: Option<String>,
    /// How many edge nodes to simulate.
    #[arg(long, default_value_t = 10)]
    pub nodes: usize,
    /// Management realm to pair the nodes to (created if missing).
    #[arg(long, default_value = "default")]
    pub mrealm: String,
    /// Heartbeat period (e.g. 10s, 250ms, 1m).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub period: Duration,
    /// Churn: fraction of the nodes that leave and come back per minute (e.g. 0.01).
    #[arg(long, default_value_t = 0.0)]
    pub churn: f64,
    /// Router workers per node (router1, router2, ...), besides the node controller.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Run this long, then stop gracefully [default: until Ctrl-C or SIGTERM].
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// The superuser's private key [default: the profile's `privkey`].
    #[arg(long, value_name = "FILE")]
    pub superuser_key: Option<PathBuf>,
    /// Node authid prefix: nodes are PREFIX-00000, PREFIX-00001, ...
    #[arg(long, default_value = "sim")]
    pub prefix: String,
    /// Most connection handshakes in flight at once.
    #[arg(long, default_value_t = 256)]
    pub connect_concurrency: usize,
    /// Loopback source addresses to spread connections over (0: as many as needed).
    #[arg(long, default_value_t = 0)]
    pub source_addrs: usize,
    /// Write the summary as JSON to this file.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Keep node keys and pairings here, so a later run reuses them [default: in memory only].
    #[arg(long, value_name = "DIR")]
    pub keys_dir: Option<PathBuf>,
    /// Seed for staggering, payload noise and churn choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl SimArgs {
    fn config(&self) -> SimConfig {
        let key = profile::resolve_key_path(self.superuser_key.as_deref());
        let mut cfg = SimConfig::new(profile::resolve_url(self.url.as_deref()), self.nodes, key);
        cfg.mrealm = self.mrealm.clone();
        cfg.period = self.period;
        cfg.workers = self.workers;
        cfg.churn_per_min = self.churn;
        cfg.keys_dir = self.keys_dir.clone();
        cfg.prefix = self.prefix.clone();
        cfg.source_addrs = self.source_addrs;
        cfg.connect_concurrency = self.connect_concurrency;
        cfg.seed = self.seed;
        cfg
    }
}

pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    let cfg = args.config();
    eprintln!(
        "mrealm sim: pairing {} nodes to \"{}\" at {}",
        cfg.nodes, cfg.mrealm, cfg.url
    );
    let fleet = Fleet::prepare(cfg).await?;
    let pb = bar(fleet.len() as u64);
    let progress = |n: usize| {
        if let Some(pb) = &pb {
            pb.set_position(n as u64);
        }
    };
    let ramp = fleet.connect_all(&progress).await;
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    match ramp {
        Ok(took) => eprintln!(
            "mrealm sim: all {} nodes online in {:.2} s",
            fleet.len(),
            took.as_secs_f64()
        ),
        Err(e) => eprintln!("mrealm sim: {e}"),
    }
    run_until_stopped(&fleet, &args).await?;
    eprintln!("mrealm sim: stopping (GOODBYE from every node)");
    let summary = fleet.shutdown().await;
    report(&summary, args.json.as_deref())
}

/// Runs (with churn if asked) until --duration or a signal.
async fn run_until_stopped(fleet: &Fleet, args: &SimArgs) -> anyhow::Result<()> {
    let mut signals = crate::signals::shutdown_on_signals()?;
    let duration = args.duration;
    let stop = async move {
        let signal = async {
            while !*signals.borrow_and_update() {
                if signals.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        match duration {
            Some(d) => {
                tokio::select! { _ = tokio::time::sleep(d) => {}, _ = signal => {} }
            }
            None => signal.await,
        }
    };
    if args.churn > 0.0 {
        fleet.run_churn(args.churn, stop).await;
    } else {
        stop.await;
    }
    Ok(())
}

fn report(summary: &Summary, json: Option<&std::path::Path>) -> anyhow::Result<()> {
    println!("{}", summary.render());
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(summary)?;
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn bar(len: u64) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::new(len);
    let style =
        ProgressStyle::with_template("{spinner} nodes online [{bar:30}] {pos}/{len} {elapsed}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style);
    Some(pb)
}
