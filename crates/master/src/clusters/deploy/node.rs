//! The per-node part shared by both reconcilers: what one node's round yields
//! ([`NodeOutcome`]), the node that is offline or unpaired, and stopping the workers a node
//! should no longer run (they are in its deployment record but no longer wanted).

use std::collections::BTreeSet;

use uuid::Uuid;

use super::edge::{describe, node_unreachable, Edge};
use super::record::{state, Deployed, Records};
use super::WorkerState;
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
pub(crate) fn online_authid(ctx: &Ctx, node: Uuid) -> Option<String> {
    let view = ctx.nodes.view();
    view.get(&node)
        .filter(|n| n.online)
        .map(|n| n.authid.clone())
}

/// An offline node: every worker it should run, or still runs, is `offline`. A node that is
/// no longer paired can never be reached: its record is dropped (nothing to stop any more).
pub(crate) fn offline(
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
pub(crate) async fn stop_unwanted(
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
pub(crate) fn failed_step(
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
