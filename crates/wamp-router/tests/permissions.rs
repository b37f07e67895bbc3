//! Authorization over real WebSockets: a matrix of roles × actions × rule kinds (exact, prefix,
//! wildcard), with ticket-authenticated principals and anonymous access disabled.
//!
//! Every refused action must answer `wamp.error.not_authorized` with a message naming the
//! session, authid, authrole, action and URI — and must have had no effect: a refused register
//! leaves the procedure unregistered, a refused subscribe creates no subscription, a refused
//! publish delivers no event, a refused call never reaches the callee. The dynamic
//! [`Authorizer`] hook (allow / deny / fall back to the roles) is covered at the end.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use wamp_client::{
    AuthenticateResponse, CallOptions, Client, ConnectOptions, Dict, Error, JoinOptions,
    PublishOptions, RegisterOptions, Serializer, Session, SubscribeOptions, Value, WampError,
};
use wamp_proto::MatchPolicy;
use wamp_router::auth::StaticAuth;
use wamp_router::role::{Authorizer, Decision};
use wamp_router::session::SessionInfo;
use wamp_router::{Action, Permission, Realm, RealmConfig, Role, Router, RouterConfig};

const NOT_AUTHORIZED: &str = "wamp.error.not_authorized";
const QUIET: Duration = Duration::from_millis(300);

fn rule(uri: &str, policy: MatchPolicy, allow: &[Action]) -> Permission {
    Permission {
        uri: uri.into(),
        policy,
        call: allow.contains(&Action::Call),
        register: allow.contains(&Action::Register),
        publish: allow.contains(&Action::Publish),
        subscribe: allow.contains(&Action::Subscribe),
        disclose_caller: false,
        disclose_publisher: false,
    }
}

/// reader: call `com.app.get` (exact), subscribe `com.app.events.` (prefix).
/// writer: publish `com..update` (wildcard), register `com.app.` (prefix) except
/// `com.app.secret` (an exact rule allowing nothing beats the prefix rule).
/// admin: everything.
fn roles() -> Vec<Role> {
    use Action::*;
    use MatchPolicy::*;
    vec![
        Role::new(
            "reader",
            vec![
                rule("com.app.get", Exact, &[Call]),
                rule("com.app.events.", Prefix, &[Subscribe]),
            ],
        ),
        Role::new(
            "writer",
            vec![
                rule("com..update", Wildcard, &[Publish]),
                rule("com.app.", Prefix, &[Register]),
                rule("com.app.secret", Exact, &[]),
            ],
        ),
        Role::new("admin", vec![Permission::allow_all()]),
    ]
}

struct TestRouter {
    addr: SocketAddr,
    realm: Arc<Realm>,
    _stop: watch::Sender<bool>,
}

async fn start() -> TestRouter {
    let router = Router::new(RouterConfig::default());
    let realm = router
        .add_realm(RealmConfig::new("realm1", roles()))
        .expect("add realm");
    let mut auth = StaticAuth::default();
    let conf = auth.realm("realm1");
    for (authid, role) in [
        ("reader1", "reader"),
        ("writer1", "writer"),
        ("admin1", "admin"),
    ] {
        conf.tickets
            .insert(authid.into(), (format!("pw-{authid}"), role.into()));
    }
    router.set_authenticator(Arc::new(auth));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stop_rx) = watch::channel(false);
    tokio::spawn(router.serve(listener, stop_rx));
    TestRouter {
        addr,
        realm,
        _stop: stop,
    }
}

impl TestRouter {
    async fn login(&self, authid: &str) -> Session {
        let secret = format!("pw-{authid}");
        let opts = JoinOptions::realm("realm1")
            .authid(authid)
            .authmethods(["ticket"])
            .on_challenge_sync(move |_| Ok(AuthenticateResponse::new(secret.clone())));
        let url = format!("ws://{}/ws", self.addr);
        let s = Client::connect_and_join(
            &url,
            ConnectOptions::with_serializer(Serializer::JSON),
            opts,
        )
        .await
        .unwrap_or_else(|e| panic!("{authid} cannot join: {e}"));
        assert_eq!(s.welcome().authid.as_deref(), Some(authid));
        assert_eq!(s.welcome().authmethod.as_deref(), Some("ticket"));
        s
    }
}

/// The exact refusal text for `s` doing `phrase` on `uri`.
fn refusal(s: &Session, authid: &str, role: &str, phrase: &str, uri: &str) -> String {
    format!(
        "session (session_id={}, authid=\"{authid}\", authrole=\"{role}\") is not authorized to {phrase} \"{uri}\" on realm \"realm1\"",
        s.id()
    )
}

fn assert_not_authorized<T: std::fmt::Debug>(r: Result<T, Error>, expected_message: &str) {
    match r {
        Err(Error::Wamp { uri, args, .. }) => {
            assert_eq!(uri, NOT_AUTHORIZED);
            assert_eq!(args, vec![Value::from(expected_message)]);
        }
        other => panic!("expected {NOT_AUTHORIZED}, got {other:?}"),
    }
}

/// Registers `procedure` on `s`, counting invocations.
async fn counting_callee(s: &Session, procedure: &str) -> Arc<AtomicUsize> {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    s.register(procedure, RegisterOptions::default(), move |_inv| {
        h.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, WampError>((vec![Value::from("ok")], Dict::new())) }
    })
    .await
    .expect("register");
    hits
}

async fn call(s: &Session, procedure: &str) -> Result<Value, Error> {
    let r = s
        .call(procedure, vec![], Dict::new(), CallOptions::default())
        .await?;
    Ok(r.first().cloned().unwrap_or_default())
}

async fn lookup(admin: &Session, what: &str, uri: &str) -> Value {
    let meta = format!("wamp.{what}.lookup");
    let r = admin
        .call(&meta, vec![uri.into()], Dict::new(), CallOptions::default())
        .await
        .expect("lookup");
    r.first().cloned().unwrap_or_default()
}

#[tokio::test]
async fn call_rules() {
    let r = start().await;
    let (admin, reader, writer) = (
        r.login("admin1").await,
        r.login("reader1").await,
        r.login("writer1").await,
    );
    let get = counting_callee(&admin, "com.app.get").await;
    let put = counting_callee(&admin, "com.app.put").await;

    assert_eq!(
        call(&reader, "com.app.get").await.expect("exact"),
        Value::from("ok")
    );
    assert_eq!(get.load(Ordering::SeqCst), 1);
    // exact means exact: neither a longer URI nor a sibling
    for uri in ["com.app.put", "com.app.get.all"] {
        let msg = refusal(&reader, "reader1", "reader", "call procedure", uri);
        assert_not_authorized(call(&reader, uri).await, &msg);
    }
    // writer has no call rights at all
    let msg = refusal(
        &writer,
        "writer1",
        "writer",
        "call procedure",
        "com.app.get",
    );
    assert_not_authorized(call(&writer, "com.app.get").await, &msg);
    assert_eq!(
        get.load(Ordering::SeqCst),
        1,
        "a refused call reached the callee"
    );
    assert_eq!(
        put.load(Ordering::SeqCst),
        0,
        "a refused call reached the callee"
    );
    // the session goes on after a refusal
    assert_eq!(
        call(&reader, "com.app.get").await.expect("again"),
        Value::from("ok")
    );
    assert_eq!(
        call(&admin, "com.app.put").await.expect("admin"),
        Value::from("ok")
    );
    assert_eq!(put.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn register_rules() {
    let r = start().await;
    let (admin, reader, writer) = (
        r.login("admin1").await,
        r.login("reader1").await,
        r.login("writer1").await,
    );
    // prefix rule: anything under com.app.
    let calc = counting_callee(&writer, "com.app.calc").await;
    assert_eq!(
        call(&admin, "com.app.calc").await.expect("call"),
        Value::from("ok")
    );
    assert_eq!(calc.load(Ordering::SeqCst), 1);
    let _deep = counting_callee(&writer, "com.app.x.y.z").await;

    let refused = [
        (&writer, "writer1", "writer", "com.other.calc"),
        // the exact rule allowing nothing wins over the prefix rule
        (&writer, "writer1", "writer", "com.app.secret"),
        // reader may call com.app.get but not register it
        (&reader, "reader1", "reader", "com.app.get"),
    ];
    for (s, authid, role, uri) in refused {
        let res = s
            .register(uri, RegisterOptions::default(), |_inv| async {
                Ok::<_, WampError>((vec![], Dict::new()))
            })
            .await;
        let msg = refusal(s, authid, role, "register procedure", uri);
        assert_not_authorized(res.map(|reg| reg.id()), &msg);
        assert_eq!(
            lookup(&admin, "registration", uri).await,
            Value::Null,
            "refused registration of {uri} exists"
        );
        match call(&admin, uri).await {
            Err(e) => assert_eq!(e.uri(), Some("wamp.error.no_such_procedure")),
            Ok(v) => panic!("{uri} answered {v:?} after a refused register"),
        }
    }
    assert!(matches!(
        lookup(&admin, "registration", "com.app.calc").await,
        Value::Int(_) | Value::UInt(_)
    ));
}

#[tokio::test]
async fn subscribe_rules() {
    let r = start().await;
    let (admin, reader, writer) = (
        r.login("admin1").await,
        r.login("reader1").await,
        r.login("writer1").await,
    );
    let mut events = reader
        .subscribe("com.app.events.created", SubscribeOptions::default())
        .await
        .expect("prefix rule allows");
    for (s, authid, role, uri) in [
        (&reader, "reader1", "reader", "com.app.other"),
        (&reader, "reader1", "reader", "com.app.events"),
        (&writer, "writer1", "writer", "com.app.events.created"),
    ] {
        let res = s.subscribe(uri, SubscribeOptions::default()).await;
        let msg = refusal(s, authid, role, "subscribe to topic", uri);
        assert_not_authorized(res.map(|sub| sub.id()), &msg);
    }
    assert_eq!(
        lookup(&admin, "subscription", "com.app.other").await,
        Value::Null
    );
    assert_eq!(
        lookup(&admin, "subscription", "com.app.events").await,
        Value::Null
    );
    let count = admin
        .call(
            "wamp.subscription.count_subscribers",
            vec![lookup(&admin, "subscription", "com.app.events.created").await],
            Dict::new(),
            CallOptions::default(),
        )
        .await
        .expect("count");
    assert_eq!(
        count.first(),
        Some(&Value::from(1u64)),
        "only the reader's own subscription"
    );

    for topic in ["com.app.other", "com.app.events", "com.app.events.created"] {
        admin
            .publish(
                topic,
                vec![topic.into()],
                Dict::new(),
                PublishOptions::acknowledged(),
            )
            .await
            .expect("admin publishes");
    }
    let ev = tokio::time::timeout(Duration::from_secs(2), events.recv())
        .await
        .expect("event in time")
        .expect("event");
    assert_eq!(ev.args, vec![Value::from("com.app.events.created")]);
    assert!(tokio::time::timeout(QUIET, events.recv()).await.is_err());
}

#[tokio::test]
async fn publish_rules() {
    let r = start().await;
    let (admin, reader, writer) = (
        r.login("admin1").await,
        r.login("reader1").await,
        r.login("writer1").await,
    );
    let mut all = admin
        .subscribe("com.", SubscribeOptions::with_match(MatchPolicy::Prefix))
        .await
        .expect("admin subscribes to everything under com.");

    // wildcard com..update: any single middle component
    for topic in ["com.foo.update", "com.bar.update"] {
        let id = writer
            .publish(
                topic,
                vec![topic.into()],
                Dict::new(),
                PublishOptions::acknowledged(),
            )
            .await
            .expect("wildcard allows");
        assert!(id.is_some());
        let ev = tokio::time::timeout(Duration::from_secs(2), all.recv())
            .await
            .expect("event in time")
            .expect("event");
        assert_eq!(ev.topic(), Some(topic));
    }
    for (s, authid, role, uri) in [
        (&writer, "writer1", "writer", "com.foo.delete"),
        (&writer, "writer1", "writer", "com.a.b.update"),
        (&writer, "writer1", "writer", "org.foo.update"),
        // matches the wildcard, but any prefix rule beats any wildcard rule (as in Crossbar),
        // and the `com.app.` prefix rule allows only register
        (&writer, "writer1", "writer", "com.app.update"),
        (&reader, "reader1", "reader", "com.foo.update"),
    ] {
        let res = s
            .publish(
                uri,
                vec![uri.into()],
                Dict::new(),
                PublishOptions::acknowledged(),
            )
            .await;
        let msg = refusal(s, authid, role, "publish to topic", uri);
        assert_not_authorized(res, &msg);
    }
    assert!(
        tokio::time::timeout(QUIET, all.recv()).await.is_err(),
        "a refused publish delivered an event"
    );
}

// === the dynamic Authorizer hook ===

/// Allows `com.dyn.open.*` to anyone (disclosing the caller), denies `com.dyn.closed.*` to
/// everyone, and leaves the rest to the roles. Records what it was asked.
struct DynAuthz {
    asked: std::sync::Mutex<Vec<(String, Action, String)>>,
}

impl Authorizer for DynAuthz {
    fn authorize(&self, s: &SessionInfo, action: Action, uri: &str) -> Decision {
        self.asked
            .lock()
            .expect("lock")
            .push((s.authid.clone(), action, uri.to_owned()));
        if uri.starts_with("com.dyn.open.") {
            Decision::Allow { disclose: true }
        } else if uri.starts_with("com.dyn.closed.") {
            Decision::Deny(format!("{} may not {} {uri}", s.authid, action.as_str()))
        } else {
            Decision::UseRoles
        }
    }
}

#[tokio::test]
async fn authorizer_hook() {
    let r = start().await;
    let authz = Arc::new(DynAuthz {
        asked: Default::default(),
    });
    r.realm.set_authorizer(authz.clone());
    let (admin, reader) = (r.login("admin1").await, r.login("reader1").await);

    // Allow: the reader's role has no such rule, the hook lets it through and discloses it
    let seen_caller = Arc::new(std::sync::Mutex::new(None));
    let seen = seen_caller.clone();
    admin
        .register("com.dyn.open.x", RegisterOptions::default(), move |inv| {
            *seen.lock().expect("lock") = inv.caller_authid().map(str::to_owned);
            async { Ok::<_, WampError>((vec![Value::from(1u64)], Dict::new())) }
        })
        .await
        .expect("register");
    assert_eq!(
        call(&reader, "com.dyn.open.x").await.expect("allowed"),
        Value::from(1u64)
    );
    assert_eq!(
        seen_caller.lock().expect("lock").as_deref(),
        Some("reader1")
    );

    // Deny: even admin (allowed everything by its role) is refused, with the hook's reason
    let res = admin
        .register(
            "com.dyn.closed.x",
            RegisterOptions::default(),
            |_inv| async { Ok::<_, WampError>((vec![], Dict::new())) },
        )
        .await;
    assert_not_authorized(
        res.map(|reg| reg.id()),
        "admin1 may not register com.dyn.closed.x",
    );
    assert_eq!(
        lookup(&admin, "registration", "com.dyn.closed.x").await,
        Value::Null
    );
    let res = reader
        .subscribe("com.dyn.closed.t", SubscribeOptions::default())
        .await;
    assert_not_authorized(
        res.map(|sub| sub.id()),
        "reader1 may not subscribe com.dyn.closed.t",
    );

    // UseRoles: the role rules decide as without the hook
    let get = counting_callee(&admin, "com.app.get").await;
    assert_eq!(
        call(&reader, "com.app.get").await.expect("role allows"),
        Value::from("ok")
    );
    let msg = refusal(
        &reader,
        "reader1",
        "reader",
        "call procedure",
        "com.app.put",
    );
    assert_not_authorized(call(&reader, "com.app.put").await, &msg);
    assert_eq!(get.load(Ordering::SeqCst), 1);

    let asked = authz.asked.lock().expect("lock").clone();
    for expected in [
        ("reader1", Action::Call, "com.dyn.open.x"),
        ("admin1", Action::Register, "com.dyn.closed.x"),
        ("reader1", Action::Subscribe, "com.dyn.closed.t"),
        ("reader1", Action::Call, "com.app.put"),
    ] {
        let (a, act, u) = expected;
        assert!(
            asked.iter().any(|(x, y, z)| x == a && *y == act && z == u),
            "hook not asked for {expected:?}: {asked:?}"
        );
    }
}

#[tokio::test]
async fn anonymous_is_refused() {
    let r = start().await;
    let url = format!("ws://{}/ws", r.addr);
    let res = Client::connect_and_join(
        &url,
        ConnectOptions::default(),
        JoinOptions::realm("realm1"),
    )
    .await;
    match res {
        Err(Error::Aborted { reason, .. }) => assert_eq!(reason, "wamp.error.no_auth_method"),
        other => panic!("anonymous joined: {:?}", other.map(|s| s.id())),
    }
    assert_eq!(r.realm.session_count(), 0);
}
