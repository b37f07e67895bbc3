//! Churn: nodes leave and come back at a steady rate — a third each by GOODBYE, by dropping
//! the TCP connection, and by freezing (the master's ping timeout must notice). Each departure
//! is one [`cycle`]: disconnect, stay away a while, reconnect.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::fleet::Fleet;
use crate::node::Disconnect;
use crate::payload::Rng;

/// How long a node stays away after a GOODBYE or a dropped connection.
pub const AWAY: Duration = Duration::from_secs(2);
/// How long a node stays frozen: longer than the master's ping interval + timeout (10 + 5 s).
pub const FREEZE_FOR: Duration = Duration::from_secs(20);
/// How often churn decides.
const TICK: Duration = Duration::from_millis(250);
/// How long to wait at the end for departures still under way.
const DRAIN: Duration = Duration::from_secs(40);

/// How long a node leaving `how` stays away.
pub fn away(how: Disconnect) -> Duration {
    match how {
        Disconnect::Freeze => FREEZE_FOR,
        _ => AWAY,
    }
}

/// One departure of node `i`: disconnect `how`, wait `away`, reconnect. Returns whether the
/// node came back.
pub async fn cycle(fleet: &Fleet, i: usize, how: Disconnect, away: Duration) -> bool {
    fleet.disconnect(i, how).await;
    tokio::time::sleep(away).await;
    fleet.reconnect(i).await.is_ok()
}

/// Runs churn at `per_min` (fraction of the fleet per minute) until `stop` completes.
pub(crate) async fn run(fleet: &Fleet, per_min: f64, stop: impl Future<Output = ()>) {
    let busy: Arc<Mutex<HashSet<usize>>> = Arc::default();
    let mut tasks = JoinSet::new();
    let mut rng = Rng(fleet.config().seed ^ 0xc4c4);
    let per_tick = per_min * fleet.len() as f64 / 60.0 * TICK.as_secs_f64();
    let mut owed = 0.0;
    let mut ticker = tokio::time::interval(TICK);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = ticker.tick() => {}
        }
        owed += per_tick;
        while owed >= 1.0 {
            owed -= 1.0;
            let Some(i) = pick(&busy, &mut rng, fleet.len()) else {
                break;
            };
            let how = [Disconnect::Goodbye, Disconnect::DropTcp, Disconnect::Freeze]
                [rng.below(3) as usize];
            let (f, busy) = (fleet.clone(), busy.clone());
            tasks.spawn(async move {
                cycle(&f, i, how, away(how)).await;
                lock(&busy).remove(&i);
            });
        }
        while tasks.try_join_next().is_some() {}
    }
    let drain = async { while tasks.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(DRAIN, drain).await;
}

/// A random node not already away (a few tries).
fn pick(busy: &Mutex<HashSet<usize>>, rng: &mut Rng, n: usize) -> Option<usize> {
    let mut b = lock(busy);
    for _ in 0..8 {
        let i = rng.below(n as u64) as usize;
        if b.insert(i) {
            return Some(i);
        }
    }
    None
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
