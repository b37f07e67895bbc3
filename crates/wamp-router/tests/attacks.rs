//! Measurements of the attacks of issue 19, for the figures in docs/hostile-inputs.md: they
//! print numbers and check nothing (the regression tests are in patterns.rs, memory.rs,
//! limits.rs and transport.rs). The router runs on a runtime of its own with two workers, as
//! the master does on a two-core machine. Run with an optimized router:
//!
//! ```text
//! cargo test -p wamp-router --test attacks \
//!     --config 'profile.dev.package.wamp-router.opt-level=3' \
//!     --config 'profile.dev.package.wamp-proto.opt-level=3' -- --ignored --nocapture --test-threads 1
//! ```

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{tcp_from, Peer, TestRouter};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use wamp_proto::{Dict, Message, Payload, Serializer, Value};
use wamp_router::{Router, RouterConfig};

/// How long any single wait of a measurement may take.
const PATIENCE: Duration = Duration::from_secs(600);

/// A router on a two-worker runtime of its own thread, realms `realm1` and `realm2`.
struct Served {
    addr: SocketAddr,
    router: Arc<Router>,
    stop: watch::Sender<bool>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn serve(cfg: RouterConfig) -> Served {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let r = TestRouter::start_with(cfg).await;
            let (stop, mut stop_rx) = watch::channel(false);
            tx.send((r.addr, r.router.clone(), stop))
                .expect("hand over");
            let _ = stop_rx.wait_for(|s| *s).await;
        });
    });
    let (addr, router, stop) = rx.recv().expect("router started");
    Served { addr, router, stop }
}

/// This process's resident memory, MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

async fn joined(addr: SocketAddr, realm: &str) -> Peer {
    let mut p = Peer::connect(addr, Serializer::JSON).await;
    p.hello(realm, common::default_roles()).await;
    p
}

/// The next message, waiting at most [`PATIENCE`].
async fn next(p: &mut Peer) -> serde_json::Value {
    match p.recv_within(PATIENCE).await {
        Some(Some(m)) => common::to_json(&m),
        other => panic!("no message: {other:?}"),
    }
}

/// Worst latencies seen by the bystanders: a call on another realm, and `GET /info`.
#[derive(Debug, Default)]
struct Worst {
    calls: usize,
    call: Duration,
    infos: usize,
    info: Duration,
}

/// Calls `probe.echo` on realm2 and fetches `/info` in a loop until `stop`.
async fn bystander(addr: SocketAddr, stop: watch::Receiver<bool>) -> Worst {
    let mut callee = joined(addr, "realm2").await;
    let mut caller = joined(addr, "realm2").await;
    callee.register("probe.echo", json!({})).await;
    let info = tokio::spawn(info_probe(addr, stop.clone()));
    let mut worst = Worst::default();
    while !*stop.borrow() {
        let t = Instant::now();
        let req = caller.call_start("probe.echo", json!({}), json!([1])).await;
        let inv = next(&mut callee).await;
        callee.send_json(json!([70, inv[1], {}, [1]])).await;
        assert_eq!(next(&mut caller).await[1], json!(req));
        worst.call = worst.call.max(t.elapsed());
        worst.calls += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (n, i) = info.await.expect("info probe");
    (worst.infos, worst.info) = (n, i);
    worst
}

async fn info_probe(addr: SocketAddr, stop: watch::Receiver<bool>) -> (usize, Duration) {
    let (mut n, mut worst) = (0, Duration::ZERO);
    while !*stop.borrow() {
        let t = Instant::now();
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET /info HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let mut out = Vec::new();
        let _ = tokio::time::timeout(PATIENCE, s.read_to_end(&mut out)).await;
        worst = worst.max(t.elapsed());
        n += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (n, worst)
}

/// Subscribes `n` distinct wildcard patterns, 100 at a time (reading answers lets the client
/// answer the router's pings); returns how many were refused.
async fn subscribe_wildcards(p: &mut Peer, tag: &str, n: usize) -> usize {
    let mut refused = 0;
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        for i in chunk {
            let uri = format!("com.example..{tag}{i}");
            p.send_json(json!([32, i + 1, {"match": "wildcard"}, uri]))
                .await;
        }
        for _ in chunk {
            if next(p).await[0] != json!(33) {
                refused += 1;
            }
        }
    }
    refused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement"]
async fn wildcard_subscriptions() {
    let mut cfg = RouterConfig::default();
    cfg.session_limits.max_pattern_subscriptions = 10_000;
    // the observer waits without reading for minutes (before the fix): no pings
    cfg.ping_interval = Duration::from_secs(3600);
    let s = serve(cfg);
    let (stop, stop_rx) = watch::channel(false);
    let probe = tokio::spawn(bystander(s.addr, stop_rx));
    let mut observer = joined(s.addr, "realm1").await;
    observer.subscribe("wamp.session.on_leave", json!({})).await;
    observer.subscribe("com.example.a.b", json!({})).await;
    let mut publisher = joined(s.addr, "realm1").await;
    for sessions in [1, 2] {
        let t = Instant::now();
        let mut attackers = Vec::new();
        for k in 0..sessions {
            let mut a = joined(s.addr, "realm1").await;
            let refused = subscribe_wildcards(&mut a, &format!("s{k}x"), 10_000).await;
            assert_eq!(refused, 0);
            attackers.push(a);
        }
        let subscribing = t.elapsed();
        let (mut total, mut worst) = (Duration::ZERO, Duration::ZERO);
        for i in 0..20u64 {
            let t = Instant::now();
            publisher
                .send_json(json!([16, i + 1, {}, "com.example.a.b", [i]]))
                .await;
            assert_eq!(next(&mut observer).await[0], json!(36));
            total += t.elapsed();
            worst = worst.max(t.elapsed());
        }
        let mut leaves = Vec::new();
        for a in attackers {
            let t = Instant::now();
            a.close().await;
            assert_eq!(next(&mut observer).await[0], json!(36));
            leaves.push(t.elapsed());
        }
        println!(
            "{}k wildcard subscriptions ({sessions} sessions): subscribing {subscribing:.2?}, \
             publish mean {:.2?} max {worst:.2?}, leaves {leaves:.2?}",
            sessions * 10,
            total / 20
        );
    }
    stop.send(true).expect("stop");
    let worst = probe.await.expect("bystander");
    println!("bystanders during the attack: {worst:?}");
}

#[tokio::test]
#[ignore = "measurement"]
async fn stalled_subscriber_memory() {
    let s = serve(RouterConfig::default());
    let mut slow = common::stalled_peer(s.addr, Serializer::MSGPACK).await;
    slow.subscribe("com.firehose", json!({})).await;
    let mut publisher = Peer::connect(s.addr, Serializer::MSGPACK).await;
    publisher.hello("realm1", common::default_roles()).await;
    let before = rss_mib();
    let t = Instant::now();
    let mut peak = before;
    let mut sent = 0;
    while t.elapsed() < Duration::from_secs(3) && peak - before < 2048.0 {
        publisher
            .send(Message::Publish {
                request: sent + 1,
                options: Dict::new(),
                topic: "com.firehose".into(),
                payload: Payload::args(vec![Value::Bytes(vec![7; 1_000_000])]),
            })
            .await;
        sent += 1;
        peak = peak.max(rss_mib());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!(
        "stalled subscriber: {sent} events of 1 MB in {:.1?}; RSS +{:.0} MiB at the peak; \
         subscriber still joined: {}",
        t.elapsed(),
        peak - before,
        s.router.session_count() == 2
    );
}

#[tokio::test]
#[ignore = "measurement"]
async fn partial_messages_before_welcome() {
    let s = serve(RouterConfig::default());
    let n = 200;
    let before = rss_mib();
    let mut conns = Vec::new();
    let mut cut = 0;
    for _ in 0..n {
        let mut c = TcpStream::connect(s.addr).await.expect("connect");
        let req = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
                   Sec-WebSocket-Protocol: wamp.2.cbor\r\n\r\n";
        c.write_all(req.as_bytes()).await.expect("write");
        let mut frame = vec![0x82, 0x80 | 127];
        frame.extend(1_000_000u64.to_be_bytes());
        frame.extend([1, 2, 3, 4]);
        frame.extend(vec![0u8; 999_000]);
        if c.write_all(&frame).await.is_err() {
            cut += 1;
        }
        conns.push(c);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (open, _) = s.router.connection_counts();
    println!(
        "{n} connections each sending 999,000 bytes of a 1 MB message before HELLO: \
         RSS +{:.0} MiB ({:.0} KiB per connection), {open} still open, {cut} cut while writing",
        rss_mib() - before,
        (rss_mib() - before) * 1024.0 / n as f64
    );
}

#[tokio::test]
#[ignore = "measurement"]
async fn long_uris() {
    let s = serve(RouterConfig::default());
    let mut p = Peer::connect(s.addr, Serializer::MSGPACK).await;
    p.hello("realm1", common::default_roles()).await;
    let before = rss_mib();
    let n = 100;
    let mut refused = 0;
    for i in 0..n {
        let uri = format!("com.{i}.{}", "x".repeat(1_000_000));
        p.send_json(json!([32, i + 1, {}, uri])).await;
        if next(&mut p).await[0] != json!(33) {
            refused += 1;
        }
    }
    println!(
        "{n} subscriptions with 1 MB URIs: RSS +{:.0} MiB, {refused} refused",
        rss_mib() - before
    );
}

#[tokio::test]
#[ignore = "measurement"]
async fn idle_sockets_lock_out() {
    let mut cfg = RouterConfig::default();
    if let Ok(v) = std::env::var("PER_IP_HANDSHAKES") {
        cfg.max_handshakes_per_ip = v.parse().expect("number");
    }
    let s = serve(cfg);
    let mut idle = Vec::new();
    for _ in 0..1_100 {
        idle.push(tcp_from(s.addr, "127.0.0.2", None).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut failed = 0;
    for _ in 0..38 {
        let req = format!("ws://{}/ws", s.addr);
        let mut req =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(req)
                .expect("request");
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "wamp.2.json".parse().expect("header"),
        );
        if tokio_tungstenite::connect_async(req).await.is_err() {
            failed += 1;
        }
    }
    println!(
        "1,100 idle sockets from 127.0.0.2 (per-address handshakes {}): {failed} of 38 joins \
         from 127.0.0.1 failed",
        s.router.config().max_handshakes_per_ip
    );
}
