//! `mrealm master start`: the Crossbar.io-compatible master on its embedded defaults.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use master::{Master, MasterConfig};
use tokio::net::TcpListener;
use tracing::{error, info};
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
    // clap prints this as --help text (rustdoc is not what reads it): `<cbdir>` stays verbatim
    #[allow(rustdoc::invalid_html_tags)]
    /// Copy the database to a file: of a stopped master (offline), or with --online by the
    /// running master itself, as superuser, while it keeps serving (docs/operations.md).
    ///
    /// Restore: stop the master, copy the file to <cbdir>/mrealm.db, start it.
    /// Example: mrealm master backup --cbdir ./.mrealm --to ./mrealm-2026-01-01.db
    /// Example: mrealm master backup --online --to /var/backups/mrealm-2026-01-01.db
    Backup(BackupArgs),
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The master's directory (its mrealm.db is copied).
    #[arg(long, default_value = ".mrealm")]
    pub cbdir: PathBuf,
    /// The backup file to write (must not exist). With --online it is written by the master,
    /// on the master's host (made absolute here).
    #[arg(long)]
    pub to: PathBuf,
    /// Ask the running master (the profile's URL and key, as superuser) to write the backup.
    #[arg(long)]
    pub online: bool,
    #[command(flatten)]
    pub conn: crate::cli::ConnArgs,
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
        MasterCommand::Backup(a) if a.online => backup_online(a).await,
        MasterCommand::Backup(a) => {
            let info = master::backup::backup_offline(&a.cbdir, &a.to)?;
            println!(
                "backup written to {}: {} bytes, {} management realms, {} nodes",
                a.to.display(),
                info.bytes,
                info.mrealms,
                info.nodes
            );
            Ok(())
        }
    }
}

async fn backup_online(a: BackupArgs) -> anyhow::Result<()> {
    let to = std::path::absolute(&a.to).context("the backup path")?;
    let conn = crate::cli::Conn::open(&a.conn, None).await?;
    let path = to.display().to_string();
    let r = conn
        .call(
            "back up the database",
            master::wire::domain::BACKUP_DATABASE,
            vec![path.as_str().into()],
            wamp_proto::Dict::new(),
        )
        .await;
    conn.close().await;
    let r = r?;
    let num = |k: &str| r.get(k).and_then(wamp_proto::Value::as_u64).unwrap_or(0);
    println!(
        "backup written by the master to {path}: {} bytes, {} rows, in {} ms",
        num("bytes"),
        num("rows"),
        num("duration_ms")
    );
    Ok(())
}

async fn start(args: StartArgs) -> anyhow::Result<()> {
    let nofile = raise_nofile_limit();
    let mut config = MasterConfig::load(&args.cbdir)?;
    fit_connections_to_fd_limit(&mut config, nofile);
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
        master.config().path
    );
    std::io::stdout().flush()?;
    let shutdown = crate::signals::shutdown_on_signals()?;
    // Returns once a signal came: the listener is closed and every session got GOODBYE.
    master
        .router()
        .clone()
        .serve_with(listener, tls, shutdown)
        .await;
    graceful_stop(&master).await
}

/// Stops the controllers (flushing the heartbeat history) within `shutdown_grace`; past it,
/// logs what was abandoned and fails (the process exits non-zero).
async fn graceful_stop(master: &Master) -> anyhow::Result<()> {
    let grace = master.config().shutdown_grace;
    let started = Instant::now();
    if let Err(left) = master.shutdown_within(grace).await {
        error!(grace_s = grace.as_secs_f64(), abandoned = %left, "shutdown grace exceeded: abandoned");
        anyhow::bail!("shutdown grace of {grace:?} exceeded; abandoned: {left}");
    }
    // Let the connections' writers send their GOODBYEs before the process exits.
    let linger = grace
        .saturating_sub(started.elapsed())
        .min(Duration::from_millis(200));
    tokio::time::sleep(linger).await;
    info!(
        ms = started.elapsed().as_millis() as u64,
        "shutdown complete"
    );
    Ok(())
}

/// Raises the soft open-file limit to the hard one, so the master can hold many node sockets.
fn raise_nofile_limit() -> Option<u64> {
    match wamp_client::sys::raise_nofile_limit() {
        Ok(n) => {
            tracing::debug!(limit = n, "open-file limit");
            Some(n)
        }
        Err(e) => {
            tracing::warn!("cannot raise the open-file limit: {e}");
            None
        }
    }
}

/// Open files kept back from `max_connections` for the database, logs, key files and accept.
const FD_RESERVE: u64 = 256;

/// Lowers `max_connections` to what the open-file limit allows, so that a full master answers
/// new connections with HTTP 503 instead of failing `accept` with EMFILE.
fn fit_connections_to_fd_limit(config: &mut MasterConfig, nofile: Option<u64>) {
    let Some(nofile) = nofile else { return };
    let fits = usize::try_from(nofile.saturating_sub(FD_RESERVE))
        .unwrap_or(usize::MAX)
        .max(1);
    if config.max_connections > fits {
        if config.max_connections == MasterConfig::default().max_connections {
            tracing::info!(
                open_file_limit = nofile,
                max_connections = fits,
                "max_connections fitted to the open-file limit"
            );
        } else {
            tracing::warn!(
                configured = config.max_connections,
                open_file_limit = nofile,
                max_connections = fits,
                "max_connections lowered to fit the open-file limit (raise `ulimit -n` for more)"
            );
        }
        config.max_connections = fits;
    }
}
