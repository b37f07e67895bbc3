//! Accepting a heartbeat payload: `crossbarfabriccenter.node.on_heartbeat` (`[authid, hb]`)
//! and `on_worker_heartbeat` (`[authid, worker_id, hb]`) are read once, field by field, into
//! [`NodeHeartbeat`] / [`WorkerHeartbeat`]. A field that is present must have the documented
//! type (the fields of Crossbar's `MNodeLog` / `MWorkerLog`), or the whole heartbeat is refused
//! with the reason. Pure: no session, store or clock; the fuzz targets call these functions
//! directly with hostile payloads.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};
use wamp_proto::{Dict, Value};

/// Why a payload was refused.
pub type Check<T> = std::result::Result<T, String>;

/// Longest worker id accepted (it becomes part of URIs and of the history's keys).
pub const MAX_WORKER_ID: usize = 255;

/// Worker types a heartbeat may report (Crossbar's native worker types, as `MWorkerLog` knows
/// them, plus the node controller and the `websocket-testee` spelling of `testee`).
pub const WORKER_TYPES: [&str; 9] = [
    "router",
    "container",
    "guest",
    "testee",
    "websocket-testee",
    "proxy",
    "xbrmm",
    "hostmonitor",
    "controller",
];

pub(crate) const WORKER_COUNTS: [&str; 7] = [
    "controller",
    "router",
    "container",
    "guest",
    "proxy",
    "xbrmm",
    "hostmonitor",
];
const CPU: [&str; 14] = [
    "ctx_switches",
    "freq",
    "guest",
    "guest_nice",
    "idle",
    "interrupts",
    "iotwait",
    "irq",
    "nice",
    "soft_interrupts",
    "softirq",
    "steal",
    "system",
    "user",
];
const MEMORY: [&str; 11] = [
    "active",
    "available",
    "buffers",
    "cached",
    "free",
    "inactive",
    "percent",
    "shared",
    "slab",
    "total",
    "used",
];
const DISK: [&str; 9] = [
    "busy_time",
    "read_bytes",
    "read_count",
    "read_merged_count",
    "read_time",
    "write_bytes",
    "write_count",
    "write_merged_count",
    "write_time",
];
const NETWORK: [&str; 8] = [
    "bytes_recv",
    "bytes_sent",
    "dropin",
    "dropout",
    "errin",
    "errout",
    "packets_recv",
    "packets_sent",
];
/// Process gauges.
const PROCESS: [&str; 2] = ["num_fds", "num_threads"];
/// Process counters: each also comes as `<name>_per_sec`.
const PROCESS_RATES: [&str; 13] = [
    "num_ctx_switches_involuntary",
    "num_ctx_switches_voluntary",
    "cpu_system",
    "cpu_wait",
    "cpu_user",
    "read_bytes",
    "read_ios",
    "write_bytes",
    "write_ios",
    "sent_bytes",
    "sent_ios",
    "recv_bytes",
    "recv_ios",
];
const MESSAGES: [&str; 11] = [
    "call",
    "yield",
    "invocation",
    "result",
    "publish",
    "published",
    "event",
    "register",
    "registered",
    "subscribe",
    "subscribed",
];

/// A node heartbeat that passed the payload checks.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeHeartbeat {
    pub authid: String,
    /// `seq`, 0 when absent.
    pub seq: u64,
    /// `timestamp` (ns), when present.
    pub timestamp: Option<u64>,
    /// `workers`: worker type → count.
    pub workers: BTreeMap<String, u64>,
    /// `period`, `state`, `session`: integers or null.
    pub period: Json,
    pub state: Json,
    pub session: Json,
    /// The `MNodeLog` sections read from `system`: every known field, null when absent.
    pub cpu: Map<String, Json>,
    pub memory: Map<String, Json>,
    pub disk: Map<String, Json>,
    pub network: Map<String, Json>,
}

/// A worker heartbeat that passed the payload checks.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerHeartbeat {
    pub authid: String,
    pub worker: String,
    /// One of [`WORKER_TYPES`].
    pub wtype: &'static str,
    pub seq: u64,
    /// `timestamp` (ns) as sent.
    pub sent: u64,
    pub period: Json,
    pub state: Json,
    /// Every known process field (0 when absent), and `mem_percent` (null when absent).
    pub process: Map<String, Json>,
    pub mem_percent: Json,
    /// The `router` part of a router worker's heartbeat.
    pub router: Option<Json>,
}

/// Accepts a node heartbeat `[authid, hb]`.
pub fn accept_node(args: &[Value]) -> Check<NodeHeartbeat> {
    let authid = args.first().and_then(Value::as_str);
    let authid = authid.ok_or("args[0] (node authid) must be a string")?;
    let hb = args.get(1).and_then(Value::as_dict);
    let hb = hb.ok_or("args[1] (heartbeat) must be a dict")?;
    let seq = match hb.get("seq") {
        Some(v) => v.as_u64().ok_or("'seq' must be a non-negative integer")?,
        None => 0,
    };
    let timestamp = match hb.get("timestamp") {
        Some(v) => Some(
            v.as_u64()
                .ok_or("'timestamp' must be a non-negative integer (ns)")?,
        ),
        None => None,
    };
    let workers = match hb.get("workers") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Dict(w)) => worker_counts(w)?,
        Some(_) => return Err("'workers' must be a dict of counts".into()),
    };
    let system = section(Some(hb), "system")?;
    let cpu_in = section(system, "cpu")?;
    let mut cpu = fields(cpu_in, &CPU, &Json::Null)?;
    if cpu["iotwait"].is_null() {
        // psutil calls it iowait; MNodeLog spells it iotwait
        cpu.insert("iotwait".into(), num(cpu_in, "iowait", Json::Null)?);
    }
    let net = section(system, "network")?;
    let mut network = fields(net, &NETWORK, &Json::Null)?;
    let conn = section(net, "connection")?;
    network.insert(
        "connection".into(),
        json!({
            "AF_INET": num(conn, "AF_INET", Json::Null)?,
            "AF_INET6": num(conn, "AF_INET6", Json::Null)?,
            "UNIX": num(conn, "AF_UNIX", Json::Null)?,
        }),
    );
    Ok(NodeHeartbeat {
        authid: authid.to_owned(),
        seq,
        timestamp,
        workers,
        period: int(hb, "period")?,
        state: int(hb, "state")?,
        session: int(hb, "session")?,
        cpu,
        memory: fields(section(system, "memory")?, &MEMORY, &Json::Null)?,
        disk: fields(section(system, "disk")?, &DISK, &Json::Null)?,
        network,
    })
}

/// Accepts a worker heartbeat `[authid, worker_id, hb]`.
pub fn accept_worker(args: &[Value]) -> Check<WorkerHeartbeat> {
    let authid = args.first().and_then(Value::as_str);
    let authid = authid.ok_or("args[0] (node authid) must be a string")?;
    let worker = args.get(1).and_then(Value::as_str);
    let worker = worker.ok_or("args[1] (worker id) must be a string")?;
    if worker.is_empty() || worker.len() > MAX_WORKER_ID {
        return Err(format!(
            "args[1] (worker id) must have 1 to {MAX_WORKER_ID} bytes"
        ));
    }
    let hb = args.get(2).and_then(Value::as_dict);
    let hb = hb.ok_or("args[2] (heartbeat) must be a dict")?;
    let wtype = match hb.get("type") {
        Some(Value::Str(t)) => WORKER_TYPES
            .iter()
            .find(|w| **w == t.as_str())
            .copied()
            .ok_or_else(|| format!("unknown worker type \"{t}\""))?,
        _ => return Err("'type' must be a string".into()),
    };
    let seq = hb.get("seq").and_then(Value::as_u64);
    let seq = seq.ok_or("'seq' must be a non-negative integer")?;
    let sent = hb.get("timestamp").and_then(Value::as_u64);
    let sent = sent.ok_or("'timestamp' must be a non-negative integer (ns)")?;
    // the node controller sends its process fields flat, without a "process" key
    let process_in = match section(Some(hb), "process")? {
        Some(p) => Some(p),
        None if wtype == "controller" => Some(hb),
        None => None,
    };
    let zero = Json::from(0);
    let mut process = fields(process_in, &PROCESS, &zero)?;
    process.extend(fields(process_in, &PROCESS_RATES, &zero)?);
    for k in PROCESS_RATES {
        let k = format!("{k}_per_sec");
        let v = num(process_in, &k, zero.clone())?;
        process.insert(k, v);
    }
    Ok(WorkerHeartbeat {
        authid: authid.to_owned(),
        worker: worker.to_owned(),
        wtype,
        seq,
        sent,
        period: int(hb, "period")?,
        state: int(hb, "state")?,
        mem_percent: num(process_in, "mem_percent", Json::Null)?,
        process,
        router: router_doc(hb, wtype)?,
    })
}

/// `workers` of a heartbeat: worker type → count.
pub fn worker_counts(w: &Dict) -> Check<BTreeMap<String, u64>> {
    w.iter()
        .map(|(k, v)| {
            v.as_u64()
                .map(|n| (k.clone(), n))
                .ok_or_else(|| format!("workers['{k}'] must be a count"))
        })
        .collect()
}

// === the fuzz targets' entry points (kept with their names) ===

/// [`accept_node`], as the fuzz target calls it.
pub fn validate_heartbeat(args: &[Value]) -> Check<NodeHeartbeat> {
    accept_node(args)
}

/// A node heartbeat's checks plus its history record (with nil ids and times).
pub fn check_node_heartbeat(args: &[Value]) -> Check<NodeHeartbeat> {
    let hb = accept_node(args)?;
    let _ = super::record::node_log(uuid::Uuid::nil(), uuid::Uuid::nil(), &hb, 0);
    Ok(hb)
}

/// A worker heartbeat's checks plus its history record (with nil ids and times).
pub fn check_worker_heartbeat(args: &[Value]) -> Check<()> {
    let hb = accept_worker(args)?;
    let _ = super::record::worker_log(uuid::Uuid::nil(), uuid::Uuid::nil(), &hb, 0);
    Ok(())
}

// === field readers ===

/// A sub-dict: absent or null is `None`, anything but a dict is refused.
fn section<'a>(d: Option<&'a Dict>, key: &str) -> Check<Option<&'a Dict>> {
    match d.and_then(|d| d.get(key)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Dict(s)) => Ok(Some(s)),
        Some(v) => Err(format!("'{key}' must be a dict, not {}", v.type_name())),
    }
}

/// A numeric field: absent or null is `dflt`, anything but a number is refused.
fn num(d: Option<&Dict>, key: &str, dflt: Json) -> Check<Json> {
    match d.and_then(|d| d.get(key)) {
        None | Some(Value::Null) => Ok(dflt),
        Some(v @ (Value::Int(_) | Value::UInt(_) | Value::Float(_))) => Ok(Json::from(v)),
        Some(v) => Err(format!("'{key}' must be a number, not {}", v.type_name())),
    }
}

/// An optional integer field.
fn int(d: &Dict, key: &str) -> Check<Json> {
    match d.get(key) {
        None | Some(Value::Null) => Ok(Json::Null),
        Some(v @ (Value::Int(_) | Value::UInt(_))) => Ok(Json::from(v)),
        Some(v) => Err(format!("'{key}' must be an integer, not {}", v.type_name())),
    }
}

fn fields(d: Option<&Dict>, names: &[&str], dflt: &Json) -> Check<Map<String, Json>> {
    names
        .iter()
        .map(|k| Ok(((*k).to_owned(), num(d, k, dflt.clone())?)))
        .collect()
}

/// The `router` part of a router worker's heartbeat (sessions, roles, message counters).
fn router_doc(hb: &Dict, wtype: &str) -> Check<Option<Json>> {
    let router = section(Some(hb), "router")?;
    if wtype != "router" && router.is_none() {
        return Ok(None);
    }
    let zero = Json::from(0);
    let messages = fields(section(router, "messages")?, &MESSAGES, &zero)?;
    Ok(Some(json!({
        "roles": num(router, "roles", zero.clone())?,
        "sessions": num(router, "sessions", zero)?,
        "messages": messages,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wamp_proto::dict;

    fn hb(extra: Dict) -> Dict {
        let mut d = dict! { "type" => "router", "seq" => 3, "timestamp" => 17u64, "period" => 10, "state" => 1 };
        d.extend(extra);
        d
    }

    fn worker(d: Dict) -> Check<WorkerHeartbeat> {
        accept_worker(&["n1".into(), "w".into(), d.into()])
    }

    #[test]
    fn bad_worker_heartbeats_are_refused() {
        let bad = [
            hb(dict! { "type" => "tractor" }),
            hb(dict! { "type" => 1 }),
            hb(dict! { "seq" => "x" }),
            hb(dict! { "timestamp" => -1 }),
            hb(dict! { "process" => "p" }),
            hb(dict! { "process" => Value::from(dict! { "num_fds" => "many" }) }),
            hb(dict! { "period" => 1.5 }),
        ];
        for d in bad {
            assert!(worker(d.clone()).is_err(), "{d:?}");
        }
    }

    #[test]
    fn worker_ids_are_bounded() {
        let long = "w".repeat(MAX_WORKER_ID + 1);
        for wid in ["", long.as_str()] {
            let args = ["n1".into(), wid.into(), hb(Dict::new()).into()];
            assert!(accept_worker(&args).is_err(), "{} bytes", wid.len());
        }
    }

    #[test]
    fn node_heartbeat_fields_are_read_once() {
        let cpu: Value = dict! { "idle" => 75.0, "iowait" => 1.5 }.into();
        let system: Value = dict! { "cpu" => cpu }.into();
        let workers: Value = dict! { "router" => 2 }.into();
        let d = dict! { "seq" => 4, "timestamp" => 9u64, "workers" => workers, "system" => system };
        let hb = accept_node(&["n1".into(), d.into()]).expect("valid");
        assert_eq!((hb.seq, hb.timestamp), (4, Some(9)));
        assert_eq!(hb.workers.get("router"), Some(&2));
        assert_eq!(hb.cpu["iotwait"], json!(1.5));
        assert_eq!(hb.memory["percent"], Json::Null);
        let bad: Value = dict! { "memory" => dict! { "percent" => "high" } }.into();
        let d = dict! { "system" => bad };
        assert!(accept_node(&["n1".into(), d.into()]).is_err());
    }
}
