//! Tests of the heartbeat history on a real database file.

use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use super::*;

const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_795_548_000 * SEC;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("t.db")).expect("open");
    (dir, store)
}

fn node_log(mrealm: Uuid, node: Uuid, ts: u64, cpu: f64) -> NodeLog {
    NodeLog {
        mrealm,
        node,
        timestamp: ts,
        metrics: Metrics {
            cpu: Some(cpu),
            mem: Some(cpu / 2.0),
        },
        doc: json!({"timestamp": ts, "seq": ts / SEC, "cpu": {"idle": 100.0 - cpu}}),
    }
}

fn worker_log(mrealm: Uuid, node: Uuid, worker: &str, ts: u64) -> WorkerLog {
    WorkerLog {
        mrealm,
        node,
        worker: worker.into(),
        timestamp: ts,
        metrics: Metrics::default(),
        doc: json!({"worker_id": worker, "type": "router"}),
    }
}

#[test]
fn node_logs_are_ranged_by_node_and_time_newest_first() {
    let (_d, s) = open();
    let (m, a, b) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let batch: Vec<NodeLog> = (0..10)
        .flat_map(|i| {
            [
                node_log(m, a, T0 + i * SEC, 10.0),
                node_log(m, b, T0 + i * SEC, 20.0),
            ]
        })
        .collect();
    s.append_node_logs(&batch).expect("append");
    let all = s.node_logs(m, a, Window::all(100)).expect("read");
    assert_eq!(all.len(), 10);
    assert!(all
        .iter()
        .all(|l| l.node == a && l.metrics.cpu == Some(10.0)));
    assert_eq!(all[0].timestamp, T0 + 9 * SEC, "newest first");
    let w = Window {
        from: T0 + 2 * SEC,
        until: T0 + 5 * SEC,
        limit: 100,
    };
    let ts: Vec<u64> = s
        .node_logs(m, a, w)
        .expect("read")
        .iter()
        .map(|l| l.timestamp)
        .collect();
    assert_eq!(ts, [5, 4, 3, 2].map(|i| T0 + i * SEC));
    assert_eq!(s.node_logs(m, a, Window::all(3)).expect("read").len(), 3);
    assert!(s
        .node_logs(Uuid::new_v4(), a, Window::all(9))
        .expect("read")
        .is_empty());
    assert_eq!(s.log_counts().expect("count"), (20, 0));
}

#[test]
fn same_nanosecond_records_are_all_kept() {
    let (_d, s) = open();
    let (m, n) = (Uuid::new_v4(), Uuid::new_v4());
    let batch = vec![
        node_log(m, n, T0, 1.0),
        node_log(m, n, T0, 2.0),
        node_log(m, n, T0, 3.0),
    ];
    s.append_node_logs(&batch).expect("append");
    s.append_node_logs(&batch[..1]).expect("append");
    let logs = s.node_logs(m, n, Window::all(10)).expect("read");
    assert_eq!(logs.len(), 4);
    assert_eq!(logs[0].timestamp, T0 + 3);
    assert_eq!(
        logs[0].doc["timestamp"],
        json!(T0 + 3),
        "doc time follows the key"
    );
}

#[test]
fn worker_ranges_do_not_overlap() {
    let (_d, s) = open();
    let (m, n) = (Uuid::new_v4(), Uuid::new_v4());
    let batch: Vec<WorkerLog> = (0..5)
        .flat_map(|i| ["r", "r1", "router1"].map(|w| worker_log(m, n, w, T0 + i * SEC)))
        .collect();
    s.append_worker_logs(&batch).expect("append");
    for w in ["r", "r1", "router1"] {
        let logs = s.worker_logs(m, n, w, Window::all(100)).expect("read");
        assert_eq!(logs.len(), 5, "worker {w}");
        assert!(logs
            .iter()
            .all(|l| l.worker == w && l.doc["worker_id"] == json!(w)));
    }
    assert!(s
        .worker_logs(m, n, "router", Window::all(9))
        .expect("read")
        .is_empty());
}

#[test]
fn retention_moves_old_records_into_aggregates_and_expires_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.db");
    let (m, n) = (Uuid::new_v4(), Uuid::new_v4());
    {
        let s = Store::open(&path).expect("open");
        // 20 minutes of heartbeats every 10 s, cpu 0..119
        let batch: Vec<NodeLog> = (0..120)
            .map(|i| node_log(m, n, T0 + i * 10 * SEC, i as f64))
            .collect();
        s.append_node_logs(&batch).expect("append");
        let workers: Vec<WorkerLog> = (0..120)
            .map(|i| worker_log(m, n, "w", T0 + i * 10 * SEC))
            .collect();
        s.append_worker_logs(&workers).expect("append");
        // keep the last 5 minutes raw
        let now = T0 + 20 * 60 * SEC;
        let st = s
            .apply_retention(Duration::from_secs(300), Duration::from_secs(3600), now)
            .expect("retention");
        assert_eq!(
            st,
            RetentionStats {
                raw_expired: 180,
                aggregates_expired: 0
            }
        );
    }
    let s = Store::open(&path).expect("reopen");
    let raw = s.node_logs(m, n, Window::all(1000)).expect("read");
    assert_eq!(raw.len(), 30);
    assert!(raw.iter().all(|l| l.timestamp >= T0 + 15 * 60 * SEC));
    let aggs = s.node_aggregates(m, n, Window::all(100)).expect("aggs");
    assert_eq!(aggs.len(), 3, "three full 5-minute buckets");
    let total: u64 = aggs.iter().map(|a| a.count).sum();
    assert_eq!(total, 90);
    let oldest = aggs.last().expect("oldest");
    assert_eq!(oldest.bucket, T0 - T0 % AGGREGATE_BUCKET_NS);
    assert_eq!(
        s.worker_aggregates(m, n, "w", Window::all(9))
            .expect("w")
            .len(),
        3
    );
    check_first_bucket(&s, m, n);
    // much later: everything raw goes to aggregates, and aggregates older than 1 h go
    let later = T0 + 3 * 3600 * SEC;
    let st = s
        .apply_retention(Duration::from_secs(300), Duration::from_secs(3600), later)
        .expect("retention");
    assert_eq!(st.raw_expired, 60);
    assert_eq!(st.aggregates_expired, 8);
    assert_eq!(s.log_counts().expect("count"), (0, 0));
    assert!(s
        .node_aggregates(m, n, Window::all(9))
        .expect("aggs")
        .is_empty());
}

fn check_first_bucket(s: &Store, m: Uuid, n: Uuid) {
    let aggs = s.node_aggregates(m, n, Window::all(100)).expect("aggs");
    let first = aggs.iter().find(|a| a.bucket <= T0).expect("bucket of T0");
    let in_first = (AGGREGATE_BUCKET_NS - T0 % AGGREGATE_BUCKET_NS).div_ceil(10 * SEC);
    assert_eq!(first.count, in_first);
    assert_eq!(first.cpu.min, Some(0.0));
    assert_eq!(first.cpu.max, Some((in_first - 1) as f64));
    let avg = first.cpu.avg().expect("avg");
    assert!((avg - (in_first - 1) as f64 / 2.0).abs() < 1e-9);
    assert_eq!(first.last_timestamp, T0 + (in_first - 1) * 10 * SEC);
}

#[test]
fn retention_merges_into_a_partly_filled_bucket_and_respects_scope() {
    let (_d, s) = open();
    let (m, other, n) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let base = T0 - T0 % AGGREGATE_BUCKET_NS;
    let batch: Vec<NodeLog> = (0..30)
        .flat_map(|i| {
            [
                node_log(m, n, base + i * 10 * SEC, 5.0),
                node_log(other, n, base + i * 10 * SEC, 5.0),
            ]
        })
        .collect();
    s.append_node_logs(&batch).expect("append");
    let keep = Duration::from_secs(3600);
    // cut in the middle of the bucket, then at its end
    let st = s
        .apply_retention_in(m, keep, keep * 10, base + 3600 * SEC + 100 * SEC)
        .expect("r1");
    assert_eq!(st.raw_expired, 10);
    let st = s
        .apply_retention_in(m, keep, keep * 10, base + 3600 * SEC + 300 * SEC)
        .expect("r2");
    assert_eq!(st.raw_expired, 20);
    let aggs = s.node_aggregates(m, n, Window::all(9)).expect("aggs");
    assert_eq!(aggs.len(), 1);
    assert_eq!(aggs[0].count, 30);
    assert_eq!(aggs[0].cpu.n, 30);
    assert_eq!(
        s.node_logs(other, n, Window::all(100))
            .expect("other")
            .len(),
        30,
        "other mrealm untouched"
    );
}

#[test]
fn retention_splits_large_backlogs_into_several_transactions() {
    let (_d, s) = open();
    let (m, n) = (Uuid::new_v4(), Uuid::new_v4());
    let count = retention::MAX_PER_TXN as u64 + 500;
    let batch: Vec<NodeLog> = (0..count)
        .map(|i| node_log(m, n, T0 + i * SEC, 1.0))
        .collect();
    s.append_node_logs(&batch).expect("append");
    let st = s
        .apply_retention(
            Duration::from_secs(1),
            Duration::from_secs(3600 * 24 * 365),
            T0 + count * SEC + 10 * SEC,
        )
        .expect("retention");
    assert_eq!(st.raw_expired, count);
    let aggs = s.node_aggregates(m, n, Window::all(10_000)).expect("aggs");
    assert_eq!(aggs.iter().map(|a| a.count).sum::<u64>(), count);
}
