//! CPU time and resident memory of a process tree from `/proc`, for the master benchmarks.
//!
//! The Python master is several processes (controller, router worker, ...); mrealm is one. A
//! [`TreeSample`] sums utime + stime and RSS over the root and all its descendants alive at the
//! moment of sampling (descendants found through the `ppid` field of every `/proc/<pid>/stat`).

use std::collections::HashMap;

/// Clock ticks per second in `/proc/<pid>/stat` (`USER_HZ`, 100 on Linux).
const USER_HZ: f64 = 100.0;
/// Bytes per page for the `rss` field (4 KiB on x86_64 and aarch64 Linux by default).
const PAGE: u64 = 4096;

/// One reading of a process tree.
#[derive(Debug, Clone, Default)]
pub(super) struct TreeSample {
    /// utime + stime of all processes of the tree, seconds.
    pub cpu_s: f64,
    /// Resident set size summed over the tree, bytes.
    pub rss: u64,
    /// The processes read (root first).
    pub pids: Vec<u32>,
}

impl TreeSample {
    /// Reads the tree rooted at `root`; `None` if the root is gone.
    pub(super) fn take(root: u32) -> Option<TreeSample> {
        let stats = all_stats();
        stats.get(&root)?;
        let pids = descendants(root, &stats);
        let mut sample = TreeSample::default();
        for pid in &pids {
            if let Some(s) = stats.get(pid) {
                sample.cpu_s += s.cpu_s;
                sample.rss += s.rss_pages * PAGE;
            }
        }
        sample.pids = pids;
        Some(sample)
    }

    /// Reads the tree if a root is given.
    pub(super) fn maybe(root: Option<u32>) -> Option<TreeSample> {
        TreeSample::take(root?)
    }

    /// CPU seconds spent since `earlier` (by processes alive at both readings, roughly).
    pub(super) fn cpu_since(&self, earlier: &TreeSample) -> f64 {
        (self.cpu_s - earlier.cpu_s).max(0.0)
    }
}

/// CPU seconds of this process (the load generator).
pub(super) fn own_cpu_s() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_stat(&text).map(|s| s.cpu_s)
}

/// The fields of one `stat` line that we use.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Stat {
    ppid: u32,
    cpu_s: f64,
    rss_pages: u64,
}

/// Every readable `/proc/<pid>/stat`, by pid.
fn all_stats() -> HashMap<u32, Stat> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let path = format!("/proc/{pid}/stat");
        if let Some(stat) = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| parse_stat(&t))
        {
            out.insert(pid, stat);
        }
    }
    out
}

/// `root` and all its descendants, breadth first.
fn descendants(root: u32, stats: &HashMap<u32, Stat>) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (pid, s) in stats {
        children.entry(s.ppid).or_default().push(*pid);
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        if let Some(kids) = children.get(&out[i]) {
            out.extend(kids.iter().copied().filter(|k| *k != root));
        }
        i += 1;
    }
    out
}

/// Parses a `stat` line. The command name may hold spaces and parentheses, so fields are
/// counted after the last `)`: state(3) ppid(4) ... utime(14) stime(15) ... rss(24).
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i)?.parse::<u64>().ok();
    Some(Stat {
        ppid: u32::try_from(num(1)?).ok()?,
        cpu_s: (num(11)? + num(12)?) as f64 / USER_HZ,
        rss_pages: num(21)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ppid_cpu_and_rss() {
        let line = "42 (my (odd) name) S 7 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 99 \
                    1000 33 18446744073709551615";
        let s = parse_stat(line).map(|s| (s.ppid, s.cpu_s, s.rss_pages));
        assert_eq!(s, Some((7, 3.0, 33)));
    }

    #[test]
    fn finds_own_process_and_children() {
        let me = std::process::id();
        let mut child = std::process::Command::new("sleep").arg("5").spawn().ok();
        let sample = TreeSample::take(me);
        let pids = sample.map(|s| s.pids).unwrap_or_default();
        assert_eq!(pids.first(), Some(&me));
        if let Some(c) = child.as_mut() {
            assert!(pids.contains(&c.id()), "child {} not in {pids:?}", c.id());
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
