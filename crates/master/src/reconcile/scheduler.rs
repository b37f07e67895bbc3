//! The scheduler task: owns every key's state, the timers, the ready queue and the runs in
//! flight. One task per runtime, and nothing else touches this state, so there is no lock:
//! handles talk to it over a channel and read only the published counters.
//!
//! Each known key is in one phase: `Idle` (maybe with a timer), `Queued` (due, waiting in the
//! FIFO ready queue for a slot) or `Running`. Timers are a `BTreeMap<(Instant, seq), key>`
//! from which a key's timer is removed exactly when it is replaced, so it never holds stale
//! entries; the ready queue may hold leftovers of forgotten keys, recognised by their ticket.
//! A trigger, a timer and a resync all lead to the same `Queued` phase, which is what makes
//! them coalesce. Runs (see `run`) report back through a `FuturesUnordered` polled here.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tracing::{debug, warn};

use super::handle::{Command, Counters, Handle, Outcome, RuntimeError};
use super::run::{self, Finished, Key};
use super::{Action, Reconciler, RuntimeConfig};

enum Phase {
    /// Waiting for a trigger, and for its timer if any.
    Idle { timer: Option<(Instant, u64)> },
    /// Due; its place in the ready queue carries this ticket.
    Queued { ticket: u64 },
    /// In flight; `rerun`: triggered meanwhile, run once more right after.
    Running { rerun: bool },
}

struct Entry {
    phase: Phase,
    /// Consecutive failures (reset by a success).
    failures: u32,
}

pub(super) fn spawn<R: Reconciler>(
    reconciler: Arc<R>,
    mut config: RuntimeConfig,
) -> Handle<Key<R>> {
    config.concurrency = config.concurrency.max(1);
    let (commands_tx, commands) = mpsc::unbounded_channel();
    let (outcome_tx, outcome) = watch::channel(None);
    let counters = Arc::new(Counters::default());
    let scheduler = Scheduler {
        reconciler,
        config,
        counters: counters.clone(),
        entries: HashMap::new(),
        timers: BTreeMap::new(),
        ready: VecDeque::new(),
        queued: 0,
        running: HashMap::new(),
        in_flight: FuturesUnordered::new(),
        seq: 0,
        stopping: false,
    };
    tokio::spawn(scheduler.run(commands, outcome_tx));
    Handle::new(commands_tx, counters, outcome)
}

struct Scheduler<R: Reconciler> {
    reconciler: Arc<R>,
    config: RuntimeConfig,
    counters: Arc<Counters>,
    /// The known keys.
    entries: HashMap<Key<R>, Entry>,
    timers: BTreeMap<(Instant, u64), Key<R>>,
    ready: VecDeque<(u64, Key<R>)>,
    /// Entries in the `Queued` phase (the ready queue may also hold leftovers).
    queued: usize,
    /// Every run in flight, including those of keys forgotten meanwhile: one per key at most.
    running: HashMap<Key<R>, AbortHandle>,
    in_flight: FuturesUnordered<BoxFuture<'static, Finished<R>>>,
    /// Source of timer tie-breakers and ready-queue tickets.
    seq: u64,
    /// Shutting down: runs finish, nothing is requeued or started.
    stopping: bool,
}

// === impl Scheduler: the loop ===

impl<R: Reconciler> Scheduler<R> {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command<Key<R>>>,
        outcome: watch::Sender<Outcome>,
    ) {
        let mut resync = self.config.resync.map(|period| {
            let start = Instant::now()
                .checked_add(period)
                .unwrap_or_else(far_future);
            let mut interval =
                tokio::time::interval_at(start, period.max(Duration::from_millis(1)));
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval
        });
        let result = loop {
            self.fire_timers();
            self.dispatch();
            self.publish_gauges();
            let next_timer = self.timers.first_key_value().map(|((at, _), _)| *at);
            // Completions first (they free slots), timers are also fired at the top of every
            // turn, so a flood of commands cannot starve either.
            tokio::select! {
                biased;
                Some(done) = self.in_flight.next(), if !self.in_flight.is_empty() => {
                    self.finish(done);
                }
                () = sleep_until(next_timer) => {}
                () = tick(&mut resync) => self.trigger_all(),
                command = commands.recv() => match command {
                    Some(Command::Shutdown(grace)) => {
                        commands.close();
                        break self.shutdown(grace).await;
                    }
                    Some(command) => self.command(command),
                    None => {
                        // every handle is gone: nobody can observe the runs any more
                        self.abort_all();
                        break Ok(());
                    }
                },
            }
        };
        self.entries.clear(); // a stopped runtime knows no keys
        self.queued = 0;
        self.publish_gauges();
        outcome.send_replace(Some(result));
    }

    fn command(&mut self, command: Command<Key<R>>) {
        match command {
            Command::Trigger(key) => self.trigger(key),
            Command::TriggerAll => self.trigger_all(),
            Command::Forget(key) => self.forget(&key),
            Command::KnownKeys(reply) => {
                let _ = reply.send(self.entries.keys().cloned().collect());
            }
            Command::Shutdown(_) => {} // handled by the loop
        }
    }

    /// Lets the runs in flight finish within `grace`, then aborts the rest.
    async fn shutdown(&mut self, grace: Duration) -> Result<(), RuntimeError> {
        self.stopping = true;
        self.ready.clear();
        self.timers.clear();
        self.queued = 0;
        let deadline = Instant::now().checked_add(grace).unwrap_or_else(far_future);
        while !self.in_flight.is_empty() {
            self.publish_gauges();
            match tokio::time::timeout_at(deadline, self.in_flight.next()).await {
                Ok(Some(done)) => self.finish(done),
                Ok(None) => break,
                Err(_) => {
                    let in_flight = self.running.len();
                    self.abort_all();
                    return Err(RuntimeError::ShutdownTimedOut { in_flight, grace });
                }
            }
        }
        Ok(())
    }

    fn abort_all(&mut self) {
        for abort in self.running.values() {
            abort.abort();
        }
        self.running.clear();
        self.in_flight = FuturesUnordered::new();
    }

    fn publish_gauges(&self) {
        let c = &self.counters;
        Counters::set(&c.in_flight, self.running.len());
        Counters::set(&c.queued, self.queued);
        Counters::set(&c.keys, self.entries.len());
    }
}

// === impl Scheduler: phase changes ===

impl<R: Reconciler> Scheduler<R> {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Puts a known key that is not queued or running into the ready queue.
    fn enqueue(&mut self, key: Key<R>) {
        let ticket = self.next_seq();
        if let Some(entry) = self.entries.get_mut(&key) {
            if let Phase::Idle { timer: Some(at) } = entry.phase {
                self.timers.remove(&at);
            }
            entry.phase = Phase::Queued { ticket };
            self.queued += 1;
            self.ready.push_back((ticket, key));
        }
    }

    fn trigger(&mut self, key: Key<R>) {
        match self.entries.get_mut(&key) {
            Some(entry) => match &mut entry.phase {
                Phase::Idle { .. } => self.enqueue(key),
                Phase::Queued { .. } => {} // already due: coalesced
                Phase::Running { rerun } => *rerun = true,
            },
            None if self.running.contains_key(&key) => {
                // forgotten while its last run is still in flight: back, and run right after
                let phase = Phase::Running { rerun: true };
                self.entries.insert(key, Entry { phase, failures: 0 });
            }
            None => {
                let phase = Phase::Idle { timer: None };
                self.entries
                    .insert(key.clone(), Entry { phase, failures: 0 });
                self.enqueue(key);
            }
        }
    }

    fn trigger_all(&mut self) {
        let keys: Vec<_> = self.entries.keys().cloned().collect();
        for key in keys {
            self.trigger(key);
        }
    }

    fn forget(&mut self, key: &Key<R>) {
        let Some(entry) = self.entries.remove(key) else {
            return;
        };
        match entry.phase {
            Phase::Idle { timer: Some(at) } => {
                self.timers.remove(&at);
            }
            // its place in the ready queue is skipped when reached (the ticket is gone)
            Phase::Queued { .. } => self.queued = self.queued.saturating_sub(1),
            Phase::Idle { timer: None } | Phase::Running { .. } => {}
        }
    }

    /// Moves every key whose timer is due into the ready queue.
    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(first) = self.timers.first_entry() {
            if first.key().0 > now {
                break;
            }
            let key = first.remove();
            if let Some(entry) = self.entries.get_mut(&key) {
                entry.phase = Phase::Idle { timer: None }; // its timer is gone already
                self.enqueue(key);
            }
        }
    }

    /// Starts queued keys while there are free slots.
    fn dispatch(&mut self) {
        while self.running.len() < self.config.concurrency && !self.stopping {
            let Some((ticket, key)) = self.ready.pop_front() else {
                return;
            };
            let Some(entry) = self.entries.get_mut(&key) else {
                continue; // forgotten while queued
            };
            if !matches!(entry.phase, Phase::Queued { ticket: t } if t == ticket) {
                continue; // a leftover of an earlier life of this key
            }
            entry.phase = Phase::Running { rerun: false };
            self.queued = self.queued.saturating_sub(1);
            self.start(key);
        }
    }

    /// Spawns one run of `key`.
    fn start(&mut self, key: Key<R>) {
        let limit = self.config.reconcile_timeout;
        let (abort, finished) = run::spawn(&self.reconciler, key.clone(), limit);
        self.running.insert(key, abort);
        self.in_flight.push(finished);
    }

    /// Records a finished run and decides what comes next for its key.
    fn finish(&mut self, done: Finished<R>) {
        let Finished {
            key,
            span,
            took,
            result,
        } = done;
        let _entered = span.enter();
        self.running.remove(&key);
        self.counters.finished(took);
        let took_ms = took.as_secs_f64() * 1e3;
        let result = run::outcome::<R>(result, self.config.reconcile_timeout, &self.counters);
        let Some(entry) = self.entries.get_mut(&key) else {
            debug!(
                took_ms,
                ok = result.is_ok(),
                "reconciled a forgotten key; not requeued"
            );
            return;
        };
        let rerun = matches!(entry.phase, Phase::Running { rerun: true });
        let action = match result {
            Ok(action) => {
                entry.failures = 0;
                debug!(took_ms, ?action, rerun, "reconciled");
                action
            }
            Err(error) => {
                entry.failures = entry.failures.saturating_add(1);
                let failures = entry.failures;
                let backoff = &self.config.backoff;
                let action = run::error_policy(&*self.reconciler, &key, &error, failures, backoff);
                warn!(%error, failures, took_ms, next = ?action, rerun, "reconcile failed");
                action
            }
        };
        let next = match action {
            _ if self.stopping => Phase::Idle { timer: None },
            _ if rerun => Phase::Idle { timer: None }, // enqueued below
            Action::AwaitChange => Phase::Idle { timer: None },
            Action::Requeue(after) => match Instant::now().checked_add(after) {
                Some(at) => {
                    let at = (at, self.next_seq());
                    self.timers.insert(at, key.clone());
                    Phase::Idle { timer: Some(at) }
                }
                None => Phase::Idle { timer: None }, // "after" is beyond any clock: never
            },
        };
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.phase = next;
        }
        if rerun && !self.stopping {
            self.enqueue(key);
        }
    }
}

/// An instant no timer will reach (about 30 years from now).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}
