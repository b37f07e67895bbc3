//! The controller's periodic loops under paused time: `on_tick` is published every
//! `tick_interval` with a counter that `get_status` reports too — no real waiting involved.

use std::time::Duration;

use master::{Master, MasterConfig};
use wamp_client::{CallOptions, Dict, JoinOptions, Session, SubscribeOptions, Transport, Value};

async fn start(dir: &std::path::Path) -> std::sync::Arc<Master> {
    let config = MasterConfig {
        cbdir: dir.to_path_buf(),
        watch_to_pair: Some(dir.join("nodes")), // makes mrealm "default"
        watch_interval: Duration::from_secs(3600),
        tick_interval: Duration::from_secs(5),
        ..MasterConfig::default()
    };
    std::fs::create_dir_all(dir.join("nodes")).expect("nodes dir");
    Master::start(config).await.expect("master starts")
}

/// An in-process session on `realm` (the master lets in-process sessions in as `trusted`).
async fn local(master: &Master, realm: &str) -> Session {
    let (tx, rx) = master.router().connect_local();
    Session::join(Transport::local(tx, rx), JoinOptions::realm(realm))
        .await
        .expect("join")
}

fn tick_of(v: &Value) -> u64 {
    v.get("tick").and_then(Value::as_u64).expect("tick")
}

#[tokio::test(start_paused = true)]
async fn on_tick_every_tick_interval() {
    let dir = tempfile::tempdir().expect("tempdir");
    let master = start(dir.path()).await;
    let s = local(&master, "default").await;
    let mut ticks = s
        .subscribe(
            "crossbarfabriccenter.mrealm.on_tick",
            SubscribeOptions::default(),
        )
        .await
        .expect("sub");
    let first = tokio::time::Instant::now();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let e = tokio::time::timeout(Duration::from_secs(6), ticks.recv())
            .await
            .expect("a tick within 6 s")
            .expect("event");
        seen.push((tick_of(&e.args[0]), first.elapsed()));
    }
    // consecutive counters, 5 s apart (paused time advances exactly)
    assert_eq!(seen[1].0, seen[0].0 + 1);
    assert_eq!(seen[2].0, seen[1].0 + 1);
    assert_eq!(seen[2].1 - seen[1].1, Duration::from_secs(5));
    assert_eq!(seen[1].1 - seen[0].1, Duration::from_secs(5));
    let status = s
        .call(
            "crossbarfabriccenter.mrealm.get_status",
            vec![],
            Dict::new(),
            CallOptions::default(),
        )
        .await
        .expect("get_status");
    assert_eq!(tick_of(&status.args[0]), seen[2].0);
    // nothing more until the next interval
    assert!(
        tokio::time::timeout(Duration::from_millis(4900), ticks.recv())
            .await
            .is_err()
    );
    master.shutdown().await;
}
