//! `mrealm node …`: list and show the nodes of a management realm (mrealm `get_nodes`,
//! `get_node`, `get_node_by_authid`), and pair/unpair nodes on the global realm (`pair_node`,
//! `unpair_node_by_pubkey`), as `crossbar shell` does.

use std::path::Path;

use anyhow::Context;
use clap::{Args, Subcommand};
use wamp_client::{Dict, Value};

use crate::cli::output::{self, print_json, table};
use crate::cli::{is_uuid, kwargs, Conn, ConnArgs};
use crate::cmd::fabric::{col, show_dict, show_names};

const MREALM: &str = master::wire::mrealm::PREFIX;

#[derive(Debug, Args)]
pub struct NodeArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(subcommand)]
    pub command: NodeCommand,
}

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// List the paired nodes of a management realm (needs --realm).
    #[command(after_help = "Examples:\n  mrealm node list --realm default\n  \
        mrealm node list --realm default --online --names --json\n  \
        mrealm node list --realm default --wait 3 --timeout 1m")]
    List {
        /// Only nodes connected now.
        #[arg(long, conflicts_with = "offline")]
        online: bool,
        /// Only nodes not connected now.
        #[arg(long)]
        offline: bool,
        /// Only the node names (authids).
        #[arg(long)]
        names: bool,
        /// First wait until this many nodes are online (progress bar on a terminal).
        #[arg(long, value_name = "N")]
        wait: Option<usize>,
        /// How long --wait may take (30s, 5m, …).
        #[arg(
            long,
            value_name = "DURATION",
            default_value = "30s",
            requires = "wait"
        )]
        timeout: String,
    },
    /// Show one node of a management realm by oid or name (needs --realm).
    #[command(after_help = "Example:\n  mrealm node show --realm default node1")]
    Show { node: String },
    /// Pair a node (its key.pub file or 64 hex digits) to a management realm under a name.
    #[command(after_help = "Example:\n  mrealm node pair ./node1/key.pub default node1")]
    Pair {
        #[arg(value_name = "KEY")]
        node_key: String,
        mrealm: String,
        name: String,
        /// Extra data (a JSON object) handed to the node when it authenticates.
        #[arg(long, value_name = "JSON")]
        authextra: Option<String>,
    },
    /// Unpair a node (its key.pub file or 64 hex digits).
    #[command(after_help = "Example:\n  mrealm node unpair ./node1/key.pub")]
    Unpair {
        #[arg(value_name = "KEY")]
        node_key: String,
    },
    /// Pair every node key DIR/*/key.pub to a management realm (name: the key's node-authid
    /// tag, else its directory's name).
    #[command(after_help = "Example:\n  mrealm node pair-dir ./nodes default")]
    PairDir {
        dir: std::path::PathBuf,
        mrealm: String,
    },
    /// A node's heartbeat history (or one worker's, with --worker), newest first (needs --realm).
    #[command(
        after_help = "Examples:\n  mrealm node logs node1 --realm default --since 1h\n  \
        mrealm node logs node1 --realm default --worker router1 --limit 20 --json"
    )]
    Logs {
        node: String,
        /// Only heartbeats received within this span (30s, 10m, 1h, 2d).
        #[arg(long, value_name = "DURATION")]
        since: Option<String>,
        /// A worker's heartbeats instead of the node's.
        #[arg(long, value_name = "WORKER")]
        worker: Option<String>,
        /// At most this many records (1 … 10000; the master's default: 100).
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
    },
}

/// Connects, runs one node command, and leaves.
pub async fn run(args: NodeArgs) -> anyhow::Result<()> {
    let json = args.conn.json;
    let realm = match &args.command {
        NodeCommand::List { .. } | NodeCommand::Show { .. } | NodeCommand::Logs { .. } => {
            Some(need_realm(&args.conn)?)
        }
        _ => None,
    };
    let conn = Conn::open(&args.conn, realm).await?;
    let r = match args.command {
        NodeCommand::List {
            online,
            offline,
            names,
            wait,
            timeout,
        } => {
            if let Some(n) = wait {
                let limit = output::parse_duration(&timeout)
                    .map_err(|e| anyhow::anyhow!("--timeout: {e}"))?;
                crate::cmd::fleet::wait_online(&conn, n, limit).await?;
            }
            let status = if online {
                "online"
            } else if offline {
                "offline"
            } else {
                ""
            };
            list(&conn, status, names, json).await
        }
        NodeCommand::Show { node } => get(&conn, &node).await.map(|v| show_dict(&v, json)),
        NodeCommand::Pair {
            node_key: key,
            mrealm,
            name,
            authextra,
        } => pair(&conn, &key, &mrealm, &name, authextra.as_deref())
            .await
            .map(|v| show_dict(&v, json)),
        NodeCommand::Unpair { node_key: key } => {
            unpair(&conn, &key).await.map(|v| show_dict(&v, json))
        }
        NodeCommand::PairDir { dir, mrealm } => {
            crate::cmd::fleet::run(&conn, &dir, &mrealm, json).await
        }
        NodeCommand::Logs {
            node,
            since,
            worker,
            limit,
        } => {
            let q = crate::cmd::logs::LogsQuery {
                node: &node,
                since: since.as_deref(),
                worker: worker.as_deref(),
                limit,
                json,
            };
            crate::cmd::logs::run(&conn, q).await
        }
    };
    conn.close().await;
    r
}

fn need_realm(conn: &ConnArgs) -> anyhow::Result<&str> {
    conn.realm
        .as_deref()
        .context("nodes live in a management realm: pass --realm NAME (see `mrealm mrealm list`)")
}

async fn list(conn: &Conn, status: &str, names: bool, json: bool) -> anyhow::Result<()> {
    let what = "list the nodes";
    let status = if status.is_empty() {
        Value::Null
    } else {
        Value::Str(status.into())
    };
    let kw = kwargs([("return_names", Value::Bool(names))]);
    let v = conn
        .call(what, &format!("{MREALM}get_nodes"), vec![status], kw)
        .await?;
    if names {
        show_names(&v, "NAME", json);
        return Ok(());
    }
    let mut objs = Vec::new();
    for oid in v.as_list().into_iter().flatten() {
        objs.push(get(conn, &output::cell(oid)).await?);
    }
    if json {
        print_json(&Value::List(objs));
    } else {
        let keys = ["authid", "oid", "status", "timestamp", "pubkey"];
        let rows: Vec<Vec<String>> = objs
            .iter()
            .map(|o| keys.map(|k| col(o, k)).to_vec())
            .collect();
        let headers = ["NAME", "OID", "STATUS", "LAST HEARTBEAT", "PUBKEY"];
        print!("{}", table(&headers, &rows, output::colour()));
    }
    Ok(())
}

async fn get(conn: &Conn, node: &str) -> anyhow::Result<Value> {
    let (proc, what) = if is_uuid(node) {
        ("get_node", format!("show node {node}"))
    } else {
        ("get_node_by_authid", format!("show node \"{node}\""))
    };
    let args = vec![Value::Str(node.to_owned())];
    Ok(conn
        .call(&what, &format!("{MREALM}{proc}"), args, Dict::new())
        .await?)
}

/// The oid of a node given by oid or name.
pub async fn node_oid(conn: &Conn, node: &str) -> anyhow::Result<String> {
    if is_uuid(node) {
        return Ok(node.to_owned());
    }
    let obj = get(conn, node).await?;
    obj.get("oid")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("the master answered no oid for node \"{node}\""))
}

/// Pairs one node key (pubkey hex) and returns the master's answer.
pub async fn pair_pubkey(
    conn: &Conn,
    pubkey: &str,
    mrealm: &str,
    name: &str,
) -> Result<Value, crate::cli::CallFailure> {
    let mut args: Vec<Value> = [pubkey, mrealm, name]
        .map(|s| Value::Str(s.to_owned()))
        .to_vec();
    args.push(Value::Null); // no authextra
    conn.call(
        &format!("pair node \"{name}\""),
        &format!("{MREALM}pair_node"),
        args,
        Dict::new(),
    )
    .await
}

async fn pair(
    conn: &Conn,
    key: &str,
    mrealm: &str,
    name: &str,
    authextra: Option<&str>,
) -> anyhow::Result<Value> {
    let pubkey = node_pubkey(key)?;
    let extra = match authextra {
        Some(text) => serde_json::from_str::<serde_json::Value>(text)
            .context("cannot pair node: --authextra is not valid JSON")?
            .into(),
        None => Value::Null,
    };
    let args = [&pubkey, mrealm, name]
        .map(|s| Value::Str(s.to_owned()))
        .to_vec();
    let args = [args, vec![extra]].concat();
    let r = conn
        .call(
            "pair node",
            &format!("{MREALM}pair_node"),
            args,
            Dict::new(),
        )
        .await;
    r.map_err(|f| {
        let hint = match f.uri() {
            Some("fabric.node-already-paired") => {
                Some(format!("try `mrealm node unpair {key}` first"))
            }
            Some("wamp.error.runtime_error") => Some(format!(
                "does management realm \"{mrealm}\" exist? (`mrealm mrealm list`)"
            )),
            _ => None,
        };
        f.with_hint(hint)
    })
}

async fn unpair(conn: &Conn, key: &str) -> anyhow::Result<Value> {
    let args = vec![Value::Str(node_pubkey(key)?)];
    let uri = format!("{MREALM}unpair_node_by_pubkey");
    Ok(conn.call("unpair node", &uri, args, Dict::new()).await?)
}

/// The node's public key: 64 hex digits as given, else read from a key file.
pub(crate) fn node_pubkey(key: &str) -> anyhow::Result<String> {
    if key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(key.to_ascii_lowercase());
    }
    let kf = crate::cmd::keys::read_key_file(Path::new(key))
        .context("the node key must be a key.pub file or 64 hex digits")?;
    Ok(hex::encode(kf.public_key()?))
}
