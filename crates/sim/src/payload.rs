//! Realistic payloads of a simulated edge node: node and worker heartbeats (written straight
//! as CBOR, WIRE.md §3 item 4), and the result shapes of `get_status`, `get_worker` and the
//! tracing procedures (WIRE.md §3 item 5, §4, §7). Numbers are synthetic but plausible:
//! counters grow with the heartbeat sequence, gauges wander around per-node baselines.

use wamp_proto::time::{iso8601, now_ns};
use wamp_proto::{dict, Dict, Value};

use crate::cbor::Cbor;

/// A tiny deterministic generator (SplitMix64) for payload noise and choices.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in `[0, n)` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// What the heartbeats of one node at one tick need.
pub struct Beat<'a> {
    pub authid: &'a str,
    pub mrealm: &'a str,
    pub seq: u64,
    /// Heartbeat period in whole seconds (Crossbar sends an integer; at least 1).
    pub period_s: u64,
    pub now_ns: u64,
    /// Nanoseconds since the node started.
    pub uptime_ns: u64,
    /// Router workers.
    pub workers: usize,
    /// A per-node base process id.
    pub pid: u64,
}

const TOPIC_NODE: &str = "crossbarfabriccenter.node.on_heartbeat";
const TOPIC_WORKER: &str = "crossbarfabriccenter.node.on_worker_heartbeat";

/// Appends the node heartbeat, one heartbeat per router worker and the controller's as
/// length-prefixed CBOR PUBLISH messages (a `wamp.2.cbor.batched` batch); `req` gives the
/// request ids. Returns how many messages were written.
pub fn write_heartbeats(out: &mut Vec<u8>, b: &Beat<'_>, rng: &mut Rng, req: &mut u64) -> u64 {
    framed(out, |c| {
        publish_head(c, next(req), TOPIC_NODE, 2);
        c.text(b.authid);
        node_beat(c, b, rng);
    });
    for w in 0..b.workers {
        framed(out, |c| {
            publish_head(c, next(req), TOPIC_WORKER, 3);
            c.text(b.authid).text(&crate::procedures::worker_id(w));
            router_beat(c, b, rng, w as u64 + 1);
        });
    }
    framed(out, |c| {
        publish_head(c, next(req), TOPIC_WORKER, 3);
        c.text(b.authid).text("controller");
        controller_beat(c, b, rng);
    });
    b.workers as u64 + 2
}

fn next(req: &mut u64) -> u64 {
    *req += 1;
    *req
}

/// Writes one batched frame: a 4-byte big-endian length, then the body.
fn framed(out: &mut Vec<u8>, body: impl FnOnce(&mut Cbor<'_>)) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    body(&mut Cbor(out));
    let len = u32::try_from(out.len() - start - 4).unwrap_or(u32::MAX);
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

/// `[16, req, {"acknowledge": true}, topic, [<nargs items follow>]`.
fn publish_head(c: &mut Cbor<'_>, req: u64, topic: &str, nargs: usize) {
    c.array(5)
        .uint(16)
        .uint(req)
        .map(1)
        .text("acknowledge")
        .bool(true);
    c.text(topic).array(nargs);
}

fn common(c: &mut Cbor<'_>, b: &Beat<'_>) {
    c.kv_u("timestamp", b.now_ns).kv_u("period", b.period_s);
    c.kv_s("mrealm_id", b.mrealm)
        .kv_u("seq", b.seq)
        .kv_u("state", 1);
}

fn node_beat(c: &mut Cbor<'_>, b: &Beat<'_>, rng: &mut Rng) {
    c.map(7);
    common(c, b);
    c.text("workers").map(2).kv_u("router", b.workers as u64);
    c.kv_u("controller", 1);
    c.text("system").map(6).kv_u("uptime", b.uptime_ns / 1000);
    c.kv_u("elapsed", b.period_s * 1_000_000 + rng.below(20_000));
    cpu(c, b, rng);
    memory(c, rng);
    disk(c, b, rng);
    network(c, b, rng);
}

fn cpu(c: &mut Cbor<'_>, b: &Beat<'_>, rng: &mut Rng) {
    let user = rng.range(2.0, 30.0);
    let system = rng.range(1.0, 8.0);
    let iowait = rng.range(0.0, 2.0);
    c.text("cpu").map(14);
    c.kv_u("ctx_switches", 20_000 * b.seq + rng.below(5000));
    c.kv_f("freq", rng.range(2200.0, 3400.0));
    c.kv_f("guest", 0.0).kv_f("guest_nice", 0.0);
    c.kv_f("idle", (100.0 - user - system - iowait).max(0.0));
    c.kv_u("interrupts", 9_000 * b.seq + rng.below(3000));
    c.kv_f("iowait", iowait).kv_f("irq", 0.0).kv_f("nice", 0.0);
    c.kv_u("soft_interrupts", 4_000 * b.seq + rng.below(1000));
    c.kv_f("softirq", rng.range(0.0, 1.0)).kv_f("steal", 0.0);
    c.kv_f("system", system).kv_f("user", user);
}

fn memory(c: &mut Cbor<'_>, rng: &mut Rng) {
    let total: u64 = 8 << 30;
    let used = (total as f64 * rng.range(0.2, 0.6)) as u64;
    let free = total - used;
    c.text("memory").map(11);
    c.kv_u("active", used / 2)
        .kv_u("available", free + (1 << 29));
    c.kv_u("buffers", 1 << 27)
        .kv_u("cached", 1 << 30)
        .kv_u("free", free);
    c.kv_u("inactive", 1 << 29);
    c.kv_f(
        "percent",
        (used as f64 * 1000.0 / total as f64).round() / 10.0,
    );
    c.kv_u("shared", 1 << 26)
        .kv_u("slab", 1 << 27)
        .kv_u("total", total);
    c.kv_u("used", used);
}

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

fn disk(c: &mut Cbor<'_>, b: &Beat<'_>, rng: &mut Rng) {
    c.text("disk").map(18);
    counters(c, &DISK, b, rng, 4096);
}

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

fn network(c: &mut Cbor<'_>, b: &Beat<'_>, rng: &mut Rng) {
    c.text("network").map(17);
    counters(c, &NETWORK, b, rng, 1500);
    c.text("connection")
        .map(3)
        .kv_u("AF_INET", 4 + rng.below(20));
    c.kv_u("AF_INET6", rng.below(4))
        .kv_u("AF_UNIX", 30 + rng.below(10));
}

/// Each counter, then its `<name>_per_sec` rate.
fn counters(c: &mut Cbor<'_>, names: &[&str], b: &Beat<'_>, rng: &mut Rng, scale: u64) {
    let rates: Vec<u64> = names.iter().map(|_| rng.below(50 * scale)).collect();
    for (name, rate) in names.iter().zip(&rates) {
        c.kv_u(name, rate * b.seq.max(1) * b.period_s);
    }
    for (name, rate) in names.iter().zip(&rates) {
        c.text(&format!("{name}_per_sec")).uint(*rate);
    }
}

fn router_beat(c: &mut Cbor<'_>, b: &Beat<'_>, rng: &mut Rng, wnum: u64) {
    c.map(8).kv_s("type", "router");
    common(c, b);
    c.text("process");
    process(c, b, rng, b.pid + wnum, "running");
    let n = b.seq;
    c.text("router").map(3).text("messages").map(11);
    for (k, per) in [
        ("call", 1),
        ("yield", 1),
        ("invocation", 1),
        ("result", 1),
        ("publish", 3),
        ("published", 1),
        ("event", 2),
    ] {
        c.kv_u(k, per * n);
    }
    c.kv_u("register", 24).kv_u("registered", 24);
    c.kv_u("subscribe", 4).kv_u("subscribed", 4);
    c.kv_u("sessions", 1 + rng.below(3)).kv_u("roles", 2);
}

fn controller_beat(c: &mut Cbor<'_>, b: &Beat<'_>, rng: &mut Rng) {
    c.map(26).kv_s("type", "controller");
    common(c, b);
    process_fields(c, b, rng, b.pid, "sleeping");
}

fn process(c: &mut Cbor<'_>, b: &Beat<'_>, rng: &mut Rng, pid: u64, status: &str) {
    c.map(20);
    process_fields(c, b, rng, pid, status);
}

/// The 20 process fields (psutil-derived in Crossbar).
fn process_fields(c: &mut Cbor<'_>, b: &Beat<'_>, rng: &mut Rng, pid: u64, status: &str) {
    let t = b.seq.max(1) * b.period_s;
    let user = rng.range(0.001, 0.05);
    let system = rng.range(0.001, 0.02);
    c.kv_u("pid", pid).kv_s("status", status);
    c.kv_u("num_fds", 12 + rng.below(8)).kv_u("num_threads", 3);
    c.kv_u("num_ctx_switches_involuntary", 5 * t);
    c.kv_u("num_ctx_switches_voluntary", 120 * t);
    c.kv_f("cpu_system", system * t as f64)
        .kv_f("cpu_user", user * t as f64);
    c.kv_f("cpu_wait", 0.0);
    c.kv_u("read_bytes", 0).kv_u("read_ios", 0);
    c.kv_u("write_bytes", 4096 * t).kv_u("write_ios", t);
    c.kv_u("sent_bytes", 2048 * t).kv_u("sent_ios", 8 * t);
    c.kv_u("recv_bytes", 1024 * t).kv_u("recv_ios", 6 * t);
    c.kv_f("cpu_user_per_sec", user)
        .kv_f("cpu_system_per_sec", system);
    c.kv_f("mem_percent", rng.range(0.5, 1.5));
}

/// Facts about a node that its procedure results report.
pub struct NodeFacts<'a> {
    pub authid: &'a str,
    pub pubkey: &'a str,
    pub mrealm: &'a str,
    pub session: u64,
    pub started_ns: u64,
    pub workers: usize,
    pub pid: u64,
}

/// The result of `get_status` (WIRE.md §3 item 5).
pub fn node_status(f: &NodeFacts<'_>) -> Value {
    let d = dict! {
        "controller_pid" => f.pid,
        "directory" => format!("/sim/{}/.crossbar", f.authid),
        "ethadr" => Value::Null,
        "has_docker" => false,
        "management_node_extra" => Value::Null,
        "management_node_id" => f.authid,
        "management_realm" => f.mrealm,
        "management_session_id" => f.session,
        "pubkey" => f.pubkey,
        "running_workers" => f.workers + 1,
        "started" => iso8601(f.started_ns),
        "title" => format!("crossbar-controller ({})", f.authid),
        "workers_by_type" => dict! { "router" => f.workers, "controller" => 1 },
    };
    Value::Dict(d)
}

/// The result of `get_worker(id)` for router worker `w`.
pub fn worker_info(f: &NodeFacts<'_>, w: usize) -> Value {
    let uptime = now_ns().saturating_sub(f.started_ns) as f64 / 1e9;
    let d = dict! {
        "id" => crate::procedures::worker_id(w),
        "type" => "router",
        "status" => "started",
        "pid" => f.pid + w as u64 + 1,
        "created" => iso8601(f.started_ns),
        "started" => iso8601(f.started_ns + 1_700_000_000),
        "startup_time" => 1.7,
        "uptime" => (uptime - 1.7).max(0.0),
    };
    Value::Dict(d)
}

/// The process info of a node or worker (`get_process_info`).
pub fn process_info(pid: u64, started_ns: u64) -> Value {
    let d = dict! {
        "pid" => pid, "ppid" => 1u64, "status" => "running", "name" => "crossbar",
        "username" => "sim", "cmdline" => vec![Value::from("crossbar"), "edge".into(), "start".into()],
        "create_time" => started_ns as f64 / 1e9, "num_threads" => 3u64, "num_fds" => 16u64,
    };
    Value::Dict(d)
}

/// Synthetic trace records `first..first+n` of `trace_id` (router message trace shape).
pub fn trace_records(authid: &str, first: u64, n: u64, rng: &mut Rng) -> Vec<Value> {
    (first..first + n)
        .map(|seq| {
            let types = ["call", "invocation", "yield", "result", "publish", "event"];
            let t = types[(rng.below(types.len() as u64)) as usize];
            Value::Dict(dict! {
                "seq" => seq,
                "ts" => iso8601(now_ns()),
                "pc" => now_ns(),
                "session_id" => 1 + rng.below(1 << 40),
                "realm" => "realm1",
                "authid" => authid,
                "authrole" => "app",
                "direction" => if seq % 2 == 0 { "rx" } else { "tx" },
                "msg_type" => t,
                "uri" => "com.example.add2",
            })
        })
        .collect()
}

/// `Dict` helper for callers.
pub fn empty() -> Dict {
    Dict::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wamp_proto::{Message, Serializer};

    const CBOR_BATCHED: Serializer = Serializer {
        format: wamp_proto::Format::Cbor,
        batched: true,
    };

    fn beat() -> Beat<'static> {
        Beat {
            authid: "sim-00001",
            mrealm: "default",
            seq: 3,
            period_s: 10,
            now_ns: 1_795_548_448_822_515_087,
            uptime_ns: 30_000_000_000,
            workers: 2,
            pid: 1000,
        }
    }

    fn decoded() -> Vec<Message> {
        let (mut out, mut req) = (Vec::new(), 0);
        let n = write_heartbeats(&mut out, &beat(), &mut Rng(7), &mut req);
        assert_eq!(n, 4);
        assert_eq!(req, 4);
        CBOR_BATCHED.decode(&out).unwrap()
    }

    fn publish(m: &Message) -> (&str, &[Value]) {
        match m {
            Message::Publish { topic, payload, .. } => (topic, &payload.args),
            other => panic!("not a publish: {other:?}"),
        }
    }

    #[test]
    fn node_heartbeat_has_the_wire_shape() {
        let msgs = decoded();
        let (topic, args) = publish(&msgs[0]);
        assert_eq!(topic, "crossbarfabriccenter.node.on_heartbeat");
        assert_eq!(args[0].as_str(), Some("sim-00001"));
        let hb = args[1].as_dict().unwrap();
        assert_eq!(hb["seq"], Value::Int(3));
        assert_eq!(hb["mrealm_id"].as_str(), Some("default"));
        assert!(hb.get("pubkey").is_none());
        assert_eq!(hb["workers"].get("router"), Some(&Value::Int(2)));
        let sys = hb["system"].as_dict().unwrap();
        let len = |k: &str| sys[k].as_dict().unwrap().len();
        assert_eq!(
            (len("cpu"), len("memory"), len("disk"), len("network")),
            (14, 11, 18, 17)
        );
        let idle = sys["cpu"].get("idle").and_then(Value::as_f64).unwrap();
        assert!((0.0..=100.0).contains(&idle));
    }

    #[test]
    fn worker_heartbeats_have_the_wire_shape() {
        let msgs = decoded();
        let (topic, args) = publish(&msgs[1]);
        assert_eq!(topic, "crossbarfabriccenter.node.on_worker_heartbeat");
        assert_eq!(args[1].as_str(), Some("router1"));
        let hb = args[2].as_dict().unwrap();
        assert_eq!(hb["type"].as_str(), Some("router"));
        assert_eq!(hb["process"].as_dict().unwrap().len(), 20);
        assert_eq!(
            hb["router"]
                .get("messages")
                .unwrap()
                .as_dict()
                .unwrap()
                .len(),
            11
        );
        assert_eq!(publish(&msgs[2]).1[1].as_str(), Some("router2"));
        let (_, args) = publish(&msgs[3]);
        assert_eq!(args[1].as_str(), Some("controller"));
        let hb = args[2].as_dict().unwrap();
        assert_eq!(hb["type"].as_str(), Some("controller"));
        assert!(hb.get("process").is_none() && hb.get("num_fds").is_some());
        assert_eq!(hb.len(), 26);
    }

    #[test]
    fn status_has_the_documented_keys() {
        let f = NodeFacts {
            authid: "n",
            pubkey: "ab",
            mrealm: "default",
            session: 5,
            started_ns: 0,
            workers: 1,
            pid: 9,
        };
        let s = node_status(&f);
        assert_eq!(s.as_dict().unwrap().len(), 13);
        assert_eq!(
            s.get("management_realm").and_then(Value::as_str),
            Some("default")
        );
        assert_eq!(
            worker_info(&f, 0).get("id").and_then(Value::as_str),
            Some("router1")
        );
    }
}
