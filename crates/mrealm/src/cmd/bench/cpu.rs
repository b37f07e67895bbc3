//! CPU time of processes from `/proc/<pid>/stat` (user + system), for CPU-seconds per request.
//!
//! Times are in clock ticks of `USER_HZ`, which is 100 on Linux for every common architecture.

/// Clock ticks per second in `/proc/<pid>/stat`.
const USER_HZ: f64 = 100.0;

/// CPU seconds of the router processes and of this process at one instant.
#[derive(Debug, Clone)]
pub(super) struct Sample {
    router: Option<f64>,
    own: Option<f64>,
}

impl Sample {
    /// Reads the summed CPU time of `pids` (none if a pid is missing or unreadable) and our own.
    pub(super) fn take(pids: &[u32]) -> Sample {
        let router = if pids.is_empty() {
            None
        } else {
            pids.iter()
                .map(|pid| cpu_seconds(&format!("/proc/{pid}/stat")))
                .sum::<Option<f64>>()
        };
        Sample {
            router,
            own: cpu_seconds("/proc/self/stat"),
        }
    }

    /// Router CPU seconds spent since `earlier`.
    pub(super) fn router_since(&self, earlier: &Sample) -> Option<f64> {
        Some(self.router? - earlier.router?)
    }

    /// Our own CPU seconds spent since `earlier`.
    pub(super) fn own_since(&self, earlier: &Sample) -> Option<f64> {
        Some(self.own? - earlier.own?)
    }
}

/// utime + stime of one process, in seconds.
fn cpu_seconds(path: &str) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_stat(&text)
}

/// Parses a `stat` line: fields after the `(comm)` are state, ppid, ..., utime (14th overall),
/// stime (15th). The command name may hold spaces and parentheses, so split after the last `)`.
fn parse_stat(text: &str) -> Option<f64> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utime_and_stime() {
        let line = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0";
        assert_eq!(parse_stat(line), Some(3.0));
    }

    #[test]
    fn reads_own_process() {
        assert!(cpu_seconds("/proc/self/stat").is_some());
    }
}
