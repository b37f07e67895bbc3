//! `mrealm node logs`: a node's (or one worker's) heartbeat history from the management realm's
//! `get_node_logs` / `get_worker_logs`, as a table with a CPU and memory sparkline, or as JSON.

use std::io::IsTerminal;

use wamp_client::{Dict, Value};
use wamp_proto::time::now_ns;

use crate::cli::output::{self, ago, now_secs, parse_duration, print_json, sparkline, table};
use crate::cli::Conn;

const MREALM: &str = master::wire::mrealm::PREFIX;

/// What to show.
pub struct LogsQuery<'a> {
    pub node: &'a str,
    pub since: Option<&'a str>,
    pub worker: Option<&'a str>,
    pub limit: Option<u32>,
    pub json: bool,
}

pub async fn run(conn: &Conn, q: LogsQuery<'_>) -> anyhow::Result<()> {
    let oid = super::node::node_oid(conn, q.node).await?;
    let from = match q.since {
        Some(s) => {
            let d = parse_duration(s).map_err(|e| anyhow::anyhow!("--since: {e}"))?;
            let back = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
            Value::from(now_ns().saturating_sub(back))
        }
        None => Value::Null,
    };
    let limit = q.limit.map_or(Value::Null, |l| Value::from(u64::from(l)));
    // (node_oid[, worker_id], from_ts, until_ts, limit)
    let mut args = vec![Value::Str(oid)];
    if let Some(w) = q.worker {
        args.push(Value::Str(w.to_owned()));
    }
    args.extend([from, Value::Null, limit]);
    let proc = match q.worker {
        Some(_) => "get_worker_logs",
        None => "get_node_logs",
    };
    let what = format!("get the heartbeat history of \"{}\"", q.node);
    let v = conn
        .call(&what, &format!("{MREALM}{proc}"), args, Dict::new())
        .await?;
    if q.json {
        print_json(&v);
        return Ok(());
    }
    let records: Vec<Value> = v.as_list().cloned().unwrap_or_default();
    print_table(&records, q.worker.is_some());
    if std::io::stdout().is_terminal() && !records.is_empty() {
        print_sparklines(&records, q.worker.is_some());
    }
    Ok(())
}

fn print_table(records: &[Value], worker: bool) {
    let now = now_secs();
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let time = r
                .get("timestamp")
                .and_then(Value::as_i64)
                .map_or("-".into(), |t| ago(t / 1_000_000_000, now));
            let seq = r.get("seq").map_or("-".into(), output::cell);
            if worker {
                let ty = r.get("type").map_or("-".into(), output::cell);
                let state = r.get("state").map_or("-".into(), output::cell);
                vec![time, seq, ty, state, pct(worker_cpu(r))]
            } else {
                vec![time, seq, pct(node_cpu(r)), pct(node_mem(r))]
            }
        })
        .collect();
    let headers: &[&str] = if worker {
        &["TIME", "SEQ", "TYPE", "STATE", "CPU %"]
    } else {
        &["TIME", "SEQ", "CPU %", "MEMORY %"]
    };
    print!("{}", table(headers, &rows, output::colour()));
}

fn print_sparklines(records: &[Value], worker: bool) {
    // Records come newest first; the sparkline reads left (old) to right (new).
    let series =
        |f: fn(&Value) -> Option<f64>| -> Vec<f64> { records.iter().rev().filter_map(f).collect() };
    let cpu = series(if worker { worker_cpu } else { node_cpu });
    let mut line = format!("cpu {}", sparkline(&cpu));
    if !worker {
        line.push_str(&format!("  memory {}", sparkline(&series(node_mem))));
    }
    println!("{line}");
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |p| format!("{p:.1}"))
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for k in path {
        cur = cur.get(k)?;
    }
    cur.as_f64()
}

/// Node CPU usage: 100 − idle.
fn node_cpu(r: &Value) -> Option<f64> {
    num(r, &["cpu", "idle"]).map(|idle| (100.0 - idle).max(0.0))
}

fn node_mem(r: &Value) -> Option<f64> {
    num(r, &["memory", "percent"])
}

/// Worker CPU usage: CPU seconds per second (user + system) as a percentage.
fn worker_cpu(r: &Value) -> Option<f64> {
    let user = num(r, &["process", "cpu_user_per_sec"]);
    let system = num(r, &["process", "cpu_system_per_sec"]);
    match (user, system) {
        (None, None) => None,
        (u, s) => Some((u.unwrap_or(0.0) + s.unwrap_or(0.0)) * 100.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wamp_proto::dict;

    #[test]
    fn reads_node_usage() {
        let r: Value = dict! {
            "cpu" => dict! { "idle" => 90.0 },
            "memory" => dict! { "percent" => 12.5 },
        }
        .into();
        assert_eq!(node_cpu(&r), Some(10.0));
        assert_eq!(node_mem(&r), Some(12.5));
        assert_eq!(node_cpu(&Value::Null), None);
        assert_eq!(pct(None), "-");
    }
}
