//! Crash safety of pairing with the real `mrealm` binary: 8 concurrent callers pair up to 1,000
//! node keys as fast as they can, the master is SIGKILLed after a random number of acknowledged
//! pairings, restarted on the same cbdir, and every pairing that was acknowledged (RESULT
//! received) must still be there. Runs the binary cargo builds for this package's tests.

#[path = "../../master/tests/common/mod.rs"]
mod common;
#[path = "common/master_proc.rs"]
mod master_proc;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use master_proc::{secret, superuser_at, MasterDir, MasterProc};
use wamp_proto::Value;

const NODES: usize = 1000;
const TASKS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_pairings_survive_sigkill() {
    let d = MasterDir::new("");
    let t0 = Instant::now();
    let (bin, key, cbdir) = (d.bin.clone(), d.key.clone(), d.cbdir());
    let salt = wamp_proto::time::now_ns();
    let kill_after = 200 + (salt % 501) as usize;

    let mut proc = MasterProc::start(&bin, &cbdir, &key);
    let su = superuser_at(&proc.url, None, None).await;
    let mr = create_mrealm(&su, "crash").await;
    let mrealm_oid = s(&mr, "oid").to_owned();

    // node index -> oid, for every RESULT received
    let acked: Arc<Mutex<HashMap<usize, String>>> = Arc::default();
    let (enough_tx, mut enough_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let session = superuser_at(&proc.url, None, None).await;
        let acked = acked.clone();
        let enough = enough_tx.clone();
        tasks.push(tokio::spawn(async move {
            for i in (t..NODES).step_by(TASKS) {
                let args = vec![
                    pubkey(&secret(i, salt)).into(),
                    "crash".into(),
                    format!("n{i}").into(),
                ];
                match call(&session, &format!("{P}pair_node"), args).await {
                    Ok(v) => {
                        let oid = s(&v, "oid").to_owned();
                        let mut a = acked.lock().expect("lock");
                        a.insert(i, oid);
                        if a.len() >= kill_after {
                            enough.send_replace(true);
                        }
                    }
                    Err(_) => return, // the master is gone
                }
            }
        }));
    }
    drop(enough_tx);
    // kill as soon as enough pairings are acknowledged (or all tasks ended)
    let _ = tokio::time::timeout(Duration::from_secs(15), enough_rx.wait_for(|v| *v)).await;
    proc.kill();
    for t in tasks {
        let _ = tokio::time::timeout(WAIT, t).await;
    }
    let acked = std::mem::take(&mut *acked.lock().expect("lock"));
    assert!(
        acked.len() >= kill_after.min(NODES),
        "only {} pairings acknowledged before the kill (wanted {kill_after})",
        acked.len()
    );
    eprintln!(
        "killed after {} acknowledged pairings (target {kill_after}) at {:?}",
        acked.len(),
        t0.elapsed()
    );

    // restart on the same cbdir: the database opens and holds every acknowledged pairing
    let proc2 = MasterProc::start(&bin, &cbdir, &key);
    let su = superuser_at(&proc2.url, None, None).await;
    assert_eq!(mrealm_names(&su).await, ["crash"]);
    let listed = api(&su, "list_nodes_by_mrealm_name", vec!["crash".into()]).await;
    let listed = str_set(&listed);
    assert!(
        listed.len() >= acked.len(),
        "{} < {}",
        listed.len(),
        acked.len()
    );
    assert!(
        listed.len() <= acked.len() + TASKS,
        "more pairings than were in flight"
    );
    let all = str_set(&api(&su, "list_nodes", vec![]).await);
    assert_eq!(all, listed, "every stored node is paired into 'crash'");
    for (i, oid) in &acked {
        assert!(
            listed.contains(oid),
            "acknowledged pairing n{i} ({oid}) lost"
        );
        let n = api(&su, "get_node", vec![oid.clone().into()]).await;
        assert_eq!(s(&n, "pubkey"), pubkey(&secret(*i, salt)));
        assert_eq!(s(&n, "authid"), format!("n{i}"));
        assert_eq!(s(&n, "mrealm_oid"), mrealm_oid);
    }
    // a sample of acknowledged nodes can join
    for (i, _) in acked.iter().take(3) {
        let n = join(
            &proc2.url,
            cryptosign_opts(secret(*i, salt)).authrole("node"),
        )
        .await
        .expect("node joins after the crash");
        assert_eq!(n.welcome().realm.as_deref(), Some("crash"));
        assert_eq!(n.welcome().authid, Some(format!("n{i}")));
    }
    // pairing still works on the recovered store
    let fresh = pair(&su, &secret(NODES + 1, salt), "crash", "fresh").await;
    assert_eq!(fresh.get("authid"), Some(&Value::from("fresh")));
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "took {:?}",
        t0.elapsed()
    );
}
