//! Failures: errors, timeouts and panics go through the error policy; the default backoff
//! grows and is reset by a success; a custom policy is obeyed.

use std::sync::Arc;

use super::*;

#[tokio::test(start_paused = true)]
async fn errors_back_off_exponentially_and_a_success_resets_the_count() {
    // runs 1-5 fail, 6 succeeds, 7-8 fail (after a trigger), 9 succeeds
    let script = Arc::new(Script::new(|_, n| match n {
        6 | 9.. => step(0, End::Ok(Action::AwaitChange)),
        _ => step(0, End::Fail),
    }));
    let config = RuntimeConfig {
        backoff: Backoff {
            initial: secs(1),
            max: secs(4),
            factor: 2.0,
        },
        ..config()
    };
    let handle = start(&script, config);
    handle.trigger(k("a"));
    until(&script, 100.0).await;
    assert_eq!(script.starts("a"), [0.0, 1.0, 3.0, 7.0, 11.0, 15.0]);
    handle.trigger(k("a"));
    until(&script, 200.0).await;
    assert_eq!(
        script.starts("a"),
        [0.0, 1.0, 3.0, 7.0, 11.0, 15.0, 100.0, 101.0, 103.0]
    );
    let seen: Vec<u32> = script.failures_seen().iter().map(|f| f.2).collect();
    assert_eq!(seen, [1, 2, 3, 4, 5, 1, 2]);
    assert_eq!(script.failures_seen()[0].1, "run 1 failed");
    let stats = handle.stats();
    assert_eq!((stats.runs, stats.errors, stats.timeouts), (9, 7, 0));
}

#[tokio::test(start_paused = true)]
async fn a_run_over_the_timeout_is_dropped_and_goes_through_the_error_policy() {
    let script = Arc::new(Script::new(|_, n| match n {
        1 => step(3600, End::Ok(Action::AwaitChange)),
        _ => step(0, End::Ok(Action::AwaitChange)),
    }));
    let config = RuntimeConfig {
        reconcile_timeout: secs(5),
        ..config()
    };
    let handle = start(&script, config);
    handle.trigger(k("a"));
    until(&script, 4.5).await;
    assert_eq!(script.busy_now(), 1);
    until(&script, 5.5).await;
    assert_eq!(script.busy_now(), 0, "the timed-out future was dropped");
    until(&script, 60.0).await;
    // timed out at 5, retried after the first backoff step
    assert_eq!(script.starts("a"), [0.0, 6.0]);
    assert_eq!(
        script.failures_seen(),
        [(k("a"), "timed out after 5s".to_owned(), 1)]
    );
    let stats = handle.stats();
    assert_eq!((stats.runs, stats.errors, stats.timeouts), (2, 0, 1));
}

#[tokio::test(start_paused = true)]
async fn a_custom_error_policy_can_leave_a_failing_key_idle() {
    let script = Arc::new(
        Script::new(|_, _| step(0, End::Fail)).with_policy(|error, _, _| match error {
            ReconcileError::Failed(_) => Action::AwaitChange,
            _ => Action::Requeue(secs(1)),
        }),
    );
    let handle = start(&script, config());
    handle.trigger(k("a"));
    until(&script, 100.0).await;
    assert_eq!(script.starts("a"), [0.0]);
    handle.trigger(k("a"));
    until(&script, 200.0).await;
    assert_eq!(script.starts("a"), [0.0, 100.0]);
    let seen: Vec<u32> = script.failures_seen().iter().map(|f| f.2).collect();
    assert_eq!(seen, [1, 2], "a trigger does not reset the failure count");
}

#[tokio::test(start_paused = true)]
async fn a_custom_error_policy_can_use_its_own_delays() {
    let script = Arc::new(
        Script::new(|_, _| step(0, End::Fail))
            .with_policy(|_, failures, _| Action::Requeue(secs(10 * u64::from(failures)))),
    );
    let handle = start(&script, config());
    handle.trigger(k("a"));
    until(&script, 61.0).await;
    assert_eq!(script.starts("a"), [0.0, 10.0, 30.0, 60.0]);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_reconcile_is_a_failure_and_the_runtime_keeps_going() {
    let script = Arc::new(Script::new(|key, n| match (key, n) {
        ("a", 1) => step(2, End::Panic),
        _ => step(1, End::Ok(Action::Requeue(secs(10)))),
    }));
    let handle = start(&script, config());
    handle.trigger(k("a"));
    handle.trigger(k("b"));
    until(&script, 25.0).await;
    assert_eq!(script.starts("a"), [0.0, 3.0, 14.0]);
    assert_eq!(script.starts("b"), [0.0, 11.0, 22.0]);
    assert_eq!(
        script.failures_seen(),
        [(k("a"), "panicked: boom".to_owned(), 1)]
    );
    let stats = handle.stats();
    assert_eq!((stats.panics, stats.errors), (1, 0));
    assert_eq!(script.busy_now(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_trigger_during_a_failing_run_reruns_at_once_and_keeps_counting_failures() {
    let script = Arc::new(Script::new(|_, n| match n {
        1 | 2 => step(5, End::Fail),
        _ => step(5, End::Ok(Action::AwaitChange)),
    }));
    let handle = start(&script, config());
    handle.trigger(k("a"));
    until(&script, 1.0).await;
    handle.trigger(k("a"));
    until(&script, 30.0).await;
    // run 2 follows run 1 at once (the trigger wins over the 1 s backoff); run 2 fails again
    // as the 2nd consecutive failure, so run 3 waits 2 s
    assert_eq!(script.starts("a"), [0.0, 5.0, 12.0]);
    let seen: Vec<u32> = script.failures_seen().iter().map(|f| f.2).collect();
    assert_eq!(seen, [1, 2]);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_error_policy_falls_back_to_the_backoff() {
    let script = Script::new(|_, n| match n {
        1 | 2 => step(0, End::Fail),
        _ => step(0, End::Ok(Action::AwaitChange)),
    })
    .with_policy(|_, _, _| panic!("bad policy"));
    let script = Arc::new(script);
    let handle = start(&script, config());
    handle.trigger(k("a"));
    until(&script, 10.0).await;
    assert_eq!(script.starts("a"), [0.0, 1.0, 3.0]);
    assert_eq!(handle.stats().runs, 3);
}
