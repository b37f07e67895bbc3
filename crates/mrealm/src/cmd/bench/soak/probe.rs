//! The soak's measuring side: the master process under test (started, its URL read, stopped
//! with SIGTERM) and the sampler reading its VmRSS and open FDs from `/proc` at a fixed pace.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use mrealm_sim::Fleet;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

use super::verdict::mib;
use super::SoakArgs;

/// One reading of the master (and of the fleet as the simulator sees it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Sample {
    /// Seconds since the churn began (negative while ramping up).
    pub t: f64,
    pub phase: u8,
    pub rss_kib: u64,
    /// Size of the master's database file, KiB.
    pub db_kib: u64,
    pub fds: u64,
    pub online: usize,
}

pub(super) const RAMP: u8 = 0;
pub(super) const CHURN: u8 = 1;
pub(super) const SETTLE: u8 = 2;
pub(super) const PHASES: [&str; 3] = ["ramp", "churn", "settle"];

/// VmRSS (KiB) and the number of open FDs of `pid`.
pub(super) fn probe(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let rss_kib = rss.split_whitespace().next()?.parse().ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some((rss_kib, fds))
}

/// The disk space a file occupies, KiB (0 if missing): its allocated blocks, not its length —
/// redb grows the file ahead of use, by doubling.
fn file_kib(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).map_or(0, |m| m.blocks() / 2)
}

/// Samples the master every `every` in a task until stopped; prints a line a minute.
pub(super) struct Sampler {
    phase: Arc<AtomicU8>,
    churn_start: Arc<Mutex<Option<Instant>>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Vec<Sample>>,
}

impl Sampler {
    pub(super) fn spawn(pid: u32, db: PathBuf, fleet: Fleet, every: Duration) -> Sampler {
        let phase = Arc::new(AtomicU8::new(RAMP));
        let churn_start: Arc<Mutex<Option<Instant>>> = Arc::default();
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let (p, c) = (phase.clone(), churn_start.clone());
        let task = tokio::spawn(async move {
            let (t0, mut out, mut said) = (Instant::now(), Vec::new(), Instant::now());
            let mut tick = tokio::time::interval(every);
            while !*stopped.borrow() {
                tokio::select! { _ = tick.tick() => {}, _ = stopped.changed() => break }
                let origin = lock(&c).unwrap_or(t0);
                let t = secs_between(origin, Instant::now());
                let Some((rss_kib, fds)) = probe(pid) else {
                    break;
                };
                let s = Sample {
                    t,
                    phase: p.load(Relaxed),
                    rss_kib,
                    db_kib: file_kib(&db),
                    fds,
                    online: fleet.stats().online,
                };
                if said.elapsed() >= Duration::from_secs(60) {
                    said = Instant::now();
                    eprintln!(
                        "soak: {:>6.0} s {:<6} RSS {:.1} MiB, db {:.1} MiB, {} FDs, {} online",
                        t,
                        PHASES[s.phase as usize],
                        mib(rss_kib),
                        mib(s.db_kib),
                        fds,
                        s.online
                    );
                }
                out.push(s);
            }
            out
        });
        Sampler {
            phase,
            churn_start,
            stop,
            task,
        }
    }

    pub(super) fn start_churn(&self) {
        *lock(&self.churn_start) = Some(Instant::now());
        self.set_phase(CHURN);
    }

    pub(super) fn set_phase(&self, phase: u8) {
        self.phase.store(phase, Relaxed);
    }

    pub(super) async fn stop(self) -> Vec<Sample> {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }
}

/// `b - a` in seconds, negative if `b` is earlier.
fn secs_between(a: Instant, b: Instant) -> f64 {
    match b.checked_duration_since(a) {
        Some(d) => d.as_secs_f64(),
        None => -a.duration_since(b).as_secs_f64(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The master under test: `mrealm master start` on `<dir>/master`, log in `<dir>/master.log`.
pub(super) struct MasterProc {
    child: Child,
    pub pid: u32,
    pub url: String,
    pub log: PathBuf,
    pub cbdir: PathBuf,
    _stdout: BufReader<ChildStdout>,
}

impl MasterProc {
    pub(super) async fn start(args: &SoakArgs, dir: &Path) -> anyhow::Result<MasterProc> {
        let cbdir = dir.join("master");
        std::fs::create_dir_all(&cbdir)?;
        // Room for every node, the soak's own sessions and churn overlap.
        let toml = format!("max_connections = {}\n", args.nodes + 256);
        std::fs::write(cbdir.join("mrealm.toml"), toml)?;
        let log = dir.join("master.log");
        let bin = match &args.master_bin {
            Some(b) => b.clone(),
            None => std::env::current_exe()?,
        };
        let mut child = Command::new(&bin)
            .args(["master", "start", "--listen", "127.0.0.1:0", "--cbdir"])
            .arg(&cbdir)
            .env("CROSSBAR_FABRIC_SUPERUSER", dir.join("default.pub"))
            .env("MREALM_LOG", &args.master_log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let pid = child.id().context("the master exited at once")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout);
        let url = tokio::time::timeout(Duration::from_secs(30), listen_url(&mut lines))
            .await
            .context("the master did not print its URL within 30 s")??;
        eprintln!("soak: master pid {pid} at {url}, log {}", log.display());
        Ok(MasterProc {
            child,
            pid,
            url,
            log,
            cbdir,
            _stdout: lines,
        })
    }

    /// SIGTERM, then up to 60 s for a graceful exit (else SIGKILL); the exit code.
    pub(super) async fn stop(&mut self) -> Option<i32> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        match tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await {
            Ok(Ok(status)) => status.code(),
            _ => {
                let _ = self.child.kill().await;
                None
            }
        }
    }
}

async fn listen_url(lines: &mut BufReader<ChildStdout>) -> anyhow::Result<String> {
    let mut line = String::new();
    loop {
        line.clear();
        anyhow::ensure!(
            lines.read_line(&mut line).await? > 0,
            "the master exited before listening"
        );
        if let Some(i) = line.find("ws://") {
            return Ok(line[i..].trim().to_owned());
        }
    }
}
