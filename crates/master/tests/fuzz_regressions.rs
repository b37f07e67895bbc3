//! Inputs kept from fuzzing the master (`fuzz/` targets `config` and `heartbeat`, run by
//! `scripts/fuzz`), replayed on stable: every file under `tests/fuzz_regressions/<target>/`
//! goes through the same check as its fuzz target. The `EXPECTED` file of each directory lists
//! every input with its outcome: `ok`, or `err <text of the error>`.

use std::path::Path;
use std::time::Duration;

use master::hbcheck::{check_node_heartbeat, check_worker_heartbeat};
use master::MasterConfig;
use wamp_proto::codec::decode_value;
use wamp_proto::{Format, Value};

type Outcome = Result<(), String>;

/// Runs `check` on every input of `target` and compares with `EXPECTED`.
fn replay(target: &str, check: fn(&[u8]) -> Outcome) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let expected = std::fs::read_to_string(dir.join("EXPECTED")).expect("EXPECTED file");
    let mut seen = 0;
    for line in expected.lines().filter(|l| !l.trim().is_empty()) {
        let (file, want) = line.split_once(' ').unwrap_or((line, ""));
        let data = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let got = check(&data);
        match (want.trim(), &got) {
            ("ok", Ok(())) => {}
            (w, Err(e)) if w.strip_prefix("err ").is_some_and(|t| e.contains(t)) => {}
            (w, _) => panic!("{target}/{file}: expected {w}, got {got:?}"),
        }
        seen += 1;
    }
    let files = std::fs::read_dir(&dir).expect("dir").count() - 1;
    assert_eq!(
        seen, files,
        "{target}: every input must be listed in EXPECTED"
    );
    assert!(seen >= 2, "{target}: keep at least two inputs");
}

/// `mrealm.toml` text: an accepted configuration converts to every `Duration` the master
/// builds from it (these conversions panicked on `inf` and huge values before validation).
#[test]
fn config() {
    replay("config", |d| {
        let text = std::str::from_utf8(d).map_err(|e| e.to_string())?;
        let cfg = MasterConfig::from_toml(text).map_err(|e| e.to_string())?;
        for v in [
            cfg.watch_interval,
            cfg.ping_interval,
            cfg.ping_timeout,
            cfg.tick_interval,
            cfg.check_interval,
            cfg.check_timeout,
            cfg.log_retention,
            cfg.aggregate_retention,
        ] {
            assert!(
                v <= Duration::from_secs_f64(master::config::MAX_SECONDS),
                "{v:?}"
            );
        }
        Ok(())
    });
}

/// As the fuzz target: the first byte picks node (even) or worker (odd), then `args` as JSON.
#[test]
fn heartbeat() {
    replay("heartbeat", |d| {
        let (&pick, rest) = d.split_first().ok_or("empty")?;
        let args = match decode_value(Format::Json, rest).map_err(|e| e.to_string())? {
            Value::List(args) => args,
            _ => return Err("args is not a list".into()),
        };
        if pick % 2 == 1 {
            check_worker_heartbeat(&args)
        } else {
            check_node_heartbeat(&args).map(drop)
        }
    });
}
