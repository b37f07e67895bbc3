//! The scale scenario: for each fleet size in `--nodes`, connect that many simulated nodes to
//! the master over WebSocket and report the time until all are online, the master's RSS (and
//! its growth per node over the RSS before the fleet connected), and what the master holds:
//! nodes online by `get_nodes("online")` and registrations by `wamp.registration.list` on the
//! management realm (if the superuser may call it). The fleet is stopped between sizes.
//!
//! Over WebSocket one process can hold at most ~19.9k connections here (open-file hard limit
//! 20000), on the master's side as on the simulator's.

use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{json, Value as Json};
use wamp_client::{CallOptions, Dict, Session, Value};

use super::fleet;
use super::proc::TreeSample;
use super::target::{opt, print_table, write_json, TargetArgs};

#[derive(Debug, Args)]
pub struct ScaleArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Fleet sizes, in order.
    #[arg(long, value_delimiter = ',', default_values_t = [1000usize, 5000, 10000, 19000])]
    pub nodes: Vec<usize>,
    /// Heartbeat period of the nodes, seconds.
    #[arg(long, default_value_t = 10.0)]
    pub period: f64,
    /// Seconds to hold each fleet before reading RSS (heartbeats flowing).
    #[arg(long, default_value_t = 5.0)]
    pub hold: f64,
    /// Node authid prefix; the size is appended (scale1000-00000, ...).
    #[arg(long, default_value = "scale")]
    pub prefix: String,
    /// The master's RSS with no nodes, MiB (e.g. from `mrealm bench idle` right after its
    /// start); RSS per node is (RSS - this) / nodes. Default: the RSS before each fleet, which
    /// undercounts once memory from an earlier fleet is kept by the allocator.
    #[arg(long, value_name = "MIB")]
    pub baseline_rss_mib: Option<f64>,
    /// Stop at the first size that does not come fully online.
    #[arg(long)]
    pub stop_on_failure: bool,
}

/// What one fleet size measured.
#[derive(Debug, Default)]
struct Size {
    nodes: usize,
    connect_s: Option<f64>,
    online_sim: usize,
    online_master: Option<usize>,
    registrations: Option<usize>,
    rss_before: u64,
    rss: u64,
    error: Option<String>,
}

impl Size {
    fn delta_per_node_kib(&self) -> Option<f64> {
        (self.online_sim > 0).then(|| {
            self.rss.saturating_sub(self.rss_before) as f64 / 1024.0 / self.online_sim as f64
        })
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.nodes.to_string(),
            self.online_sim.to_string(),
            self.online_master
                .map_or_else(|| "-".into(), |n| n.to_string()),
            opt(self.connect_s, 2),
            format!("{:.1}", self.rss as f64 / 1048576.0),
            opt(self.delta_per_node_kib(), 1),
            self.registrations
                .map_or_else(|| "-".into(), |n| n.to_string()),
        ]
    }

    fn to_json(&self) -> Json {
        json!({
            "nodes": self.nodes, "online": self.online_master.unwrap_or(self.online_sim),
            "online_sim": self.online_sim, "online_master": self.online_master,
            "online_s": self.connect_s, "rss_bytes": self.rss,
            "rss_before_bytes": self.rss_before,
            "rss_delta_bytes": self.rss.saturating_sub(self.rss_before),
            "registrations": self.registrations, "error": self.error,
        })
    }
}

pub async fn run(args: ScaleArgs) -> anyhow::Result<()> {
    let t = &args.target;
    let pid = t
        .master_pid
        .ok_or_else(|| anyhow::anyhow!("the scale scenario needs --master-pid"))?;
    let mut sizes = Vec::new();
    for &n in &args.nodes {
        let s = one_size(&args, pid, n).await;
        let failed = s.error.is_some() || s.online_sim < n;
        eprintln!("  {n} nodes: {:?}", s.row());
        sizes.push(s);
        if failed && args.stop_on_failure {
            break;
        }
    }
    let title = format!(
        "{} {} scale over WebSocket, heartbeat period {}s",
        t.target, t.url, args.period
    );
    let head = [
        "nodes",
        "online (sim)",
        "online (master)",
        "all online s",
        "RSS MiB",
        "KiB/node",
        "registrations",
    ];
    let rows: Vec<_> = sizes.iter().map(Size::row).collect();
    print_table(&title, &head, &rows);
    for s in sizes.iter().filter(|s| s.error.is_some()) {
        println!("{} nodes: {}", s.nodes, s.error.as_deref().unwrap_or(""));
    }
    let params = json!({"nodes": args.nodes, "period_s": args.period, "hold_s": args.hold,
                        "transport": "websocket"});
    write_json(
        t,
        "scale",
        params,
        Json::Array(sizes.iter().map(Size::to_json).collect()),
    )
}

/// Connects `n` nodes, measures, stops them.
async fn one_size(args: &ScaleArgs, pid: u32, n: usize) -> Size {
    let t = &args.target;
    let mut s = Size {
        nodes: n,
        ..Size::default()
    };
    s.rss_before = match args.baseline_rss_mib {
        Some(mib) => (mib * 1048576.0) as u64,
        None => TreeSample::take(pid).map_or(0, |x| x.rss),
    };
    let t0 = Instant::now();
    let prefix = format!("{}{n}", args.prefix);
    let period = Duration::from_secs_f64(args.period);
    let running = match fleet::start(t, n, period, &prefix).await {
        Ok(r) => r,
        Err(e) => {
            s.error = Some(format!("{e:#}"));
            return s;
        }
    };
    s.connect_s = Some(running.connect_time.as_secs_f64());
    eprintln!(
        "  {n} nodes prepared and connected in {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs_f64(args.hold)).await;
    s.online_sim = running.online();
    s.rss = TreeSample::take(pid).map_or(0, |x| x.rss);
    match t.connect(true).await {
        Ok(conn) => {
            s.online_master = count_list(
                conn.session(),
                master::wire::mrealm::GET_NODES,
                vec![Value::Str("online".into())],
            )
            .await;
            s.registrations = registrations(conn.session()).await;
            conn.close().await;
        }
        Err(e) => s.error = Some(format!("cannot query the master: {e:#}")),
    }
    fleet::stop(Some(running)).await;
    s
}

/// The length of the list a procedure answers.
async fn count_list(session: &Session, uri: &str, args: Vec<Value>) -> Option<usize> {
    let opts = CallOptions::timeout(Duration::from_secs(120));
    let r = session.call(uri, args, Dict::new(), opts).await.ok()?;
    r.args.first()?.as_list().map(Vec::len)
}

/// Registrations on the management realm: `wamp.registration.list` answers
/// `{"exact": [...], "prefix": [...], "wildcard": [...]}`.
async fn registrations(session: &Session) -> Option<usize> {
    let opts = CallOptions::timeout(Duration::from_secs(120));
    let r = session
        .call("wamp.registration.list", vec![], Dict::new(), opts)
        .await
        .ok()?;
    let d = r.args.first()?.as_dict()?;
    Some(d.values().filter_map(Value::as_list).map(Vec::len).sum())
}
