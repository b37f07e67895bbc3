//! Scheduling: coalescing triggers, one run per key at a time, the concurrency cap and its
//! FIFO order, requeue against earlier triggers, idle keys, resync.

use std::sync::Arc;

use super::*;

#[tokio::test(start_paused = true)]
async fn triggers_during_a_run_coalesce_into_exactly_one_follow_up() {
    let script = Arc::new(Script::new(|_, _| step(10, End::Ok(Action::AwaitChange))));
    let handle = start(&script, config());
    handle.trigger(k("a"));
    for t in 1..=5 {
        until(&script, t as f64).await;
        handle.trigger(k("a"));
    }
    until(&script, 40.0).await;
    assert_eq!(script.starts("a"), [0.0, 10.0]);
    assert_eq!(script.overlaps(), 0);
    let stats = handle.stats();
    assert_eq!((stats.runs, stats.in_flight, stats.keys), (2, 0, 1));
    assert_eq!(stats.last_duration, secs(10));
}

#[tokio::test(start_paused = true)]
async fn a_key_never_runs_twice_at_once_under_triggers_timers_and_resync() {
    let script = Arc::new(Script::new(|_, _| {
        step(7, End::Ok(Action::Requeue(secs(3))))
    }));
    let config = RuntimeConfig {
        resync: Some(secs(5)),
        ..config()
    };
    let handle = start(&script, config);
    for t in (0..60).step_by(2) {
        until(&script, t as f64).await;
        handle.trigger(k("a"));
    }
    until(&script, 60.0).await;
    assert_eq!(script.overlaps(), 0);
    // always triggered while running: each run follows the previous one at once
    let expected: Vec<f64> = (0..9).map(|i| f64::from(i) * 7.0).collect();
    assert_eq!(script.starts("a"), expected);
}

#[tokio::test(start_paused = true)]
async fn at_most_concurrency_runs_in_flight_and_waiting_keys_start_in_fifo_order() {
    let script = Arc::new(Script::new(|_, _| step(1, End::Ok(Action::AwaitChange))));
    let config = RuntimeConfig {
        concurrency: 3,
        ..config()
    };
    let handle = start(&script, config);
    let keys: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
    for key in &keys {
        handle.trigger(key.clone());
    }
    until(&script, 0.5).await;
    let stats = handle.stats();
    assert_eq!((stats.in_flight, stats.queued, stats.keys), (3, 7, 10));
    until(&script, 10.0).await;
    assert_eq!(script.max_busy(), 3);
    assert_eq!(script.order(), keys);
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(script.starts(key), [(i / 3) as f64], "{key}");
    }
    assert_eq!(handle.stats().queued, 0);
}

#[tokio::test(start_paused = true)]
async fn a_key_that_requeues_itself_at_once_does_not_starve_the_others() {
    let script = Arc::new(Script::new(|key, _| {
        let end = match key {
            "hot" => End::Ok(Action::Requeue(secs(0))),
            _ => End::Ok(Action::AwaitChange),
        };
        step(1, end)
    }));
    let config = RuntimeConfig {
        concurrency: 1,
        ..config()
    };
    let handle = start(&script, config);
    for key in ["hot", "a", "b"] {
        handle.trigger(k(key));
    }
    until(&script, 1.5).await;
    handle.trigger(k("c")); // behind "hot", which went back to the end of the queue at 1
    until(&script, 7.5).await;
    assert_eq!(script.starts("a"), [1.0]);
    assert_eq!(script.starts("b"), [2.0]);
    assert_eq!(script.starts("hot"), [0.0, 3.0, 5.0, 6.0, 7.0]);
    assert_eq!(script.starts("c"), [4.0]);
}

#[tokio::test(start_paused = true)]
async fn requeue_runs_the_key_again_exactly_that_long_after_the_run() {
    let script = Arc::new(Script::new(|_, _| {
        step(2, End::Ok(Action::Requeue(secs(30))))
    }));
    let handle = start(&script, config());
    handle.trigger(k("a"));
    until(&script, 70.0).await;
    assert_eq!(script.starts("a"), [0.0, 32.0, 64.0]);
}

#[tokio::test(start_paused = true)]
async fn an_earlier_trigger_wins_and_its_run_replaces_the_pending_requeue() {
    let script = Arc::new(Script::new(|_, _| {
        step(0, End::Ok(Action::Requeue(secs(30))))
    }));
    let handle = start(&script, config());
    handle.trigger(k("a"));
    until(&script, 10.0).await;
    handle.trigger(k("a"));
    until(&script, 75.0).await;
    // no run at 30: the run at 10 rescheduled the key for 40
    assert_eq!(script.starts("a"), [0.0, 10.0, 40.0, 70.0]);
}

#[tokio::test(start_paused = true)]
async fn await_change_leaves_the_key_idle_until_triggered() {
    let script = Arc::new(Script::new(|_, _| step(0, End::Ok(Action::AwaitChange))));
    let handle = start(&script, config());
    handle.trigger(k("a"));
    until(&script, 1000.0).await;
    assert_eq!(script.starts("a"), [0.0]);
    assert_eq!(handle.known_keys().await, [k("a")]);
    handle.trigger(k("a"));
    until(&script, 1001.0).await;
    assert_eq!(script.starts("a"), [0.0, 1000.0]);
}

#[tokio::test(start_paused = true)]
async fn resync_triggers_every_known_key_once_per_period() {
    let script = Arc::new(Script::new(|_, _| step(0, End::Ok(Action::AwaitChange))));
    let config = RuntimeConfig {
        resync: Some(secs(60)),
        ..config()
    };
    let handle = start(&script, config);
    handle.trigger(k("a"));
    until(&script, 30.0).await;
    handle.trigger(k("b"));
    until(&script, 130.0).await;
    assert_eq!(script.starts("a"), [0.0, 60.0, 120.0]);
    assert_eq!(script.starts("b"), [30.0, 60.0, 120.0]);
    handle.trigger_all();
    until(&script, 131.0).await;
    assert_eq!(script.starts("b"), [30.0, 60.0, 120.0, 130.0]);
}

#[tokio::test(start_paused = true)]
async fn resync_of_a_running_key_waits_for_its_run_to_end() {
    let script = Arc::new(Script::new(|_, _| step(25, End::Ok(Action::AwaitChange))));
    let config = RuntimeConfig {
        resync: Some(secs(10)),
        ..config()
    };
    let handle = start(&script, config);
    handle.trigger(k("a"));
    until(&script, 80.0).await;
    assert_eq!(script.overlaps(), 0);
    assert_eq!(script.starts("a"), [0.0, 25.0, 50.0, 75.0]);
}
