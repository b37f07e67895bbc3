//! Tuning of a reconcile runtime: [`RuntimeConfig`] and the retry [`Backoff`] that the
//! default error policy applies. Pure data and arithmetic; nothing here panics on odd values.

use std::time::Duration;

/// How a runtime schedules its reconciles.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeConfig {
    /// Reconciles in flight at once, across keys (0 is taken as 1).
    pub concurrency: usize,
    /// Trigger every known key once per period (`None`: only triggers and requeues).
    pub resync: Option<Duration>,
    /// Longest one reconcile may run; then its future is dropped and the run counts as a
    /// failure ([`super::ReconcileError::TimedOut`]).
    pub reconcile_timeout: Duration,
    /// The retry delays of the default error policy.
    pub backoff: Backoff,
}

impl Default for RuntimeConfig {
    /// 16 at once, no resync, 60 s per run, backoff 1 s doubling up to 5 min.
    fn default() -> Self {
        RuntimeConfig {
            concurrency: 16,
            resync: None,
            reconcile_timeout: Duration::from_secs(60),
            backoff: Backoff::default(),
        }
    }
}

/// Exponential backoff: the n-th consecutive failure waits `initial * factor^(n-1)`,
/// capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The delay after the first failure.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
    /// Growth per further failure (below 1.0, or not a number, is taken as 1.0).
    pub factor: f64,
}

impl Default for Backoff {
    /// 1 s, 2 s, 4 s, ... up to 5 minutes.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
            factor: 2.0,
        }
    }
}

impl Backoff {
    /// The delay after `failures` consecutive failures (0 is taken as 1).
    pub fn delay(&self, failures: u32) -> Duration {
        let exponent = i32::try_from(failures.saturating_sub(1)).unwrap_or(i32::MAX);
        let factor = if self.factor >= 1.0 { self.factor } else { 1.0 };
        let secs = self.initial.as_secs_f64() * factor.powi(exponent);
        if !secs.is_finite() || secs >= self.max.as_secs_f64() {
            return self.max;
        }
        Duration::try_from_secs_f64(secs).map_or(self.max, |d| d.min(self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn backoff_doubles_from_initial_and_stops_at_max() {
        let b = Backoff {
            initial: secs(1),
            max: secs(10),
            factor: 2.0,
        };
        let delays: Vec<_> = (1..=6).map(|n| b.delay(n)).collect();
        assert_eq!(
            delays,
            [secs(1), secs(2), secs(4), secs(8), secs(10), secs(10)]
        );
        assert_eq!(b.delay(0), secs(1));
        assert_eq!(b.delay(u32::MAX), secs(10));
    }

    #[test]
    fn backoff_with_odd_values_never_panics() {
        for factor in [f64::NAN, f64::INFINITY, -3.0, 0.5, 1e300] {
            let b = Backoff {
                initial: Duration::MAX,
                max: Duration::MAX,
                factor,
            };
            assert_eq!(b.delay(3), Duration::MAX, "factor {factor}");
        }
        let flat = Backoff {
            initial: secs(3),
            max: secs(60),
            factor: 0.1,
        };
        assert_eq!(flat.delay(5), secs(3));
    }
}
