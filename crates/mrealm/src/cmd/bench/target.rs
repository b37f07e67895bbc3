//! What the master benchmarks share: the master under test (`--url`, `--master-pid`,
//! `--superuser-key`, `--mrealm`, `--target`), sessions as the superuser, pairing bench nodes,
//! the printed table and the JSON document every scenario writes.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde_json::{json, Value as Json};
use wamp_client::{Dict, Value};
use wamp_proto::cryptosign;

use crate::cli::{Conn, ConnArgs};

/// The master under test.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// WebSocket URL of the master.
    #[arg(long)]
    pub url: String,
    /// Process id of the master; CPU and RSS are summed over it and all its descendants.
    #[arg(long)]
    pub master_pid: Option<u32>,
    /// The superuser's private key file (the key whose .pub the master was started with).
    #[arg(long, value_name = "FILE")]
    pub superuser_key: PathBuf,
    /// Management realm the scenario works in.
    #[arg(long, default_value = "default")]
    pub mrealm: String,
    /// Name of the master under test (mrealm, crossbar), for the table and the JSON.
    #[arg(long, default_value = "mrealm")]
    pub target: String,
    /// Write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

impl TargetArgs {
    /// A session as the superuser on the management realm (`mrealm`) or the global realm.
    pub async fn connect(&self, mrealm: bool) -> anyhow::Result<Conn> {
        let conn = ConnArgs {
            url: Some(self.url.clone()),
            key: Some(self.superuser_key.clone()),
            realm: None,
            json: false,
        };
        let realm = mrealm.then_some(self.mrealm.as_str());
        Conn::open(&conn, realm).await
    }
}

/// The authid of bench node `i` with `prefix`.
pub fn node_authid(prefix: &str, i: usize) -> String {
    format!("{prefix}{i:05}")
}

/// Pairs `count` fresh keys as `<prefix>00000…` into the management realm; names paired before
/// are kept (the call's "already paired/exists" errors are ignored). Returns how many were new.
pub async fn pair_nodes(t: &TargetArgs, prefix: &str, count: usize) -> anyhow::Result<usize> {
    let global = t.connect(false).await?;
    ensure_mrealm(&global, &t.mrealm).await?;
    let mut new = 0;
    for i in 0..count {
        let secret: [u8; cryptosign::LEN] = rand::random();
        let pubkey = hex::encode(cryptosign::public_key(&secret));
        let args = vec![
            Value::Str(pubkey),
            Value::Str(t.mrealm.clone()),
            Value::Str(node_authid(prefix, i)),
        ];
        let what = "pair a bench node";
        match global
            .call(what, master::wire::mrealm::PAIR_NODE, args, Dict::new())
            .await
        {
            Ok(_) => new += 1,
            Err(f) if is_duplicate(f.uri()) => {}
            Err(f) => return Err(f.into()),
        }
    }
    global.close().await;
    Ok(new)
}

/// Creates the management realm `name` unless it exists (the Python master always has
/// `default`; mrealm creates it only with auto-pairing on).
pub async fn ensure_mrealm(global: &Conn, name: &str) -> anyhow::Result<()> {
    let mut obj = Dict::new();
    obj.insert("name".into(), Value::Str(name.to_owned()));
    let uri = master::wire::mrealm::CREATE_MREALM;
    match global
        .call(
            "create the management realm",
            uri,
            vec![Value::Dict(obj)],
            Dict::new(),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(f) if is_duplicate(f.uri()) => Ok(()),
        Err(f) => Err(f.into()),
    }
}

fn is_duplicate(uri: Option<&str>) -> bool {
    uri.is_some_and(|u| u.contains("already"))
}

/// Milliseconds with `decimals`, or "-".
pub fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"))
}

/// Prints a title and aligned columns (first column left, the rest right).
pub fn print_table(title: &str, head: &[&str], rows: &[Vec<String>]) {
    println!("{title}");
    let n = head.len();
    let width = |i: usize| {
        rows.iter()
            .filter_map(|r| r.get(i).map(String::len))
            .chain([head[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..n).map(width).collect();
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            if i == 0 {
                s.push_str(&format!("{c:<w$}"));
            } else {
                s.push_str(&format!("  {c:>w$}"));
            }
        }
        s
    };
    println!("{}", line(head.to_vec()));
    for r in rows {
        println!("{}", line(r.iter().map(String::as_str).collect()));
    }
}

/// Writes `{scenario, target, url, master_pid, params, results}` to `--json` if given.
pub fn write_json(
    t: &TargetArgs,
    scenario: &str,
    params: Json,
    results: Json,
) -> anyhow::Result<()> {
    let Some(path) = &t.json else {
        return Ok(());
    };
    let doc = json!({
        "scenario": scenario,
        "target": t.target,
        "url": t.url,
        "mrealm": t.mrealm,
        "master_pid": t.master_pid,
        "params": params,
        "results": results,
    });
    write_doc(path, &doc)
}

fn write_doc(path: &Path, doc: &Json) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(doc)?;
    std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
}
