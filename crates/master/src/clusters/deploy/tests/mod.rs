//! The reconcilers under paused time against an in-process fake edge ([`fake`]). Node
//! liveness is a `NodeMap` the test drives; cluster records are written directly.

mod fake;
mod ready;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Map, Value as Json};
use store::nodes::Pairing;
use store::{MrealmRecord, Store};
use tokio::sync::{broadcast, mpsc, watch};
use uuid::Uuid;
use wamp_client::{Session, SubscribeOptions, Subscription};
use wamp_proto::{MatchPolicy, Value};
use wamp_router::{Permission, RealmConfig, Role, Router, RouterConfig};

use super::*;
use crate::clusters::db;
use crate::clusters::model::{Common, Placement, WcMembership, WebService, WorkerGroup};
use crate::mrealm::ctx::{ControllerConfig, MrealmId, Nodes};
use crate::mrealm::heartbeat::Retention;
use crate::mrealm::nodes::{NodeMap, NodeView};
use fake::{join, serve_edge, FakeEdge, FakeWorker};

const PERIOD: Duration = Duration::from_secs(10);

struct Rig {
    ctx: Arc<Ctx>,
    edge: Arc<Mutex<FakeEdge>>,
    map: Mutex<NodeMap>,
    view: watch::Sender<NodeView>,
    transitions: broadcast::Sender<Transition>,
    nodes: [Uuid; 2],
    events: Subscription,
    _sessions: Vec<Session>,
    _dir: tempfile::TempDir,
}

fn paired_store(dir: &std::path::Path) -> (Arc<Store>, Uuid, [Uuid; 2]) {
    let store = Arc::new(Store::open(&dir.join("t.db")).expect("store"));
    let rec = MrealmRecord {
        oid: Uuid::new_v4(),
        name: "mr1".into(),
        label: None,
        description: None,
        tags: None,
        created: 0,
        owner: Uuid::new_v4(),
        cf_router_worker: None,
        cf_container_worker: None,
    };
    store.create_mrealm(&rec).expect("mrealm");
    let pair = |i: u8| {
        store
            .pair_node(&Pairing {
                oid: None,
                pubkey: format!("{i:02x}").repeat(32),
                mrealm_oid: rec.oid,
                authid: format!("n{i}"),
                authextra: None,
                owner_oid: None,
                cluster_ip: None,
            })
            .expect("pair")
            .oid
    };
    let nodes = [pair(1), pair(2)];
    (store, rec.oid, nodes)
}

impl Rig {
    async fn new() -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, mrealm, nodes) = paired_store(dir.path());
        let router = Router::new(RouterConfig::default());
        let role = Role::new("anonymous", vec![Permission::allow_all()]);
        router
            .add_realm(RealmConfig::new("mr1", vec![role]))
            .expect("realm");
        let (session, edge_session, watcher) = (
            join(&router).await,
            join(&router).await,
            join(&router).await,
        );
        let edge = Arc::new(Mutex::new(FakeEdge::default()));
        serve_edge(&edge_session, edge.clone()).await;
        let opts = SubscribeOptions {
            match_policy: MatchPolicy::Prefix,
            ..SubscribeOptions::default()
        };
        let events = watcher
            .subscribe("crossbarfabriccenter.mrealm.", opts)
            .await
            .expect("subscribe");
        let (view, view_rx) = watch::channel(NodeView::default());
        let (transitions, _) = broadcast::channel(64);
        let keep = Duration::from_secs(3600);
        let ctx = Arc::new(Ctx {
            store,
            mrealm: MrealmId {
                oid: mrealm,
                name: "mr1".into(),
            },
            config: ControllerConfig {
                tick_interval: keep,
                check_interval: PERIOD,
                check_timeout: Duration::from_secs(30),
                retention: Retention {
                    raw: keep,
                    aggregates: keep,
                },
            },
            superuser_oid: Uuid::nil(),
            session: session.clone(),
            nodes: Nodes::new(view_rx),
            control: mpsc::unbounded_channel().0,
        });
        Rig {
            ctx,
            edge,
            map: Mutex::new(NodeMap::default()),
            view,
            transitions,
            nodes,
            events,
            _sessions: vec![session, edge_session, watcher],
            _dir: dir,
        }
    }

    fn deployer(&self) -> Deployer {
        Deployer::start(&self.ctx, self.transitions.subscribe()).expect("deployer")
    }

    fn keys(&self) -> Keys {
        Keys::new(self.ctx.mrealm.oid)
    }

    /// Node `i` (0 or 1) joins with session `sid`.
    fn up(&self, i: usize, sid: u64) {
        let mut map = self.map.lock().expect("map");
        let t = map.joined(self.nodes[i], &format!("n{}", i + 1), sid);
        self.view.send_replace(map.view());
        if let Some(t) = t {
            let _ = self.transitions.send(t);
        }
    }

    fn down(&self, sid: u64) {
        let mut map = self.map.lock().expect("map");
        let t = map.left(sid);
        self.view.send_replace(map.view());
        if let Some(t) = t {
            let _ = self.transitions.send(t);
        }
    }

    fn edge(&self) -> std::sync::MutexGuard<'_, FakeEdge> {
        self.edge.lock().expect("edge")
    }

    fn put<T: serde::Serialize>(&self, key: &str, doc: &T) {
        db::write(&self.ctx.store, |txn| db::put(txn, key, doc)).expect("put");
    }

    fn get<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.ctx.store.get(key).expect("get")
    }

    /// The next event on `crossbarfabriccenter.mrealm.*`: topic and payload.
    async fn event(&mut self) -> (String, Value) {
        let ev = tokio::time::timeout(Duration::from_secs(5), self.events.recv())
            .await
            .expect("an event within 5 s")
            .expect("subscription open");
        let topic = ev
            .details
            .get("topic")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        (topic, ev.args.into_iter().next().unwrap_or(Value::Null))
    }
}

/// Waits (virtual time) until `f` holds; panics after `within`.
async fn until(within: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let start = tokio::time::Instant::now();
    while !f() {
        assert!(start.elapsed() < within, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn web_cluster(status: Status) -> WebCluster {
    let mut settings = Map::new();
    settings.insert("tcp_port".into(), json!(8081));
    settings.insert("tcp_shared".into(), json!(true));
    WebCluster {
        oid: Uuid::new_v4(),
        common: Common::default(),
        name: "wc1".into(),
        status,
        owner_oid: Uuid::nil(),
        changed: 1,
        settings,
    }
}

fn service(c: Uuid, path: &str, value: Json) -> WebService {
    let mut config = Map::new();
    config.insert("value".into(), value);
    WebService {
        oid: Uuid::new_v4(),
        common: Common::default(),
        webcluster_oid: c,
        path: path.into(),
        service_type: "json".into(),
        config,
    }
}

/// A STARTING web cluster with n1 (parallel 2) and n2 (parallel 1) and a json service "info".
fn web_setup(rig: &Rig) -> (WebCluster, WebService) {
    let wc = web_cluster(Status::Starting);
    let k = rig.keys();
    rig.put(&k.wc(wc.oid), &wc);
    for (i, parallel) in [(0, Some(2)), (1, None)] {
        let m = WcMembership {
            cluster_oid: wc.oid,
            node_oid: rig.nodes[i],
            parallel,
            standby: None,
        };
        rig.put(&k.wc_node(wc.oid, rig.nodes[i]), &m);
    }
    let ws = service(wc.oid, "info", json!({"hello": "world"}));
    rig.put(&k.ws(wc.oid, ws.oid), &ws);
    (wc, ws)
}

fn cpw(c: Uuid, i: u32) -> String {
    payload::proxy_worker_id(c, i)
}

fn served(rig: &Rig, c: Uuid) -> bool {
    let e = rig.edge();
    let ok = |authid: &str, n: u32| {
        let ws = e.workers(authid);
        (0..n).all(|i| {
            ws.get(&cpw(c, i))
                .is_some_and(|w| w.transport.is_some() && w.services.contains_key("info"))
        })
    };
    ok("n1", 2) && ok("n2", 1)
}

#[tokio::test(start_paused = true)]
async fn a_started_web_cluster_is_served_on_every_member_then_running() {
    let mut rig = Rig::new().await;
    rig.up(0, 1);
    rig.up(1, 2);
    let (wc, _) = web_setup(&rig);
    let d = rig.deployer();
    until(Duration::from_secs(3), "served", || served(&rig, wc.oid)).await;
    let w = rig
        .edge()
        .workers("n1")
        .remove(&cpw(wc.oid, 1))
        .expect("cpw 1");
    assert_eq!(w.wtype, "proxy");
    assert_eq!(w.options, Json::Null);
    let expected = json!({"id": "primary", "type": "web",
        "endpoint": {"type": "tcp", "port": 8081, "shared": true}, "paths": {},
        "options": {"access_log": false, "display_tracebacks": false, "hsts": false}});
    assert_eq!(w.transport, Some(expected));
    assert_eq!(
        w.services["info"],
        json!({"type": "json", "value": {"hello": "world"}})
    );
    let (topic, payload) = rig.event().await;
    assert_eq!(
        topic,
        "crossbarfabriccenter.mrealm.webcluster.on_webcluster_started"
    );
    assert_eq!(
        payload.get("status").and_then(Value::as_str),
        Some("RUNNING")
    );
    let stored: WebCluster = rig.get(&rig.keys().wc(wc.oid)).expect("wc");
    assert_eq!(stored.status, Status::Running);
    let seen = d.web_workers(wc.oid);
    assert_eq!(seen.len(), 3);
    assert!(seen
        .iter()
        .all(|w| w.status == "running" && w.last_error.is_none()));
    // a resync starts nothing again
    let starts = rig.edge().count("start_");
    d.wake(Wake::WebCluster(wc.oid));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(rig.edge().count("start_"), starts);
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_master_restart_re_applies_without_re_creating_and_a_dead_worker_comes_back() {
    let rig = Rig::new().await;
    rig.up(0, 1);
    rig.up(1, 2);
    let (wc, _) = web_setup(&rig);
    let d = rig.deployer();
    until(Duration::from_secs(3), "served", || served(&rig, wc.oid)).await;
    d.stop().await;
    let starts = rig.edge().count("start_");
    let d = rig.deployer();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(rig.edge().count("start_"), starts, "nothing started twice");
    assert!(rig.edge().count("get_worker") > 3, "the restart looked");
    // node n2 is killed and restarted: its workers are gone; the next resync brings them back
    rig.edge().nodes.remove("n2");
    until(PERIOD + Duration::from_secs(2), "re-served", || {
        served(&rig, wc.oid)
    })
    .await;
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn services_added_changed_and_removed_are_applied_to_a_running_cluster() {
    let rig = Rig::new().await;
    rig.up(0, 1);
    rig.up(1, 2);
    let (wc, ws) = web_setup(&rig);
    let d = rig.deployer();
    until(Duration::from_secs(3), "served", || served(&rig, wc.oid)).await;
    let k = rig.keys();
    let extra = service(wc.oid, "extra", json!(1));
    rig.put(&k.ws(wc.oid, extra.oid), &extra);
    let changed = WebService {
        config: service(wc.oid, "info", json!("v2")).config,
        ..ws.clone()
    };
    rig.put(&k.ws(wc.oid, ws.oid), &changed);
    d.wake(Wake::WebCluster(wc.oid));
    let info_is = |rig: &Rig, v: Json| {
        let e = rig.edge();
        let w = e.workers("n2");
        w.get(&cpw(wc.oid, 0))
            .is_some_and(|w| w.services.get("info") == Some(&json!({"type": "json", "value": v})))
    };
    until(Duration::from_secs(2), "info changed", || {
        info_is(&rig, json!("v2"))
    })
    .await;
    assert!(rig.edge().workers("n1")[&cpw(wc.oid, 0)]
        .services
        .contains_key("extra"));
    db::write(&rig.ctx.store, |txn| {
        db::remove_all(txn, &k.ws(wc.oid, extra.oid))
    })
    .expect("rm");
    d.wake(Wake::WebCluster(wc.oid));
    until(Duration::from_secs(2), "extra stopped", || {
        let e = rig.edge();
        e.nodes
            .values()
            .flat_map(|n| n.values())
            .all(|w| !w.services.contains_key("extra"))
    })
    .await;
    // n1 lowered to parallel 1, n2 set standby: their surplus workers are stopped
    for (i, parallel, standby) in [(0, Some(1), None), (1, None, Some(true))] {
        let m = WcMembership {
            cluster_oid: wc.oid,
            node_oid: rig.nodes[i],
            parallel,
            standby,
        };
        rig.put(&k.wc_node(wc.oid, rig.nodes[i]), &m);
    }
    d.wake(Wake::WebCluster(wc.oid));
    until(Duration::from_secs(2), "surplus stopped", || {
        let e = rig.edge();
        e.workers("n1").len() == 1 && e.workers("n2").is_empty()
    })
    .await;
    assert!(rig.edge().workers("n1").contains_key(&cpw(wc.oid, 0)));
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_stop_tears_down_exactly_what_was_deployed_and_an_offline_node_later() {
    let mut rig = Rig::new().await;
    rig.up(0, 1);
    rig.up(1, 2);
    let (wc, _) = web_setup(&rig);
    let d = rig.deployer();
    until(Duration::from_secs(3), "served", || served(&rig, wc.oid)).await;
    let _ = rig.event().await; // started
    rig.edge()
        .nodes
        .entry("n1".into())
        .or_default()
        .insert("other".into(), FakeWorker::default());
    rig.down(2);
    let k = rig.keys();
    let stopping = WebCluster {
        status: Status::Stopping,
        ..wc.clone()
    };
    rig.put(&k.wc(wc.oid), &stopping);
    d.wake(Wake::WebCluster(wc.oid));
    let (topic, payload) = rig.event().await;
    assert_eq!(
        topic,
        "crossbarfabriccenter.mrealm.webcluster.on_webcluster_stopped"
    );
    assert_eq!(
        payload.get("status").and_then(Value::as_str),
        Some("STOPPED")
    );
    let n1: Vec<String> = rig.edge().workers("n1").into_keys().collect();
    assert_eq!(n1, ["other"], "only what was deployed is stopped");
    assert_eq!(rig.edge().workers("n2").len(), 1, "offline: untouched");
    let left: Vec<record::Deployed> = rig
        .ctx
        .store
        .scan(&k.deployed_of("wc", wc.oid))
        .expect("scan");
    assert_eq!(left.len(), 1, "n2's record stays");
    rig.up(1, 3);
    until(Duration::from_secs(1), "n2 cleaned on its return", || {
        rig.edge().workers("n2").is_empty()
    })
    .await;
    let left: Vec<record::Deployed> = rig
        .ctx
        .store
        .scan(&k.deployed_of("wc", wc.oid))
        .expect("scan");
    assert!(left.is_empty());
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_failing_node_does_not_hold_up_the_others_and_is_retried_with_backoff() {
    let rig = Rig::new().await;
    rig.up(0, 1);
    rig.up(1, 2);
    let refusal = ("n1".to_owned(), "start_proxy_transport".to_owned());
    rig.edge()
        .refuse
        .insert(refusal.clone(), "crossbar.error.cannot_listen".into());
    let (wc, _) = web_setup(&rig);
    let d = rig.deployer();
    until(Duration::from_secs(3), "n2 served", || {
        rig.edge()
            .workers("n2")
            .get(&cpw(wc.oid, 0))
            .is_some_and(|w| w.services.contains_key("info"))
    })
    .await;
    let seen = d.web_workers(wc.oid);
    let failed = seen
        .iter()
        .find(|w| w.status == "failed")
        .expect("a failed worker");
    let why = failed.last_error.as_deref().unwrap_or_default();
    assert!(why.starts_with("n1: crossbar.error.cannot_listen"), "{why}");
    // backoff: 1 s, 2 s, 4 s, 8 s → about 5 rounds in 15 s (2 workers each), not one per 10 ms
    tokio::time::sleep(Duration::from_secs(15)).await;
    let attempts = rig.edge().count("n1 start_proxy_transport");
    assert!((8..=14).contains(&attempts), "{attempts} attempts");
    let stored: WebCluster = rig.get(&rig.keys().wc(wc.oid)).expect("wc");
    assert_eq!(stored.status, Status::Starting);
    rig.edge().refuse.clear();
    until(Duration::from_secs(40), "served after the fix", || {
        served(&rig, wc.oid)
    })
    .await;
    until(Duration::from_secs(1), "running", || {
        rig.get::<WebCluster>(&rig.keys().wc(wc.oid))
            .is_some_and(|w| w.status == Status::Running)
    })
    .await;
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_offline_member_is_skipped_then_deployed_as_soon_as_it_comes_online() {
    let rig = Rig::new().await;
    rig.up(0, 1);
    let (wc, _) = web_setup(&rig);
    let d = rig.deployer();
    until(Duration::from_secs(3), "n1 served", || {
        rig.edge().workers("n1").len() == 2
    })
    .await;
    assert!(rig.edge().workers("n2").is_empty());
    assert!(d.web_workers(wc.oid).iter().any(|w| w.status == "offline"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stored: WebCluster = rig.get(&rig.keys().wc(wc.oid)).expect("wc");
    assert_eq!(stored.status, Status::Starting, "not all members serve");
    rig.up(1, 2);
    until(Duration::from_secs(1), "n2 served at once", || {
        served(&rig, wc.oid)
    })
    .await;
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_router_cluster_runs_its_placements_and_a_stop_stops_them() {
    let mut rig = Rig::new().await;
    rig.up(0, 1);
    rig.up(1, 2);
    let k = rig.keys();
    let rc = RouterCluster {
        oid: Uuid::new_v4(),
        common: Common::default(),
        name: "rc1".into(),
        status: Status::Starting,
        owner_oid: Uuid::nil(),
        changed: 1,
    };
    rig.put(&k.rc(rc.oid), &rc);
    let wg = WorkerGroup {
        oid: Uuid::new_v4(),
        common: Common::default(),
        cluster_oid: rc.oid,
        name: "wg".into(),
        scale: 2,
        status: Status::Stopped,
        changed: 1,
    };
    rig.put(&k.wg(rc.oid, wg.oid), &wg);
    for (i, node) in rig.nodes.iter().enumerate() {
        let p = Placement {
            oid: Uuid::new_v4(),
            worker_group_oid: wg.oid,
            cluster_oid: rc.oid,
            node_oid: *node,
            worker_name: format!("wg_{}", i + 1),
            status: Status::Stopped,
            changed: 1,
            tcp_listening_port: 0,
        };
        rig.put(&k.placement(rc.oid, wg.oid, p.oid), &p);
    }
    let d = rig.deployer();
    let (topic, _) = rig.event().await;
    assert_eq!(
        topic,
        "crossbarfabriccenter.mrealm.routercluster.on_routercluster_started"
    );
    let w = rig.edge().workers("n2").remove("wg_2").expect("wg_2 on n2");
    assert_eq!(w.wtype, "router");
    let options = json!({"env": {"inherit": ["PYTHONPATH"]}, "title": "Managed router worker wg_2", "extra": {}});
    assert_eq!(w.options, options);
    assert!(rig.edge().workers("n1").contains_key("wg_1"));
    let g: WorkerGroup = rig.get(&k.wg(rc.oid, wg.oid)).expect("wg");
    assert_eq!(g.status, Status::Running);
    assert_eq!(d.router_workers(rc.oid).len(), 2);
    let stopping = RouterCluster {
        status: Status::Stopping,
        ..rc.clone()
    };
    rig.put(&k.rc(rc.oid), &stopping);
    d.wake(Wake::RouterCluster(rc.oid));
    let (topic, _) = rig.event().await;
    assert_eq!(
        topic,
        "crossbarfabriccenter.mrealm.routercluster.on_routercluster_stopped"
    );
    assert!(rig.edge().workers("n1").is_empty() && rig.edge().workers("n2").is_empty());
    let g: WorkerGroup = rig.get(&k.wg(rc.oid, wg.oid)).expect("wg");
    assert_eq!(g.status, Status::Stopped);
    d.stop().await;
}
