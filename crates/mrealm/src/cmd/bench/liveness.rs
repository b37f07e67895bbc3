//! The liveness scenario: how long after a simulated node is killed (TCP dropped), stopped
//! (GOODBYE), frozen (silent; found only by the master's WebSocket ping timeout) or re-joined
//! a subscriber on the management realm sees `crossbarfabriccenter.mrealm.on_node_shutdown` /
//! `on_node_ready` (WIRE.md §5) for it; for re-joins also how long until `get_node` says
//! `online` (polled every 10 ms; the Python master does not always publish `on_node_ready` for
//! a known node, RECIPE.md pitfall 12).

use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{json, Value as Json};
use tokio::sync::mpsc;
use wamp_client::{CallOptions, Dict, Session, SubscribeOptions, Value};

use super::fleet::{self, Disconnect};
use super::target::{opt, print_table, write_json, TargetArgs};

const READY: &str = master::wire::mrealm::ON_NODE_READY;
const SHUTDOWN: &str = master::wire::mrealm::ON_NODE_SHUTDOWN;

#[derive(Debug, Args)]
pub struct LivenessArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Simulated nodes (the trials use them in turn).
    #[arg(long, default_value_t = 10)]
    pub nodes: usize,
    /// Trials per kind of event (kill, stop, re-join).
    #[arg(long, default_value_t = 5)]
    pub trials: usize,
    /// Trials of the freeze (each takes up to the ping interval + timeout).
    #[arg(long, default_value_t = 2)]
    pub freeze_trials: usize,
    /// The master's WebSocket ping interval, seconds (reported only).
    #[arg(long, default_value_t = 10.0)]
    pub ping_interval: f64,
    /// The master's WebSocket pong timeout, seconds (reported only).
    #[arg(long, default_value_t = 5.0)]
    pub ping_timeout: f64,
    /// Longest wait for one event, seconds.
    #[arg(long, default_value_t = 40.0)]
    pub wait: f64,
    /// Node authid prefix of the fleet.
    #[arg(long, default_value = "live")]
    pub prefix: String,
}

/// One event seen: which topic, for which node oid, when.
type Seen = (&'static str, String, Instant);

/// Delays of one kind of transition, milliseconds (`None`: not seen in time).
struct Kind {
    event: &'static str,
    samples: Vec<Option<f64>>,
}

impl Kind {
    fn seen(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self.samples.iter().flatten().copied().collect();
        v.sort_by(f64::total_cmp);
        v
    }

    fn p50(&self) -> Option<f64> {
        let v = self.seen();
        v.get(v.len() / 2).copied()
    }

    fn max(&self) -> Option<f64> {
        self.seen().last().copied()
    }

    fn row(&self) -> Vec<String> {
        let missed = self.samples.iter().filter(|s| s.is_none()).count();
        vec![
            self.event.to_owned(),
            self.samples.len().to_string(),
            missed.to_string(),
            opt(self.p50(), 1),
            opt(self.max(), 1),
        ]
    }

    fn to_json(&self) -> Json {
        json!({"event": self.event, "trials": self.samples.len(), "p50_ms": self.p50(),
               "max_ms": self.max(), "samples_ms": self.samples})
    }
}

pub async fn run(args: LivenessArgs) -> anyhow::Result<()> {
    let t = &args.target;
    let running = fleet::start(t, args.nodes, Duration::from_secs(10), &args.prefix).await?;
    let conn = t.connect(true).await?;
    let session = conn.session().clone();
    let (tx, mut rx) = mpsc::unbounded_channel();
    for topic in [READY, SHUTDOWN] {
        listen(&session, topic, tx.clone()).await?;
    }
    let oids = node_oids(&session, &running).await?;
    let wait = Duration::from_secs_f64(args.wait);
    let mut kinds = Vec::new();
    let modes = [
        (
            "kill (TCP drop) -> on_node_shutdown",
            Disconnect::DropTcp,
            args.trials,
        ),
        (
            "stop (GOODBYE) -> on_node_shutdown",
            Disconnect::Goodbye,
            args.trials,
        ),
        (
            "freeze (ping timeout) -> on_node_shutdown",
            Disconnect::Freeze,
            args.freeze_trials,
        ),
    ];
    let mut rejoin_ready = Kind {
        event: "re-join -> on_node_ready",
        samples: vec![],
    };
    let mut rejoin_online = Kind {
        event: "re-join -> get_node online (polled)",
        samples: vec![],
    };
    for (event, how, trials) in modes {
        let mut kind = Kind {
            event,
            samples: vec![],
        };
        for k in 0..trials {
            let i = k % args.nodes;
            drain(&mut rx);
            let t0 = Instant::now();
            running.disconnect(i, how).await;
            kind.samples
                .push(wait_for(&mut rx, SHUTDOWN, &oids[i], t0, wait).await);
            drain(&mut rx);
            let t0 = Instant::now();
            let rejoined = running.reconnect(i).await;
            let online = poll_online(&session, &oids[i], t0, wait).await;
            rejoin_online.samples.push(online);
            let ready = wait_for(&mut rx, READY, &oids[i], t0, Duration::from_millis(500)).await;
            rejoin_ready.samples.push(ready);
            if let Err(e) = rejoined {
                eprintln!("  node {i} did not re-join: {e}");
            }
        }
        kinds.push(kind);
    }
    kinds.push(rejoin_ready);
    kinds.push(rejoin_online);
    conn.close().await;
    let summary = fleet::stop(Some(running)).await;
    report(&args, &kinds, summary)
}

/// Forwards `topic`'s events (node oid = first argument) into `tx`.
async fn listen(
    session: &Session,
    topic: &'static str,
    tx: mpsc::UnboundedSender<Seen>,
) -> anyhow::Result<()> {
    let mut sub = session
        .subscribe(topic, SubscribeOptions::default())
        .await
        .map_err(|e| anyhow::anyhow!("cannot subscribe to {topic}: {e}"))?;
    tokio::spawn(async move {
        while let Some(ev) = sub.recv().await {
            let oid = ev
                .args
                .first()
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            if tx.send((topic, oid, Instant::now())).is_err() {
                break;
            }
        }
    });
    Ok(())
}

fn drain(rx: &mut mpsc::UnboundedReceiver<Seen>) {
    while rx.try_recv().is_ok() {}
}

/// Milliseconds from `t0` until `topic` arrives for `oid` (None: not within `wait`).
async fn wait_for(
    rx: &mut mpsc::UnboundedReceiver<Seen>,
    topic: &str,
    oid: &str,
    t0: Instant,
    wait: Duration,
) -> Option<f64> {
    let deadline = tokio::time::Instant::from_std(t0 + wait);
    loop {
        let (seen, who, at) = tokio::time::timeout_at(deadline, rx.recv()).await.ok()??;
        if seen == topic && who == oid {
            return Some(at.saturating_duration_since(t0).as_secs_f64() * 1000.0);
        }
    }
}

/// Milliseconds from `t0` until `get_node(oid)` answers status `online`.
async fn poll_online(session: &Session, oid: &str, t0: Instant, wait: Duration) -> Option<f64> {
    while t0.elapsed() < wait {
        let opts = CallOptions::timeout(Duration::from_secs(10));
        let args = vec![Value::Str(oid.to_owned())];
        let uri = master::wire::mrealm::GET_NODE;
        if let Ok(r) = session.call(uri, args, Dict::new(), opts).await {
            let status = r
                .args
                .first()
                .and_then(|n| n.as_dict()?.get("status")?.as_str().map(str::to_owned));
            if status.as_deref() == Some("online") {
                return Some(t0.elapsed().as_secs_f64() * 1000.0);
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// The oids of the fleet's nodes, in index order.
async fn node_oids(session: &Session, running: &fleet::Running) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for i in 0..running.nodes {
        let opts = CallOptions::timeout(Duration::from_secs(30));
        let uri = master::wire::mrealm::GET_NODE_BY_AUTHID;
        let r = session
            .call(uri, vec![Value::Str(running.authid(i))], Dict::new(), opts)
            .await
            .map_err(|e| anyhow::anyhow!("{uri}: {e}"))?;
        let oid = r
            .args
            .first()
            .and_then(|n| n.as_dict()?.get("oid")?.as_str().map(str::to_owned));
        out.push(oid.ok_or_else(|| anyhow::anyhow!("{uri} answered without an oid"))?);
    }
    Ok(out)
}

fn report(args: &LivenessArgs, kinds: &[Kind], summary: Json) -> anyhow::Result<()> {
    let t = &args.target;
    let title = format!(
        "{} {} liveness, {} simulated nodes, ping interval {}s / timeout {}s",
        t.target, t.url, args.nodes, args.ping_interval, args.ping_timeout
    );
    let head = [
        "transition -> event",
        "trials",
        "missed",
        "p50 ms",
        "max ms",
    ];
    let rows: Vec<_> = kinds.iter().map(Kind::row).collect();
    print_table(&title, &head, &rows);
    let params = json!({"nodes": args.nodes, "trials": args.trials,
                        "freeze_trials": args.freeze_trials, "ping_interval_s": args.ping_interval,
                        "ping_timeout_s": args.ping_timeout, "wait_s": args.wait});
    let mut results: Vec<Json> = kinds.iter().map(Kind::to_json).collect();
    results.push(json!({"event": "sim", "sim": summary}));
    write_json(t, "liveness", params, Json::Array(results))
}
