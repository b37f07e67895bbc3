//! Turns SIGINT and SIGTERM into a shutdown flag that the servers watch.

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;
use tracing::info;

/// A receiver that turns `true` on the first SIGINT or SIGTERM.
pub fn shutdown_on_signals() -> anyhow::Result<watch::Receiver<bool>> {
    let (tx, rx) = watch::channel(false);
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => info!("SIGTERM received: shutting down"),
            _ = int.recv() => info!("SIGINT received: shutting down"),
        }
        let _ = tx.send(true);
    });
    Ok(rx)
}
