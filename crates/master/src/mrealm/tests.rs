//! The controller core under paused time: the owner task, the health check on the reconciler
//! runtime and the announcer, wired as in a controller, against a stand-in node session (its
//! `get_status` under the test's control) and join/leave events that the test publishes on
//! topics of its own (the router's `wamp.session.*` meta events cannot be forged).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use store::nodes::Pairing;
use store::{MrealmRecord, Store};
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;
use wamp_client::{JoinOptions, PublishOptions, RegisterOptions, Session, Transport, WampError};
use wamp_proto::{dict, Dict, Value};
use wamp_router::{Permission, RealmConfig, Role, Router, RouterConfig};

use super::announce::Announcer;
use super::ctx::{ControllerConfig, Ctx, MrealmId, Nodes};
use super::health::Health;
use super::heartbeat::{Retention, Writer};
use super::nodes::Transition;
use super::owner::{self, Owner, Topic};

const JOIN: &str = "test.on_join";
const LEAVE: &str = "test.on_leave";
const PERIOD: Duration = Duration::from_secs(10);

struct Rig {
    ctx: Arc<Ctx>,
    injector: Session,
    transitions: broadcast::Receiver<Transition>,
    node_oid: Uuid,
    _health: Health,
    _sessions: [Session; 2],
    _dir: tempfile::TempDir,
}

async fn join(router: &Arc<Router>) -> Session {
    let (tx, rx) = router.connect_local();
    Session::join(Transport::local(tx, rx), JoinOptions::realm("mr1"))
        .await
        .expect("join")
}

fn paired_store(dir: &std::path::Path) -> (Arc<Store>, Uuid, Uuid) {
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
    let node = store
        .pair_node(&Pairing {
            oid: None,
            pubkey: "ab".repeat(32),
            mrealm_oid: rec.oid,
            authid: "n1".into(),
            authextra: None,
            owner_oid: None,
            cluster_ip: None,
        })
        .expect("pair");
    (store, rec.oid, node.oid)
}

/// The controller core for mrealm "mr1" with node "n1", whose first `get_status` takes
/// `first_answer_after` and answers `wamp.error.no_such_procedure` ("gone"); later ones answer.
async fn rig(first_answer_after: Duration) -> (Rig, Arc<AtomicUsize>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, mrealm, node_oid) = paired_store(dir.path());
    let router = Router::new(RouterConfig::default());
    let role = Role::new("anonymous", vec![Permission::allow_all()]);
    router
        .add_realm(RealmConfig::new("mr1", vec![role]))
        .expect("realm");
    let (session, ingest, injector, node) = (
        join(&router).await,
        join(&router).await,
        join(&router).await,
        join(&router).await,
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    node.register(
        "crossbarfabriccenter.node.n1.get_status",
        RegisterOptions::default(),
        move |_| {
            let first = c.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                if first {
                    tokio::time::sleep(first_answer_after).await;
                    return Err(WampError::new("wamp.error.no_such_procedure"));
                }
                let status = dict! { "workers_by_type" => dict! { "router" => 1 } };
                Ok((vec![status.into()], Dict::new()))
            }
        },
    )
    .await
    .expect("register");
    let keep = Retention {
        raw: Duration::from_secs(3600),
        aggregates: Duration::from_secs(3600),
    };
    let (history, _, _) = Writer::start(store.clone(), mrealm, keep);
    let (announcer, _) = Announcer::spawn(session.clone(), None);
    let (owner, view) = Owner::new(store.clone(), mrealm, announcer.clone(), history, None);
    let topics = [(JOIN, Topic::Join, false), (LEAVE, Topic::Leave, false)];
    let inputs = owner::subscribe(&ingest, &topics).await.expect("subscribe");
    let (control, control_rx) = mpsc::unbounded_channel();
    tokio::spawn(owner.run(inputs, control_rx));
    let ctx = Arc::new(Ctx {
        store,
        mrealm: MrealmId {
            oid: mrealm,
            name: "mr1".into(),
        },
        config: ControllerConfig {
            tick_interval: Duration::from_secs(3600),
            check_interval: PERIOD,
            check_timeout: Duration::from_secs(30),
            retention: keep,
        },
        superuser_oid: Uuid::nil(),
        session,
        nodes: Nodes::new(view),
        control,
    });
    let transitions = announcer.subscribe();
    let health = Health::start(&ctx, announcer.subscribe());
    let rig = Rig {
        ctx,
        injector,
        transitions,
        node_oid,
        _health: health,
        _sessions: [ingest, node],
        _dir: dir,
    };
    (rig, calls)
}

impl Rig {
    async fn publish(&self, topic: &str, arg: Value) {
        self.injector
            .publish(
                topic,
                vec![arg],
                Dict::new(),
                PublishOptions::acknowledged(),
            )
            .await
            .expect("publish");
    }

    async fn node_joins(&self, session: u64) {
        let details = dict! { "authrole" => "node", "authid" => "n1", "session" => session };
        self.publish(JOIN, details.into()).await;
    }

    async fn node_leaves(&self, session: u64) {
        self.publish(LEAVE, session.into()).await;
    }

    /// The transitions announced so far, as "ready" / "shutdown".
    fn announced(&mut self) -> Vec<&'static str> {
        let mut out = Vec::new();
        while let Ok(t) = self.transitions.try_recv() {
            out.push(if t.is_ready() { "ready" } else { "shutdown" });
        }
        out
    }
}

#[tokio::test(start_paused = true)]
async fn a_late_gone_check_never_undoes_a_newer_rejoin() {
    let (mut rig, calls) = rig(Duration::from_secs(15)).await;
    rig.node_joins(1001).await;
    // the first check starts one period after the node came online, and hangs for 15 s
    tokio::time::sleep(PERIOD + Duration::from_secs(2)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the check is in flight");
    rig.node_leaves(1001).await;
    rig.node_joins(1002).await;
    // the stale "gone" arrives at 25 s, and a fresh check passes later
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(calls.load(Ordering::SeqCst) >= 2, "checks go on");
    assert!(
        rig.ctx.nodes.is_online(&rig.node_oid),
        "stale check undid the re-join"
    );
    assert_eq!(rig.announced(), ["ready", "shutdown", "ready"]);
}

#[tokio::test(start_paused = true)]
async fn a_current_gone_check_marks_the_node_offline_once() {
    let (mut rig, calls) = rig(Duration::from_secs(15)).await;
    rig.node_joins(1001).await;
    tokio::time::sleep(PERIOD + Duration::from_secs(20)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(!rig.ctx.nodes.is_online(&rig.node_oid));
    assert_eq!(rig.announced(), ["ready", "shutdown"]);
    // an offline node is not checked again until it comes back
    tokio::time::sleep(PERIOD * 3).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    rig.node_leaves(1001).await;
    rig.node_joins(1002).await;
    tokio::time::sleep(PERIOD + Duration::from_secs(1)).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "checked again a period after its return"
    );
    assert!(rig.ctx.nodes.is_online(&rig.node_oid));
    assert_eq!(rig.announced(), ["ready"]);
}

#[tokio::test(start_paused = true)]
async fn healthy_checks_run_once_per_period_and_report_workers() {
    let (rig, calls) = rig(Duration::ZERO).await;
    rig.node_joins(1001).await;
    // the first answer (at 10 s) says "gone"; the node re-joins, then is checked every period
    tokio::time::sleep(PERIOD + Duration::from_secs(1)).await;
    rig.node_leaves(1001).await;
    rig.node_joins(1002).await;
    tokio::time::sleep(PERIOD * 5 + Duration::from_secs(1)).await;
    let n = calls.load(Ordering::SeqCst);
    assert!((5..=6).contains(&n), "{n} checks in 6 periods");
    let view = rig.ctx.nodes.view();
    let node = view.get(&rig.node_oid).expect("node");
    assert!(node.online);
    assert_eq!(node.workers.get("router"), Some(&1));
}
