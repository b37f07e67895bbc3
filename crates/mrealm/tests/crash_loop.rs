//! The crash loop: the real `mrealm master start` binary under heavy concurrent writes of all
//! four kinds — pairings (global API), management realm creation, trace create/start/stop (on a
//! simulated edge node's worker) and heartbeat ingest from several node sessions — is SIGKILLed
//! at a random moment, restarted on the same cbdir, and checked:
//!
//! * the database opens (the master starts);
//! * every acknowledged pairing, management realm, trace create/start/stop is there and complete
//!   (an mrealm with its owner and roles, a node with its indices, a trace in a status its last
//!   acknowledged operation allows), and at most the operations in flight appear besides;
//! * every heartbeat acknowledged more than [`HB_WINDOW`] before the kill is stored (the
//!   group-commit window: records are committed at most `BATCH_WINDOW` + one commit after their
//!   PUBLISHED; the test's bound leaves room for a loaded machine);
//! * at the end the store, opened directly, has every index entry of every object.
//!
//! Iterations: `MREALM_CRASH_ITERS` (default 3); seed: `MREALM_CRASH_SEED` (default: the clock,
//! printed). `scripts/crash-loop [N]` runs it with N = 100. A second test does the same for
//! heartbeats in durable-acknowledge mode, where no acknowledged heartbeat may be lost at all.
//! Runs the binary cargo builds for this package's tests (or `$MREALM_BIN`).

#[path = "../../master/tests/common/mod.rs"]
mod common;
#[path = "common/master_proc.rs"]
mod master_proc;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use master_proc::{node_at, node_hb, secret, superuser_at, MasterDir, MasterProc};
use wamp_client::{PublishOptions, RegisterOptions, Session};
use wamp_proto::time::now_ns;
use wamp_proto::{dict, Dict, Value};

/// Heartbeats acknowledged longer than this before the kill must be stored (default mode). The
/// window really is one or two commits (max 329 ms seen over 100 kills on a loaded debug build);
/// the bound leaves room for a slower CI machine so the test fails on loss, not on load.
const HB_WINDOW: Duration = Duration::from_millis(2000);
/// Heartbeat-publishing node sessions.
const HB_NODES: usize = 6;
/// Pairing tasks, and pairings per task per iteration.
const PAIR_TASKS: usize = 2;
const PAIRS_PER_TASK: usize = 50;
/// Management realms created per iteration.
const MREALMS_PER_ITER: usize = 3;
/// Traces created (then started and stopped) per iteration, at most.
const TRACES_PER_ITER: usize = 30;

/// A small deterministic RNG (xorshift64*), so that a failing run can be replayed by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
}

fn seed() -> u64 {
    std::env::var("MREALM_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| now_ns() | 1)
}

fn iterations() -> usize {
    std::env::var("MREALM_CRASH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
}

/// Everything acknowledged so far, over all iterations.
#[derive(Default)]
struct Ledger {
    /// node oid → (pubkey, authid)
    nodes: HashMap<String, (String, String)>,
    mrealms: BTreeSet<String>,
    /// trace id → last acknowledged operation ("create", "start", "stop")
    traces: HashMap<String, &'static str>,
    /// SIGKILLs so far (each may leave one unacknowledged write per writer committed).
    kills: usize,
}

/// What one iteration saw acknowledged.
#[derive(Default)]
struct Acked {
    nodes: Vec<(String, String, String)>,
    mrealms: Vec<String>,
    traces: Vec<(String, &'static str)>,
    /// (node index, seq, when PUBLISHED arrived)
    beats: Vec<(usize, u64, Instant)>,
}

/// The fixed cast: mrealm `crash`, the heartbeat nodes and the tracing node, paired once.
struct Cast {
    salt: u64,
    hb_oids: Vec<String>,
    tracer_oid: String,
    superuser_oid: String,
}

const TRACER: usize = 2_000_000;
const HB_BASE: usize = 1_000_000;

async fn setup(url: &str, salt: u64) -> Cast {
    let su = superuser_at(url, None, None).await;
    let mr = create_mrealm(&su, "crash").await;
    let superuser_oid = s(&mr, "owner").to_owned();
    let mut hb_oids = Vec::new();
    for j in 0..HB_NODES {
        let sec = secret(HB_BASE + j, salt);
        hb_oids.push(pair_oid(&su, &sec, "crash", &format!("hb{j}")).await);
    }
    let tracer_oid = pair_oid(&su, &secret(TRACER, salt), "crash", "tracer").await;
    Cast {
        salt,
        hb_oids,
        tracer_oid,
        superuser_oid,
    }
}

/// The tracing node: its worker `w1` answers the worker tracing procedures (stateless).
async fn tracer_node(url: &str, salt: u64) -> Session {
    let n = node_at(url, secret(TRACER, salt)).await;
    for (proc, status) in [("start_trace", "running"), ("stop_trace", "stopped")] {
        let uri = format!("crossbarfabriccenter.node.tracer.worker.w1.{proc}");
        n.register(&uri, RegisterOptions::default(), move |inv| {
            let id = first_str(&inv.args);
            let t = dict! { "id" => id, "worker_id" => "w1", "status" => status };
            async move { Ok((vec![t.into()], Dict::new())) }
        })
        .await
        .expect("register");
    }
    n
}

/// Runs the writers until the kill; returns what was acknowledged and when the kill happened.
async fn drive(proc: &mut MasterProc, cast: &Arc<Cast>, iter: usize, rng: &mut Rng) -> Acked {
    let acked = Arc::new(Mutex::new(Acked::default()));
    let kill_after = Duration::from_millis(rng.range(200, 1500));
    let mut tasks = Vec::new();
    for t in 0..PAIR_TASKS {
        let su = superuser_at(&proc.url, None, None).await;
        let (cast, acked) = (cast.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for k in 0..PAIRS_PER_TASK {
                let i = (iter * PAIR_TASKS + t) * PAIRS_PER_TASK + k;
                let (key, authid) = (pubkey(&secret(i, cast.salt)), format!("n{i}"));
                let args = vec![key.clone().into(), "crash".into(), authid.clone().into()];
                let Ok(v) = call(&su, &format!("{P}pair_node"), args).await else {
                    return;
                };
                let oid = s(&v, "oid").to_owned();
                acked.lock().expect("lock").nodes.push((oid, key, authid));
            }
        }));
    }
    let delays: Vec<u64> = (0..MREALMS_PER_ITER)
        .map(|_| rng.range(0, kill_after.as_millis() as u64 + 200))
        .collect();
    let su = superuser_at(&proc.url, None, None).await;
    let a = acked.clone();
    tasks.push(tokio::spawn(async move {
        let t0 = Instant::now();
        for (k, d) in delays.into_iter().enumerate() {
            tokio::time::sleep_until((t0 + Duration::from_millis(d)).into()).await;
            let name = format!("m{iter}x{k}");
            let args = vec![dict! { "name" => name.clone() }.into()];
            if call(&su, &format!("{P}create_mrealm"), args).await.is_err() {
                return;
            }
            a.lock().expect("lock").mrealms.push(name);
        }
    }));
    let owner = superuser_at(&proc.url, Some("crash"), Some("owner")).await;
    let (cast2, a) = (cast.clone(), acked.clone());
    tasks.push(tokio::spawn(trace_writer(owner, cast2, iter, a)));
    for j in 0..HB_NODES {
        let n = node_at(&proc.url, secret(HB_BASE + j, cast.salt)).await;
        tasks.push(tokio::spawn(beat_writer(n, j, iter, acked.clone())));
    }
    tokio::time::sleep(kill_after).await;
    proc.kill();
    for t in tasks {
        let _ = tokio::time::timeout(WAIT, t).await;
    }
    let out = std::mem::take(&mut *acked.lock().expect("lock"));
    out
}

/// create → start → stop traces one after the other, recording each acknowledged step.
async fn trace_writer(owner: Session, cast: Arc<Cast>, iter: usize, acked: Arc<Mutex<Acked>>) {
    for k in 0..TRACES_PER_ITER {
        let id = format!("t{iter}x{k}");
        let workers = Value::List(vec![Value::List(vec![
            cast.tracer_oid.clone().into(),
            "w1".into(),
        ])]);
        let steps: [(&str, Vec<Value>, &'static str); 3] = [
            ("create_trace", vec![id.clone().into(), workers], "create"),
            ("start_trace", vec![id.clone().into()], "start"),
            ("stop_trace", vec![id.clone().into()], "stop"),
        ];
        for (proc, args, step) in steps {
            if call(&owner, &format!("{P}{proc}"), args).await.is_err() {
                return;
            }
            acked.lock().expect("lock").traces.push((id.clone(), step));
        }
    }
}

/// Publishes acknowledged heartbeats back to back, recording when each PUBLISHED arrived.
async fn beat_writer(n: Session, j: usize, iter: usize, acked: Arc<Mutex<Acked>>) {
    let authid = format!("hb{j}");
    let opts = PublishOptions {
        acknowledge: true,
        ..PublishOptions::default()
    };
    for k in 0..5_000u64 {
        let seq = iter as u64 * 1_000_000 + k;
        let args = vec![authid.clone().into(), node_hb(seq)];
        let topic = "crossbarfabriccenter.node.on_heartbeat";
        let sent = n.publish(topic, args, Dict::new(), opts.clone());
        if sent.await.is_err() {
            return;
        }
        acked
            .lock()
            .expect("lock")
            .beats
            .push((j, seq, Instant::now()));
    }
}

/// The stored heartbeat seqs of node `oid` received since `from_ns`.
async fn stored_seqs(owner: &Session, oid: &str, from_ns: u64) -> BTreeSet<u64> {
    let args = vec![oid.into(), from_ns.into(), Value::Null, 10_000.into()];
    let logs = call(owner, &format!("{P}get_node_logs"), args)
        .await
        .expect("get_node_logs");
    let list = logs.as_list().expect("list of logs");
    list.iter()
        .map(|d| {
            assert_eq!(d.get("node_id").and_then(Value::as_str), Some(oid));
            d.get("seq").and_then(Value::as_u64).expect("seq")
        })
        .collect()
}

/// Heartbeats acknowledged at least `window` before `kill` and not stored; returns the age (at
/// the kill) of the oldest lost acknowledged heartbeat, if any was lost.
async fn check_beats(
    owner: &Session,
    cast: &Cast,
    beats: &[(usize, u64, Instant)],
    kill: Instant,
    from_ns: u64,
    window: Duration,
) -> Option<Duration> {
    let mut stored = Vec::new();
    for oid in &cast.hb_oids {
        stored.push(stored_seqs(owner, oid, from_ns).await);
    }
    let mut oldest_lost = None::<Duration>;
    for (j, seq, at) in beats {
        if stored[*j].contains(seq) {
            continue;
        }
        let age = kill.saturating_duration_since(*at);
        assert!(
            age < window,
            "heartbeat hb{j} seq {seq} acknowledged {age:?} before the kill was lost (window {window:?})"
        );
        oldest_lost = Some(oldest_lost.map_or(age, |o| o.max(age)));
    }
    oldest_lost
}

/// After a restart: every acknowledged object is present and complete.
async fn check_objects(url: &str, cast: &Cast, ledger: &Ledger, last: &Acked) {
    let su = superuser_at(url, None, None).await;
    let names: BTreeSet<String> = mrealm_names(&su).await.into_iter().collect();
    let missing: Vec<_> = ledger.mrealms.difference(&names).collect();
    assert!(missing.is_empty(), "acknowledged mrealms lost: {missing:?}");
    assert!(names.len() <= ledger.mrealms.len() + 1 + ledger.extra_mrealms_allowed());
    for name in &last.mrealms {
        let m = api(&su, "get_mrealm_by_name", vec![name.clone().into()]).await;
        assert_eq!(keys(&m), key_set(MREALM_KEYS), "{name}");
        assert_eq!(s(&m, "owner"), cast.superuser_oid, "{name}: owner");
        let o = superuser_at(url, Some(name), Some("owner")).await;
        assert_eq!(
            o.welcome().authrole.as_deref(),
            Some("owner"),
            "{name}: roles"
        );
    }
    let listed = str_set(&api(&su, "list_nodes_by_mrealm_name", vec!["crash".into()]).await);
    for oid in ledger.nodes.keys() {
        assert!(listed.contains(oid), "acknowledged pairing {oid} lost");
    }
    let expected = ledger.nodes.len() + HB_NODES + 1;
    assert!(listed.len() >= expected);
    assert!(
        listed.len() <= expected + ledger.extra_nodes_allowed(),
        "more nodes than were in flight"
    );
    for (oid, key, authid) in &last.nodes {
        let n = api(&su, "get_node", vec![oid.clone().into()]).await;
        assert_eq!(
            (s(&n, "pubkey"), s(&n, "authid")),
            (key.as_str(), authid.as_str())
        );
    }
    if let Some((oid, _, authid)) = last.nodes.last() {
        let owner = superuser_at(url, Some("crash"), Some("owner")).await;
        let uri = format!("{P}get_node_by_authid");
        let n = call(&owner, &uri, vec![authid.clone().into()]).await;
        assert_eq!(s(&n.expect("by authid"), "oid"), oid);
    }
    check_traces(url, ledger, last).await;
}

impl Ledger {
    /// Operations in flight at the kills that may have been committed without their RESULT.
    fn extra_mrealms_allowed(&self) -> usize {
        self.kills
    }
    fn extra_nodes_allowed(&self) -> usize {
        self.kills * PAIR_TASKS
    }
}

async fn check_traces(url: &str, ledger: &Ledger, last: &Acked) {
    let owner = superuser_at(url, Some("crash"), Some("owner")).await;
    let ids = call(&owner, &format!("{P}get_traces"), vec![]).await;
    let ids = str_set(&ids.expect("get_traces"));
    for id in ledger.traces.keys() {
        assert!(ids.contains(id), "acknowledged trace {id} lost");
    }
    let recent: BTreeSet<&String> = last.traces.iter().map(|(id, _)| id).collect();
    for id in recent {
        let step = ledger.traces[id];
        let t = call(&owner, &format!("{P}get_trace"), vec![id.clone().into()]).await;
        let t = t.expect("get_trace");
        let status = t.get("status").and_then(Value::as_str).unwrap_or_default();
        let allowed: &[&str] = match step {
            "create" => &["stopped", "running"],
            "start" => &["running", "stopped", "stopping_failed"],
            _ => &["stopped"],
        };
        assert!(
            allowed.contains(&status),
            "trace {id} after {step}: {status}"
        );
        let workers = t.get("traced_workers").and_then(Value::as_list);
        assert_eq!(workers.map(Vec::len), Some(1), "trace {id} complete");
    }
    assert!(ids.len() <= ledger.traces.len() + ledger.kills);
}

/// Opens the stopped master's database directly: every object has its index entries.
fn check_store(db: &Path, superuser: &str) {
    let store = store::Store::open(db).expect("the database opens");
    let su: uuid::Uuid = superuser.parse().expect("uuid");
    for m in store.list_mrealms().expect("mrealms") {
        let by_name = store.get_mrealm_by_name(&m.name).expect("by name");
        assert_eq!(
            by_name.map(|r| r.oid),
            Some(m.oid),
            "index of mrealm {}",
            m.name
        );
        // the superuser owns its mrealms implicitly; any other owner needs its stored roles
        let roles = store.user_roles(m.owner, m.oid).expect("roles");
        assert!(
            m.owner == su || !roles.is_empty(),
            "mrealm {} has no owner roles",
            m.name
        );
    }
    for n in store.list_nodes().expect("nodes") {
        let by_key = store.node_by_pubkey(&n.pubkey).expect("by pubkey");
        assert_eq!(
            by_key.map(|r| r.oid),
            Some(n.oid),
            "pubkey index of {}",
            n.oid
        );
        let (Some(m), Some(authid)) = (n.mrealm_oid, n.authid.as_deref()) else {
            continue;
        };
        let by_authid = store.node_by_authid(m, authid).expect("by authid");
        assert_eq!(
            by_authid.map(|r| r.oid),
            Some(n.oid),
            "authid index of {}",
            n.oid
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_loop_all_writes() {
    let run = MasterDir::new("");
    let (seed, iters) = (seed(), iterations());
    eprintln!("crash loop: {iters} iterations, MREALM_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let t0 = Instant::now();
    let mut proc = run.start();
    let cast = Arc::new(setup(&proc.url, seed).await);
    let mut ledger = Ledger::default();
    let mut worst_loss = Duration::ZERO;
    let mut lost_total = 0usize;
    for iter in 0..iters {
        let _tracer = tracer_node(&proc.url, cast.salt).await;
        let from_ns = now_ns().saturating_sub(1_000_000_000);
        let acked = drive(&mut proc, &cast, iter, &mut rng).await;
        let kill = Instant::now();
        ledger.kills += 1;
        for (oid, key, authid) in &acked.nodes {
            ledger
                .nodes
                .insert(oid.clone(), (key.clone(), authid.clone()));
        }
        ledger.mrealms.extend(acked.mrealms.iter().cloned());
        for (id, step) in &acked.traces {
            ledger.traces.insert(id.clone(), step);
        }
        proc = run.start();
        check_objects(&proc.url, &cast, &ledger, &acked).await;
        let owner = superuser_at(&proc.url, Some("crash"), Some("owner")).await;
        let lost = check_beats(&owner, &cast, &acked.beats, kill, from_ns, HB_WINDOW).await;
        if let Some(age) = lost {
            worst_loss = worst_loss.max(age);
        }
        let stored_before = acked.beats.len();
        lost_total += usize::from(lost.is_some());
        eprintln!(
            "iteration {iter}: acked {} pairings, {} mrealms, {} trace steps, {stored_before} heartbeats; \
             oldest lost heartbeat ack: {lost:?}",
            acked.nodes.len(),
            acked.mrealms.len(),
            acked.traces.len(),
        );
    }
    proc.kill();
    check_store(&run.cbdir().join("mrealm.db"), &cast.superuser_oid);
    eprintln!(
        "crash loop: {iters} iterations in {:?}, seed {seed}: every acknowledged write present; \
         iterations losing any acknowledged heartbeat: {lost_total}, oldest lost ack {worst_loss:?} \
         before the kill (bound {HB_WINDOW:?})",
        t0.elapsed()
    );
}

/// Durable-acknowledge mode: the master is SIGKILLed right after a PUBLISHED arrives, while
/// heartbeats keep flowing; after the restart every acknowledged heartbeat is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn durable_heartbeats_survive_sigkill() {
    let run = MasterDir::new("durable_heartbeats = true\n");
    let seed = seed();
    eprintln!("durable crash loop: MREALM_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let mut proc = run.start();
    let cast = Arc::new(setup(&proc.url, seed).await);
    for iter in 0..3 {
        let from_ns = now_ns().saturating_sub(1_000_000_000);
        let target = rng.range(50, 400) as usize;
        let acked = Arc::new(Mutex::new(Acked::default()));
        let mut tasks = Vec::new();
        for j in 0..HB_NODES {
            let n = node_at(&proc.url, secret(HB_BASE + j, cast.salt)).await;
            tasks.push(tokio::spawn(beat_writer(n, j, iter, acked.clone())));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while acked.lock().expect("lock").beats.len() < target && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        proc.kill();
        let kill = Instant::now();
        for t in tasks {
            let _ = tokio::time::timeout(WAIT, t).await;
        }
        let acked = std::mem::take(&mut *acked.lock().expect("lock"));
        assert!(
            acked.beats.len() >= target,
            "only {} acked",
            acked.beats.len()
        );
        proc = run.start();
        let owner = superuser_at(&proc.url, Some("crash"), Some("owner")).await;
        let lost = check_beats(&owner, &cast, &acked.beats, kill, from_ns, Duration::ZERO).await;
        assert_eq!(lost, None);
        eprintln!(
            "durable iteration {iter}: {} acknowledged heartbeats, all stored",
            acked.beats.len()
        );
    }
}
