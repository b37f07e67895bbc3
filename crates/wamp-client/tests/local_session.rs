//! Session behaviour over the in-process transport against a scripted fake router: each test
//! plays the router's side message by message, so timing and ordering are under its control.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wamp_client::{
    dict, AuthenticateResponse, CallOptions, CancelMode, Dict, Error, JoinOptions, Message,
    PublishOptions, RegisterOptions, Session, SubscribeOptions, Value, WampError,
};
use wamp_proto::message::code;
use wamp_proto::Payload;

mod fake;

use fake::{call, joined, progress, result, Fake, WAIT};

// === handshake ===

#[tokio::test]
async fn welcome_details_are_exposed() {
    let (_fake, session) = joined().await;
    assert_eq!(session.id(), 42);
    let w = session.welcome();
    assert_eq!(w.realm.as_deref(), Some("realm1"));
    assert_eq!(w.authid.as_deref(), Some("A"));
    assert_eq!(w.authrole.as_deref(), Some("anonymous"));
}

#[tokio::test]
async fn abort_is_a_typed_error() {
    let (mut fake, transport) = Fake::new();
    let join = tokio::spawn(Session::join(transport, JoinOptions::realm("nope")));
    fake.recv().await;
    let details = dict! { "message" => "no realm \"nope\"" };
    fake.send(Message::Abort {
        details,
        reason: "wamp.error.no_such_realm".into(),
    })
    .await;
    match join.await.unwrap() {
        Err(Error::Aborted {
            reason, message, ..
        }) => {
            assert_eq!(reason, "wamp.error.no_such_realm");
            assert_eq!(message.as_deref(), Some("no realm \"nope\""));
        }
        other => panic!("expected Aborted, got {other:?}"),
    }
}

#[tokio::test]
async fn challenge_is_answered_by_the_hook() {
    let (mut fake, transport) = Fake::new();
    let opts = JoinOptions::realm("r")
        .authid("joe")
        .authmethods(["ticket"])
        .on_challenge(|c| async move {
            assert_eq!(c.authmethod, "ticket");
            Ok(AuthenticateResponse::new("secret"))
        });
    let join = tokio::spawn(Session::join(transport, opts));
    let Message::Hello { details, .. } = fake.recv().await else {
        panic!("expected HELLO")
    };
    assert_eq!(details.get("authid"), Some(&Value::from("joe")));
    fake.send(Message::Challenge {
        authmethod: "ticket".into(),
        extra: Dict::new(),
    })
    .await;
    let Message::Authenticate { signature, .. } = fake.recv().await else {
        panic!("expected AUTHENTICATE")
    };
    assert_eq!(signature, "secret");
    fake.send(Message::Welcome {
        session: 7,
        details: dict! { "authid" => "joe" },
    })
    .await;
    assert_eq!(
        join.await.unwrap().unwrap().welcome().authid.as_deref(),
        Some("joe")
    );
}

#[tokio::test]
async fn challenge_without_hook_fails_and_aborts() {
    let (mut fake, transport) = Fake::new();
    let join = tokio::spawn(Session::join(transport, JoinOptions::realm("r")));
    fake.recv().await;
    fake.send(Message::Challenge {
        authmethod: "wampcra".into(),
        extra: Dict::new(),
    })
    .await;
    assert!(matches!(fake.recv().await, Message::Abort { .. }));
    assert!(matches!(join.await.unwrap(), Err(Error::Auth(_))));
}

// === caller ===

#[tokio::test]
async fn concurrent_calls_get_their_own_results() {
    let (mut fake, session) = joined().await;
    let calls: Vec<_> = ["a", "b", "c"].iter().map(|p| call(&session, p)).collect();
    let mut requests = Vec::new();
    for _ in 0..3 {
        let Message::Call {
            request, procedure, ..
        } = fake.recv().await
        else {
            panic!("expected CALL")
        };
        requests.push((request, procedure));
    }
    let mut ids: Vec<u64> = requests.iter().map(|r| r.0).collect();
    ids.sort();
    assert_eq!(ids, [1, 2, 3], "session-scope ids are sequential from 1");
    for (request, procedure) in requests.iter().rev() {
        fake.send(result(*request, vec![procedure.as_str().into()]))
            .await;
    }
    for (c, want) in calls.into_iter().zip(["a", "b", "c"]) {
        let got = c.await.unwrap().unwrap();
        assert_eq!(got.args, vec![Value::from(want)]);
    }
}

#[tokio::test]
async fn error_reply_becomes_wamp_error() {
    let (mut fake, session) = joined().await;
    let c = call(&session, "x");
    let Message::Call { request, .. } = fake.recv().await else {
        panic!()
    };
    fake.send(Message::Error {
        request_type: code::CALL,
        request,
        details: Dict::new(),
        error: "com.example.oops".into(),
        payload: Payload::new(vec!["bad".into()], dict! { "n" => 1 }),
    })
    .await;
    match c.await.unwrap() {
        Err(Error::Wamp { uri, args, kwargs }) => {
            assert_eq!(uri, "com.example.oops");
            assert_eq!(args, vec![Value::from("bad")]);
            assert_eq!(kwargs.get("n"), Some(&Value::Int(1)));
        }
        other => panic!("expected Wamp error, got {other:?}"),
    }
}

#[tokio::test]
async fn progressive_results_then_final() {
    let (mut fake, session) = joined().await;
    let mut handle = session
        .call_progressive("p", vec![], Dict::new(), CallOptions::default())
        .await
        .unwrap();
    let Message::Call {
        request, options, ..
    } = fake.recv().await
    else {
        panic!()
    };
    assert_eq!(options.get("receive_progress"), Some(&Value::Bool(true)));
    fake.send(progress(request, 1)).await;
    fake.send(progress(request, 2)).await;
    fake.send(result(request, vec![3.into()])).await;
    let mut seen = Vec::new();
    while let Some(item) = handle.next().await {
        let r = item.unwrap();
        seen.push((r.is_progress(), r.args[0].clone()));
    }
    assert_eq!(
        seen,
        [(true, 1.into()), (true, 2.into()), (false, 3.into())]
    );
}

#[tokio::test]
async fn call_timeout_cancels_and_session_goes_on() {
    let (mut fake, session) = joined().await;
    let opts = CallOptions::timeout(Duration::from_millis(50));
    let slow = session.call("slow", vec![], Dict::new(), opts).await;
    assert!(matches!(slow, Err(Error::Timeout(_))), "{slow:?}");
    let Message::Call { request, .. } = fake.recv().await else {
        panic!()
    };
    let Message::Cancel {
        request: canceled,
        options,
    } = fake.recv().await
    else {
        panic!("expected CANCEL")
    };
    assert_eq!(canceled, request);
    assert_eq!(options.get("mode"), Some(&Value::from("killnowait")));
    fake.send(result(request, vec![])).await; // late: ignored
    let next = call(&session, "fast");
    let Message::Call { request, .. } = fake.recv().await else {
        panic!()
    };
    fake.send(result(request, vec!["ok".into()])).await;
    assert_eq!(next.await.unwrap().unwrap().args, vec![Value::from("ok")]);
}

#[tokio::test]
async fn cancel_sends_mode_and_yields_canceled() {
    let (mut fake, session) = joined().await;
    let mut handle = session
        .start_call("p", vec![], Dict::new(), CallOptions::default())
        .await
        .unwrap();
    let Message::Call { request, .. } = fake.recv().await else {
        panic!()
    };
    handle.cancel(CancelMode::Kill).await.unwrap();
    let Message::Cancel { options, .. } = fake.recv().await else {
        panic!("expected CANCEL")
    };
    assert_eq!(options.get("mode"), Some(&Value::from("kill")));
    let error = "wamp.error.canceled".to_owned();
    let payload = Payload::default();
    fake.send(Message::Error {
        request_type: code::CALL,
        request,
        details: Dict::new(),
        error,
        payload,
    })
    .await;
    let got = handle.next().await.unwrap();
    assert_eq!(got.unwrap_err().uri(), Some("wamp.error.canceled"));
    assert!(handle.next().await.is_none());
}

#[tokio::test]
async fn transport_close_fails_pending_calls() {
    let (mut fake, session) = joined().await;
    let c = call(&session, "x");
    fake.recv().await;
    drop(fake);
    assert!(matches!(c.await.unwrap(), Err(Error::Closed { .. })));
    let reason = tokio::time::timeout(WAIT, session.closed()).await.unwrap();
    assert_eq!(reason, "transport closed");
    let after = session
        .call("y", vec![], Dict::new(), CallOptions::default())
        .await;
    assert!(matches!(after, Err(Error::Closed { .. })));
}

// === callee ===

async fn registered<F, Fut>(fake: &mut Fake, session: &Session, handler: F) -> u64
where
    F: Fn(wamp_client::Invocation) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(Vec<Value>, Dict), WampError>> + Send + 'static,
{
    let s = session.clone();
    let reg = tokio::spawn(async move {
        s.register("proc", RegisterOptions::default(), handler)
            .await
    });
    let Message::Register {
        request, procedure, ..
    } = fake.recv().await
    else {
        panic!("expected REGISTER")
    };
    assert_eq!(procedure, "proc");
    fake.send(Message::Registered {
        request,
        registration: 900,
    })
    .await;
    reg.await.expect("register task").expect("registered").id()
}

fn invocation(request: u64, details: Dict, args: Vec<Value>) -> Message {
    Message::Invocation {
        request,
        registration: 900,
        details,
        payload: Payload::args(args),
    }
}

#[tokio::test]
async fn invocation_is_answered_with_yield_or_error() {
    let (mut fake, session) = joined().await;
    let id = registered(&mut fake, &session, |inv| async move {
        match inv.args.first().and_then(Value::as_i64) {
            Some(n) => Ok((vec![(n * 2).into()], Dict::new())),
            None => Err(WampError::with_message(
                "com.example.no_arg",
                "need a number",
            )),
        }
    })
    .await;
    assert_eq!(id, 900);
    fake.send(invocation(5, Dict::new(), vec![21.into()])).await;
    let Message::Yield {
        request, payload, ..
    } = fake.recv().await
    else {
        panic!("expected YIELD")
    };
    assert_eq!((request, payload.args), (5, vec![Value::Int(42)]));
    fake.send(invocation(6, Dict::new(), vec![])).await;
    let Message::Error {
        request_type,
        request,
        error,
        ..
    } = fake.recv().await
    else {
        panic!("expected ERROR")
    };
    assert_eq!(
        (request_type, request, error.as_str()),
        (code::INVOCATION, 6, "com.example.no_arg")
    );
}

#[tokio::test]
async fn handler_sends_progress_when_asked() {
    let (mut fake, session) = joined().await;
    registered(&mut fake, &session, |inv| async move {
        inv.progress(vec![1.into()], Dict::new())
            .await
            .map_err(|e| WampError::new(e.to_string()))?;
        Ok((vec![2.into()], Dict::new()))
    })
    .await;
    fake.send(invocation(8, dict! { "receive_progress" => true }, vec![]))
        .await;
    let Message::Yield {
        options, payload, ..
    } = fake.recv().await
    else {
        panic!()
    };
    assert_eq!(
        (options.get("progress"), payload.args),
        (Some(&Value::Bool(true)), vec![Value::Int(1)])
    );
    let Message::Yield {
        options, payload, ..
    } = fake.recv().await
    else {
        panic!()
    };
    assert_eq!(
        (options.get("progress"), payload.args),
        (None, vec![Value::Int(2)])
    );
}

/// Sets its flag when dropped, to observe that a handler's future was dropped.
struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn interrupt_drops_the_handler_and_answers_canceled() {
    let (mut fake, session) = joined().await;
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    registered(&mut fake, &session, move |_inv| {
        let guard = DropFlag(flag.clone());
        async move {
            let _guard = guard;
            std::future::pending::<()>().await;
            Ok((vec![], Dict::new()))
        }
    })
    .await;
    fake.send(invocation(11, Dict::new(), vec![])).await;
    tokio::task::yield_now().await;
    fake.send(Message::Interrupt {
        request: 11,
        options: dict! { "mode" => "kill" },
    })
    .await;
    let Message::Error { request, error, .. } = fake.recv().await else {
        panic!("expected ERROR")
    };
    assert_eq!((request, error.as_str()), (11, "wamp.error.canceled"));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        dropped.load(Ordering::SeqCst),
        "handler future was not dropped"
    );
}

#[tokio::test]
async fn unknown_registration_is_answered() {
    let (mut fake, session) = joined().await;
    let _keep = session;
    fake.send(Message::Invocation {
        request: 3,
        registration: 1234,
        details: Dict::new(),
        payload: Payload::default(),
    })
    .await;
    let Message::Error { error, .. } = fake.recv().await else {
        panic!()
    };
    assert_eq!(error, "wamp.error.no_such_registration");
}

// === pub/sub ===

#[tokio::test]
async fn event_right_after_subscribed_is_delivered_and_drop_unsubscribes() {
    let (mut fake, session) = joined().await;
    let s = session.clone();
    let sub = tokio::spawn(async move { s.subscribe("t", SubscribeOptions::default()).await });
    let Message::Subscribe { request, topic, .. } = fake.recv().await else {
        panic!()
    };
    assert_eq!(topic, "t");
    fake.send(Message::Subscribed {
        request,
        subscription: 77,
    })
    .await;
    let details = dict! { "publisher" => 9 };
    fake.send(Message::Event {
        subscription: 77,
        publication: 5,
        details,
        payload: Payload::args(vec!["hi".into()]),
    })
    .await;
    let mut sub = sub.await.unwrap().unwrap();
    let ev = tokio::time::timeout(WAIT, sub.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ev.publication, ev.publisher(), ev.args),
        (5, Some(9), vec![Value::from("hi")])
    );
    drop(sub);
    let Message::Unsubscribe { subscription, .. } = fake.recv().await else {
        panic!("expected UNSUBSCRIBE")
    };
    assert_eq!(subscription, 77);
}

/// Subscribes `topic` into `queue` with the fake router granting subscription id `id`.
async fn queued(
    fake: &mut Fake,
    session: &Session,
    queue: &wamp_client::EventQueue,
    topic: &str,
    id: u64,
    lossy: bool,
) -> wamp_client::Subscription {
    let s = session.clone();
    let topic = topic.to_owned();
    let fut = s.subscribe_queued(&topic, SubscribeOptions::default(), queue, lossy);
    let answer = async {
        let Message::Subscribe { request, .. } = fake.recv().await else {
            panic!("expected SUBSCRIBE")
        };
        fake.send(Message::Subscribed {
            request,
            subscription: id,
        })
        .await;
    };
    let (sub, ()) = tokio::join!(fut, answer);
    sub.expect("subscribed")
}

#[tokio::test]
async fn an_event_queue_keeps_delivery_order_and_drops_only_lossy_events_over_its_limit() {
    let (mut fake, session) = joined().await;
    let mut queue = wamp_client::EventQueue::new(3);
    let _keep = queued(&mut fake, &session, &queue, "keep", 1, false).await;
    let _lossy = queued(&mut fake, &session, &queue, "lossy", 2, true).await;
    queue.seal();
    // 1 kept, 5 lossy (2 fit under the limit of 3), 1 kept: arrival order is preserved
    let order = [1u64, 2, 2, 2, 2, 2, 1];
    for (publication, subscription) in order.iter().enumerate() {
        fake.send(Message::Event {
            subscription: *subscription,
            publication: publication as u64,
            details: Dict::new(),
            payload: Payload::args(vec![]),
        })
        .await;
    }
    let mut got = Vec::new();
    while got.len() < 4 {
        let e = tokio::time::timeout(WAIT, queue.recv())
            .await
            .unwrap()
            .unwrap();
        got.push((e.subscription, e.publication));
    }
    assert_eq!(got, vec![(1, 0), (2, 1), (2, 2), (1, 6)]);
    assert_eq!(queue.dropped(), 3);
    assert!(queue.is_empty());
}

#[tokio::test]
async fn acknowledged_publish_returns_publication() {
    let (mut fake, session) = joined().await;
    let none = session
        .publish("t", vec![1.into()], Dict::new(), PublishOptions::default())
        .await;
    assert_eq!(none.unwrap(), None);
    let Message::Publish { options, .. } = fake.recv().await else {
        panic!()
    };
    assert!(options.is_empty());
    let s = session.clone();
    let opts = PublishOptions {
        exclude_me: Some(false),
        ..PublishOptions::acknowledged()
    };
    let p = tokio::spawn(async move { s.publish("t", vec![], Dict::new(), opts).await });
    let Message::Publish {
        request, options, ..
    } = fake.recv().await
    else {
        panic!()
    };
    assert_eq!(options.get("exclude_me"), Some(&Value::Bool(false)));
    fake.send(Message::Published {
        request,
        publication: 555,
    })
    .await;
    assert_eq!(p.await.unwrap().unwrap(), Some(555));
}

// === closing ===

#[tokio::test]
async fn leave_does_the_goodbye_handshake_and_closes() {
    let (mut fake, session) = joined().await;
    let s = session.clone();
    let leave = tokio::spawn(async move { s.leave().await });
    let Message::Goodbye { reason, .. } = fake.recv().await else {
        panic!("expected GOODBYE")
    };
    assert_eq!(reason, "wamp.close.close_realm");
    fake.send(Message::Goodbye {
        details: Dict::new(),
        reason: "wamp.close.goodbye_and_out".into(),
    })
    .await;
    leave.await.unwrap().unwrap();
    assert!(session.is_closed());
    assert!(fake.sees_close().await, "transport stays open after leave");
}

#[tokio::test]
async fn router_goodbye_is_answered_and_closes() {
    let (mut fake, session) = joined().await;
    fake.send(Message::Goodbye {
        details: Dict::new(),
        reason: "wamp.close.system_shutdown".into(),
    })
    .await;
    let Message::Goodbye { reason, .. } = fake.recv().await else {
        panic!("expected GOODBYE")
    };
    assert_eq!(reason, "wamp.close.goodbye_and_out");
    let closed = tokio::time::timeout(WAIT, session.closed()).await.unwrap();
    assert_eq!(closed, "wamp.close.system_shutdown");
}

#[tokio::test]
async fn dropping_the_last_handle_closes_the_transport() {
    let (mut fake, session) = joined().await;
    drop(session);
    assert!(fake.sees_close().await);
}
