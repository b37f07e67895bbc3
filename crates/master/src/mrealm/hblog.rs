//! Turning checked heartbeats into history records: the fields of Crossbar's `MNodeLog` and
//! `MWorkerLog` (same names and nesting as their `marshal()`), with strict type checks — a
//! field that is present must have the documented type, or the whole heartbeat is refused.
//!
//! Also the check of `crossbarfabriccenter.node.on_worker_heartbeat`
//! (`[node_authid, worker_id, heartbeat]`): the publisher must be a session of the node it
//! reports for, and the worker type one of Crossbar's.

use serde_json::{json, Map, Value as Json};
use store::{Metrics, NodeLog, WorkerLog};
use uuid::Uuid;
use wamp_client::Event;
use wamp_proto::{Dict, Value};

use super::events::{Beat, Driver};

type Check<T> = std::result::Result<T, String>;

/// Worker types a heartbeat may report (Crossbar's native worker types, as `MWorkerLog` knows
/// them, plus the node controller and the `websocket-testee` spelling of `testee`).
pub(crate) const WORKER_TYPES: [&str; 9] = [
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

const WORKER_COUNTS: [&str; 7] = [
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

/// A sub-dict of a heartbeat: absent or null is `None`, anything but a dict is refused.
fn section<'a>(d: Option<&'a Dict>, key: &str) -> Check<Option<&'a Dict>> {
    match d.and_then(|d| d.get(key)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Dict(s)) => Ok(Some(s)),
        Some(v) => Err(format!("'{key}' must be a dict, not {}", v.type_name())),
    }
}

/// A numeric field: absent or null is `null` (or `dflt`), anything but a number is refused.
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

fn f64_of(j: &Json) -> Option<f64> {
    j.as_f64()
}

/// The `MNodeLog` record of a checked node heartbeat `[authid, hb]`, received at `received`.
pub(crate) fn node_record(mrealm: Uuid, b: &Beat, args: &[Value], received: u64) -> Check<NodeLog> {
    let hb = args
        .get(1)
        .and_then(Value::as_dict)
        .ok_or("args[1] must be a dict")?;
    let system = section(Some(hb), "system")?;
    let cpu = section(system, "cpu")?;
    let mut cpu_doc = fields(cpu, &CPU, &Json::Null)?;
    if cpu_doc["iotwait"].is_null() {
        // psutil calls it iowait; MNodeLog spells it iotwait
        cpu_doc.insert("iotwait".into(), num(cpu, "iowait", Json::Null)?);
    }
    let memory = fields(section(system, "memory")?, &MEMORY, &Json::Null)?;
    let disk = fields(section(system, "disk")?, &DISK, &Json::Null)?;
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
    let workers: Map<String, Json> = WORKER_COUNTS
        .iter()
        .map(|k| ((*k).to_owned(), b.workers.get(*k).copied().into()))
        .collect();
    let metrics = Metrics {
        cpu: f64_of(&cpu_doc["idle"]).map(|idle| 100.0 - idle),
        mem: f64_of(&memory["percent"]),
    };
    let doc = json!({
        "timestamp": received,
        "period": int(hb, "period")?,
        "mrealm_id": mrealm.to_string(),
        "node_id": b.oid.to_string(),
        "state": int(hb, "state")?,
        "session": int(hb, "session")?,
        "sent": b.time,
        "seq": b.seq,
        "workers": workers,
        "cpu": cpu_doc,
        "memory": memory,
        "disk": disk,
        "network": network,
    });
    Ok(NodeLog {
        mrealm,
        node: b.oid,
        timestamp: received,
        metrics,
        doc,
    })
}

impl Driver {
    /// Checks a worker heartbeat `[node_authid, worker_id, hb]` and builds its record.
    pub(crate) fn check_worker_heartbeat(&self, e: &Event, received: u64) -> Check<WorkerLog> {
        let (authid, worker, hb) = super::hbcheck::worker_args(&e.args)?;
        let publisher = e.details.get("publisher").and_then(Value::as_u64);
        let publisher = publisher.ok_or("publisher not disclosed")?;
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let node = map.session_is(publisher, authid).ok_or_else(|| {
            format!("publisher session {publisher} is not a session of node \"{authid}\"")
        })?;
        drop(map);
        worker_record(self.mrealm_oid, node, worker, hb, received)
    }
}

/// The `MWorkerLog` record of a worker heartbeat.
pub(super) fn worker_record(
    mrealm: Uuid,
    node: Uuid,
    worker: &str,
    hb: &Dict,
    received: u64,
) -> Check<WorkerLog> {
    let wtype = match hb.get("type") {
        Some(Value::Str(t)) if WORKER_TYPES.contains(&t.as_str()) => t.as_str(),
        Some(Value::Str(t)) => return Err(format!("unknown worker type \"{t}\"")),
        _ => return Err("'type' must be a string".into()),
    };
    let seq = hb.get("seq").and_then(Value::as_u64);
    let seq = seq.ok_or("'seq' must be a non-negative integer")?;
    let sent = hb.get("timestamp").and_then(Value::as_u64);
    let sent = sent.ok_or("'timestamp' must be a non-negative integer (ns)")?;
    // the node controller sends its process fields flat, without a "process" key
    let process = match section(Some(hb), "process")? {
        Some(p) => Some(p),
        None if wtype == "controller" => Some(hb),
        None => None,
    };
    let zero = Json::from(0);
    let mut proc_doc = fields(process, &PROCESS, &zero)?;
    proc_doc.extend(fields(process, &PROCESS_RATES, &zero)?);
    let per_sec: Vec<String> = PROCESS_RATES
        .iter()
        .map(|k| format!("{k}_per_sec"))
        .collect();
    let per_sec: Vec<&str> = per_sec.iter().map(String::as_str).collect();
    proc_doc.extend(fields(process, &per_sec, &zero)?);
    let cpu = ["cpu_user_per_sec", "cpu_system_per_sec"].map(|k| f64_of(&proc_doc[k]));
    let metrics = Metrics {
        cpu: Some(cpu.iter().flatten().sum::<f64>() * 100.0),
        mem: f64_of(&num(process, "mem_percent", Json::Null)?),
    };
    let mut doc = json!({
        "timestamp": received,
        "period": int(hb, "period")?,
        "mrealm_id": mrealm.to_string(),
        "node_id": node.to_string(),
        "worker_id": worker,
        "sent": sent,
        "seq": seq,
        "type": wtype,
        "state": int(hb, "state")?,
        "process": proc_doc,
    });
    if let Some(router) = router_doc(hb)? {
        doc["router"] = router;
    }
    let worker = worker.to_owned();
    Ok(WorkerLog {
        mrealm,
        node,
        worker,
        timestamp: received,
        metrics,
        doc,
    })
}

/// The `router` part of a router worker's heartbeat (sessions, roles, message counters).
fn router_doc(hb: &Dict) -> Check<Option<Json>> {
    let is_router = hb.get("type").and_then(Value::as_str) == Some("router");
    let router = section(Some(hb), "router")?;
    if !is_router && router.is_none() {
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

    #[test]
    fn router_worker_record_has_the_mworkerlog_fields() {
        let (m, n) = (Uuid::new_v4(), Uuid::new_v4());
        let process: Value = dict! { "num_fds" => 12, "cpu_user_per_sec" => 0.25 }.into();
        let messages: Value = dict! { "call" => 5 }.into();
        let router: Value = dict! { "sessions" => 1, "roles" => 2, "messages" => messages }.into();
        let rec = worker_record(
            m,
            n,
            "router1",
            &hb(dict! { "process" => process, "router" => router }),
            99,
        )
        .expect("valid");
        assert_eq!(rec.doc["process"]["num_fds"], json!(12));
        assert_eq!(rec.doc["process"]["write_ios_per_sec"], json!(0));
        assert_eq!(rec.doc["process"].as_object().map(|o| o.len()), Some(28));
        assert_eq!(rec.doc["router"]["messages"]["call"], json!(5));
        assert_eq!(rec.doc["router"]["sessions"], json!(1));
        assert_eq!(
            (rec.doc["sent"].clone(), rec.doc["seq"].clone()),
            (json!(17), json!(3))
        );
        assert_eq!(rec.metrics.cpu, Some(25.0));
    }

    #[test]
    fn controller_process_fields_are_flat() {
        let d = dict! { "type" => "controller", "seq" => 1, "timestamp" => 5, "num_fds" => 16, "pid" => 7 };
        let rec = worker_record(Uuid::nil(), Uuid::nil(), "controller", &d, 1).expect("valid");
        assert_eq!(rec.doc["process"]["num_fds"], json!(16));
        assert!(rec.doc.get("router").is_none());
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
            assert!(
                worker_record(Uuid::nil(), Uuid::nil(), "w", &d, 1).is_err(),
                "{d:?}"
            );
        }
    }
}
