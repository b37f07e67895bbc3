//! `mrealm trace …`: router worker traces of a management realm, mapped onto its tracing
//! procedures (`create_trace`, `start_trace`, `stop_trace`, `get_trace`, `get_trace_data`,
//! `delete_trace`, `get_traces`); node names in `--worker NODE:WORKER` are resolved to oids.

use anyhow::Context;
use clap::{Args, Subcommand};
use wamp_client::{Dict, Value};

use crate::cli::output::print_json;
use crate::cli::{kwargs, Conn, ConnArgs};
use crate::cmd::fabric::{show_dict, show_names};

const MREALM: &str = master::wire::mrealm::PREFIX;

#[derive(Debug, Args)]
pub struct TraceArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(subcommand)]
    pub command: TraceCommand,
}

#[derive(Debug, Subcommand)]
pub enum TraceCommand {
    /// Create a trace of router workers (status `stopped`).
    #[command(after_help = "Example:\n  mrealm trace create t1 --realm default \
        --worker node1:router1 --worker node2:router1 --batching-period 200")]
    Create {
        id: String,
        /// A traced worker as NODE:WORKER (node name or oid); repeatable.
        #[arg(long = "worker", value_name = "NODE:WORKER", required = true)]
        workers: Vec<String>,
        /// Trace option `batching_period` in ms.
        #[arg(long, value_name = "MS")]
        batching_period: Option<u64>,
        /// A role that may not read the trace (repeatable).
        #[arg(long = "exclude-role", value_name = "ROLE")]
        exclude_roles: Vec<String>,
        /// A role that may read the trace (repeatable; default: every role).
        #[arg(long = "reader-role", value_name = "ROLE")]
        reader_roles: Vec<String>,
    },
    /// Start a trace on its workers.
    #[command(after_help = "Example:\n  mrealm trace start t1 --realm default")]
    Start { id: String },
    /// Stop a running trace.
    #[command(after_help = "Example:\n  mrealm trace stop t1 --realm default")]
    Stop { id: String },
    /// Show a trace (status, workers, options).
    #[command(after_help = "Example:\n  mrealm trace show t1 --realm default")]
    Show { id: String },
    /// The data the trace's workers have collected.
    #[command(after_help = "Example:\n  mrealm trace data t1 --realm default --limit 100")]
    Data {
        id: String,
        /// At most this many records per worker.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
    },
    /// Delete a stopped trace.
    #[command(after_help = "Example:\n  mrealm trace delete t1 --realm default")]
    Delete { id: String },
    /// List the trace ids.
    #[command(after_help = "Example:\n  mrealm trace list --realm default --json")]
    List,
}

/// Connects, runs one trace command, and leaves.
pub async fn run(args: TraceArgs) -> anyhow::Result<()> {
    let realm = args
        .conn
        .realm
        .as_deref()
        .context("traces live in a management realm: pass --realm NAME")?;
    let json = args.conn.json;
    let conn = Conn::open(&args.conn, Some(realm)).await?;
    let r = dispatch(&conn, args.command, json).await;
    conn.close().await;
    r
}

async fn dispatch(conn: &Conn, command: TraceCommand, json: bool) -> anyhow::Result<()> {
    let s = |id: &str| vec![Value::Str(id.to_owned())];
    let (what, proc, args, kw) = match command {
        TraceCommand::Create {
            id,
            workers,
            batching_period,
            exclude_roles,
            reader_roles,
        } => {
            let mut args = create_args(conn, &id, &workers, batching_period).await?;
            let roles = |r: Vec<String>| match r.is_empty() {
                true => Value::Null,
                false => Value::List(r.into_iter().map(Value::Str).collect()),
            };
            args.extend([roles(reader_roles), roles(exclude_roles)]);
            (
                format!("create trace \"{id}\""),
                "create_trace",
                args,
                Dict::new(),
            )
        }
        TraceCommand::Start { id } => (
            format!("start trace \"{id}\""),
            "start_trace",
            s(&id),
            Dict::new(),
        ),
        TraceCommand::Stop { id } => (
            format!("stop trace \"{id}\""),
            "stop_trace",
            s(&id),
            Dict::new(),
        ),
        TraceCommand::Show { id } => (
            format!("show trace \"{id}\""),
            "get_trace",
            s(&id),
            Dict::new(),
        ),
        TraceCommand::Delete { id } => (
            format!("delete trace \"{id}\""),
            "delete_trace",
            s(&id),
            Dict::new(),
        ),
        TraceCommand::Data { id, limit } => {
            let kw = kwargs([("limit", limit.map_or(Value::Null, Value::from))]);
            (
                format!("get the data of trace \"{id}\""),
                "get_trace_data",
                s(&id),
                kw,
            )
        }
        TraceCommand::List => ("list the traces".into(), "get_traces", vec![], Dict::new()),
    };
    let v = conn
        .call(&what, &format!("{MREALM}{proc}"), args, kw)
        .await?;
    show(proc, &what, &v, json)
}

fn show(proc: &str, what: &str, v: &Value, json: bool) -> anyhow::Result<()> {
    match (proc, v) {
        // get_trace answers null for an unknown trace; say so like the other commands.
        ("get_trace", Value::Null) => Err(anyhow::anyhow!(
            "cannot {what}: crossbar.error.no_such_object — see `mrealm trace list`"
        )),
        ("get_traces", _) => {
            show_names(v, "TRACE", json);
            Ok(())
        }
        ("get_trace_data", _) => {
            print_json(v);
            Ok(())
        }
        _ => {
            show_dict(v, json);
            Ok(())
        }
    }
}

/// `(trace_id, [[node_oid, worker_id], …], trace_options)`; the reader roles follow.
async fn create_args(
    conn: &Conn,
    id: &str,
    workers: &[String],
    batching_period: Option<u64>,
) -> anyhow::Result<Vec<Value>> {
    let mut traced = Vec::new();
    for w in workers {
        let (node, worker) = w
            .rsplit_once(':')
            .filter(|(n, w)| !n.is_empty() && !w.is_empty())
            .with_context(|| format!("--worker \"{w}\": expected NODE:WORKER"))?;
        let oid = super::node::node_oid(conn, node).await?;
        traced.push(Value::List(vec![
            Value::Str(oid),
            Value::Str(worker.into()),
        ]));
    }
    let options = match batching_period {
        Some(ms) => Value::Dict(kwargs([("batching_period", Value::from(ms))])),
        None => Value::Null,
    };
    Ok(vec![
        Value::Str(id.to_owned()),
        Value::List(traced),
        options,
    ])
}
