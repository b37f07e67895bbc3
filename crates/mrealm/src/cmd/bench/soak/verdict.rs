//! The soak verdict's pure parts: flatness of RSS and open FDs over the judged samples
//! (medians of the first and last 20 %), the stored-heartbeat rule, and the scan of the master
//! log for WARN/ERROR lines with the allowlist of the ones churn causes.

use std::collections::BTreeMap;

/// WARN/ERROR lines the churn itself causes, and why they are expected.
pub const ALLOWED: &[(&str, &str)] = &[
    (
        "no pong within the ping timeout: closing",
        "a frozen node (churn kind Freeze) stops answering pings; the master closes it",
    ),
    (
        "peer stopped reading (write stalled): closing",
        "a frozen node stops reading; a write to it that stalls past the ping deadline closes it",
    ),
];

/// One line of the verdict.
#[derive(Debug, Clone)]
pub(super) struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

pub(super) fn check(name: &'static str, ok: bool, detail: String) -> Check {
    Check { name, ok, detail }
}

/// Each node ≥ 50 % of `expected`, all together ≥ 85 %.
pub(super) fn judge_heartbeats(counts: &[(String, Option<u64>)], expected: u64) -> Check {
    let got: Vec<u64> = counts.iter().map(|(_, c)| c.unwrap_or(0)).collect();
    let total: u64 = got.iter().sum();
    let want = expected * got.len() as u64;
    let low = counts
        .iter()
        .filter(|(_, c)| c.unwrap_or(0) * 2 < expected)
        .map(|(a, _)| a.as_str())
        .collect::<Vec<_>>();
    let ok = expected > 0 && low.is_empty() && total * 100 >= want * 85;
    let detail = format!(
        "{total} of {want} expected stored over {} nodes; below 50 %: {low:?}",
        got.len()
    );
    check("heartbeats stored", ok, detail)
}

/// Medians of the first and the last 20 % of `v` (at least one sample each); `None` below 5.
fn windows(v: &[u64]) -> Option<(u64, u64)> {
    if v.len() < 5 {
        return None;
    }
    let w = (v.len() / 5).max(1);
    Some((median(&v[..w]), median(&v[v.len() - w..])))
}

fn median(v: &[u64]) -> u64 {
    let mut s = v.to_vec();
    s.sort_unstable();
    s[s.len() / 2]
}

pub(super) fn rss_flat(rss_kib: &[u64], tolerance: f64, slack_kib: u64) -> Check {
    let Some((first, last)) = windows(rss_kib) else {
        return check(
            "RSS flat (net of db cache)",
            false,
            format!("only {} samples after the warm-up (need 5)", rss_kib.len()),
        );
    };
    let allowed = ((first as f64 * tolerance) as u64).max(slack_kib);
    let growth = last as f64 / first.max(1) as f64 - 1.0;
    let detail = format!(
        "median {:.1} MiB -> {:.1} MiB ({:+.1} %), allowed +{:.1} MiB",
        mib(first),
        mib(last),
        growth * 100.0,
        mib(allowed)
    );
    check(
        "RSS flat (net of db cache)",
        last <= first + allowed,
        detail,
    )
}

pub(super) fn fds_flat(fds: &[u64], ceiling: u64, slack: u64) -> Check {
    let Some((first, last)) = windows(fds) else {
        return check(
            "FDs flat",
            false,
            format!("only {} samples after the warm-up (need 5)", fds.len()),
        );
    };
    let max = fds.iter().copied().max().unwrap_or(0);
    let detail = format!("median {first} -> {last} (allowed +{slack}), max {max} (ceiling {ceiling} = baseline + nodes + {slack})");
    check("FDs flat", max <= ceiling && last <= first + slack, detail)
}

pub(super) fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The WARN/ERROR lines of a master log, sorted into allowed (by pattern) and unexpected.
#[derive(Debug, Default, PartialEq)]
pub(super) struct LogScan {
    pub allowed: BTreeMap<&'static str, usize>,
    pub unexpected: Vec<String>,
    pub unexpected_count: usize,
}

impl LogScan {
    pub(super) fn summary(&self) -> String {
        let first = self
            .unexpected
            .first()
            .map_or(String::new(), |l| format!("; first: {l}"));
        format!(
            "{} unexpected WARN/ERROR lines, allowed {:?}{first}",
            self.unexpected_count, self.allowed
        )
    }
}

pub(super) fn scan_log(log: &str) -> LogScan {
    let mut scan = LogScan::default();
    for line in log.lines() {
        let level = line.split_whitespace().nth(1).unwrap_or("");
        let bad = matches!(level, "WARN" | "ERROR") || line.contains("panicked");
        if !bad {
            continue;
        }
        match ALLOWED
            .iter()
            .find(|(p, _)| level == "WARN" && line.contains(p))
        {
            Some((p, _)) => *scan.allowed.entry(*p).or_default() += 1,
            None => {
                scan.unexpected_count += 1;
                if scan.unexpected.len() < 20 {
                    scan.unexpected.push(line.to_owned());
                }
            }
        }
    }
    scan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_rss_passes_and_growing_rss_fails() {
        let flat: Vec<u64> = (0..50).map(|i| 100_000 + (i % 3) * 1000).collect();
        assert!(rss_flat(&flat, 0.10, 0).ok);
        let growing: Vec<u64> = (0..50).map(|i| 100_000 + i * 1000).collect();
        assert!(!rss_flat(&growing, 0.10, 0).ok);
        assert!(
            rss_flat(&growing, 0.10, 64 * 1024).ok,
            "within the absolute slack"
        );
        assert!(!rss_flat(&flat[..4], 0.10, 0).ok, "too few samples fail");
    }

    #[test]
    fn leaking_fds_fail() {
        let flat = vec![1010u64; 30];
        assert!(fds_flat(&flat, 1100, 64).ok);
        let over: Vec<u64> = (0..30).map(|i| 1000 + i * 5).collect();
        assert!(!fds_flat(&over, 1100, 64).ok, "above the ceiling");
        assert!(
            !fds_flat(&over, 10_000, 64).ok,
            "last window grew more than the slack"
        );
    }

    #[test]
    fn log_scan_allows_only_listed_warnings() {
        let log = "2026-01-01T00:00:00Z  INFO x: session joined\n\
                   2026-01-01T00:00:01Z  WARN conn{p=1}: wamp_router::transport::websocket: no pong within the ping timeout: closing\n\
                   2026-01-01T00:00:02Z  WARN wamp_router::realm: outbound queue full: disconnecting slow session\n\
                   2026-01-01T00:00:03Z ERROR master: heartbeat writer failed\n\
                   thread 'tokio' panicked at src/x.rs:1:1\n";
        let scan = scan_log(log);
        assert_eq!(scan.allowed.values().sum::<usize>(), 1);
        assert_eq!(scan.unexpected_count, 3);
        assert!(scan_log("2026  INFO fine\n").unexpected.is_empty());
    }

    #[test]
    fn heartbeat_shortfall_fails() {
        let full: Vec<(String, Option<u64>)> =
            (0..4).map(|i| (format!("n{i}"), Some(30))).collect();
        assert!(judge_heartbeats(&full, 30).ok);
        let mut short = full.clone();
        short[0].1 = Some(10);
        assert!(!judge_heartbeats(&short, 30).ok, "one node below 50 %");
        short[0].1 = None;
        assert!(
            !judge_heartbeats(&short, 30).ok,
            "a failed query counts as none stored"
        );
        assert!(
            !judge_heartbeats(&full, 0).ok,
            "nothing expected is not a pass"
        );
    }

    #[test]
    fn windows_take_medians_of_the_edges() {
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(windows(&v), Some((2, 10)));
        assert_eq!(windows(&v[..4]), None);
    }
}
