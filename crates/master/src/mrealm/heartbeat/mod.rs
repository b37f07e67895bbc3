//! Heartbeats, from event to disk, in one straight line:
//!
//! ```text
//! owner task: Event ─► accept (payload read once, typed: accept.rs)
//!                   ─► the publisher must be a session of the node it reports for (NodeMap)
//!                   ─► node map update (the owner) ─► Writer::submit_acked (never waits)
//! writer task: batch ─► records (record.rs, on the blocking pool) ─► one redb transaction
//!              ─► durable acknowledges (writer.rs, `durable_heartbeats`)
//! ```
//!
//! Refusals are typed ([`Refusal`]): a refused heartbeat changes nothing, its durable
//! acknowledge (if any) gets an ERROR, and refusals are logged at most once per
//! [`REFUSAL_LOG_EVERY`] with their count.

pub mod accept;
pub(crate) mod record;
pub(crate) mod writer;

use std::time::{Duration, Instant};

use tracing::warn;
use uuid::Uuid;
use wamp_client::Event;
use wamp_proto::{wamp_errors, Id};

pub use accept::{NodeHeartbeat, WorkerHeartbeat};
pub(crate) use writer::{Ack, AckRegistry, Record, Retention, Writer};

use super::nodes::NodeMap;

/// Least time between two log lines about refused heartbeats.
pub(crate) const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// Why a heartbeat was not accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum Refusal {
    /// The payload does not have the documented shape.
    #[error("{0}")]
    Malformed(String),
    /// The router did not disclose the publisher.
    #[error("publisher not disclosed")]
    NotDisclosed,
    /// The publisher is not a session of the node the heartbeat reports for.
    #[error("publisher session {publisher} is not a session of node \"{authid}\"")]
    NotTheNode { publisher: Id, authid: String },
}

impl Refusal {
    /// The ERROR of a refused durable heartbeat.
    pub(crate) fn uri(&self) -> &'static str {
        wamp_errors::INVALID_ARGUMENT
    }
}

/// A node heartbeat event `[authid, hb]`: accepted, with the node it comes from.
pub(crate) fn accept_node(e: &Event, map: &NodeMap) -> Result<(Uuid, NodeHeartbeat), Refusal> {
    let hb = accept::accept_node(&e.args).map_err(Refusal::Malformed)?;
    let node = publisher_node(e, map, &hb.authid)?;
    Ok((node, hb))
}

/// A worker heartbeat event `[authid, worker_id, hb]`: accepted, with the node it comes from.
pub(crate) fn accept_worker(e: &Event, map: &NodeMap) -> Result<(Uuid, WorkerHeartbeat), Refusal> {
    let hb = accept::accept_worker(&e.args).map_err(Refusal::Malformed)?;
    let node = publisher_node(e, map, &hb.authid)?;
    Ok((node, hb))
}

fn publisher_node(e: &Event, map: &NodeMap, authid: &str) -> Result<Uuid, Refusal> {
    let publisher = e.publisher().ok_or(Refusal::NotDisclosed)?;
    map.session_is(publisher, authid)
        .ok_or_else(|| Refusal::NotTheNode {
            publisher,
            authid: authid.to_owned(),
        })
}

/// Counts refusals and logs them at most once per [`REFUSAL_LOG_EVERY`].
#[derive(Default)]
pub(crate) struct Refusals {
    count: u64,
    logged: u64,
    at: Option<Instant>,
}

impl Refusals {
    /// Records a refusal (answering its durable acknowledge with an ERROR).
    pub(crate) fn refuse(&mut self, r: &Refusal, e: &Event, ack: Option<Ack>) {
        if let Some(a) = ack {
            let _ = a.send(Err(writer::refused(r.uri(), r.to_string())));
        }
        self.count += 1;
        if self.at.is_some_and(|t| t.elapsed() < REFUSAL_LOG_EVERY) {
            return;
        }
        let publisher = e.details.get("publisher_authid");
        warn!(reason = %r, ?publisher, refused = self.count - self.logged, "heartbeat refused");
        self.logged = self.count;
        self.at = Some(Instant::now());
    }
}
