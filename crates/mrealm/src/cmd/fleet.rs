//! Many nodes at once: `mrealm node pair-dir` pairs every `DIR/*/key.pub`, and
//! `mrealm node list --wait N` waits until N nodes are online — each with a progress bar on a
//! terminal and plain lines otherwise.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use wamp_client::{Dict, Value};

use crate::cli::output::print_json;
use crate::cli::{kwargs, Conn};
use crate::cmd::keys::read_key_file;
use crate::cmd::node::{node_pubkey, pair_pubkey};

/// How often `--wait` asks the master.
const POLL: Duration = Duration::from_millis(500);

/// What happened to one key.
enum Outcome {
    Paired,
    AlreadyPaired,
    Failed(String),
}

/// The node keys under `dir`, sorted, each with the name to pair it under.
fn node_keys(dir: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let mut keys = Vec::new();
    for entry in entries.flatten() {
        let key = entry.path().join("key.pub");
        if !key.is_file() {
            continue;
        }
        let dirname = entry.file_name().to_string_lossy().into_owned();
        let tagged = read_key_file(&key)
            .ok()
            .and_then(|kf| kf.get("node-authid").map(str::to_owned));
        keys.push((key, tagged.unwrap_or(dirname)));
    }
    keys.sort();
    Ok(keys)
}

async fn pair_one(conn: &Conn, key: &Path, mrealm: &str, name: &str) -> Outcome {
    let pubkey = match node_pubkey(&key.to_string_lossy()) {
        Ok(p) => p,
        Err(e) => return Outcome::Failed(format!("{e:#}")),
    };
    match pair_pubkey(conn, &pubkey, mrealm, name).await {
        Ok(_) => Outcome::Paired,
        Err(f) if f.uri() == Some("fabric.node-already-paired") => Outcome::AlreadyPaired,
        Err(f) => Outcome::Failed(format!("{:#}", f.with_hint(None))),
    }
}

fn bar(len: u64, what: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} {elapsed}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style);
    pb.set_message(what.to_owned());
    Some(pb)
}

/// `node pair-dir DIR MREALM`: fails (exit 1) if any key failed.
pub async fn run(conn: &Conn, dir: &Path, mrealm: &str, json: bool) -> anyhow::Result<()> {
    let keys = node_keys(dir)?;
    anyhow::ensure!(
        !keys.is_empty(),
        "no node keys found: expected {}/*/key.pub (make them with `mrealm keys --cbdir DIR/NAME`)",
        dir.display()
    );
    let pb = bar(keys.len() as u64, "pairing");
    let (mut paired, mut already, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    for (key, name) in &keys {
        match pair_one(conn, key, mrealm, name).await {
            Outcome::Paired => paired.push(name.clone()),
            Outcome::AlreadyPaired => already.push(name.clone()),
            Outcome::Failed(why) => failed.push((name.clone(), why)),
        }
        if let Some(pb) = &pb {
            pb.inc(1);
        }
    }
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    summary(&paired, &already, &failed, json);
    anyhow::ensure!(
        failed.is_empty(),
        "cannot pair {} of {} nodes (see above)",
        failed.len(),
        keys.len()
    );
    Ok(())
}

fn summary(paired: &[String], already: &[String], failed: &[(String, String)], json: bool) {
    if json {
        let names = |v: &[String]| Value::List(v.iter().map(|n| Value::Str(n.clone())).collect());
        let failed: Dict = failed
            .iter()
            .map(|(n, why)| (n.clone(), Value::Str(why.clone())))
            .collect();
        print_json(&Value::Dict(kwargs([
            ("paired", names(paired)),
            ("already_paired", names(already)),
            ("failed", Value::Dict(failed)),
        ])));
        return;
    }
    for (name, why) in failed {
        println!("failed: {name}: {why}");
    }
    println!(
        "paired: {}, already paired: {}, failed: {}",
        paired.len(),
        already.len(),
        failed.len()
    );
}

async fn online_count(conn: &Conn) -> anyhow::Result<usize> {
    let uri = master::wire::mrealm::GET_NODES;
    let args = vec![Value::Str("online".into())];
    let v = conn
        .call("count the online nodes", uri, args, Dict::new())
        .await?;
    Ok(v.as_list().map_or(0, Vec::len))
}

/// Waits until `n` nodes are online, at most `limit`.
pub async fn wait_online(conn: &Conn, n: usize, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    let pb = bar(n as u64, "nodes online");
    let result = loop {
        let count = online_count(conn).await?;
        if let Some(pb) = &pb {
            pb.set_position(count.min(n) as u64);
        }
        if count >= n {
            break Ok(());
        }
        if Instant::now() >= deadline {
            break Err(anyhow::anyhow!(
                "only {count} of {n} nodes online after {} s — see `mrealm node list --offline`",
                limit.as_secs()
            ));
        }
        tokio::time::sleep(POLL).await;
    };
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    result
}
