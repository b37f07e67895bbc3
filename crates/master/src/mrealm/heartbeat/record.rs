//! Building the history records of accepted heartbeats: the fields of Crossbar's `MNodeLog` and
//! `MWorkerLog` (same names and nesting as their `marshal()`), plus the two metrics the history
//! aggregates (CPU and memory percent). Infallible: everything was checked on acceptance
//! ([`super::accept`]); this runs on the writer's blocking thread, off the owner task.

use serde_json::{json, Map, Value as Json};
use store::{Metrics, NodeLog, WorkerLog};
use uuid::Uuid;

use super::accept::{NodeHeartbeat, WorkerHeartbeat, WORKER_COUNTS};

/// The `MNodeLog` record of node `node`'s heartbeat, received at `received` (ns).
pub fn node_log(mrealm: Uuid, node: Uuid, hb: &NodeHeartbeat, received: u64) -> NodeLog {
    let workers: Map<String, Json> = WORKER_COUNTS
        .iter()
        .map(|k| ((*k).to_owned(), hb.workers.get(*k).copied().into()))
        .collect();
    let metrics = Metrics {
        cpu: hb.cpu["idle"].as_f64().map(|idle| 100.0 - idle),
        mem: hb.memory["percent"].as_f64(),
    };
    let doc = json!({
        "timestamp": received,
        "period": hb.period,
        "mrealm_id": mrealm.to_string(),
        "node_id": node.to_string(),
        "state": hb.state,
        "session": hb.session,
        "sent": hb.timestamp.unwrap_or(received),
        "seq": hb.seq,
        "workers": workers,
        "cpu": hb.cpu,
        "memory": hb.memory,
        "disk": hb.disk,
        "network": hb.network,
    });
    NodeLog {
        mrealm,
        node,
        timestamp: received,
        metrics,
        doc,
    }
}

/// The `MWorkerLog` record of a worker heartbeat of node `node`, received at `received` (ns).
pub fn worker_log(mrealm: Uuid, node: Uuid, hb: &WorkerHeartbeat, received: u64) -> WorkerLog {
    let cpu = ["cpu_user_per_sec", "cpu_system_per_sec"].map(|k| hb.process[k].as_f64());
    let metrics = Metrics {
        cpu: Some(cpu.iter().flatten().sum::<f64>() * 100.0),
        mem: hb.mem_percent.as_f64(),
    };
    let mut doc = json!({
        "timestamp": received,
        "period": hb.period,
        "mrealm_id": mrealm.to_string(),
        "node_id": node.to_string(),
        "worker_id": hb.worker,
        "sent": hb.sent,
        "seq": hb.seq,
        "type": hb.wtype,
        "state": hb.state,
        "process": hb.process,
    });
    if let Some(router) = &hb.router {
        doc["router"] = router.clone();
    }
    WorkerLog {
        mrealm,
        node,
        worker: hb.worker.clone(),
        timestamp: received,
        metrics,
        doc,
    }
}

#[cfg(test)]
mod tests {
    use super::super::accept::accept_worker;
    use super::*;
    use wamp_proto::{dict, Dict, Value};

    fn worker(d: Dict) -> WorkerLog {
        let hb = accept_worker(&["n1".into(), "router1".into(), d.into()]).expect("valid");
        worker_log(Uuid::new_v4(), Uuid::new_v4(), &hb, 99)
    }

    #[test]
    fn router_worker_record_has_the_mworkerlog_fields() {
        let process: Value = dict! { "num_fds" => 12, "cpu_user_per_sec" => 0.25 }.into();
        let messages: Value = dict! { "call" => 5 }.into();
        let router: Value = dict! { "sessions" => 1, "roles" => 2, "messages" => messages }.into();
        let rec = worker(dict! {
            "type" => "router", "seq" => 3, "timestamp" => 17u64, "period" => 10, "state" => 1,
            "process" => process, "router" => router,
        });
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
        let rec = worker(dict! {
            "type" => "controller", "seq" => 1, "timestamp" => 5, "num_fds" => 16, "pid" => 7,
        });
        assert_eq!(rec.doc["process"]["num_fds"], json!(16));
        assert!(rec.doc.get("router").is_none());
    }
}
