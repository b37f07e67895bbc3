//! The RPC scenario: one callee session registers `bench.echo` (it returns its arguments), and
//! N caller sessions each keep W calls outstanding until the window closes.
//!
//! Each caller is one task driving its W calls as a `FuturesUnordered`: a finished call is
//! recorded (latency measured with `Instant`, only inside the measuring window) and replaced at
//! once. Calls still in flight when the window closes are dropped, which forgets them.

use std::sync::Arc;
use std::time::Instant;

use futures_util::stream::{FuturesUnordered, StreamExt};
use wamp_client::{CallOptions, Dict, RegisterOptions, Session, Value};

use super::report::{Latencies, ScenarioResult};
use super::{join, join_many, leave_all, measure, payload_args, Clock, RouterBenchArgs};
use super::{MEASURE, STOP};

/// The echo procedure.
pub(super) const PROCEDURE: &str = "bench.echo";

/// What one caller task saw inside the measuring window.
#[derive(Debug, Default)]
struct CallerTally {
    latencies: Latencies,
    errors: u64,
}

pub(super) async fn run(args: &RouterBenchArgs) -> anyhow::Result<ScenarioResult> {
    let callee = join(args).await?;
    callee
        .register(PROCEDURE, RegisterOptions::default(), |inv| async move {
            Ok((inv.args, inv.kwargs))
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot register {PROCEDURE}: {e}"))?;
    let callers = join_many(args, args.clients).await?;
    let clock = Arc::new(Clock::default());
    let tasks: Vec<_> = callers
        .iter()
        .map(|s| {
            tokio::spawn(caller(
                s.clone(),
                args.window,
                args.payload,
                Arc::clone(&clock),
            ))
        })
        .collect();
    let window = measure(args, &clock, || {}, || {}).await;
    let mut tally = CallerTally::default();
    for task in tasks {
        let t = task.await?;
        tally.latencies.merge(t.latencies);
        tally.errors += t.errors;
    }
    leave_all(&callers).await;
    leave_all(std::slice::from_ref(&callee)).await;
    let calls = tally.latencies.len() as u64;
    Ok(ScenarioResult::new(
        "rpc",
        window,
        calls,
        None,
        tally.latencies,
        tally.errors,
    ))
}

/// Keeps `window` calls in flight on one session until the clock says stop.
async fn caller(session: Session, window: usize, payload: usize, clock: Arc<Clock>) -> CallerTally {
    let args = payload_args(payload);
    let mut tally = CallerTally::default();
    let mut inflight = FuturesUnordered::new();
    for _ in 0..window {
        inflight.push(one_call(&session, args.clone()));
    }
    while let Some(outcome) = inflight.next().await {
        let phase = clock.phase();
        match (outcome, phase) {
            (Ok(micros), MEASURE) => tally.latencies.push(micros),
            (Err(_), MEASURE) => tally.errors += 1,
            _ => {}
        }
        if phase == STOP || session.is_closed() {
            break;
        }
        inflight.push(one_call(&session, args.clone()));
    }
    tally
}

/// One call of the echo procedure; its latency in microseconds.
async fn one_call(session: &Session, args: Vec<Value>) -> Result<u32, wamp_client::Error> {
    let start = Instant::now();
    session
        .call(PROCEDURE, args, Dict::new(), CallOptions::default())
        .await?;
    Ok(micros_since(start))
}

/// Microseconds since `start`, saturating.
pub(super) fn micros_since(start: Instant) -> u32 {
    u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX)
}
