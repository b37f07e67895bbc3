//! `mrealm watch`: a live stream of a management realm's events — nodes coming and going,
//! traces, and optionally heartbeats and ticks — one line per event stamped with its time of
//! receipt (UTC), or one JSON object per line; ends on Ctrl-C, after --count events or --for.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio::sync::mpsc;
use wamp_client::{Event, MatchPolicy, SubscribeOptions, Value};

use crate::cli::output::{cell, parse_duration};
use crate::cli::{kwargs, Conn, ConnArgs};

const MREALM: &str = wire::mrealm::PREFIX;
use master::wire;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  mrealm watch --realm default\n  \
    mrealm watch --realm default --heartbeats --ticks\n  \
    mrealm watch --realm default --count 2 --for 30s --json")]
pub struct WatchArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Also node and worker heartbeats.
    #[arg(long)]
    pub heartbeats: bool,
    /// Also the master's ticks.
    #[arg(long)]
    pub ticks: bool,
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Stop after this long (30s, 10m, …).
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: Option<String>,
}

/// The topics to subscribe to, each with its match policy.
fn topics(args: &WatchArgs) -> Vec<(String, MatchPolicy)> {
    let mut t = vec![
        (wire::mrealm::ON_NODE_READY.to_owned(), MatchPolicy::Exact),
        (
            wire::mrealm::ON_NODE_SHUTDOWN.to_owned(),
            MatchPolicy::Exact,
        ),
        (
            format!("{}on_trace_", wire::mrealm::TRACING_PREFIX),
            MatchPolicy::Prefix,
        ),
        // the cluster managers' events: created, starting, started, degraded, stopped, ...
        (
            format!("{}on_", wire::routercluster::PREFIX),
            MatchPolicy::Prefix,
        ),
        (
            format!("{}on_", wire::webcluster::PREFIX),
            MatchPolicy::Prefix,
        ),
    ];
    if args.heartbeats {
        for hb in [wire::node::ON_HEARTBEAT, wire::node::ON_WORKER_HEARTBEAT] {
            t.push((hb.to_owned(), MatchPolicy::Exact));
        }
    }
    if args.ticks {
        t.push((format!("{MREALM}on_tick"), MatchPolicy::Exact));
    }
    t
}

pub async fn run(args: WatchArgs) -> anyhow::Result<()> {
    let realm = args
        .conn
        .realm
        .as_deref()
        .context("events come from a management realm: pass --realm NAME")?;
    let limit = match &args.duration {
        Some(d) => Some(parse_duration(d).map_err(|e| anyhow::anyhow!("--for: {e}"))?),
        None => None,
    };
    let conn = Conn::open(&args.conn, Some(realm)).await?;
    let r = stream(&conn, &args, limit).await;
    conn.close().await;
    r
}

async fn stream(conn: &Conn, args: &WatchArgs, limit: Option<Duration>) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Event)>();
    for (topic, policy) in topics(args) {
        let opts = SubscribeOptions {
            match_policy: policy,
            ..SubscribeOptions::default()
        };
        let mut sub = conn
            .session()
            .subscribe(&topic, opts)
            .await
            .map_err(|e| anyhow::anyhow!("cannot subscribe to {topic}: {e}"))?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(ev) = sub.recv().await {
                let name = ev.topic().unwrap_or(&topic).to_owned();
                if tx.send((name, ev)).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    eprintln!("watching {} (Ctrl-C to stop)", realm_of(args));
    let deadline = limit.map(|d| tokio::time::Instant::now() + d);
    let mut seen = 0u64;
    while args.count.is_none_or(|n| seen < n) {
        tokio::select! {
            got = rx.recv() => match got {
                Some((topic, ev)) => {
                    print_event(&topic, &ev, args.conn.json);
                    seen += 1;
                }
                None => anyhow::bail!("the master closed the session"),
            },
            _ = tokio::signal::ctrl_c() => break,
            _ = sleep_until(deadline) => break,
        }
    }
    Ok(())
}

fn realm_of(args: &WatchArgs) -> &str {
    args.conn.realm.as_deref().unwrap_or("-")
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// The short event name: the topic without its well-known prefix.
fn short(topic: &str) -> &str {
    [MREALM, "crossbarfabriccenter."]
        .iter()
        .find_map(|p| topic.strip_prefix(p))
        .unwrap_or(topic)
}

fn print_event(topic: &str, ev: &Event, json: bool) {
    let now = wamp_proto::time::utcnow();
    if json {
        let obj = Value::Dict(kwargs([
            ("time", Value::Str(now)),
            ("topic", Value::Str(topic.to_owned())),
            ("args", Value::List(ev.args.clone())),
            ("kwargs", Value::Dict(ev.kwargs.clone())),
        ]));
        println!("{}", serde_json::Value::from(&obj));
    } else {
        println!("{now}  {:<22}  {}", short(topic), summary(topic, &ev.args));
    }
}

/// The interesting part of an event's arguments, for one line.
fn summary(topic: &str, args: &[Value]) -> String {
    let field = |v: &Value, k: &str| v.get(k).map_or("-".into(), cell);
    let first = args.first().unwrap_or(&Value::Null);
    match short(topic) {
        "on_node_ready" | "on_node_shutdown" => {
            let obj = args.get(1).unwrap_or(&Value::Null);
            format!(
                "{} status={} oid={}",
                field(obj, "authid"),
                field(obj, "status"),
                cell(first)
            )
        }
        "on_tick" => format!("tick={}", field(first, "tick")),
        "node.on_heartbeat" => {
            let hb = args.get(1).unwrap_or(&Value::Null);
            format!("{} seq={}", cell(first), field(hb, "seq"))
        }
        "node.on_worker_heartbeat" => {
            let worker = args.get(1).map_or("-".into(), cell);
            let hb = args.get(2).unwrap_or(&Value::Null);
            format!("{} {worker} seq={}", cell(first), field(hb, "seq"))
        }
        t if t.starts_with("tracing.on_trace_data") => format!("trace={}", args_line(args)),
        t if t.starts_with("routercluster.") || t.starts_with("webcluster.") => {
            let name = first.get("name").or_else(|| first.get("path"));
            let status = first.get("status").map(|s| format!(" status={}", cell(s)));
            let oid = first.get("oid").or_else(|| first.get("node_oid"));
            format!(
                "{}{} oid={}",
                name.map_or("-".into(), cell),
                status.unwrap_or_default(),
                oid.map_or("-".into(), cell)
            )
        }
        t if t.starts_with("tracing.") => {
            let info = args.get(1).unwrap_or(&Value::Null);
            format!("{} status={}", cell(first), field(info, "status"))
        }
        _ => args_line(args),
    }
}

fn args_line(args: &[Value]) -> String {
    args.iter().map(cell).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use wamp_proto::dict;

    #[test]
    fn one_line_summaries() {
        let ready = format!("{MREALM}on_node_ready");
        let obj: Value = dict! { "authid" => "n1", "status" => "online" }.into();
        let line = summary(&ready, &[Value::Str("oid1".into()), obj]);
        assert_eq!(line, "n1 status=online oid=oid1");
        assert_eq!(short(&ready), "on_node_ready");
        let tick: Value = dict! { "tick" => 7 }.into();
        assert_eq!(summary(&format!("{MREALM}on_tick"), &[tick]), "tick=7");
        let degraded = format!("{}on_webcluster_degraded", wire::webcluster::PREFIX);
        let obj: Value = dict! { "oid" => "c1", "status" => "DEGRADED", "changed" => 1 }.into();
        assert_eq!(summary(&degraded, &[obj]), "- status=DEGRADED oid=c1");
        let created = format!("{}on_routercluster_created", wire::routercluster::PREFIX);
        let obj: Value = dict! { "oid" => "c2", "name" => "rc1", "status" => "STOPPED" }.into();
        assert_eq!(summary(&created, &[obj]), "rc1 status=STOPPED oid=c2");
    }
}
