//! `mrealm`: the command-line edge of the project. Parses arguments, sets up logging and the
//! tokio runtime, and hands over to one command module; no routing or domain logic lives here.

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
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
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
