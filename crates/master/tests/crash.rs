//! Crash safety of pairing with the real `mrealm` binary: 8 concurrent callers pair up to 1,000
//! node keys as fast as they can, the master is SIGKILLed after a random number of acknowledged
//! pairings, restarted on the same cbdir, and every pairing that was acknowledged (RESULT
//! received) must still be there. Needs `cargo build -p mrealm` (skipped with a message if the
//! binary is missing).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use wamp_client::Session;
use wamp_proto::cryptosign::LEN;
use wamp_proto::Value;

const NODES: usize = 1000;
const TASKS: usize = 8;

fn binary() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/mrealm");
    p.is_file().then_some(p)
}

/// A running `mrealm master start`; killed (SIGKILL) and reaped on drop.
struct MasterProc {
    child: Child,
    url: String,
}

impl MasterProc {
    fn start(bin: &Path, cbdir: &Path, key: &Path) -> MasterProc {
        let mut child = Command::new(bin)
            .args(["master", "start", "--cbdir"])
            .arg(cbdir)
            .args(["--listen", "127.0.0.1:0"])
            .env("CROSSBAR_FABRIC_SUPERUSER", key)
            .env_remove("CROSSBAR_WATCH_TO_PAIR")
            .env_remove("CROSSBAR_FABRIC_URL")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn mrealm");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("mrealm master listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let mut proc = MasterProc {
            child,
            url: String::new(),
        };
        proc.url = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("master prints its URL");
        proc
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Drop for MasterProc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn secret(i: usize, salt: u64) -> [u8; LEN] {
    let mut s = [0u8; LEN];
    s[..8].copy_from_slice(&(i as u64).to_le_bytes());
    s[8..16].copy_from_slice(&salt.to_le_bytes());
    s[31] = 0x42;
    s
}

async fn superuser_at(url: &str) -> Session {
    let mut opts = cryptosign_opts(SUPERUSER).authid("unknown");
    opts.realm = None;
    join(url, opts).await.expect("superuser joins")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_pairings_survive_sigkill() {
    let Some(bin) = binary() else {
        eprintln!("SKIPPED: target/debug/mrealm missing - run `cargo build -p mrealm` first");
        return;
    };
    let t0 = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("default.pub");
    write_pub(&key, &SUPERUSER, "user", &[("user-id", "unknown".into())]);
    let cbdir = dir.path().join("cb");
    let salt = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64;
    let kill_after = 200 + (salt % 501) as usize;

    let mut proc = MasterProc::start(&bin, &cbdir, &key);
    let su = superuser_at(&proc.url).await;
    let mr = create_mrealm(&su, "crash").await;
    let mrealm_oid = s(&mr, "oid").to_owned();

    // node index -> oid, for every RESULT received
    let acked: Arc<Mutex<HashMap<usize, String>>> = Arc::default();
    let (enough_tx, mut enough_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let session = superuser_at(&proc.url).await;
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
    let su = superuser_at(&proc2.url).await;
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
