//! The simulator against an in-process mrealm master: a small fleet pairs, comes online, is
//! visible through the controller API, stores heartbeats, answers remote calls and traces, and
//! each kind of churn takes a node offline and brings it back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use master::{Master, MasterConfig};
use mrealm_sim::{Disconnect, Fleet, SimConfig};
use tokio::sync::watch;
use wamp_client::{CallOptions, Session};
use wamp_proto::keyfile::KeyFile;
use wamp_proto::{dict, Dict, Value};

const NODES: usize = 30;
const SUPERUSER: [u8; 32] = [0x5a; 32];
const WAIT: Duration = Duration::from_secs(20);

struct Running {
    _dir: tempfile::TempDir,
    master: Arc<Master>,
    url: String,
    key: std::path::PathBuf,
    keys_dir: std::path::PathBuf,
    _stop: watch::Sender<bool>,
}

/// A master with fast pings (so a frozen node is noticed within seconds).
async fn start_master() -> Running {
    let dir = tempfile::tempdir().expect("tempdir");
    let (public, private) = KeyFile::pair(&SUPERUSER, "user", &[("user-id", "unknown".into())]);
    let key = dir.path().join("default.priv");
    std::fs::write(dir.path().join("default.pub"), public.to_string()).expect("pub");
    std::fs::write(&key, private.to_string()).expect("priv");
    let config = MasterConfig {
        cbdir: dir.path().join("cb"),
        superuser: Some(dir.path().join("default.pub")),
        ping_interval: Duration::from_secs(1),
        ping_timeout: Duration::from_secs(1),
        ..MasterConfig::default()
    };
    let master = Master::start(config).await.expect("master starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("ws://{}/ws", listener.local_addr().expect("addr"));
    let (stop, stop_rx) = watch::channel(false);
    tokio::spawn(master.router().clone().serve_with(listener, None, stop_rx));
    let keys_dir = dir.path().join("sim-keys");
    Running {
        _dir: dir,
        master,
        url,
        key,
        keys_dir,
        _stop: stop,
    }
}

async fn call(s: &Session, uri: &str, args: Vec<Value>, kwargs: Dict) -> Result<Value, String> {
    let r = s.call(uri, args, kwargs, CallOptions::timeout(WAIT)).await;
    r.map(|r| r.args.into_iter().next().unwrap_or(Value::Null))
        .map_err(|e| e.to_string())
}

/// Polls `f` until it returns true (bounded by [`WAIT`]).
async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

async fn node_status(s: &Session, authid: &str) -> String {
    let node = call(
        s,
        "crossbarfabriccenter.mrealm.get_node_by_authid",
        vec![authid.into()],
        Dict::new(),
    )
    .await;
    node.ok()
        .and_then(|n| n.get("status").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default()
}

async fn oid_of(s: &Session, authid: &str) -> String {
    let node = call(
        s,
        "crossbarfabriccenter.mrealm.get_node_by_authid",
        vec![authid.into()],
        Dict::new(),
    );
    let node = node.await.expect("get_node_by_authid");
    node.get("oid")
        .and_then(Value::as_str)
        .expect("oid")
        .to_owned()
}

fn config(r: &Running) -> SimConfig {
    let mut cfg = SimConfig::new(r.url.clone(), NODES, r.key.clone());
    cfg.period = Duration::from_millis(200);
    cfg.keys_dir = Some(r.keys_dir.clone());
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_fleet_behaves_like_edge_nodes() {
    let r = start_master().await;
    let fleet = Fleet::prepare(config(&r)).await.expect("prepare");
    fleet.connect_all(&|_| {}).await.expect("all online");
    let su = superuser(&r).await;
    all_online(&su).await;
    remote_calls_are_answered(&su, &fleet).await;
    heartbeats_are_stored(&su, &fleet).await;
    traces_return_synthetic_data(&su, &fleet).await;
    for (i, how) in [Disconnect::Goodbye, Disconnect::DropTcp, Disconnect::Freeze]
        .into_iter()
        .enumerate()
    {
        churn_goes_offline_and_back(&su, &fleet, i, how).await;
    }
    let summary = fleet.shutdown().await;
    assert_eq!(summary.online_at_end, NODES);
    assert!(summary.stats.heartbeats_acked > 0, "{summary:?}");
    assert!(summary.stats.invocations >= 3, "{summary:?}");
    assert_eq!(summary.stats.reconnects, 3, "{summary:?}");
    assert_eq!(summary.stats.errors, 0, "{summary:?}");
    second_run_reuses_keys(&r).await;
    r.master.shutdown().await;
}

async fn superuser(r: &Running) -> Session {
    let su = mrealm_sim::pairing::Superuser::load(&r.key).expect("key");
    su.join(&r.url, Some("default"))
        .await
        .expect("superuser joins the mrealm")
}

async fn all_online(su: &Session) {
    eventually("every node online", || async {
        let online = call(
            su,
            "crossbarfabriccenter.mrealm.get_nodes",
            vec!["online".into()],
            Dict::new(),
        )
        .await;
        online.ok().and_then(|l| l.as_list().map(Vec::len)) == Some(NODES)
    })
    .await;
}

async fn remote_calls_are_answered(su: &Session, fleet: &Fleet) {
    let authid = fleet.authid(3);
    let oid = oid_of(su, &authid).await;
    let status = call(
        su,
        "crossbarfabriccenter.remote.node.get_status",
        vec![oid.clone().into()],
        Dict::new(),
    );
    let status = status.await.expect("get_status");
    assert_eq!(
        status.get("management_node_id").and_then(Value::as_str),
        Some(authid.as_str())
    );
    assert_eq!(
        status.get("management_realm").and_then(Value::as_str),
        Some("default")
    );
    let workers = call(
        su,
        "crossbarfabriccenter.remote.node.get_workers",
        vec![oid.clone().into()],
        Dict::new(),
    );
    assert_eq!(
        workers.await.expect("get_workers"),
        Value::List(vec!["router1".into()])
    );
    let worker = call(
        su,
        "crossbarfabriccenter.remote.node.get_worker",
        vec![oid.into(), "router1".into()],
        Dict::new(),
    );
    assert_eq!(
        worker
            .await
            .expect("get_worker")
            .get("type")
            .and_then(Value::as_str),
        Some("router")
    );
}

async fn heartbeats_are_stored(su: &Session, fleet: &Fleet) {
    let oid = oid_of(su, &fleet.authid(5)).await;
    eventually("heartbeats in the history", || async {
        let logs = call(
            su,
            "crossbarfabriccenter.mrealm.get_node_logs",
            vec![oid.clone().into()],
            Dict::new(),
        )
        .await;
        logs.ok().and_then(|l| l.as_list().map(|l| !l.is_empty())) == Some(true)
    })
    .await;
    let node = call(
        su,
        "crossbarfabriccenter.mrealm.get_node",
        vec![oid.into()],
        Dict::new(),
    )
    .await;
    let seq = node
        .expect("get_node")
        .get("heartbeat")
        .and_then(Value::as_u64);
    assert!(seq.unwrap_or(0) >= 1, "last heartbeat seq: {seq:?}");
}

async fn traces_return_synthetic_data(su: &Session, fleet: &Fleet) {
    let oid = oid_of(su, &fleet.authid(7)).await;
    let args = || vec![Value::from(oid.clone()), "router1".into(), "t1".into()];
    let opts = dict! { "trace_options" => dict! { "batching_period" => 100 } };
    let started = call(
        su,
        "crossbarfabriccenter.remote.tracing.start_trace",
        args(),
        opts,
    )
    .await;
    assert_eq!(
        started
            .expect("start_trace")
            .get("status")
            .and_then(Value::as_str),
        Some("running")
    );
    let data = call(
        su,
        "crossbarfabriccenter.remote.tracing.get_trace_data",
        args(),
        Dict::new(),
    )
    .await;
    let data = data.expect("get_trace_data");
    assert!(data.as_list().is_some_and(|l| !l.is_empty()), "{data:?}");
    eventually("on_trace_data published", || async {
        fleet.stats().trace_events > 0
    })
    .await;
    let stopped = call(
        su,
        "crossbarfabriccenter.remote.tracing.stop_trace",
        args(),
        Dict::new(),
    )
    .await;
    assert_eq!(
        stopped
            .expect("stop_trace")
            .get("status")
            .and_then(Value::as_str),
        Some("stopped")
    );
}

async fn churn_goes_offline_and_back(su: &Session, fleet: &Fleet, i: usize, how: Disconnect) {
    let authid = fleet.authid(i);
    fleet.disconnect(i, how).await;
    eventually(&format!("{authid} offline after {how:?}"), || async {
        node_status(su, &authid).await == "offline"
    })
    .await;
    fleet.reconnect(i).await.expect("reconnects");
    eventually(&format!("{authid} online again"), || async {
        node_status(su, &authid).await == "online"
    })
    .await;
}

/// A second run with the same keys directory reuses the keys and skips pairing.
async fn second_run_reuses_keys(r: &Running) {
    let mut cfg = config(r);
    cfg.nodes = 2;
    let fleet = Fleet::prepare(cfg).await.expect("second prepare");
    fleet
        .connect_all(&|_| {})
        .await
        .expect("reused keys are still paired");
    let summary = fleet.shutdown().await;
    assert_eq!(summary.online_at_end, 2);
}
