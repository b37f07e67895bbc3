//! The tracing API of a management realm, end to end over WebSocket: an in-process master, the
//! superuser as `owner` on mrealm `mr1` (and as `developer`, the excluded reader), and a
//! simulated edge node `node1` whose worker `w1` answers the worker-level tracing procedures.
//! Lifecycle and events, reader ACL, errors, offline and failing workers, and a master restart.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    call_kw, create_mrealm, first_str, join, next_event, node_secret, pair_oid, wamp_err, Fixture,
    P,
};
use wamp_client::{
    Error, JoinOptions, PublishOptions, RegisterOptions, Session, SubscribeOptions, Subscription,
    WampError,
};
use wamp_proto::{dict, Dict, MatchPolicy, Value};

struct Setup {
    fx: Fixture,
    /// The superuser as `owner` on `mr1`.
    su: Session,
    /// oids of node1 (simulated, connects) and node2 (paired, never connects).
    node1: String,
    node2: String,
}

/// Calls `crossbarfabriccenter.mrealm.<proc>`.
async fn api(s: &Session, proc: &str, args: Vec<Value>, kwargs: Dict) -> Result<Value, Error> {
    call_kw(s, &format!("{P}{proc}"), args, kwargs).await
}

/// Joins as the superuser on `mr1` requesting `role`, and checks it was granted.
async fn as_role(fx: &Fixture, role: &str) -> Session {
    let s = fx
        .try_superuser(Some("mr1"), Some(role))
        .await
        .expect("join");
    assert_eq!(s.welcome().authrole.as_deref(), Some(role));
    s
}

async fn setup() -> Setup {
    let fx = Fixture::start().await;
    let global = fx.superuser(None).await;
    create_mrealm(&global, "mr1").await;
    let node1 = pair_oid(&global, &node_secret(1), "mr1", "node1").await;
    let node2 = pair_oid(&global, &node_secret(2), "mr1", "node2").await;
    let su = as_role(&fx, "owner").await;
    Setup {
        fx,
        su,
        node1,
        node2,
    }
}

/// The simulated node: worker `w1` keeps the id of its running trace.
struct Node {
    session: Session,
    running: Arc<Mutex<Option<String>>>,
}

async fn worker_proc<F>(s: &Session, proc: &str, f: F)
where
    F: Fn(Vec<Value>, Dict) -> Result<(Vec<Value>, Dict), WampError> + Send + Sync + 'static,
{
    let uri = format!("crossbarfabriccenter.node.node1.worker.w1.{proc}");
    s.register(&uri, RegisterOptions::default(), move |inv| {
        let r = f(inv.args, inv.kwargs);
        async move { r }
    })
    .await
    .expect("register");
}

async fn start_node(f: &Setup) -> Node {
    let session = f.fx.node(node_secret(1)).await;
    let running = Arc::new(Mutex::new(None::<String>));
    let r = running.clone();
    worker_proc(&session, "start_trace", move |args, kw| {
        let mut run = r.lock().expect("lock");
        if run.is_some() {
            return Err(WampError::new("crossbar.error.already_running"));
        }
        let id = first_str(&args);
        *run = Some(id.clone());
        let opts = kw.get("trace_options").cloned().unwrap_or(Value::Null);
        let t = dict! { "id" => id, "worker_id" => "w1", "status" => "running", "options" => opts };
        Ok((vec![t.into()], Dict::new()))
    })
    .await;
    let r = running.clone();
    worker_proc(&session, "stop_trace", move |args, _| {
        let id = first_str(&args);
        let mut run = r.lock().expect("lock");
        if run.as_deref() != Some(id.as_str()) {
            return Err(WampError::new("crossbar.error.no_such_object"));
        }
        *run = None;
        let t = dict! { "id" => id, "worker_id" => "w1", "status" => "stopped" };
        Ok((vec![t.into()], Dict::new()))
    })
    .await;
    worker_proc(&session, "get_trace_data", |args, kw| {
        let rec = dict! { "seq" => args.get(1).cloned(), "limit" => kw.get("limit").cloned() };
        Ok((vec![Value::List(vec![rec.into()])], Dict::new()))
    })
    .await;
    wait_online(&f.su, &f.node1).await;
    Node { session, running }
}

async fn wait_online(su: &Session, oid: &str) {
    for _ in 0..100 {
        let args = vec!["online".into()];
        let online = api(su, "get_nodes", args, Dict::new())
            .await
            .expect("get_nodes");
        if online
            .as_list()
            .is_some_and(|l| l.contains(&Value::from(oid)))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("node {oid} did not come online");
}

async fn tracing_events(s: &Session) -> Subscription {
    let opts = SubscribeOptions::with_match(MatchPolicy::Prefix);
    s.subscribe(&format!("{P}tracing."), opts)
        .await
        .expect("subscribe")
}

/// The next event's topic suffix and args.
async fn next(sub: &mut Subscription) -> (String, Vec<Value>) {
    let e = next_event(sub).await;
    let topic = e.topic().unwrap_or_default();
    let name = topic.strip_prefix(&format!("{P}tracing.")).unwrap_or(topic);
    (name.to_owned(), e.args)
}

fn create_args(id: &str, workers: &[(&str, &str)]) -> Vec<Value> {
    let w = workers
        .iter()
        .map(|(n, w)| Value::List(vec![(*n).into(), (*w).into()]))
        .collect();
    vec![id.into(), Value::List(w)]
}

fn list_len(v: &Value, key: &str) -> usize {
    v.get(key)
        .and_then(Value::as_list)
        .map_or(usize::MAX, Vec::len)
}

fn status(v: &Value) -> &str {
    v.get("status").and_then(Value::as_str).unwrap_or_default()
}

async fn publish_data(node: &Session, worker: &str, trace_id: &str, period: u64) {
    let topic = format!("crossbarfabriccenter.node.node1.worker.{worker}.on_trace_data");
    let data = Value::List(vec![dict! { "seq" => period }.into()]);
    let args = vec![trace_id.into(), period.into(), data];
    node.publish(&topic, args, Dict::new(), PublishOptions::acknowledged())
        .await
        .expect("publish");
}

#[tokio::test]
async fn lifecycle_events_data_and_reader_acl() {
    let f = setup().await;
    let node = start_node(&f).await;
    let dev = as_role(&f.fx, "developer").await;
    let mut owner_events = tracing_events(&f.su).await;
    let mut dev_events = tracing_events(&dev).await;

    let mut args = create_args("t1", &[(&f.node1, "w1")]);
    args.push(dict! { "batching_period" => 200 }.into());
    let kw = dict! { "exclude_reader_roles" => Value::List(vec!["developer".into()]) };
    let info = api(&f.su, "create_trace", args, kw).await.expect("create");
    assert_eq!(info.get("trace_id"), Some(&Value::from("t1")));
    assert_eq!(status(&info), "stopped");
    let (ev, a) = next(&mut owner_events).await;
    assert_eq!(
        (ev.as_str(), a.first()),
        ("on_trace_created", Some(&"t1".into()))
    );
    assert_eq!(a.get(1), Some(&info));
    // a trace everybody may read
    let a2 = create_args("t2", &[(&f.node1, "w1")]);
    api(&f.su, "create_trace", a2, Dict::new())
        .await
        .expect("t2");
    assert_eq!(next(&mut owner_events).await.0, "on_trace_created");

    let res = api(&f.su, "start_trace", vec!["t1".into()], Dict::new())
        .await
        .expect("start");
    assert_eq!(
        (list_len(&res, "started"), list_len(&res, "failed")),
        (1, 0)
    );
    let started = &res.get("started").and_then(Value::as_list).expect("list")[0];
    let opts = started
        .get("options")
        .and_then(|o| o.get("batching_period"));
    assert_eq!(
        opts,
        Some(&Value::from(200)),
        "trace_options reach the worker"
    );
    assert_eq!(node.running.lock().expect("lock").as_deref(), Some("t1"));
    assert_eq!(next(&mut owner_events).await.0, "on_trace_starting");
    let (ev, a) = next(&mut owner_events).await;
    assert_eq!(ev, "on_trace_started");
    let payload = a.get(1).expect("payload");
    assert_eq!(
        (status(payload), list_len(payload, "started")),
        ("running", 1)
    );

    // worker data: only the traced worker of a known trace is republished, with the node oid
    publish_data(&node.session, "w2", "t1", 1).await;
    publish_data(&node.session, "w1", "nosuchtrace", 1).await;
    publish_data(&node.session, "w1", "t1", 7).await;
    let (ev, a) = next(&mut owner_events).await;
    assert_eq!(ev, "on_trace_data");
    let want_head: Vec<Value> = vec![f.node1.clone().into(), "w1".into(), "t1".into(), 7.into()];
    assert_eq!(a[..4], want_head[..]);

    let data = api(
        &f.su,
        "get_trace_data",
        vec!["t1".into(), 5.into()],
        Dict::new(),
    )
    .await
    .expect("data");
    let w1 = data
        .get(f.node1.as_str())
        .and_then(|n| n.get("w1"))
        .expect("w1");
    assert_eq!(w1.get("success"), Some(&Value::Bool(true)));
    let rec = &w1.get("data").and_then(Value::as_list).expect("data list")[0];
    assert_eq!(
        (rec.get("seq"), rec.get("limit")),
        (Some(&0.into()), Some(&5.into()))
    );

    // the excluded reader sees nothing of t1
    let got = api(&dev, "get_trace", vec!["t1".into()], Dict::new()).await;
    assert_eq!(got.expect("dev get_trace"), Value::Null);
    let ids = api(&dev, "get_traces", vec![], Dict::new())
        .await
        .expect("ids");
    assert_eq!(ids, Value::List(vec!["t2".into()]));
    let ids = api(&f.su, "get_traces", vec![], Dict::new())
        .await
        .expect("ids");
    assert_eq!(ids, Value::List(vec!["t1".into(), "t2".into()]));
    let r = api(&dev, "get_trace_data", vec!["t1".into()], Dict::new()).await;
    assert_eq!(wamp_err(r).0, "crossbar.error.no_such_object");
    let r = api(&dev, "stop_trace", vec!["t1".into()], Dict::new()).await;
    assert_eq!(wamp_err(r).0, "crossbar.error.no_such_object");
    let got = api(&dev, "get_trace", vec!["t2".into()], Dict::new()).await;
    assert_eq!(status(&got.expect("t2")), "stopped");

    let res = api(&f.su, "stop_trace", vec!["t1".into()], Dict::new())
        .await
        .expect("stop");
    assert_eq!(
        (list_len(&res, "stopped"), list_len(&res, "failed")),
        (1, 0)
    );
    assert_eq!(*node.running.lock().expect("lock"), None);
    assert_eq!(next(&mut owner_events).await.0, "on_trace_stopping");
    let (ev, a) = next(&mut owner_events).await;
    assert_eq!(
        (ev.as_str(), a.get(1).map(status)),
        ("on_trace_stopped", Some("stopped"))
    );
    let got = api(&f.su, "get_trace", vec!["t1".into()], Dict::new()).await;
    assert_eq!(status(&got.expect("get")), "stopped");

    let res = api(&f.su, "delete_trace", vec!["t1".into()], Dict::new()).await;
    assert_eq!(res.expect("delete"), Value::Dict(Dict::new()));
    assert_eq!(next(&mut owner_events).await.0, "on_trace_deleted");
    let got = api(&f.su, "get_trace", vec!["t1".into()], Dict::new()).await;
    assert_eq!(got.expect("get"), Value::Null);

    // the developer got t2's events and nothing of t1's
    api(&f.su, "delete_trace", vec!["t2".into()], Dict::new())
        .await
        .expect("delete t2");
    for want in ["on_trace_created", "on_trace_deleted"] {
        let (ev, a) = next(&mut dev_events).await;
        assert_eq!((ev.as_str(), a.first()), (want, Some(&"t2".into())));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        dev_events.try_recv().is_none(),
        "excluded reader got an event"
    );
    f.fx.master.shutdown().await;
}

#[tokio::test]
async fn errors_offline_and_failing_workers() {
    let f = setup().await;
    let _node = start_node(&f).await;
    let s = &f.su;
    let call = |p: &'static str, args: Vec<Value>| api(s, p, args, Dict::new());
    call("create_trace", create_args("t", &[(&f.node1, "w1")]))
        .await
        .expect("create");
    let r = call("create_trace", create_args("t", &[(&f.node1, "w1")])).await;
    assert_eq!(wamp_err(r).0, "crossbar.error.already_exists");
    for p in [
        "start_trace",
        "stop_trace",
        "delete_trace",
        "get_trace_data",
    ] {
        let r = call(p, vec!["nope".into()]).await;
        assert_eq!(wamp_err(r).0, "crossbar.error.no_such_object", "{p}");
    }
    assert_eq!(
        call("get_trace", vec!["nope".into()]).await.expect("get"),
        Value::Null
    );

    // bad state
    let r = call("stop_trace", vec!["t".into()]).await;
    assert_eq!(wamp_err(r).0, "crossbar.error.invalid_state");
    call("start_trace", vec!["t".into()]).await.expect("start");
    let r = call("start_trace", vec!["t".into()]).await;
    assert_eq!(wamp_err(r).0, "crossbar.error.invalid_state");
    let r = call("delete_trace", vec!["t".into()]).await;
    assert_eq!(wamp_err(r).0, "crossbar.error.invalid_state");

    // bad arguments
    let bad: Vec<Vec<Value>> = vec![
        vec![42.into(), Value::List(vec![])],
        vec!["x".into(), "w1".into()],
        vec!["x".into(), Value::List(vec![])],
        vec![
            "x".into(),
            Value::List(vec![Value::List(vec![f.node1.clone().into()])]),
        ],
        create_args("x", &[("not-a-uuid", "w1")]),
        create_args("x", &[(&f.node1, "a.b")]),
        create_args("x", &[(&f.node1, "w1"), (&f.node1, "w1")]),
        {
            let mut a = create_args("x", &[(&f.node1, "w1")]);
            a.extend([Value::Null, "owner".into()]);
            a
        },
    ];
    for args in bad {
        let r = call("create_trace", args.clone()).await;
        assert_eq!(wamp_err(r).0, "wamp.error.invalid_argument", "{args:?}");
    }
    let r = call("get_trace_data", vec!["t".into(), "ten".into()]).await;
    assert_eq!(wamp_err(r).0, "wamp.error.invalid_argument");
    let unknown = "00000000-0000-0000-0000-000000000001";
    let r = call("create_trace", create_args("x", &[(unknown, "w1")])).await;
    assert_eq!(wamp_err(r).0, "crossbar.error.no_such_object");

    // an offline node and a worker without the procedures
    let args = create_args("t3", &[(&f.node2, "w1"), (&f.node1, "w9")]);
    call("create_trace", args).await.expect("create t3");
    let res = call("start_trace", vec!["t3".into()])
        .await
        .expect("start t3");
    assert_eq!(
        (list_len(&res, "started"), list_len(&res, "failed")),
        (0, 2)
    );
    let failed = res.get("failed").and_then(Value::as_list).expect("failed");
    let off = &failed[0];
    assert_eq!(off.get("node_id"), Some(&Value::from(f.node2.clone())));
    assert_eq!(off.get("node_status"), Some(&Value::from("offline")));
    assert_eq!(off.get("error"), None);
    let err = failed[1]
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(err.starts_with("wamp.error.no_such_procedure"), "{err}");
    assert_eq!(failed[1].get("node_status"), Some(&Value::from("online")));
    let res = call("stop_trace", vec!["t3".into()])
        .await
        .expect("stop t3");
    assert_eq!(list_len(&res, "failed"), 2);
    let got = call("get_trace", vec!["t3".into()]).await.expect("get t3");
    assert_eq!(status(&got), "stopping_failed");
    let data = call("get_trace_data", vec!["t3".into()])
        .await
        .expect("data");
    let off = data
        .get(f.node2.as_str())
        .and_then(|n| n.get("w1"))
        .expect("node2 w1");
    assert_eq!(off.get("success"), Some(&Value::Bool(false)));
    call("delete_trace", vec!["t3".into()])
        .await
        .expect("delete t3");

    // anonymous callers may not use the tracing API at all
    let anon = join(&f.fx.url, JoinOptions::realm("mr1"))
        .await
        .expect("join");
    let r = api(&anon, "get_traces", vec![], Dict::new()).await;
    assert_eq!(wamp_err(r).0, "wamp.error.not_authorized");
    f.fx.master.shutdown().await;
}

#[tokio::test]
async fn traces_survive_a_master_restart() {
    let f = setup().await;
    let node = start_node(&f).await;
    let s = &f.su;
    for id in ["idle", "busy"] {
        let args = create_args(id, &[(&f.node1, "w1")]);
        api(s, "create_trace", args, Dict::new())
            .await
            .expect("create");
    }
    api(s, "start_trace", vec!["busy".into()], Dict::new())
        .await
        .expect("start");
    let Setup { fx, su, .. } = f;
    drop((su, node));
    let fx = Fixture::start_in(fx.stop().await, |_| {}).await;
    let su = as_role(&fx, "owner").await;
    let ids = api(&su, "get_traces", vec![], Dict::new())
        .await
        .expect("ids");
    assert_eq!(ids, Value::List(vec!["busy".into(), "idle".into()]));
    let idle = api(&su, "get_trace", vec!["idle".into()], Dict::new()).await;
    let idle = idle.expect("idle");
    assert_eq!(
        (status(&idle), idle.get("note")),
        ("stopped", Some(&Value::Null))
    );
    let busy = api(&su, "get_trace", vec!["busy".into()], Dict::new()).await;
    let busy = busy.expect("busy");
    assert_eq!(status(&busy), "running");
    assert!(
        busy.get("note").and_then(Value::as_str).is_some(),
        "{busy:?}"
    );
    // its node is not back: stopping fails, and the trace can then be deleted
    let res = api(&su, "stop_trace", vec!["busy".into()], Dict::new()).await;
    assert_eq!(list_len(&res.expect("stop"), "failed"), 1);
    api(&su, "delete_trace", vec!["busy".into()], Dict::new())
        .await
        .expect("delete");
    fx.master.shutdown().await;
}

/// Issue 19 item 5: the data of a trace with reader restrictions reaches only its readers, on
/// the remote API topic as on the tracing one, and nobody but the master subscribes to the
/// nodes' raw `…worker.<wid>.on_trace_data` topics (by any match policy).
#[tokio::test]
async fn trace_data_reaches_only_the_traces_readers() {
    let f = setup().await;
    let node = start_node(&f).await;
    let dev = as_role(&f.fx, "developer").await;
    let remote = "crossbarfabriccenter.remote.tracing.on_trace_data";
    let mut dev_remote = dev
        .subscribe(remote, SubscribeOptions::default())
        .await
        .expect("sub");
    let mut owner_remote =
        f.su.subscribe(remote, SubscribeOptions::default())
            .await
            .expect("sub");
    let mut dev_events = tracing_events(&dev).await;

    let raw: &[(&str, MatchPolicy)] = &[
        (
            "crossbarfabriccenter.node.node1.worker.w1.on_trace_data",
            MatchPolicy::Exact,
        ),
        (
            "crossbarfabriccenter.node..worker..on_trace_data",
            MatchPolicy::Wildcard,
        ),
        (
            "crossbarfabriccenter.node.node1.worker.w1.",
            MatchPolicy::Prefix,
        ),
        ("crossbarfabriccenter.node.", MatchPolicy::Prefix),
        ("crossbarfabriccenter.", MatchPolicy::Prefix),
    ];
    for role in ["owner", "developer", "guest"] {
        let s = as_role(&f.fx, role).await;
        for (topic, policy) in raw {
            let r = s
                .subscribe(topic, SubscribeOptions::with_match(*policy))
                .await;
            let uri = r.err().and_then(|e| e.uri().map(str::to_owned));
            assert_eq!(
                uri.as_deref(),
                Some("wamp.error.not_authorized"),
                "{role} {topic}"
            );
        }
        // the nodes' other events stay open to subscribers
        let hb = "crossbarfabriccenter.node.on_heartbeat";
        s.subscribe(hb, SubscribeOptions::default())
            .await
            .expect("heartbeats");
    }

    let kw = dict! { "exclude_reader_roles" => Value::List(vec!["developer".into()]) };
    let args = create_args("secret", &[(&f.node1, "w1")]);
    api(&f.su, "create_trace", args, kw).await.expect("create");
    let args = create_args("open", &[(&f.node1, "w1")]);
    api(&f.su, "create_trace", args, Dict::new())
        .await
        .expect("create");
    assert_eq!(next(&mut dev_events).await.0, "on_trace_created");
    publish_data(&node.session, "w1", "secret", 1).await;
    publish_data(&node.session, "w1", "open", 2).await;
    for want in ["secret", "open"] {
        let e = next_event(&mut owner_remote).await;
        let head: Vec<Value> = vec!["node1".into(), "w1".into(), want.into()];
        assert_eq!(e.args[..3], head[..]);
    }
    // the developer gets the open trace's data only, on both topics
    let e = next_event(&mut dev_remote).await;
    assert_eq!(e.args.get(2), Some(&Value::from("open")));
    let (ev, a) = next(&mut dev_events).await;
    assert_eq!(
        (ev.as_str(), a.get(2)),
        ("on_trace_data", Some(&"open".into()))
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        dev_remote.try_recv().is_none(),
        "{:?}",
        dev_remote.try_recv()
    );
    assert!(dev_events.try_recv().is_none());
    f.fx.master.shutdown().await;
}
