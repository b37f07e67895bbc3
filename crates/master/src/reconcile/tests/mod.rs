//! Tests of the runtime under paused time, with a scripted reconciler ([`Script`]) that
//! records when each run started, how many ran at once, and what the error policy was given.
//! Start times are exact: every assertion on timing is an equality.
//!
//! The scheduling rules are in [`scheduling`], failures and the error policy in [`failures`],
//! forgetting, shutdown and scale in [`lifecycle`].

mod failures;
mod lifecycle;
mod scheduling;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::{Action, Backoff, Handle, ReconcileError, Reconciler, Runtime, RuntimeConfig};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct TestError(String);

/// How one run behaves: it works for `work`, then ends with `end`.
pub(super) struct Step {
    pub work: Duration,
    pub end: End,
}

pub(super) enum End {
    Ok(Action),
    Fail,
    Panic,
}

pub(super) fn step(work_secs: u64, end: End) -> Step {
    Step {
        work: Duration::from_secs(work_secs),
        end,
    }
}

type Behaviour = Box<dyn Fn(&str, usize) -> Step + Send + Sync>;
type PolicyFn = dyn Fn(&ReconcileError<TestError>, u32, &Backoff) -> Action + Send + Sync;
type Policy = Box<PolicyFn>;

/// A reconciler whose runs follow a script: `behave(key, n)` for the n-th run (from 1).
pub(super) struct Script {
    t0: Instant,
    behave: Behaviour,
    policy: Option<Policy>,
    // std Mutexes: each is held for a few statements, never across an `.await`
    log: Mutex<Log>,
    busy: Mutex<Busy>,
    /// What the error policy was given: (key, error, failures).
    pub failures: Mutex<Vec<(String, String, u32)>>,
}

#[derive(Default)]
struct Log {
    starts: Vec<(String, Duration)>,
    counts: HashMap<String, usize>,
}

#[derive(Default)]
struct Busy {
    per_key: HashMap<String, usize>,
    now: usize,
    max: usize,
    overlaps: usize,
}

impl Script {
    pub fn new(behave: impl Fn(&str, usize) -> Step + Send + Sync + 'static) -> Script {
        Script {
            t0: Instant::now(),
            behave: Box::new(behave),
            policy: None,
            log: Mutex::default(),
            busy: Mutex::default(),
            failures: Mutex::default(),
        }
    }

    pub fn with_policy<F>(mut self, policy: F) -> Script
    where
        F: Fn(&ReconcileError<TestError>, u32, &Backoff) -> Action + Send + Sync + 'static,
    {
        self.policy = Some(Box::new(policy));
        self
    }

    /// When the runs of `key` started, in seconds since the script was made.
    pub fn starts(&self, key: &str) -> Vec<f64> {
        let log = lock(&self.log);
        let of_key = log.starts.iter().filter(|(k, _)| k == key);
        of_key.map(|(_, at)| at.as_secs_f64()).collect()
    }

    /// Every key in the order its runs started.
    pub fn order(&self) -> Vec<String> {
        lock(&self.log)
            .starts
            .iter()
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Runs started per key.
    pub fn counts(&self) -> HashMap<String, usize> {
        lock(&self.log).counts.clone()
    }

    /// Runs going on now (a dropped or aborted run is not).
    pub fn busy_now(&self) -> usize {
        lock(&self.busy).now
    }

    /// The most runs at once.
    pub fn max_busy(&self) -> usize {
        lock(&self.busy).max
    }

    /// How often a run started while another run of its key was going on.
    pub fn overlaps(&self) -> usize {
        lock(&self.busy).overlaps
    }

    pub fn failures_seen(&self) -> Vec<(String, String, u32)> {
        lock(&self.failures).clone()
    }
}

/// Marks a run as going on until dropped (at its end, or when its future is dropped).
struct Running<'a> {
    script: &'a Script,
    key: String,
}

impl<'a> Running<'a> {
    fn enter(script: &'a Script, key: &str) -> Running<'a> {
        let mut busy = lock(&script.busy);
        let mine = busy.per_key.entry(key.to_owned()).or_insert(0);
        *mine += 1;
        if *mine > 1 {
            busy.overlaps += 1;
        }
        busy.now += 1;
        busy.max = busy.max.max(busy.now);
        Running {
            script,
            key: key.to_owned(),
        }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let mut busy = lock(&self.script.busy);
        busy.now -= 1;
        if let Some(n) = busy.per_key.get_mut(&self.key) {
            *n -= 1;
        }
    }
}

impl Reconciler for Script {
    type Key = String;
    type Error = TestError;

    fn name(&self) -> &'static str {
        "script"
    }

    async fn reconcile(&self, key: &String) -> Result<Action, TestError> {
        let n = {
            let mut log = lock(&self.log);
            log.starts.push((key.clone(), self.t0.elapsed()));
            let n = log.counts.entry(key.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let step = (self.behave)(key, n);
        let _running = Running::enter(self, key);
        tokio::time::sleep(step.work).await;
        match step.end {
            End::Ok(action) => Ok(action),
            End::Fail => Err(TestError(format!("run {n} failed"))),
            End::Panic => panic!("boom"),
        }
    }

    fn error_policy(
        &self,
        key: &String,
        error: &ReconcileError<TestError>,
        failures: u32,
        backoff: &Backoff,
    ) -> Action {
        lock(&self.failures).push((key.clone(), error.to_string(), failures));
        match &self.policy {
            Some(policy) => policy(error, failures, backoff),
            None => Action::Requeue(backoff.delay(failures)),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Concurrency 4, no resync, 60 s timeout, backoff 1 s doubling up to 60 s.
pub(super) fn config() -> RuntimeConfig {
    RuntimeConfig {
        concurrency: 4,
        resync: None,
        reconcile_timeout: Duration::from_secs(60),
        backoff: Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            factor: 2.0,
        },
    }
}

pub(super) fn start(script: &Arc<Script>, config: RuntimeConfig) -> Handle<String> {
    Runtime::spawn(script.clone(), config)
}

pub(super) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Sleeps (in paused time) until `at` seconds after the script was made.
pub(super) async fn until(script: &Script, at: f64) {
    tokio::time::sleep_until(script.t0 + Duration::from_secs_f64(at)).await;
}

pub(super) fn k(key: &str) -> String {
    key.to_owned()
}
