//! `mrealm call`: one procedure of a node's remote API through the master
//! (`crossbarfabriccenter.remote.<api>.<procedure>(node_oid[, worker], *args, **kwargs)`), the
//! node named by oid or name; arguments are JSON where they parse as JSON, else strings.

use anyhow::Context;
use clap::Args;
use wamp_client::{Dict, Value};

use crate::cli::output::print_json;
use crate::cli::{Conn, ConnArgs};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mrealm call node1 get_workers --realm default\n  \
    mrealm call node1 get_worker --realm default router1\n  \
    mrealm call node1 get_router_realms --realm default --api router --worker router1\n  \
    mrealm call node1 start_worker --realm default router2 router '{}' --kw enabled=true"
)]
pub struct CallArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The node (oid or name).
    pub node: String,
    /// The procedure, e.g. get_workers (the part after `crossbarfabriccenter.remote.<api>.`).
    pub procedure: String,
    /// Positional arguments: JSON when they parse as JSON, else strings.
    #[arg(allow_negative_numbers = true)]
    pub args: Vec<String>,
    /// A keyword argument (repeatable); the value is JSON when it parses, else a string.
    #[arg(long = "kw", value_name = "KEY=VALUE")]
    pub kwargs: Vec<String>,
    /// The remote API: node, router, container, proxy, …
    #[arg(long, default_value = "node")]
    pub api: String,
    /// The worker, for worker-level APIs (router, container, proxy, …).
    #[arg(long)]
    pub worker: Option<String>,
}

/// A command-line argument as a WAMP value: JSON if it parses, else the string itself.
pub fn parse_arg(text: &str) -> Value {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(j) => j.into(),
        Err(_) => Value::Str(text.to_owned()),
    }
}

fn parse_kwargs(pairs: &[String]) -> anyhow::Result<Dict> {
    let mut kw = Dict::new();
    for p in pairs {
        let (k, v) = p
            .split_once('=')
            .with_context(|| format!("--kw \"{p}\": expected KEY=VALUE"))?;
        kw.insert(k.to_owned(), parse_arg(v));
    }
    Ok(kw)
}

pub async fn run(args: CallArgs) -> anyhow::Result<()> {
    let realm = args.conn.realm.as_deref().context(
        "nodes live in a management realm: pass --realm NAME (see `mrealm mrealm list`)",
    )?;
    let kw = parse_kwargs(&args.kwargs)?;
    anyhow::ensure!(
        args.api == "node" || args.worker.is_some(),
        "the {} API is a worker API: pass --worker WORKER",
        args.api
    );
    let conn = Conn::open(&args.conn, Some(realm)).await?;
    let r = call(&conn, &args, kw).await;
    conn.close().await;
    let v = r?;
    if args.conn.json {
        print_json(&v);
    } else {
        print_value(&v);
    }
    Ok(())
}

async fn call(conn: &Conn, args: &CallArgs, kw: Dict) -> anyhow::Result<Value> {
    let oid = super::node::node_oid(conn, &args.node).await?;
    let mut positional = vec![Value::Str(oid)];
    if let Some(w) = &args.worker {
        positional.push(Value::Str(w.clone()));
    }
    positional.extend(args.args.iter().map(|a| parse_arg(a)));
    let uri = master::wire::remote::uri(&args.api, &args.procedure);
    let what = format!("call {} on \"{}\"", args.procedure, args.node);
    Ok(conn.call(&what, &uri, positional, kw).await?)
}

/// Strings print bare; anything else as pretty JSON.
fn print_value(v: &Value) {
    match v {
        Value::Str(s) => println!("{s}"),
        other => print_json(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_json_or_strings() {
        assert_eq!(parse_arg("3"), Value::from(3u64));
        assert_eq!(parse_arg("router1"), Value::Str("router1".into()));
        assert_eq!(parse_arg("\"x\""), Value::Str("x".into()));
        assert!(matches!(parse_arg("[1,2]"), Value::List(_)));
        let kw = parse_kwargs(&["a=true".into(), "b=x=y".into()]).expect("kw");
        assert_eq!(kw.get("a"), Some(&Value::Bool(true)));
        assert_eq!(kw.get("b"), Some(&Value::Str("x=y".into())));
        assert!(parse_kwargs(&["novalue".into()]).is_err());
    }
}
