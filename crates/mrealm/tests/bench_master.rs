//! Smoke test of the master benchmarks (`mrealm bench mgmt|idle|liveness`) against a master
//! the test starts: each runs briefly and writes its JSON with the expected shape. No timing is
//! asserted (benchmarks are not tests; see bench/master-vs-crossbar.sh).

mod common;

use common::{path_str, Master};
use serde_json::Value;

/// Runs `mrealm bench <args> --url --master-pid --superuser-key --json` and parses the JSON.
fn bench(m: &Master, args: &[&str]) -> Value {
    let out = m.dir.path().join(format!("{}.json", args[0]));
    let key = path_str(&m.dir.path().join("default.priv"));
    let pid = m.child.id().to_string();
    let json = path_str(&out);
    let common = [
        "--url",
        &m.url,
        "--master-pid",
        &pid,
        "--superuser-key",
        &key,
        "--json",
        &json,
    ];
    let full: Vec<&str> = ["bench"]
        .iter()
        .chain(args)
        .chain(&common)
        .copied()
        .collect();
    m.ok(&full);
    let text = std::fs::read_to_string(&out).expect("bench json");
    serde_json::from_str(&text).expect("valid json")
}

#[test]
fn mgmt_and_idle_write_their_results() {
    let m = Master::start();
    let doc = bench(
        &m,
        &["mgmt", "--pair", "3", "--duration", "0.3", "--warmup", "0"],
    );
    assert_eq!(doc["scenario"], "mgmt");
    assert_eq!(doc["params"]["paired_nodes"], 3);
    let phases = doc["results"].as_array().expect("phases");
    assert_eq!(phases.len(), 6, "3 procedures x 2 modes");
    for p in phases {
        assert!(p["calls"].as_u64().unwrap_or(0) > 0, "{p}");
        assert_eq!(p["errors"], 0, "{p}");
        assert!(p["master_cpu_s"].is_number(), "{p}");
    }
    let idle = bench(&m, &["idle", "--window", "0.5"]);
    assert!(
        idle["results"][0]["rss_bytes"].as_u64().unwrap_or(0) > 0,
        "{idle}"
    );
}

#[test]
fn liveness_sees_every_transition() {
    let m = Master::start();
    let args = [
        "liveness",
        "--nodes",
        "2",
        "--trials",
        "1",
        "--freeze-trials",
        "0",
    ];
    let doc = bench(&m, &args);
    for r in doc["results"].as_array().expect("results") {
        if r["event"] == "sim" {
            continue;
        }
        let samples = r["samples_ms"].as_array().expect("samples");
        assert!(samples.iter().all(Value::is_number), "missed an event: {r}");
    }
}
