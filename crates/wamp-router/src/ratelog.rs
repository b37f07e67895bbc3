//! Rate-limited log lines for what a peer can trigger at will (refused requests, refused
//! connections, aborted sessions): at most one line per kind every [`PERIOD`], carrying how many
//! were suppressed since the last one. A burst that once wrote 12,000 WARN lines writes one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// At most one line per kind this often.
pub const PERIOD: Duration = Duration::from_secs(10);

/// Milliseconds since the first use of a gate in this process.
fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// Lets one line of a kind through per [`PERIOD`] and counts the others.
#[derive(Debug, Default)]
pub struct Gate {
    /// When the next line may go out (ms since the epoch above); 0: at once.
    next: AtomicU64,
    suppressed: AtomicU64,
}

impl Gate {
    pub const fn new() -> Self {
        Gate {
            next: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(lines suppressed since the last one)` when a line may be written now.
    pub fn pass(&self) -> Option<u64> {
        let now = now_ms();
        let next = self.next.load(Ordering::Relaxed);
        let open = now >= next
            && self
                .next
                .compare_exchange(
                    next,
                    now + PERIOD.as_millis() as u64,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok();
        if open {
            Some(self.suppressed.swap(0, Ordering::AcqRel))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// `tracing::warn!` through a [`Gate`] of its own call site (or the given one), adding the
/// field `suppressed`.
macro_rules! warn_limited {
    (gate: $gate:expr, $($arg:tt)+) => {
        if let Some(suppressed) = $gate.pass() {
            tracing::warn!(suppressed, $($arg)+);
        }
    };
    ($($arg:tt)+) => {{
        static GATE: $crate::ratelog::Gate = $crate::ratelog::Gate::new();
        $crate::ratelog::warn_limited!(gate: GATE, $($arg)+);
    }};
}
pub(crate) use warn_limited;

#[cfg(test)]
mod tests {
    use super::Gate;

    #[test]
    fn one_line_per_period_with_the_count() {
        let g = Gate::new();
        assert_eq!(g.pass(), Some(0));
        for _ in 0..5 {
            assert_eq!(g.pass(), None);
        }
        // as if the period were over
        g.next.store(0, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(g.pass(), Some(5));
        assert_eq!(g.pass(), None);
    }
}
