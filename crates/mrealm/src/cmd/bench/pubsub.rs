//! The PubSub scenario: N subscriber sessions on `bench.topic`, one publisher publishing with
//! `acknowledge=true` and W publishes outstanding (the PUBLISHED answer is the flow control).
//!
//! Subscribers only count events (one counter per session); the counters are read at the edges
//! of the measuring window, so events/s = events received inside the window / its length.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures_util::stream::{FuturesUnordered, StreamExt};
use wamp_client::{Dict, PublishOptions, Session, SubscribeOptions, Subscription, Value};

use super::report::{Latencies, ScenarioResult};
use super::rpc::micros_since;
use super::{join, join_many, leave_all, measure, payload_args, Clock, RouterBenchArgs};
use super::{MEASURE, STOP};

/// The topic published to.
pub(super) const TOPIC: &str = "bench.topic";

pub(super) async fn run(args: &RouterBenchArgs) -> anyhow::Result<ScenarioResult> {
    let subscribers = join_many(args, args.clients).await?;
    let counters: Vec<Arc<AtomicU64>> = subscribers.iter().map(|_| Arc::default()).collect();
    let mut readers = Vec::new();
    for (session, counter) in subscribers.iter().zip(&counters) {
        let sub = session
            .subscribe(TOPIC, SubscribeOptions::default())
            .await
            .map_err(|e| anyhow::anyhow!("cannot subscribe to {TOPIC}: {e}"))?;
        readers.push(tokio::spawn(count_events(sub, Arc::clone(counter))));
    }
    let publisher = join(args).await?;
    let clock = Arc::new(Clock::default());
    let task = tokio::spawn(publish_loop(
        publisher.clone(),
        args.window,
        args.payload,
        Arc::clone(&clock),
    ));
    let total = || {
        counters
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum::<u64>()
    };
    let (mut before, mut after) = (0, 0);
    let window = measure(args, &clock, || before = total(), || after = total()).await;
    let (latencies, errors) = task.await?;
    readers.iter().for_each(|r| r.abort());
    leave_all(std::slice::from_ref(&publisher)).await;
    leave_all(&subscribers).await;
    let publishes = latencies.len() as u64;
    let events = Some(after.saturating_sub(before));
    Ok(ScenarioResult::new(
        "pubsub", window, publishes, events, latencies, errors,
    ))
}

/// Counts the events of one subscription until the task is aborted or the session ends.
async fn count_events(mut sub: Subscription, counter: Arc<AtomicU64>) {
    while sub.recv().await.is_some() {
        let mut n = 1;
        while sub.try_recv().is_some() {
            n += 1;
        }
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Keeps `window` acknowledged publishes in flight until the clock says stop; returns the
/// latencies of those acknowledged inside the window and the number of failures.
async fn publish_loop(
    session: Session,
    window: usize,
    payload: usize,
    clock: Arc<Clock>,
) -> (Latencies, u64) {
    let args = payload_args(payload);
    let (mut latencies, mut errors) = (Latencies::default(), 0);
    let mut inflight = FuturesUnordered::new();
    for _ in 0..window {
        inflight.push(one_publish(&session, args.clone()));
    }
    while let Some(outcome) = inflight.next().await {
        let phase = clock.phase();
        match (outcome, phase) {
            (Ok(micros), MEASURE) => latencies.push(micros),
            (Err(_), MEASURE) => errors += 1,
            _ => {}
        }
        if phase == STOP || session.is_closed() {
            break;
        }
        inflight.push(one_publish(&session, args.clone()));
    }
    (latencies, errors)
}

/// One acknowledged publish; the time until PUBLISHED in microseconds.
async fn one_publish(session: &Session, args: Vec<Value>) -> Result<u32, wamp_client::Error> {
    let start = Instant::now();
    session
        .publish(TOPIC, args, Dict::new(), PublishOptions::acknowledged())
        .await?;
    Ok(micros_since(start))
}
