//! Graceful shutdown and restart of the real `mrealm master start` binary: SIGTERM under load
//! (node sessions publishing acknowledged heartbeats, a caller calling) drains and flushes within
//! `shutdown_grace` and exits 0; every acknowledged heartbeat is stored; after a restart on the
//! same cbdir the mrealms, pairings and traces are as before and the nodes, reconnecting, are
//! online again. Past the grace the master exits non-zero naming what it abandoned. The offline
//! backup (`mrealm master backup`) of the stopped master restores into a fresh master. Runs
//! the binary cargo builds for this package's tests.

#[path = "../../master/tests/common/mod.rs"]
mod common;
#[path = "common/master_proc.rs"]
mod master_proc;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use master_proc::{node_at, node_hb, secret, superuser_at, MasterDir, MasterProc};
use wamp_client::{PublishOptions, RegisterOptions, Session};
use wamp_proto::{dict, Dict, Value};

const NODES: usize = 4;
const TRACER: usize = 100;
const GRACE: Duration = Duration::from_secs(10);

/// mrealm `mr1` with nodes n0..n3 and the tracer node; traces `idle` (stopped) and `busy`
/// (running). Returns the node oids (tracer last).
async fn populate(url: &str) -> Vec<String> {
    let su = superuser_at(url, None, None).await;
    create_mrealm(&su, "mr1").await;
    let mut oids = Vec::new();
    for i in 0..NODES {
        oids.push(pair_oid(&su, &secret(i, 7), "mr1", &format!("n{i}")).await);
    }
    oids.push(pair_oid(&su, &secret(TRACER, 7), "mr1", "tracer").await);
    oids
}

async fn tracer(url: &str) -> Session {
    let n = node_at(url, secret(TRACER, 7)).await;
    for (proc, status) in [("start_trace", "running"), ("stop_trace", "stopped")] {
        let uri = format!("crossbarfabriccenter.node.tracer.worker.w1.{proc}");
        n.register(&uri, RegisterOptions::default(), move |inv| {
            let t = dict! { "id" => first_str(&inv.args), "worker_id" => "w1", "status" => status };
            async move { Ok((vec![t.into()], Dict::new())) }
        })
        .await
        .expect("register");
    }
    n
}

async fn traces(url: &str, tracer_oid: &str) {
    let o = superuser_at(url, Some("mr1"), Some("owner")).await;
    for id in ["idle", "busy"] {
        let w = Value::List(vec![Value::List(vec![tracer_oid.into(), "w1".into()])]);
        call(&o, &format!("{P}create_trace"), vec![id.into(), w])
            .await
            .expect("create_trace");
    }
    call(&o, &format!("{P}start_trace"), vec!["busy".into()])
        .await
        .expect("start_trace");
}

/// Publishes acknowledged heartbeats until the session ends; returns the acknowledged seqs.
async fn beats(n: Session, i: usize, acked: Arc<Mutex<Vec<(usize, u64)>>>) {
    let opts = PublishOptions {
        acknowledge: true,
        ..PublishOptions::default()
    };
    for seq in 0.. {
        let args = vec![format!("n{i}").into(), node_hb(seq)];
        let topic = "crossbarfabriccenter.node.on_heartbeat";
        if n.publish(topic, args, Dict::new(), opts.clone())
            .await
            .is_err()
        {
            return;
        }
        acked.lock().expect("lock").push((i, seq));
    }
}

async fn online(url: &str) -> BTreeSet<String> {
    let o = superuser_at(url, Some("mr1"), Some("owner")).await;
    let r = call(&o, &format!("{P}get_nodes"), vec!["online".into()]).await;
    str_set(&r.expect("get_nodes"))
}

async fn stored(url: &str, oid: &str) -> BTreeSet<u64> {
    let o = superuser_at(url, Some("mr1"), Some("owner")).await;
    let args = vec![oid.into(), Value::Null, Value::Null, 10_000.into()];
    let logs = call(&o, &format!("{P}get_node_logs"), args).await;
    let logs = logs.expect("get_node_logs");
    let list = logs.as_list().expect("list");
    list.iter()
        .filter_map(|d| d.get("seq").and_then(Value::as_u64))
        .collect()
}

async fn trace_status(url: &str, id: &str) -> String {
    let o = superuser_at(url, Some("mr1"), Some("owner")).await;
    let t = call(&o, &format!("{P}get_trace"), vec![id.into()]).await;
    let t = t.expect("get_trace");
    s(&t, "status").to_owned()
}

/// What the global API says about mrealms and nodes (for before/after comparisons).
async fn snapshot(url: &str) -> (Vec<String>, Vec<Value>) {
    let su = superuser_at(url, None, None).await;
    let mut nodes = Vec::new();
    for oid in str_list(&api(&su, "list_nodes", vec![]).await) {
        nodes.push(api(&su, "get_node", vec![oid.into()]).await);
    }
    (mrealm_names(&su).await, nodes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_drains_and_restarts() {
    let d = MasterDir::new("shutdown_grace = 10\n");
    let mut proc = d.start();
    let oids = populate(&proc.url).await;
    let _tracer = tracer(&proc.url).await;
    traces(&proc.url, &oids[NODES]).await;
    let before = snapshot(&proc.url).await;
    let acked: Arc<Mutex<Vec<(usize, u64)>>> = Arc::default();
    let mut load = Vec::new();
    for i in 0..NODES {
        let n = node_at(&proc.url, secret(i, 7)).await;
        load.push(tokio::spawn(beats(n, i, acked.clone())));
    }
    let caller = superuser_at(&proc.url, Some("mr1"), Some("owner")).await;
    load.push(tokio::spawn(async move {
        while call(&caller, &format!("{P}get_nodes"), vec![])
            .await
            .is_ok()
        {}
    }));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let t0 = Instant::now();
    proc.term();
    let status = proc.wait_for(GRACE + Duration::from_secs(5));
    let took = t0.elapsed();
    let status = status.expect("the master exits after SIGTERM");
    assert!(status.success(), "exit {status:?}: {}", proc.stderr_text());
    assert!(took < GRACE, "shutdown took {took:?}");
    assert!(proc.stderr_text().contains("shutdown complete"));
    for t in load {
        tokio::time::timeout(WAIT, t)
            .await
            .expect("sessions closed by the shutdown")
            .expect("task");
    }
    let acked = std::mem::take(&mut *acked.lock().expect("lock"));
    assert!(acked.len() > 10, "load ran: {} heartbeats", acked.len());
    eprintln!(
        "SIGTERM under load: exit 0 after {took:?}; {} acknowledged heartbeats",
        acked.len()
    );

    // restart: everything as before, every acknowledged heartbeat stored, nodes back online
    let proc = d.start();
    assert_eq!(snapshot(&proc.url).await, before);
    for (i, oid) in oids.iter().enumerate().take(NODES) {
        let have = stored(&proc.url, oid).await;
        let lost: Vec<u64> = acked
            .iter()
            .filter(|(n, seq)| *n == i && !have.contains(seq))
            .map(|(_, seq)| *seq)
            .collect();
        assert!(
            lost.is_empty(),
            "n{i}: acknowledged heartbeats lost: {lost:?}"
        );
    }
    assert_eq!(trace_status(&proc.url, "idle").await, "stopped");
    assert_eq!(trace_status(&proc.url, "busy").await, "running");
    assert!(online(&proc.url).await.is_empty());
    let mut again = Vec::new();
    for i in 0..NODES {
        again.push(node_at(&proc.url, secret(i, 7)).await);
    }
    let want: BTreeSet<String> = oids[..NODES].iter().cloned().collect();
    let deadline = Instant::now() + WAIT;
    while online(&proc.url).await != want {
        assert!(Instant::now() < deadline, "nodes not online again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_past_the_grace_exits_nonzero() {
    let d = MasterDir::new("shutdown_grace = 0\n");
    let mut proc = d.start();
    populate(&proc.url).await;
    // a flood of unacknowledged heartbeats keeps the controller's event loop busy at the SIGTERM
    let mut flood = Vec::new();
    for i in 0..2 {
        let n = node_at(&proc.url, secret(i, 7)).await;
        flood.push(tokio::spawn(async move {
            for seq in 0.. {
                let args = vec![format!("n{i}").into(), node_hb(seq)];
                let topic = "crossbarfabriccenter.node.on_heartbeat";
                let opts = PublishOptions::default();
                if n.publish(topic, args, Dict::new(), opts).await.is_err() {
                    return;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    proc.term();
    let status = proc.wait_for(Duration::from_secs(10)).expect("exits");
    assert!(!status.success(), "exit {status:?}");
    let err = proc.stderr_text();
    assert!(err.contains("shutdown grace exceeded"), "{err}");
    assert!(
        err.contains("mrealm mr1"),
        "names what was abandoned: {err}"
    );
    for f in flood {
        f.abort();
    }
}

fn backup(bin: &Path, cbdir: &Path, to: &Path) -> std::process::Output {
    Command::new(bin)
        .args(["master", "backup", "--cbdir"])
        .arg(cbdir)
        .arg("--to")
        .arg(to)
        .output()
        .expect("run mrealm master backup")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_backup_restores_into_a_fresh_master() {
    let d = MasterDir::new("");
    let mut proc = d.start();
    let oids = populate(&proc.url).await;
    let _tracer = tracer(&proc.url).await;
    traces(&proc.url, &oids[NODES]).await;
    let before = snapshot(&proc.url).await;
    let file = d.dir.path().join("backup.db");
    // refused while the master runs (it holds the database)
    let out = backup(&d.bin, &d.cbdir(), &file);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("running"), "{err}");
    assert!(!file.exists());
    proc.term();
    assert!(proc.wait_for(GRACE).is_some_and(|s| s.success()));
    let out = backup(&d.bin, &d.cbdir(), &file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // restore = put the file into a (fresh) cbdir as mrealm.db and start
    let fresh = d.dir.path().join("restored");
    std::fs::create_dir_all(&fresh).expect("mkdir");
    std::fs::copy(&file, fresh.join("mrealm.db")).expect("restore");
    let proc = MasterProc::start(&d.bin, &fresh, &d.key);
    assert_eq!(snapshot(&proc.url).await, before);
    assert_eq!(trace_status(&proc.url, "busy").await, "running");
}

#[test]
fn a_corrupt_database_is_refused_at_start() {
    let d = MasterDir::new("");
    std::fs::write(d.cbdir().join("mrealm.db"), vec![0x5a; 64 * 1024]).expect("garbage");
    let err = match MasterProc::try_start(&d.bin, &d.cbdir(), &d.key) {
        Ok(_) => panic!("the master started on a corrupt database"),
        Err(e) => e,
    };
    assert!(err.contains("database"), "{err}");
}
