//! The pure part of the heartbeat checks: the payload fields of
//! `crossbarfabriccenter.node.on_heartbeat` (`[authid, hb]`) and `on_worker_heartbeat`
//! (`[authid, worker_id, hb]`), with no session, store or clock involved. The controller
//! ([`super::events`], [`super::hblog`]) adds who published the event; the fuzz targets call
//! these functions directly with hostile payloads.

use std::collections::BTreeMap;

use uuid::Uuid;
use wamp_proto::{Dict, Value};

use super::events::Beat;
use super::hblog;

/// The fields of a node heartbeat that passed the payload checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeHeartbeat {
    pub authid: String,
    /// `seq`, 0 when absent.
    pub seq: u64,
    /// `timestamp` (ns), when present.
    pub timestamp: Option<u64>,
    /// `workers`: worker type → count.
    pub workers: BTreeMap<String, u64>,
}

/// Checks the payload of a node heartbeat `[authid, hb]`.
pub fn validate_heartbeat(args: &[Value]) -> Result<NodeHeartbeat, String> {
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
    Ok(NodeHeartbeat {
        authid: authid.to_owned(),
        seq,
        timestamp,
        workers,
    })
}

/// A node heartbeat's payload checks plus the history record built from it (as the
/// controller does, with nil ids and times).
pub fn check_node_heartbeat(args: &[Value]) -> Result<NodeHeartbeat, String> {
    let hb = validate_heartbeat(args)?;
    let beat = Beat {
        oid: Uuid::nil(),
        authid: hb.authid.clone(),
        seq: hb.seq,
        time: hb.timestamp.unwrap_or(0),
        workers: hb.workers.clone(),
    };
    hblog::node_record(Uuid::nil(), &beat, args, 0)?;
    Ok(hb)
}

/// The parts of a worker heartbeat `[authid, worker_id, hb]`.
pub fn worker_args(args: &[Value]) -> Result<(&str, &str, &Dict), String> {
    let authid = args.first().and_then(Value::as_str);
    let authid = authid.ok_or("args[0] (node authid) must be a string")?;
    let worker = args.get(1).and_then(Value::as_str);
    let worker = worker.ok_or("args[1] (worker id) must be a string")?;
    let hb = args.get(2).and_then(Value::as_dict);
    let hb = hb.ok_or("args[2] (heartbeat) must be a dict")?;
    Ok((authid, worker, hb))
}

/// A worker heartbeat's payload checks, including its history record (nil ids and times).
pub fn check_worker_heartbeat(args: &[Value]) -> Result<(), String> {
    let (_, worker, hb) = worker_args(args)?;
    hblog::worker_record(Uuid::nil(), Uuid::nil(), worker, hb, 0).map(drop)
}

/// `workers` of a heartbeat: worker type → count.
pub fn worker_counts(w: &Dict) -> Result<BTreeMap<String, u64>, String> {
    w.iter()
        .map(|(k, v)| {
            v.as_u64()
                .map(|n| (k.clone(), n))
                .ok_or_else(|| format!("workers['{k}'] must be a count"))
        })
        .collect()
}
