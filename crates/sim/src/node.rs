//! The life of one simulated node: a single task that owns the node's key and, while
//! connected, its socket ([`crate::conn`]). It waits for commands from the fleet (connect,
//! disconnect in one of three ways, shut down), reconnects with backoff when the master drops
//! it, and reports when it is online.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::conn::{self, End, JoinError};
use crate::keys::NodeKey;
use crate::net::Target;
use crate::payload::Rng;
use crate::stats::Counters;

/// How a node leaves the master.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Disconnect {
    /// GOODBYE `wamp.close.normal`, as on SIGTERM.
    Goodbye,
    /// Drop the TCP connection (RST), as on a crash or a cut cable.
    DropTcp,
    /// Stop reading and answering; only the master's ping timeout notices.
    Freeze,
}

/// A readiness report: time to joined + registered + uplink checked, or why not.
pub type Ready = Result<Duration, String>;

/// Commands from the fleet to a node task.
pub(crate) enum Ctrl {
    /// Come online (if not already) and report.
    Connect(oneshot::Sender<Ready>),
    /// Leave the master this way; acknowledged once done.
    Disconnect(Disconnect, oneshot::Sender<()>),
    /// Say GOODBYE if connected and end the task.
    Shutdown(oneshot::Sender<()>),
}

/// What every node task shares.
pub(crate) struct Shared {
    pub target: Target,
    pub sources: Vec<Option<IpAddr>>,
    pub mrealm: String,
    pub workers: usize,
    pub period_ns: AtomicU64,
    pub counters: Counters,
    pub connect_gate: Semaphore,
}

impl Shared {
    pub fn period(&self) -> Duration {
        Duration::from_nanos(self.period_ns.load(Relaxed).max(1))
    }
}

/// Who a node is.
pub(crate) struct Ident {
    pub index: usize,
    pub authid: String,
    pub key: NodeKey,
}

/// Connection attempts before a requested connect is reported as failed.
const ATTEMPTS: u32 = 5;
/// Bound on connecting and joining.
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The node task: runs until [`Ctrl::Shutdown`] or until the fleet drops its sender.
pub(crate) async fn run(sh: Arc<Shared>, id: Ident, mut ctrl: mpsc::Receiver<Ctrl>) {
    let mut waiter: Option<oneshot::Sender<Ready>> = None;
    let mut want_online = false;
    let mut ever_online = false;
    let mut failures = 0u32;
    let mut rng = Rng(0x5eed ^ id.index as u64);
    loop {
        if !want_online {
            match ctrl.recv().await {
                None => return,
                Some(Ctrl::Connect(tx)) => {
                    waiter = Some(tx);
                    want_online = true;
                    failures = 0;
                }
                Some(Ctrl::Disconnect(_, ack)) => {
                    let _ = ack.send(());
                }
                Some(Ctrl::Shutdown(ack)) => {
                    let _ = ack.send(());
                    return;
                }
            }
            continue;
        }
        let t0 = Instant::now();
        match join(&sh, &id).await {
            Ok(c) => {
                let mut s = conn::Serve::new(&sh, &id, c, ever_online, t0);
                let end = s.run(&mut ctrl, &mut waiter).await;
                ever_online |= s.was_ready();
                failures = 0;
                match end {
                    End::Lost(reason) => {
                        tracing::debug!(node = %id.authid, %reason, "connection lost");
                        match backoff(&mut ctrl, &mut waiter, &mut rng, 1).await {
                            Next::Retry => {}
                            Next::Idle => want_online = false,
                            Next::Stop => return,
                        }
                    }
                    End::Left => want_online = false,
                    End::Reconnect => {}
                    End::Shutdown => return,
                }
            }
            Err(JoinError::Fatal(reason)) => {
                Counters::add(&sh.counters.connect_failures, 1);
                tracing::warn!(node = %id.authid, %reason, "node refused");
                fail(&mut waiter, reason);
                want_online = false;
            }
            Err(JoinError::Transient(reason)) => {
                Counters::add(&sh.counters.connect_failures, 1);
                failures += 1;
                if failures >= ATTEMPTS && waiter.is_some() {
                    fail(&mut waiter, reason);
                    want_online = false;
                } else {
                    match backoff(&mut ctrl, &mut waiter, &mut rng, failures).await {
                        Next::Retry => {}
                        Next::Idle => want_online = false,
                        Next::Stop => return,
                    }
                }
            }
        }
    }
}

fn fail(waiter: &mut Option<oneshot::Sender<Ready>>, reason: String) {
    if let Some(tx) = waiter.take() {
        let _ = tx.send(Err(reason));
    }
}

/// Connects and joins under the fleet's concurrency gate, bounded by [`JOIN_TIMEOUT`].
async fn join(sh: &Shared, id: &Ident) -> Result<conn::Joined, JoinError> {
    let _permit = sh
        .connect_gate
        .acquire()
        .await
        .map_err(|_| JoinError::Fatal("fleet closed".into()))?;
    let source = sh.sources[id.index % sh.sources.len()];
    match tokio::time::timeout(JOIN_TIMEOUT, conn::join(sh, id, source)).await {
        Ok(r) => r,
        Err(_) => Err(JoinError::Transient("join timed out".into())),
    }
}

/// What to do after a backoff.
enum Next {
    Retry,
    Idle,
    Stop,
}

/// Waits before reconnecting (1-3 s, growing with `attempt`, at most 10 s) while still
/// honouring commands: a connect request connects at once, a disconnect request stays offline.
async fn backoff(
    ctrl: &mut mpsc::Receiver<Ctrl>,
    waiter: &mut Option<oneshot::Sender<Ready>>,
    rng: &mut Rng,
    attempt: u32,
) -> Next {
    let base = (1u64 << attempt.min(3)).min(10) as f64;
    let wait = Duration::from_secs_f64(base * rng.range(0.5, 1.5));
    let deadline = tokio::time::Instant::now() + wait;
    tokio::select! {
        _ = tokio::time::sleep_until(deadline) => Next::Retry,
        c = ctrl.recv() => match c {
            None => Next::Stop,
            Some(Ctrl::Shutdown(ack)) => {
                let _ = ack.send(());
                Next::Stop
            }
            Some(Ctrl::Disconnect(_, ack)) => {
                let _ = ack.send(());
                Next::Idle
            }
            Some(Ctrl::Connect(tx)) => {
                *waiter = Some(tx);
                Next::Retry
            }
        }
    }
}
