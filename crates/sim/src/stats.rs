//! Fleet-wide counters (lock-free, shared by every node task) and the end-of-run [`Summary`].

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use serde::Serialize;

/// Live counters, incremented by node tasks.
#[derive(Debug, Default)]
pub struct Counters {
    pub online: AtomicUsize,
    pub heartbeats_sent: AtomicU64,
    pub heartbeats_acked: AtomicU64,
    pub invocations: AtomicU64,
    pub trace_events: AtomicU64,
    pub connects: AtomicU64,
    pub reconnects: AtomicU64,
    pub disconnects: AtomicU64,
    pub errors: AtomicU64,
    pub connect_failures: AtomicU64,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FleetStats {
    pub nodes: usize,
    pub online: usize,
    pub heartbeats_sent: u64,
    pub heartbeats_acked: u64,
    pub invocations: u64,
    pub trace_events: u64,
    pub connects: u64,
    pub reconnects: u64,
    pub disconnects: u64,
    pub errors: u64,
    pub connect_failures: u64,
}

impl Counters {
    pub fn snapshot(&self, nodes: usize) -> FleetStats {
        FleetStats {
            nodes,
            online: self.online.load(Relaxed),
            heartbeats_sent: self.heartbeats_sent.load(Relaxed),
            heartbeats_acked: self.heartbeats_acked.load(Relaxed),
            invocations: self.invocations.load(Relaxed),
            trace_events: self.trace_events.load(Relaxed),
            connects: self.connects.load(Relaxed),
            reconnects: self.reconnects.load(Relaxed),
            disconnects: self.disconnects.load(Relaxed),
            errors: self.errors.load(Relaxed),
            connect_failures: self.connect_failures.load(Relaxed),
        }
    }

    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Relaxed);
    }
}

/// What a run did, printed and optionally written as JSON at the end.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    #[serde(flatten)]
    pub stats: FleetStats,
    /// Nodes online just before the graceful shutdown.
    pub online_at_end: usize,
    /// Time from the first connect to all nodes online (`None`: never reached).
    pub time_to_all_online_s: Option<f64>,
    /// How long the fleet ran.
    pub elapsed_s: f64,
    /// Resident memory of this process at the end, in bytes (Linux only).
    pub rss_bytes: Option<u64>,
}

impl Summary {
    /// Human-readable lines.
    pub fn render(&self) -> String {
        let s = &self.stats;
        let all = self
            .time_to_all_online_s
            .map_or_else(|| "never".to_owned(), |t| format!("{t:.2} s"));
        let rss = self.rss_bytes.map_or_else(
            || "n/a".to_owned(),
            |b| format!("{:.1} MiB ({:.1} KiB/node)", mib(b), kib_per(b, s.nodes)),
        );
        format!(
            "nodes online        {}/{}\n\
             time to all-online  {all}\n\
             heartbeats sent     {} (acknowledged {})\n\
             invocations         {} answered\n\
             trace events        {}\n\
             reconnects          {} (disconnects {}, connect failures {})\n\
             errors              {}\n\
             elapsed             {:.1} s\n\
             sim RSS             {rss}",
            self.online_at_end,
            s.nodes,
            s.heartbeats_sent,
            s.heartbeats_acked,
            s.invocations,
            s.trace_events,
            s.reconnects,
            s.disconnects,
            s.connect_failures,
            s.errors,
            self.elapsed_s,
        )
    }
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn kib_per(b: u64, n: usize) -> f64 {
    b as f64 / 1024.0 / n.max(1) as f64
}

/// Resident set size of this process (from `/proc/self/statm`).
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // std has no API for the page size.
    #[allow(unsafe_code)]
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// How long ago, in seconds.
pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}
