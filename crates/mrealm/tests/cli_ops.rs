//! The operator's day-to-day commands (`node logs`, `call`, `watch`, `trace …`, `node pair-dir`,
//! `node list --wait`), run as the real binary against a master process the test starts, with
//! simulated edge nodes: cryptosign sessions (authrole `node`) that publish heartbeats and
//! register node and worker procedures.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{path_str, text, wait_bounded, Master};
use serde_json::{json, Value as Json};
use wamp_client::{
    dict, AuthenticateResponse, Challenge, Client, ConnectOptions, Dict, JoinOptions,
    PublishOptions, RegisterOptions, Session, Value, WampError,
};
use wamp_proto::cryptosign::{self, LEN};
use wamp_proto::time::now_ns;

const WAIT: Duration = Duration::from_secs(20);

fn secret(i: u8) -> [u8; LEN] {
    let mut s = [i; LEN];
    s[0] = 0xee;
    s
}

fn pubkey(i: u8) -> String {
    hex::encode(cryptosign::public_key(&secret(i)))
}

/// A master with management realm mr1 and node `n<i>` paired to it for each i.
fn setup(nodes: &[u8]) -> Master {
    let m = Master::start();
    m.ok(&["mrealm", "create", "mr1"]);
    for i in nodes {
        m.ok(&["node", "pair", &pubkey(*i), "mr1", &format!("n{i}")]);
    }
    m
}

/// Joins as edge node `i` (authrole `node`, no realm).
async fn node(m: &Master, i: u8) -> Session {
    let s = secret(i);
    let opts = JoinOptions::default()
        .authmethods(["cryptosign"])
        .authrole("node")
        .authextra(dict! { "pubkey" => pubkey(i) })
        .on_challenge_sync(move |c: Challenge| {
            let hex = c.extra.get("challenge").and_then(Value::as_str);
            let bytes: [u8; LEN] = cryptosign::parse_hex(hex.unwrap_or("")).expect("challenge");
            Ok(AuthenticateResponse::new(cryptosign::sign(&s, &bytes)))
        });
    let join = Client::connect_and_join(&m.url, ConnectOptions::default(), opts);
    tokio::time::timeout(WAIT, join)
        .await
        .expect("join in time")
        .expect("node joins")
}

/// Registers `uri` answering `answer` (and remembering nothing).
async fn answer(s: &Session, uri: &str, answer: Value) {
    let opts = RegisterOptions::default();
    s.register(uri, opts, move |_inv| {
        let a = answer.clone();
        async move { Ok::<_, WampError>((vec![a], Dict::new())) }
    })
    .await
    .expect("register");
}

/// Registers `uri` answering `[args, kwargs]` as it received them.
async fn echo(s: &Session, uri: &str) {
    s.register(uri, RegisterOptions::default(), |inv| async move {
        let args = Value::List(inv.args.clone());
        let both = Value::List(vec![args, Value::Dict(inv.kwargs.clone())]);
        Ok::<_, WampError>((vec![both], Dict::new()))
    })
    .await
    .expect("register");
}

async fn publish(s: &Session, topic: &str, args: Vec<Value>) {
    let opts = PublishOptions {
        acknowledge: true,
        ..PublishOptions::default()
    };
    s.publish(topic, args, Dict::new(), opts)
        .await
        .expect("publish");
}

fn heartbeat(seq: u64) -> Value {
    let system = dict! {
        "cpu" => dict! { "idle" => 90.0 },
        "memory" => dict! { "percent" => 12.5 },
    };
    dict! { "seq" => seq, "timestamp" => now_ns(), "workers" => dict! { "router" => 1 },
    "system" => system }
    .into()
}

/// Runs `args --json` until its list has `n` entries (bounded); returns it.
fn poll_list(m: &Master, args: &[&str], n: usize) -> Vec<Json> {
    let deadline = Instant::now() + WAIT;
    loop {
        let list = m.json(args).as_array().cloned().unwrap_or_default();
        if list.len() >= n || Instant::now() > deadline {
            return list;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_logs_show_heartbeats() {
    let m = setup(&[1]);
    let n1 = node(&m, 1).await;
    m.ok(&[
        "node",
        "list",
        "--realm",
        "mr1",
        "--wait",
        "1",
        "--timeout",
        "15s",
    ]);
    for seq in 1..=3 {
        publish(
            &n1,
            "crossbarfabriccenter.node.on_heartbeat",
            vec!["n1".into(), heartbeat(seq)],
        )
        .await;
    }
    let wb: Value =
        dict! { "type" => "router", "seq" => 7, "timestamp" => now_ns(), "state" => 1 }.into();
    let wargs = vec!["n1".into(), "router1".into(), wb];
    publish(&n1, "crossbarfabriccenter.node.on_worker_heartbeat", wargs).await;

    let logs = ["node", "logs", "n1", "--realm", "mr1"];
    let records = poll_list(&m, &logs, 3);
    assert_eq!(records.len(), 3, "{records:?}");
    let seqs: Vec<&Json> = records.iter().map(|r| &r["seq"]).collect();
    assert_eq!(seqs, [&json!(3), &json!(2), &json!(1)], "newest first");
    assert_eq!(records[0]["memory"]["percent"], json!(12.5));
    let table = m.ok(&[&logs[..], &["--since", "1h"]].concat());
    assert!(
        table.contains("SEQ") && table.contains("MEMORY %"),
        "{table}"
    );
    assert!(
        table.contains("10.0") && table.contains("12.5") && table.contains("s ago"),
        "{table}"
    );
    assert!(
        !table.contains('▁'),
        "no sparkline when stdout is not a terminal: {table}"
    );
    assert_eq!(
        m.json(&[&logs[..], &["--limit", "2"]].concat())
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(m.json(&[&logs[..], &["--since", "0s"]].concat()), json!([]));

    let worker = poll_list(&m, &[&logs[..], &["--worker", "router1"]].concat(), 1);
    assert_eq!((worker.len(), &worker[0]["type"]), (1, &json!("router")));
    let wt = m.ok(&[&logs[..], &["--worker", "router1"]].concat());
    assert!(wt.contains("TYPE") && wt.contains("router"), "{wt}");

    let err = m.fails(&["node", "logs", "nosuch", "--realm", "mr1"]);
    assert!(err.contains("crossbar.error.no_such_object"), "{err}");
    let err = m.fails(&[&logs[..], &["--since", "1y"]].concat());
    assert!(err.contains("--since"), "{err}");
    n1.leave().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_reaches_node_and_worker_procedures() {
    let m = setup(&[1]);
    let n1 = node(&m, 1).await;
    let p = "crossbarfabriccenter.node.n1.";
    answer(
        &n1,
        &format!("{p}get_workers"),
        Value::List(vec!["router1".into()]),
    )
    .await;
    echo(&n1, &format!("{p}get_worker")).await;
    answer(
        &n1,
        &format!("{p}worker.router1.get_router_realms"),
        Value::List(vec!["realm1".into()]),
    )
    .await;
    m.ok(&[
        "node",
        "list",
        "--realm",
        "mr1",
        "--wait",
        "1",
        "--timeout",
        "15s",
    ]);

    assert_eq!(
        m.json(&["call", "n1", "get_workers", "--realm", "mr1"]),
        json!(["router1"])
    );
    let out = m.ok(&["call", "n1", "get_workers", "--realm", "mr1"]);
    assert!(out.contains("router1"), "{out}");
    let args = [
        "call",
        "n1",
        "get_worker",
        "--realm",
        "mr1",
        "router1",
        "3",
        "-2",
        "{\"a\":[1]}",
    ];
    let echoed = m.json(&[&args[..], &["--kw", "detail=true"]].concat());
    assert_eq!(
        echoed,
        json!([["router1", 3, -2, {"a": [1]}], {"detail": true}]),
        "JSON args parsed, the rest strings; the master drops the node oid"
    );
    let realms = [
        "call",
        "n1",
        "get_router_realms",
        "--realm",
        "mr1",
        "--api",
        "router",
        "--worker",
        "router1",
    ];
    assert_eq!(m.json(&realms), json!(["realm1"]));

    let err = m.fails(&["call", "nosuch", "get_workers", "--realm", "mr1"]);
    assert!(err.contains("crossbar.error.no_such_object"), "{err}");
    let err = m.fails(&[
        "call",
        "n1",
        "get_router_realms",
        "--realm",
        "mr1",
        "--api",
        "router",
    ]);
    assert!(err.contains("--worker"), "{err}");
    n1.leave().await.ok();
}

/// Reads the child's stderr until `line` appears (bounded).
fn await_stderr(child: &mut Child, needle: &'static str) {
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains(needle) {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(WAIT)
        .expect("the watcher reports that it is watching");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_sees_nodes_come_and_go() {
    let m = setup(&[1]);
    let args = [
        "watch", "--realm", "mr1", "--count", "2", "--json", "--for", "30s",
    ];
    let mut child = m.command(&args).spawn().expect("spawn watch");
    await_stderr(&mut child, "watching");
    let n1 = node(&m, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    n1.leave().await.ok();
    let out = tokio::task::spawn_blocking(move || wait_bounded(child, &args))
        .await
        .expect("join");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events: Vec<Json> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let topics: Vec<&str> = events.iter().filter_map(|e| e["topic"].as_str()).collect();
    assert_eq!(
        topics,
        [
            "crossbarfabriccenter.mrealm.on_node_ready",
            "crossbarfabriccenter.mrealm.on_node_shutdown"
        ]
    );
    assert_eq!(events[0]["args"][1]["authid"], "n1");
    assert!(events[1]["time"].as_str().is_some_and(|t| t.ends_with('Z')));

    let quiet = m.ok(&["watch", "--realm", "mr1", "--for", "1s"]);
    assert_eq!(quiet, "", "no events, clean exit after --for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_lifecycle() {
    let m = setup(&[1]);
    let n1 = node(&m, 1).await;
    let w = "crossbarfabriccenter.node.n1.worker.router1.";
    echo(&n1, &format!("{w}start_trace")).await;
    echo(&n1, &format!("{w}stop_trace")).await;
    answer(
        &n1,
        &format!("{w}get_trace_data"),
        Value::List(vec![dict! { "x" => 1 }.into()]),
    )
    .await;
    m.ok(&[
        "node",
        "list",
        "--realm",
        "mr1",
        "--wait",
        "1",
        "--timeout",
        "15s",
    ]);
    let r = ["--realm", "mr1"];
    let t = |args: &[&str]| m.json(&[&["trace"][..], args, &r].concat());

    let created = t(&[
        "create",
        "t1",
        "--worker",
        "n1:router1",
        "--batching-period",
        "100",
    ]);
    assert_eq!(
        (created["status"].as_str(), created["trace_id"].as_str()),
        (Some("stopped"), Some("t1"))
    );
    assert_eq!(created["trace_options"]["batching_period"], 100);
    assert_eq!(t(&["list"]), json!(["t1"]));
    let started = t(&["start", "t1"]);
    assert_eq!(started["failed"], json!([]), "{started}");
    assert_eq!(t(&["show", "t1"])["status"], "running");
    let data = m.ok(&[&["trace", "data", "t1"][..], &r].concat());
    assert!(data.contains("\"x\""), "{data}");
    let stopped = t(&["stop", "t1"]);
    assert_eq!(stopped["failed"], json!([]), "{stopped}");
    t(&["delete", "t1"]);
    let err = m.fails(&[&["trace", "show", "t1"][..], &r].concat());
    assert!(err.contains("crossbar.error.no_such_object"), "{err}");
    let err = m.fails(
        &[
            &["trace", "create", "t2", "--worker", "nosuch:router1"][..],
            &r,
        ]
        .concat(),
    );
    assert!(err.contains("crossbar.error.no_such_object"), "{err}");
    n1.leave().await.ok();
}

#[test]
fn pair_dir_pairs_every_key_once() {
    let m = setup(&[]);
    let dir = m.dir.path().join("fleet");
    for (sub, authid) in [("a", Some("n1")), ("b", Some("n2")), ("n3", None)] {
        let d = path_str(&dir.join(sub));
        let mut args = vec!["keys", "--cbdir", &d];
        args.extend(authid.map(|a| ["--authid", a]).into_iter().flatten());
        m.ok(&args);
    }
    let fleet = path_str(&dir);
    let out = m.ok(&["node", "pair-dir", &fleet, "mr1"]);
    assert!(
        out.contains("paired: 3, already paired: 0, failed: 0"),
        "{out}"
    );
    let names = m.json(&["node", "list", "--realm", "mr1", "--names"]);
    assert_eq!(names, json!(["n1", "n2", "n3"]), "tag, tag, directory name");
    let again = m.json(&["node", "pair-dir", &fleet, "mr1"]);
    assert_eq!(
        again,
        json!({"paired": [], "already_paired": ["n1", "n2", "n3"], "failed": {}})
    );

    let err = m.fails(&["node", "pair-dir", &fleet, "nosuch"]);
    assert!(err.contains("cannot pair 3 of 3"), "{err}");
    let err = m.fails(&[
        "node",
        "list",
        "--realm",
        "mr1",
        "--wait",
        "1",
        "--timeout",
        "1s",
    ]);
    assert!(err.contains("only 0 of 1 nodes online"), "{err}");
}

#[test]
fn master_backup_online_and_offline() {
    let m = setup(&[]);
    let to = m.dir.path().join("online.db");
    let out = m.ok(&["master", "backup", "--online", "--to", &path_str(&to)]);
    assert!(out.contains("backup written by the master"), "{out}");
    assert!(to.is_file());
    let err = m.fails(&["master", "backup", "--online", "--to", &path_str(&to)]);
    assert!(err.contains("exists"), "{err}");
    // offline while the master runs is refused and points at --online
    let cbdir = path_str(&m.dir.path().join("cb"));
    let off = m.dir.path().join("offline.db");
    let err = m.fails(&[
        "master",
        "backup",
        "--cbdir",
        &cbdir,
        "--to",
        &path_str(&off),
    ]);
    assert!(err.contains("--online"), "{err}");
    assert!(!off.exists());
    // the online copy is a usable database with the mrealm in it
    let restored = m.dir.path().join("restored");
    std::fs::create_dir_all(&restored).expect("dir");
    std::fs::copy(&to, restored.join("mrealm.db")).expect("copy");
    let out = m.ok(&[
        "master",
        "backup",
        "--cbdir",
        &path_str(&restored),
        "--to",
        &path_str(&m.dir.path().join("again.db")),
    ]);
    assert!(out.contains("1 management realms"), "{out}");
}

#[test]
fn every_new_command_has_an_example() {
    for cmd in [
        vec!["node", "logs"],
        vec!["node", "pair-dir"],
        vec!["call"],
        vec!["watch"],
        vec!["trace", "create"],
        vec!["trace", "start"],
        vec!["trace", "stop"],
        vec!["trace", "show"],
        vec!["trace", "data"],
        vec!["trace", "delete"],
        vec!["trace", "list"],
    ] {
        let out = common::run_in(
            std::path::Path::new("/nonexistent"),
            "",
            &[cmd.clone(), vec!["--help"]].concat(),
        );
        let help = text(&out.stdout);
        assert!(
            help.contains("Example") && help.contains("mrealm "),
            "{cmd:?}: {help}"
        );
    }
}
