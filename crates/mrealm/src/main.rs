//! `mrealm`: the command-line edge of the project. Parses arguments, sets up logging and the
//! tokio runtime, and hands over to one command module; no routing or domain logic lives here.

mod cli;
mod cmd;
mod signals;

use clap::{Parser, Subcommand};

/// mrealm: management plane for fleets of WAMP routers (Crossbar.io master compatible).
#[derive(Debug, Parser)]
#[command(name = "mrealm", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The management master (Crossbar.io master compatible).
    Master(cmd::master::MasterArgs),
    /// Run a standalone WAMP router with anonymous access to the given realms.
    ///
    /// Example: mrealm router --listen 127.0.0.1:8080 --realm realm1 --realm realm2
    Router(cmd::router::RouterArgs),
    /// Create an Ed25519 key pair (key.pub, key.priv) in Crossbar's format, like `crossbar edge keys`.
    ///
    /// Example: mrealm keys --cbdir ./node1 --authid node1
    Keys(cmd::keys::KeysArgs),
    /// Measure router throughput (RPC calls/s, events/s) over WebSocket.
    ///
    /// Example: mrealm bench router --url ws://127.0.0.1:8080/ws --realm realm1
    Bench(cmd::bench::BenchArgs),
    /// Create the operator profile (default.priv, default.pub, config.ini), like `crossbar shell init`.
    Init(cmd::init::InitArgs),
    /// Show the master's status (global realm), or a management realm's with --realm.
    Status(cmd::fabric::StatusArgs),
    /// Management realms: list, show, create, delete.
    Mrealm(cmd::fabric::MrealmArgs),
    /// Nodes: list, show and logs (with --realm), pair, pair-dir and unpair.
    Node(cmd::node::NodeArgs),
    /// Call a procedure of a node's remote API through the master.
    Call(cmd::call::CallArgs),
    /// Follow a management realm's events live (nodes, traces, heartbeats, ticks).
    Watch(cmd::watch::WatchArgs),
    /// Router worker traces: create, start, stop, show, data, delete, list.
    Trace(cmd::trace::TraceArgs),
    /// Router clusters: create, add nodes and worker groups, start, stat, stop, delete.
    Routercluster(cmd::cluster_rc::RouterclusterArgs),
    /// Web clusters: create, add nodes and web services, start, stat, stop, delete.
    Webcluster(cmd::cluster_wc::WebclusterArgs),
    /// Simulate a fleet of Crossbar.io edge nodes against a master (pairing, heartbeats, churn).
    ///
    /// Example: mrealm sim --url ws://127.0.0.1:9000/ws --nodes 1000 --period 10s
    Sim(cmd::sim::SimArgs),
}

impl Command {
    fn is_operator(&self) -> bool {
        matches!(
            self,
            Command::Init(_)
                | Command::Status(_)
                | Command::Mrealm(_)
                | Command::Node(_)
                | Command::Call(_)
                | Command::Watch(_)
                | Command::Trace(_)
                | Command::Routercluster(_)
                | Command::Webcluster(_)
        )
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if cli.command.is_operator() {
        // Operators get one line, never a backtrace.
        std::panic::set_hook(Box::new(|info| eprintln!("mrealm: internal error: {info}")));
    }
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mrealm: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Master(args) => cmd::master::run(args).await,
            Command::Router(args) => cmd::router::run(args).await,
            Command::Bench(args) => cmd::bench::run(args).await,
            Command::Keys(args) => cmd::keys::run(args),
            Command::Init(args) => cmd::init::run(args),
            Command::Status(args) => cmd::fabric::status(args).await,
            Command::Mrealm(args) => cmd::fabric::mrealm(args).await,
            Command::Node(args) => cmd::node::run(args).await,
            Command::Call(args) => cmd::call::run(args).await,
            Command::Watch(args) => cmd::watch::run(args).await,
            Command::Trace(args) => cmd::trace::run(args).await,
            Command::Routercluster(args) => cmd::cluster_rc::run(args).await,
            Command::Webcluster(args) => cmd::cluster_wc::run(args).await,
            Command::Sim(args) => cmd::sim::run(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mrealm: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MREALM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .init();
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
