//! `mrealm master start`: the Crossbar.io-compatible master on its embedded defaults.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use master::{Master, MasterConfig};
use tokio::net::TcpListener;
use wamp_router::TlsConfig;

#[derive(Debug, Args)]
pub struct MasterArgs {
    #[command(subcommand)]
    pub command: MasterCommand,
}

#[derive(Debug, Subcommand)]
pub enum MasterCommand {
    /// Start the master: global realm, management realms, node pairing, controllers.
    ///
    /// Example: CROSSBAR_FABRIC_SUPERUSER=~/.crossbar/default.pub mrealm master start --cbdir ./.mrealm
    Start(StartArgs),
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// The master's directory: database (mrealm.db) and optional config file (mrealm.toml).
    #[arg(long, default_value = ".mrealm")]
    pub cbdir: PathBuf,
    /// Address to listen on (overrides `listen` in mrealm.toml); port 0 picks a free port.
    #[arg(long)]
    pub listen: Option<String>,
    /// TLS certificate chain (PEM): serve wss:// (overrides `tls_cert`).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for --tls-cert (overrides `tls_key`).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

pub async fn run(args: MasterArgs) -> anyhow::Result<()> {
    match args.command {
        MasterCommand::Start(a) => start(a).await,
    }
}

async fn start(args: StartArgs) -> anyhow::Result<()> {
    let mut config = MasterConfig::load(&args.cbdir)?;
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if let (Some(c), Some(k)) = (args.tls_cert, args.tls_key) {
        config.tls_cert = Some(c);
        config.tls_key = Some(k);
    }
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(c), Some(k)) => Some(TlsConfig::from_pem_files(c, k)?),
        _ => None,
    };
    let listener = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    if config.fabric_url.is_none() {
        config.listen = addr.to_string();
    }
    let master = Master::start(config).await?;
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    println!(
        "mrealm master listening on {scheme}://{addr}{}",
        master.config.path
    );
    std::io::stdout().flush()?;
    let shutdown = crate::signals::shutdown_on_signals()?;
    master
        .router
        .clone()
        .serve_with(listener, tls, shutdown)
        .await;
    master.shutdown().await;
    // Let the connections' writers send their GOODBYEs before the process exits.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}
