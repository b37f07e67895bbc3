//! The CI soak (issue #8): `mrealm bench soak` for 5 minutes against a master of its own, on
//! the debug build: 1,000 simulated nodes with a 2 s heartbeat, churning 20 % of the fleet per
//! minute (~1,000 departures, a third each GOODBYE, TCP drop and freeze), warm-up 60 s. It
//! passes only if the soak's verdict does (RSS and FDs flat, master log clean, every node
//! online again, heartbeats stored, clean SIGTERM); docs/operations.md ("Soak") explains
//! each check.
//! `MREALM_SOAK_DURATION` (e.g. `60s`) shortens the churn for a quick local run.

use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mrealm");

/// Runs the soak and returns (exit success, stdout, stderr), killing it after `limit`.
fn run_soak(args: &[&str], limit: Duration) -> (bool, String, String) {
    let child = Command::new(BIN)
        .args(["bench", "soak"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mrealm bench soak");
    let id = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(out) = rx.recv_timeout(limit) else {
        // SIGTERM lets the soak's master die with it (kill_on_drop).
        let _ = Command::new("kill").arg(id.to_string()).status();
        panic!("the soak did not finish within {limit:?}");
    };
    let out = out.expect("soak output");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn five_minute_soak_with_churn_passes() {
    let duration = std::env::var("MREALM_SOAK_DURATION").unwrap_or_else(|_| "5m".into());
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("report.json");
    let work = dir.path().join("work");
    let args = [
        "--duration",
        &duration,
        "--nodes",
        "1000",
        "--churn",
        "0.2",
        "--period",
        "2s",
        "--warmup",
        "60s",
        "--settle",
        "120s",
        "--dir",
        work.to_str().expect("utf-8 path"),
        "--json",
        report.to_str().expect("utf-8 path"),
    ];
    let (ok, stdout, stderr) = run_soak(&args, Duration::from_secs(20 * 60));
    let log = std::fs::read_to_string(work.join("master.log")).unwrap_or_default();
    let tail: String = log.lines().rev().take(20).collect::<Vec<_>>().join("\n");
    assert!(
        ok,
        "soak failed:\n{stdout}\n{stderr}\nmaster log (last lines, reversed):\n{tail}"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&report).expect("report"))
        .expect("report is JSON");
    assert_eq!(doc["passed"], true, "{stdout}");
    let checks = doc["checks"].as_array().expect("checks");
    assert!(checks.len() >= 8, "every check ran: {stdout}");
    assert!(checks.iter().all(|c| c["ok"] == true), "{stdout}");
    let churn = doc["samples"].as_array().expect("samples").iter();
    assert!(
        churn.filter(|s| s["phase"] == "churn").count() >= 25,
        "sampled the churn"
    );
    assert!(
        doc["sim"]["disconnects"].as_u64().unwrap_or(0) > 0,
        "the fleet churned"
    );
    let freezes = &doc["log"]["allowed"][0];
    assert!(
        freezes["count"].as_u64().unwrap_or(0) > 0,
        "frozen nodes were closed: {freezes}"
    );
}
