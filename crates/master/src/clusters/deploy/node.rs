//! The per-node part shared by both reconcilers: one node's round ([`converge`]: report an
//! offline or unpaired node, stop the workers it should no longer run — recorded but no longer
//! wanted — then bring up each wanted worker with the reconciler's [`WorkerStep`]) and what it
//! yields ([`NodeOutcome`]).

use std::collections::BTreeSet;
use std::future::Future;

use uuid::Uuid;

use super::edge::{describe, node_unreachable, Edge};
use super::record::{state, Deployed, Records};
use super::{Converge, WorkerState};
use crate::error::{MasterError, Result};
use crate::mrealm::ctx::Ctx;
use crate::reconcile::CallError;

/// What one node's round found and did.
#[derive(Debug, Default)]
pub(crate) struct NodeOutcome {
    pub states: Vec<WorkerState>,
    /// Everything the node should run runs.
    pub complete: bool,
    /// Something failed (retry with backoff).
    pub failed: bool,
    /// An online node still runs workers it should not (a stop is not finished).
    pub leftover: bool,
    /// The node (or a worker just started) has not registered its procedures yet
    /// (`wamp.error.no_such_procedure` from a node that is online): look again very soon,
    /// without backoff.
    pub not_ready: bool,
}

/// Why one worker's deployment stopped short.
#[derive(Debug)]
pub(crate) enum StepError {
    /// The node refused or did not answer.
    Call(CallError),
    /// The store failed (the whole reconcile fails).
    Store(MasterError),
}

impl From<CallError> for StepError {
    fn from(e: CallError) -> Self {
        StepError::Call(e)
    }
}

impl From<MasterError> for StepError {
    fn from(e: MasterError) -> Self {
        StepError::Store(e)
    }
}

/// The node's authid if it is online now.
fn online_authid(ctx: &Ctx, node: Uuid) -> Option<String> {
    let view = ctx.nodes.view();
    view.get(&node)
        .filter(|n| n.online)
        .map(|n| n.authid.clone())
}

/// An offline node: every worker it should run, or still runs, is `offline`. A node that is
/// no longer paired can never be reached: its record is dropped (nothing to stop any more).
fn offline(
    ctx: &Ctx,
    records: &Records,
    rec: &Deployed,
    wanted: &[String],
    worker_type: &'static str,
) -> Result<NodeOutcome> {
    if ctx.store.get_node(rec.node_oid)?.is_none() {
        records.save(&ctx.store, &Deployed::empty(rec.cluster_oid, rec.node_oid))?;
        return Ok(NodeOutcome {
            complete: wanted.is_empty(),
            ..NodeOutcome::default()
        });
    }
    let ids: BTreeSet<&String> = wanted.iter().chain(rec.workers.keys()).collect();
    let states = ids
        .into_iter()
        .map(|w| state(rec.node_oid, w, worker_type, "offline", None))
        .collect();
    Ok(NodeOutcome {
        states,
        complete: wanted.is_empty(),
        failed: false,
        leftover: false,
        not_ready: false,
    })
}

/// Stops the recorded workers that are not `wanted` (absent ones count as stopped); `Err` with
/// the outcome so far when the node became unreachable.
async fn stop_unwanted(
    ctx: &Ctx,
    records: &Records,
    edge: &Edge<'_>,
    rec: &mut Deployed,
    wanted: &[String],
    worker_type: &'static str,
    out: &mut NodeOutcome,
) -> Result<bool> {
    let unwanted: Vec<String> = rec
        .workers
        .keys()
        .filter(|w| !wanted.contains(w))
        .cloned()
        .collect();
    for wid in unwanted {
        match edge.stop_worker(&wid).await {
            Ok(_) => {
                rec.workers.remove(&wid);
                records.save(&ctx.store, rec)?;
                tracing::info!(node = edge.authid, worker = %wid, "worker stopped");
            }
            Err(e) if e.is_no_such_procedure() => {
                out.not_ready = true;
                out.leftover = true;
                out.states
                    .push(state(rec.node_oid, &wid, worker_type, "stopping", None));
                return Ok(false);
            }
            Err(e) => {
                out.failed = true;
                out.leftover = true;
                let why = Some(describe(edge.authid, &e));
                out.states
                    .push(state(rec.node_oid, &wid, worker_type, "stopping", why));
                if node_unreachable(&e) {
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

/// Records a failed worker step; `Ok(false)` when the node's round should end here.
fn failed_step(
    e: StepError,
    edge: &Edge<'_>,
    rec: &Deployed,
    wid: &str,
    worker_type: &'static str,
    out: &mut NodeOutcome,
) -> Result<bool> {
    let e = match e {
        StepError::Store(e) => return Err(e),
        StepError::Call(e) => e,
    };
    out.complete = false;
    if e.is_no_such_procedure() {
        // a node that just came online, or a worker that just started, registers its
        // procedures a moment later: not a failure, look again soon
        out.not_ready = true;
        out.states
            .push(state(rec.node_oid, wid, worker_type, "starting", None));
        return Ok(false);
    }
    out.failed = true;
    let why = Some(describe(edge.authid, &e));
    out.states
        .push(state(rec.node_oid, wid, worker_type, "failed", why));
    Ok(!node_unreachable(&e))
}

/// How one reconciler brings one of its workers to the wanted state on a node.
pub(crate) trait WorkerStep: Sync {
    /// The edge worker type (`router`, `proxy`), for the worker states.
    const TYPE: &'static str;

    /// Makes worker `wid` run as wanted; whether it runs now (`false`: still coming up).
    fn worker(
        &self,
        edge: &Edge<'_>,
        rec: &mut Deployed,
        wid: &str,
    ) -> impl Future<Output = std::result::Result<bool, StepError>> + Send;
}

/// One node's round, the same for both reconcilers: an offline node is only reported; an
/// online one first has the recorded workers it should no longer run stopped, then each
/// `wanted` worker brought up by `step`, in order, until the node stops answering.
pub(crate) async fn converge<S: WorkerStep>(
    c: &Converge,
    step: &S,
    mut rec: Deployed,
    wanted: &[String],
) -> Result<NodeOutcome> {
    let Some(authid) = online_authid(&c.ctx, rec.node_oid) else {
        return offline(&c.ctx, &c.records, &rec, wanted, S::TYPE);
    };
    let edge = Edge {
        caller: &c.caller,
        authid: &authid,
    };
    let mut out = NodeOutcome {
        complete: true,
        ..NodeOutcome::default()
    };
    if !stop_unwanted(
        &c.ctx,
        &c.records,
        &edge,
        &mut rec,
        wanted,
        S::TYPE,
        &mut out,
    )
    .await?
    {
        out.complete = wanted.is_empty();
        return Ok(out);
    }
    for wid in wanted {
        match step.worker(&edge, &mut rec, wid).await {
            Ok(running) => {
                let st = if running { "running" } else { "starting" };
                out.complete &= running;
                out.states.push(state(rec.node_oid, wid, S::TYPE, st, None));
            }
            Err(e) => {
                if !failed_step(e, &edge, &rec, wid, S::TYPE, &mut out)? {
                    break;
                }
            }
        }
    }
    Ok(out)
}
