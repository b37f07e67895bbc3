//! Per-session token buckets for node heartbeats: one paired node flooding
//! `crossbarfabriccenter.node.on_heartbeat` / `on_worker_heartbeat` (issue 19.8: ~100 MB/s of
//! master memory and 35 MB/s of database before) is held to `max_heartbeat_rate` per second
//! (burst: twice that, at least [`MIN_BURST`]) at the router, before anything is routed, queued
//! or stored. A refused publish gets `wamp.error.not_authorized` when acknowledged; refusals are
//! counted and logged at most once per [`LOG_EVERY`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::warn;
use wamp_proto::Id;

/// Smallest burst a node gets (a node with many workers sends them all at once each period).
pub const MIN_BURST: f64 = 64.0;
/// Least time between two log lines about refused heartbeats.
pub const LOG_EVERY: Duration = Duration::from_secs(10);
/// Buckets are pruned every this many checks (those idle long enough to be full again).
const PRUNE_EVERY: u64 = 4096;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The heartbeat budget of every node session of one management realm.
#[derive(Debug)]
pub struct HeartbeatLimiter {
    rate: f64,
    burst: f64,
    /// Short critical sections only (no await inside): the router asks under its realm lock.
    buckets: Mutex<HashMap<Id, Bucket>>,
    checks: AtomicU64,
    refused: AtomicU64,
    logged: Mutex<(u64, Option<Instant>)>,
}

impl HeartbeatLimiter {
    /// `rate` heartbeats per second per node session; `None` for 0 (unlimited).
    pub fn new(rate: f64) -> Option<HeartbeatLimiter> {
        (rate > 0.0 && rate.is_finite()).then(|| HeartbeatLimiter {
            rate,
            burst: (rate * 2.0).max(MIN_BURST),
            buckets: Mutex::new(HashMap::new()),
            checks: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            logged: Mutex::new((0, None)),
        })
    }

    /// Takes one heartbeat from `session`'s budget; `false` when it is spent.
    pub fn allow(&self, session: Id) -> bool {
        self.allow_at(session, Instant::now())
    }

    fn allow_at(&self, session: Id, now: Instant) -> bool {
        let ok = {
            let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
            if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
                let full_after = Duration::from_secs_f64(self.burst / self.rate);
                buckets.retain(|_, b| now.duration_since(b.at) < full_after);
            }
            let b = buckets.entry(session).or_insert(Bucket {
                tokens: self.burst,
                at: now,
            });
            let elapsed = now.duration_since(b.at).as_secs_f64();
            b.tokens = (b.tokens + elapsed * self.rate).min(self.burst);
            b.at = now;
            let ok = b.tokens >= 1.0;
            if ok {
                b.tokens -= 1.0;
            }
            ok
        };
        if !ok {
            self.refused_one(session);
        }
        ok
    }

    fn refused_one(&self, session: Id) {
        let total = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        let mut logged = self.logged.lock().unwrap_or_else(|e| e.into_inner());
        if logged.1.is_some_and(|t| t.elapsed() < LOG_EVERY) {
            return;
        }
        warn!(
            session,
            refused = total - logged.0,
            rate = self.rate,
            "node heartbeats above max_heartbeat_rate refused"
        );
        *logged = (total, Some(Instant::now()));
    }

    /// Heartbeats refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// The refusal text.
    pub fn reason(&self) -> String {
        format!(
            "heartbeat rate above max_heartbeat_rate ({} per second per node): heartbeat refused",
            self.rate
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let l = HeartbeatLimiter::new(10.0).expect("limited");
        let t0 = Instant::now();
        let first = (0..100).filter(|_| l.allow_at(7, t0)).count();
        assert_eq!(first, 64, "the burst");
        assert!(!l.allow_at(7, t0));
        let later = t0 + Duration::from_secs(1);
        let more = (0..100).filter(|_| l.allow_at(7, later)).count();
        assert_eq!(more, 10, "one second at 10/s");
        assert!(l.allow_at(8, later), "another session has its own budget");
        assert_eq!(l.refused(), 36 + 1 + 90);
        assert!(HeartbeatLimiter::new(0.0).is_none());
    }
}
