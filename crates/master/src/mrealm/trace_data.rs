//! Trace data, to the trace's readers only.
//!
//! A worker's `crossbarfabriccenter.node.<authid>.worker.<wid>.on_trace_data [trace_id, period,
//! data]`, published by that node's own session, is republished
//!
//! 1. as the remote API event `crossbarfabriccenter.remote.tracing.on_trace_data [authid, wid,
//!    trace_id, period, data]` (kwargs unchanged; the generic republisher,
//!    [`super::super::remote_events`], leaves this one topic to this module), and
//! 2. for a traced worker of a trace created through this API in this management realm, as
//!    `crossbarfabriccenter.mrealm.tracing.on_trace_data [node_oid, wid, trace_id, period, data]`.
//!
//! Both are published with the trace's `eligible_reader_roles` / `exclude_reader_roles` as
//! `eligible_authrole` / `exclude_authrole` ([`readers`]), so only the sessions that may read the
//! trace receive them. Data of a trace id this management realm does not know (a trace started
//! on the worker directly) has no readers' list and reaches every subscriber, as in Crossbar.
//! The raw node topics themselves can only be subscribed by the master's own sessions
//! ([`crate::roles::MrealmAuthorizer`]).

use store::TraceRecord;
use wamp_client::{Event, PublishOptions};
use wamp_proto::Value;

use super::super::remote_events::Source;
use super::Tracing;
use crate::wire;

/// The remote API topic of trace data.
const REMOTE_TOPIC: &str = "crossbarfabriccenter.remote.tracing.on_trace_data";

/// Publish options reaching the readers of `rec` (everyone when there is no trace record or it
/// restricts nothing).
pub(super) fn readers(rec: Option<&TraceRecord>) -> PublishOptions {
    let list = |l: Option<&Vec<String>>| l.cloned().unwrap_or_default();
    PublishOptions {
        eligible_authrole: list(rec.and_then(|r| r.eligible_reader_roles.as_ref())),
        exclude_authrole: list(rec.and_then(|r| r.exclude_reader_roles.as_ref())),
        ..PublishOptions::default()
    }
}

impl Tracing {
    /// Republishes one worker `on_trace_data` event (see the module doc).
    pub(super) async fn on_trace_data(&self, e: Event) {
        let Some(topic) = e.topic() else {
            return;
        };
        let Some((authid, wid)) = data_source(topic) else {
            return;
        };
        let by = |k: &str| e.details.get(k).and_then(Value::as_str);
        if by("publisher_authrole") != Some("node") || by("publisher_authid") != Some(authid) {
            return;
        }
        let Some(id) = e.args.first().and_then(Value::as_str) else {
            return;
        };
        let store = &self.store;
        let rec = store.get_trace(self.mrealm_oid, id).ok().flatten();
        if Source::parse(topic).is_some() {
            let mut args: Vec<Value> = vec![authid.into(), wid.into()];
            args.extend(e.args.iter().cloned());
            let opts = PublishOptions {
                exclude_me: Some(false),
                ..readers(rec.as_ref())
            };
            let published = self
                .session
                .publish(REMOTE_TOPIC, args, e.kwargs.clone(), opts);
            if let Err(err) = published.await {
                tracing::warn!(topic = REMOTE_TOPIC, error = %err, "cannot republish trace data");
            }
        }
        let Some(rec) = rec else {
            return;
        };
        let node = store.node_by_authid(self.mrealm_oid, authid).ok().flatten();
        let Some(node) = node else {
            return;
        };
        if !rec
            .traced_workers
            .iter()
            .any(|(n, w)| *n == node.oid && w == wid)
        {
            return;
        }
        let arg = |i: usize| e.args.get(i).cloned().unwrap_or(Value::Null);
        let args = vec![
            node.oid.to_string().into(),
            wid.into(),
            id.into(),
            arg(1),
            arg(2),
        ];
        self.publish_to("on_trace_data", &rec, args).await;
    }
}

/// `(authid, worker_id)` of `crossbarfabriccenter.node.<authid>.worker.<wid>.on_trace_data`.
fn data_source(topic: &str) -> Option<(&str, &str)> {
    let rest = topic.strip_prefix(wire::node::PREFIX)?;
    let rest = rest.strip_suffix(".on_trace_data")?;
    let (authid, wid) = rest.split_once(".worker.")?;
    let ok = |s: &str| !s.is_empty() && !s.contains('.');
    (ok(authid) && ok(wid)).then_some((authid, wid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_worker_trace_data_topics_have_a_source() {
        let t = "crossbarfabriccenter.node.n1.worker.w1.on_trace_data";
        assert_eq!(data_source(t), Some(("n1", "w1")));
        for t in [
            "crossbarfabriccenter.node.n1.on_trace_data",
            "crossbarfabriccenter.node..worker.w1.on_trace_data",
            "crossbarfabriccenter.node.a.b.worker.w1.on_trace_data",
            "crossbarfabriccenter.node.n1.worker.w1.on_trace_started",
        ] {
            assert_eq!(data_source(t), None, "{t}");
        }
    }

    #[test]
    fn readers_carry_the_traces_role_lists() {
        let o = readers(None);
        assert!(o.eligible_authrole.is_empty() && o.exclude_authrole.is_empty());
        let rec = TraceRecord {
            mrealm_oid: uuid::Uuid::nil(),
            trace_id: "t".into(),
            traced_workers: Vec::new(),
            trace_options: None,
            eligible_reader_roles: Some(vec!["admin".into()]),
            exclude_reader_roles: Some(vec!["guest".into()]),
            status: "stopped".into(),
            created: 0,
            note: None,
        };
        let o = readers(Some(&rec));
        assert_eq!(o.eligible_authrole, ["admin"]);
        assert_eq!(o.exclude_authrole, ["guest"]);
    }
}
