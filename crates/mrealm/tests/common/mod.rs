//! Shared fixture of the CLI integration tests: a master process started by the test
//! (`mrealm master start` on a temporary directory with a superuser key from `mrealm init`),
//! and helpers that run the real `mrealm` binary against it with bounded waits.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_mrealm");

/// A master process, killed when dropped.
pub struct Master {
    pub child: Child,
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl Drop for Master {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Master {
    /// `mrealm init --dir <tmp>` and a master on `<tmp>/cb` with that superuser key.
    pub fn start() -> Master {
        let dir = tempfile::tempdir().expect("tempdir");
        let init = run_in(
            dir.path(),
            "",
            &["init", "--dir", &path_str(dir.path()), "--yes"],
        );
        assert!(init.status.success(), "init: {}", text(&init.stderr));
        let mut child = Command::new(BIN)
            .args(["master", "start", "--listen", "127.0.0.1:0", "--cbdir"])
            .arg(dir.path().join("cb"))
            .env("CROSSBAR_FABRIC_SUPERUSER", dir.path().join("default.pub"))
            .env("MREALM_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn master");
        let url = listen_url(&mut child);
        Master { child, url, dir }
    }

    pub fn superuser_key(&self) -> PathBuf {
        self.dir.path().join("default.pub")
    }

    /// Runs an operator command against this master with the profile from `init`.
    pub fn run(&self, args: &[&str]) -> Output {
        run_in(self.dir.path(), &self.url, args)
    }

    /// The binary against this master, not started yet.
    pub fn command(&self, args: &[&str]) -> Command {
        command(self.dir.path(), &self.url, args)
    }

    /// Runs a command that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }

    /// Runs a command with `--json` that must succeed; returns the parsed result.
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(&[args, &["--json"]].concat());
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }

    /// Runs a command that must fail with exit code 1 and one stderr line; returns that line.
    pub fn fails(&self, args: &[&str]) -> String {
        expect_failure(self.run(args), args)
    }
}

pub fn expect_failure(out: Output, args: &[&str]) -> String {
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail");
    let err = text(&out.stderr);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: one line: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// The binary with the profile at `dir` and (if given) the master URL, output piped.
pub fn command(dir: &Path, url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("CROSSBAR_FABRIC_SUPERUSER", dir.join("default.pub"))
        .env("HOME", dir)
        .env_remove("CROSSBAR_FABRIC_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !url.is_empty() {
        cmd.env("CROSSBAR_FABRIC_URL", url);
    }
    cmd
}

/// Runs the binary with the profile at `dir` and (if given) the master URL.
pub fn run_in(dir: &Path, url: &str, args: &[&str]) -> Output {
    let child = command(dir, url, args).spawn().expect("spawn");
    wait_bounded(child, args)
}

/// Waits for a command, killing it after 30 s.
pub fn wait_bounded(child: Child, args: &[&str]) -> Output {
    let id = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(out) => out.expect("output"),
        Err(_) => {
            let _ = Command::new("kill").arg(id.to_string()).status();
            panic!("{args:?} did not finish within 30 s");
        }
    }
}

/// Reads the master's "listening on ws://…" line (bounded).
pub fn listen_url(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(i) = line.find("ws://") {
                let _ = tx.send(line[i..].trim().to_owned());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the master prints its URL")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

pub fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

/// A node key pair made by `mrealm keys`; returns the key.pub path.
pub fn node_key(m: &Master, name: &str) -> String {
    let dir = m.dir.path().join(name);
    m.ok(&["keys", "--cbdir", &path_str(&dir), "--authid", name]);
    path_str(&dir.join("key.pub"))
}
