//! The real `mrealm master start` binary as a child process, for the crash and shutdown tests:
//! started on a cbdir (optionally with an `mrealm.toml`), SIGKILLed or SIGTERMed, its exit
//! status and stderr collected. The binary is the one cargo builds for this package's tests
//! (`CARGO_BIN_EXE_mrealm`), or `$MREALM_BIN` (`scripts/crash-loop` runs a copy). The session
//! helpers come from the master's test fixture (`crates/master/tests/common`), included by
//! path as `common` by the tests that use this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{cryptosign_opts, join, SUPERUSER};
use wamp_client::Session;
use wamp_proto::cryptosign::LEN;
use wamp_proto::time::now_ns;
use wamp_proto::{dict, Value};

/// `$MREALM_BIN`, else the binary cargo built for these tests.
pub fn binary() -> PathBuf {
    std::env::var_os("MREALM_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_mrealm")),
        PathBuf::from,
    )
}

/// A master's directory: a superuser key, `cb/` with an optional `mrealm.toml`, and the
/// binary to start on it.
pub struct MasterDir {
    pub bin: PathBuf,
    pub dir: tempfile::TempDir,
    pub key: PathBuf,
}

impl MasterDir {
    pub fn new(config: &str) -> MasterDir {
        let bin = binary();
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("default.pub");
        crate::common::write_pub(&key, &SUPERUSER, "user", &[("user-id", "unknown".into())]);
        // these tests write heartbeats back to back on purpose: no per-node rate limit
        let config = format!("max_heartbeat_rate = 0\n{config}");
        write_config(&dir.path().join("cb"), &config);
        MasterDir { bin, dir, key }
    }

    pub fn cbdir(&self) -> PathBuf {
        self.dir.path().join("cb")
    }

    pub fn start(&self) -> MasterProc {
        MasterProc::start(&self.bin, &self.cbdir(), &self.key)
    }
}

/// A running `mrealm master start`; SIGKILLed and reaped on drop.
pub struct MasterProc {
    child: Child,
    pub url: String,
    /// stderr lines so far.
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl MasterProc {
    /// Starts the master on `cbdir` (port 0) with superuser key `key`; waits for its URL.
    pub fn start(bin: &Path, cbdir: &Path, key: &Path) -> MasterProc {
        Self::try_start(bin, cbdir, key).unwrap_or_else(|e| panic!("master starts: {e}"))
    }

    /// Like [`MasterProc::start`]; `Err` with the stderr if it exits instead.
    pub fn try_start(bin: &Path, cbdir: &Path, key: &Path) -> Result<MasterProc, String> {
        let mut child = Command::new(bin)
            .args(["master", "start", "--cbdir"])
            .arg(cbdir)
            .args(["--listen", "127.0.0.1:0"])
            .env("CROSSBAR_FABRIC_SUPERUSER", key)
            .env_remove("CROSSBAR_WATCH_TO_PAIR")
            .env_remove("CROSSBAR_FABRIC_URL")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn: {e}"))?;
        let stdout = child.stdout.take().ok_or("stdout")?;
        let stderr = child.stderr.take().ok_or("stderr")?;
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let l = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                l.lock().expect("lock").push(line);
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("mrealm master listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let mut proc = MasterProc {
            child,
            url: String::new(),
            stderr: lines,
        };
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(url) => {
                proc.url = url;
                Ok(proc)
            }
            Err(_) => {
                let status = proc.wait_for(Duration::from_secs(2));
                Err(format!("no URL (exit {status:?}): {}", proc.stderr_text()))
            }
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM.
    pub fn term(&self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
    }

    /// Waits up to `limit` for the exit; `None` if still running.
    pub fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Everything written to stderr so far.
    pub fn stderr_text(&self) -> String {
        self.stderr.lock().expect("lock").join("\n")
    }
}

impl Drop for MasterProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Writes `<cbdir>/mrealm.toml`.
pub fn write_config(cbdir: &Path, toml: &str) {
    std::fs::create_dir_all(cbdir).expect("cbdir");
    std::fs::write(cbdir.join("mrealm.toml"), toml).expect("mrealm.toml");
}

/// The secret seed of test node `i` of run `salt`.
pub fn secret(i: usize, salt: u64) -> [u8; LEN] {
    let mut s = [0u8; LEN];
    s[..8].copy_from_slice(&(i as u64).to_le_bytes());
    s[8..16].copy_from_slice(&salt.to_le_bytes());
    s[31] = 0x43;
    s
}

/// Joins as the superuser on `realm` (`None`: global), optionally requesting `role`.
pub async fn superuser_at(url: &str, realm: Option<&str>, role: Option<&str>) -> Session {
    let mut opts = cryptosign_opts(SUPERUSER).authid("unknown");
    opts.realm = realm.map(str::to_owned);
    opts.authrole = role.map(str::to_owned);
    join(url, opts).await.expect("superuser joins")
}

/// Joins as edge node `secret`.
pub async fn node_at(url: &str, secret: [u8; LEN]) -> Session {
    join(url, cryptosign_opts(secret).authrole("node"))
        .await
        .expect("node joins")
}

/// A node heartbeat as edge nodes send it.
pub fn node_hb(seq: u64) -> Value {
    let system = dict! {
        "cpu" => dict! { "idle" => 75.0, "user" => 20.0, "system" => 5.0 },
        "memory" => dict! { "percent" => 40.5, "total" => 8_000_000_000u64 },
        "disk" => dict! { "read_bytes" => 4096 },
        "network" => dict! { "bytes_recv" => 99, "connection" => dict! { "AF_INET" => 3 } },
    };
    dict! {
        "timestamp" => now_ns(), "period" => 10, "mrealm_id" => "crash", "seq" => seq,
        "workers" => dict! { "router" => 1, "controller" => 1 }, "state" => 1, "system" => system,
    }
    .into()
}
