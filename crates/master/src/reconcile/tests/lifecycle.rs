//! Lifecycle: forgetting keys, shutdown (drained or timed out), dropping every handle, and
//! ten thousand keys.

use std::sync::Arc;

use super::*;
use crate::reconcile::RuntimeError;

#[tokio::test(start_paused = true)]
async fn forget_drops_the_key_and_its_pending_requeue() {
    let script = Arc::new(Script::new(|_, _| {
        step(0, End::Ok(Action::Requeue(secs(10))))
    }));
    let handle = start(&script, config());
    handle.trigger(k("a"));
    handle.trigger(k("b"));
    until(&script, 5.0).await;
    handle.forget(k("a"));
    until(&script, 30.5).await;
    assert_eq!(script.starts("a"), [0.0]);
    assert_eq!(script.starts("b"), [0.0, 10.0, 20.0, 30.0]);
    assert_eq!(handle.known_keys().await, [k("b")]);
    assert_eq!(handle.stats().keys, 1);
}

#[tokio::test(start_paused = true)]
async fn forget_of_a_queued_key_drops_it_before_it_runs() {
    let script = Arc::new(Script::new(|_, _| step(5, End::Ok(Action::AwaitChange))));
    let config = RuntimeConfig {
        concurrency: 1,
        ..config()
    };
    let handle = start(&script, config);
    for key in ["a", "b", "c"] {
        handle.trigger(k(key));
    }
    handle.forget(k("b"));
    until(&script, 1.0).await;
    assert_eq!(handle.stats().queued, 1);
    until(&script, 20.0).await;
    assert_eq!(script.order(), [k("a"), k("c")]);
    assert_eq!(script.starts("c"), [5.0]);
}

#[tokio::test(start_paused = true)]
async fn forget_during_a_run_lets_it_finish_without_requeue() {
    let script = Arc::new(Script::new(|_, _| {
        step(10, End::Ok(Action::Requeue(secs(5))))
    }));
    let handle = start(&script, config());
    handle.trigger(k("a"));
    until(&script, 3.0).await;
    handle.forget(k("a"));
    assert!(handle.known_keys().await.is_empty());
    until(&script, 9.5).await;
    assert_eq!(script.busy_now(), 1, "the run goes on");
    assert_eq!(handle.stats().in_flight, 1);
    until(&script, 60.0).await;
    assert_eq!(script.starts("a"), [0.0]);
    assert_eq!(handle.stats().runs, 1);
    assert_eq!(handle.stats().in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn a_key_forgotten_then_triggered_during_its_run_runs_again_right_after_it() {
    let script = Arc::new(Script::new(|_, _| step(10, End::Ok(Action::AwaitChange))));
    let handle = start(&script, config());
    handle.trigger(k("a"));
    until(&script, 3.0).await;
    handle.forget(k("a"));
    handle.trigger(k("a"));
    until(&script, 60.0).await;
    assert_eq!(script.starts("a"), [0.0, 10.0]);
    assert_eq!(script.overlaps(), 0);
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_runs_in_flight_and_requeues_nothing() {
    let script = Arc::new(Script::new(|key, _| match key {
        "slow" => step(10, End::Ok(Action::Requeue(secs(1)))),
        _ => step(0, End::Ok(Action::Requeue(secs(1)))),
    }));
    let handle = start(&script, config());
    handle.trigger(k("slow"));
    handle.trigger(k("quick"));
    until(&script, 2.5).await;
    handle.shutdown(secs(60)).await.expect("drained");
    assert_eq!(
        script.t0.elapsed(),
        secs(10),
        "returned when the slow run ended"
    );
    assert_eq!(script.starts("quick"), [0.0, 1.0, 2.0]);
    handle.trigger(k("quick"));
    until(&script, 100.0).await;
    assert_eq!(script.starts("slow"), [0.0]);
    assert_eq!(script.starts("quick"), [0.0, 1.0, 2.0]);
    assert!(handle.known_keys().await.is_empty());
    assert_eq!(
        handle.shutdown(secs(1)).await,
        Ok(()),
        "again: same outcome"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_aborts_runs_still_going_after_the_grace() {
    let script = Arc::new(Script::new(|_, _| step(3600, End::Ok(Action::AwaitChange))));
    let handle = start(&script, config());
    handle.trigger(k("a"));
    handle.trigger(k("b"));
    until(&script, 1.0).await;
    let other = handle.clone();
    let expected = Err(RuntimeError::ShutdownTimedOut {
        in_flight: 2,
        grace: secs(5),
    });
    assert_eq!(handle.shutdown(secs(5)).await, expected);
    assert_eq!(script.t0.elapsed(), secs(6));
    tokio::task::yield_now().await;
    until(&script, 7.0).await;
    assert_eq!(script.busy_now(), 0, "the runs were aborted");
    assert_eq!(other.shutdown(secs(60)).await, expected, "from a clone");
    assert_eq!(handle.stats().in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn dropping_every_handle_stops_the_runtime() {
    let script = Arc::new(Script::new(|_, _| {
        step(0, End::Ok(Action::Requeue(secs(1))))
    }));
    let handle = start(&script, config());
    let clone = handle.clone();
    handle.trigger(k("a"));
    until(&script, 2.5).await;
    drop(handle);
    until(&script, 3.5).await;
    assert_eq!(script.starts("a").len(), 4, "a clone keeps it running");
    drop(clone);
    until(&script, 10.0).await;
    assert_eq!(script.starts("a"), [0.0, 1.0, 2.0, 3.0]);
    assert_eq!(
        Arc::strong_count(&script),
        1,
        "the scheduler let go of the reconciler"
    );
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_keys_each_run_once_per_requeue_period_under_the_cap() {
    const KEYS: usize = 10_000;
    let script = Arc::new(Script::new(|_, _| {
        step(1, End::Ok(Action::Requeue(secs(60))))
    }));
    let config = RuntimeConfig {
        concurrency: 500,
        ..config()
    };
    let handle = start(&script, config);
    let keys: Vec<String> = (0..KEYS).map(|i| format!("n{i}")).collect();
    for key in &keys {
        handle.trigger(key.clone());
    }
    until(&script, 210.0).await;
    // in FIFO groups of 500, one second each: key i starts at i / 500, then every 61 s
    for (i, key) in keys.iter().enumerate().step_by(499) {
        let g = (i / 500) as f64;
        assert_eq!(
            script.starts(key),
            [g, g + 61.0, g + 122.0, g + 183.0],
            "{key}"
        );
    }
    let counts = script.counts();
    assert_eq!(counts.len(), KEYS);
    assert!(counts.values().all(|&n| n == 4), "each key ran 4 times");
    assert_eq!(script.max_busy(), 500);
    assert_eq!(script.overlaps(), 0);
    let stats = handle.stats();
    assert_eq!((stats.runs, stats.keys), (4 * KEYS as u64, KEYS as u64));
}
