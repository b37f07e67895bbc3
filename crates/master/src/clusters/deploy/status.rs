//! The status transitions the reconcilers make (spec §3.3, with mrealm's fix): STARTING →
//! RUNNING once everything is deployed, RUNNING → DEGRADED when a member stops serving (its
//! node went offline, a worker failed) and back to RUNNING once it serves again, STOPPING →
//! STOPPED once everything is torn down. Each
//! is one write transaction that re-reads the object and changes it only if it still has the
//! expected status (a `stop_*` racing a reconcile wins), then the event
//! `{"oid", "status", "changed"}` is published, acknowledged.

use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::{info, warn};
use uuid::Uuid;
use wamp_client::PublishOptions;
use wamp_proto::{Dict, Value};

use super::Done;
use crate::clusters::db::{self, Read};
use crate::clusters::model::{RouterCluster, Status, WebCluster, WorkerGroup};
use crate::error::Result;
use crate::mrealm::ctx::Ctx;
use crate::util::now_ns;

/// A stored object with a status.
pub(crate) trait HasStatus: Serialize + DeserializeOwned {
    fn status_mut(&mut self) -> (&mut Status, &mut u64);
}

impl HasStatus for RouterCluster {
    fn status_mut(&mut self) -> (&mut Status, &mut u64) {
        (&mut self.status, &mut self.changed)
    }
}

impl HasStatus for WebCluster {
    fn status_mut(&mut self) -> (&mut Status, &mut u64) {
        (&mut self.status, &mut self.changed)
    }
}

impl HasStatus for WorkerGroup {
    fn status_mut(&mut self) -> (&mut Status, &mut u64) {
        (&mut self.status, &mut self.changed)
    }
}

/// Sets the object at `key` from `from` (any of) to `to`; its `changed` if it did.
pub(crate) fn set<T: HasStatus>(
    ctx: &Ctx,
    key: &str,
    from: &[Status],
    to: Status,
) -> Result<Option<u64>> {
    db::write(&ctx.store, |txn| {
        let Some(mut doc) = Read::get::<T>(&*txn, key)? else {
            return Ok(None);
        };
        let (status, changed) = doc.status_mut();
        if !from.contains(status) {
            return Ok(None);
        }
        let now = now_ns().max(*changed + 1);
        *status = to;
        *changed = now;
        db::put(txn, key, &doc)?;
        Ok(Some(now))
    })
}

/// Moves the cluster at `key` from `from` to `to` and publishes `topic` if it did.
pub(crate) async fn advance<T: HasStatus>(
    ctx: &Ctx,
    key: &str,
    oid: Uuid,
    from: Status,
    to: Status,
    topic: String,
) -> Result<()> {
    let Some(changed) = set::<T>(ctx, key, &[from], to)? else {
        return Ok(());
    };
    info!(cluster = %oid, status = to.name(), "cluster status");
    let mut d = Dict::new();
    d.insert("oid".into(), oid.to_string().into());
    d.insert("status".into(), to.name().into());
    d.insert("changed".into(), changed.into());
    let opts = PublishOptions {
        acknowledge: true,
        ..PublishOptions::default()
    };
    if let Err(e) = ctx
        .session
        .publish(&topic, vec![Value::Dict(d)], Dict::new(), opts)
        .await
    {
        warn!(%topic, error = %e, "event not published (the status is stored)");
    }
    Ok(())
}

/// After a round: STARTING → RUNNING once everything serves (`on_*_started`), RUNNING →
/// DEGRADED when something does not (`…_degraded`), DEGRADED → RUNNING when it does again
/// (`…_started`), STOPPING → STOPPED once every online node is clean (`…_stopped`). `event`
/// maps an event name (`started`, …) to its topic.
pub(crate) async fn settle<T: HasStatus>(
    ctx: &Ctx,
    key: &str,
    oid: Uuid,
    status: Option<Status>,
    done: &Done,
    event: impl Fn(&str) -> String,
) -> Result<()> {
    let serving = done.complete && !done.failed;
    let (from, to, name) = match status {
        Some(Status::Starting) if serving => (Status::Starting, Status::Running, "started"),
        Some(Status::Degraded) if serving => (Status::Degraded, Status::Running, "started"),
        Some(Status::Running) if !serving => (Status::Running, Status::Degraded, "degraded"),
        Some(Status::Stopping) if done.clean => (Status::Stopping, Status::Stopped, "stopped"),
        _ => return Ok(()),
    };
    advance::<T>(ctx, key, oid, from, to, event(name)).await
}
