//! Republishing node events on the remote API (WIRE.md §4).
//!
//! The controller subscribes with one wildcard per event shape below (not by prefix: a prefix
//! would also deliver every `crossbarfabriccenter.node.on_heartbeat` a second time) and
//! republishes, in order within each shape:
//!
//! | node event | republished as | args |
//! |---|---|---|
//! | `node.<authid>.<topic>` (node-level topic of [`EVENTS`]) | `remote.<api>.<topic>` | `[authid, *args]` |
//! | `node.<authid>.worker.<wid>.<topic>` (worker-level topic) | `remote.<api>.<topic>` | `[authid, wid, *args]` |
//! | `node.<authid>.worker.<wid>.realm.<rid>.root.<suffix>` | `remote.realm.meta.<suffix with '-' → '.'>` | `[authid, wid, rid, *args]` |
//!
//! kwargs pass unchanged. As in Crossbar only the listed topics are republished (so the
//! high-volume `on_log` lines and the heartbeats are dropped after one table lookup), ids must
//! match `[a-z0-9][a-z0-9_\-]*`, and the remote API events are published with
//! `exclude_me: false`. Unlike Crossbar, an event is republished only if its disclosed publisher
//! is that node's session (`publisher_authid` = authid, `publisher_authrole` = `node`), and the
//! workers' `on_trace_data` is not republished here but by the tracing API (`trace_data.rs`),
//! only to the readers of the trace it belongs to.

use tracing::{debug, warn};
use wamp_client::{Event, MatchPolicy, PublishOptions, Session, SubscribeOptions, Subscription};
use wamp_proto::Value;

use super::remote::{Level, REALM_META_PREFIX, REMOTE_PREFIX};
use crate::error::{MasterError, Result};

/// The prefix of every node event.
pub(crate) const NODE_PREFIX: &str = crate::wire::node::PREFIX;

/// One wildcard subscription per shape that [`Source::parse`] accepts.
const NODE_EVENT_PATTERNS: [&str; 3] = [
    "crossbarfabriccenter.node..",
    "crossbarfabriccenter.node..worker..",
    "crossbarfabriccenter.node..worker..realm..root.",
];

/// The event topics Crossbar's master republishes, per remote API and level.
pub(crate) const EVENTS: &[(&str, Level, &[&str])] = &[
    (
        "node",
        Level::Node,
        &[
            "on_node_starting",
            "on_node_started",
            "on_node_heartbeat",
            "on_node_stopping",
            "on_node_stopped",
            "on_router_starting",
            "on_router_started",
            "on_container_starting",
            "on_container_started",
            "on_guest_starting",
            "on_guest_started",
            "on_proxy_starting",
            "on_proxy_started",
            "on_xbrmm_starting",
            "on_xbrmm_started",
        ],
    ),
    (
        "worker",
        Level::Worker,
        &["on_worker_log", "on_profile_started", "on_profile_finished"],
    ),
    (
        "router",
        Level::Worker,
        &[
            "on_router_realm_starting",
            "on_router_realm_started",
            "on_router_realm_stopping",
            "on_router_realm_stopped",
            "on_router_realm_role_starting",
            "on_router_realm_role_started",
            "on_router_realm_role_stopping",
            "on_router_realm_role_stopped",
            "on_router_transport_starting",
            "on_router_transport_started",
            "on_router_transport_stopping",
            "on_router_transport_stopped",
            "on_web_transport_service_starting",
            "on_web_transport_service_started",
            "on_web_transport_service_stopping",
            "on_web_transport_service_stopped",
            "on_router_component_starting",
            "on_router_component_started",
            "on_router_component_stopping",
            "on_router_component_stopped",
        ],
    ),
    (
        "container",
        Level::Worker,
        &[
            "on_container_component_starting",
            "on_container_component_started",
            "on_container_component_stopping",
            "on_container_component_stopped",
        ],
    ),
    (
        "proxy",
        Level::Worker,
        &[
            "on_proxy_transport_starting",
            "on_proxy_transport_started",
            "on_proxy_transport_stopping",
            "on_proxy_transport_stopped",
        ],
    ),
    (
        "tracing",
        Level::Worker,
        // `on_trace_data`: republished to the trace's readers by `trace_data.rs`
        &["on_trace_started", "on_trace_stopped"],
    ),
    (
        "docker",
        Level::Node,
        &[
            "on_container_create",
            "on_container_start",
            "on_container_attach",
            "on_container_commit",
            "on_container_kill",
            "on_container_die",
            "on_container_stop",
            "on_container_destroy",
            "on_container_pause",
            "on_container_unpause",
            "on_image_untag",
            "on_image_delete",
            "on_image_pull",
            "on_image_tag",
            "on_docker_image_update_started",
            "on_docker_image_update_progress",
            "on_docker_image_update_finished",
            "on_docker_image_remove_started",
            "on_docker_image_remove_progress",
            "on_docker_image_remove_finished",
        ],
    ),
];

/// A node event topic, taken apart.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Source<'a> {
    Node(&'a str, &'a str),
    Worker(&'a str, &'a str, &'a str),
    Meta(&'a str, &'a str, &'a str, &'a str),
}

impl<'a> Source<'a> {
    /// Parses `crossbarfabriccenter.node.<...>`; `None` for anything not republished.
    pub fn parse(topic: &'a str) -> Option<Source<'a>> {
        let rest = topic.strip_prefix(NODE_PREFIX)?;
        let parts: Vec<&str> = rest.split('.').collect();
        let src = match parts.as_slice() {
            [n, t] => Source::Node(n, t),
            [n, "worker", w, t] => Source::Worker(n, w, t),
            [n, "worker", w, "realm", r, "root", s] => Source::Meta(n, w, r, s),
            _ => return None,
        };
        src.ids().iter().all(|id| is_id(id)).then_some(src)
    }

    fn ids(&self) -> Vec<&'a str> {
        match *self {
            Source::Node(n, _) => vec![n],
            Source::Worker(n, w, _) => vec![n, w],
            Source::Meta(n, w, r, _) => vec![n, w, r],
        }
    }

    /// The node authid.
    pub fn node(&self) -> &'a str {
        match *self {
            Source::Node(n, _) | Source::Worker(n, ..) | Source::Meta(n, ..) => n,
        }
    }

    /// Where to republish (topic, `exclude_me: false`?), and the ids to put before the args.
    pub fn targets(&self) -> (Vec<(String, bool)>, Vec<&'a str>) {
        let ids = self.ids();
        let targets = match *self {
            Source::Node(_, t) => remote_topics(Level::Node, t),
            Source::Worker(_, _, t) => remote_topics(Level::Worker, t),
            Source::Meta(.., s) => {
                vec![(format!("{REALM_META_PREFIX}{}", s.replace('-', ".")), false)]
            }
        };
        (targets, ids)
    }
}

fn remote_topics(level: Level, topic: &str) -> Vec<(String, bool)> {
    EVENTS
        .iter()
        .filter(|(_, l, topics)| *l == level && topics.contains(&topic))
        .map(|(api, ..)| (format!("{REMOTE_PREFIX}{api}.{topic}"), true))
        .collect()
}

/// `[a-z0-9][a-z0-9_\-]*`, the id pattern of Crossbar's event forwarders.
fn is_id(s: &str) -> bool {
    let mut b = s.bytes();
    let ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    b.next().is_some_and(ok) && b.all(|c| ok(c) || c == b'_' || c == b'-')
}

/// Subscribes to every node event (before the controller reports itself started).
pub(crate) async fn subscribe(session: &Session) -> Result<Vec<Subscription>> {
    let mut subs = Vec::with_capacity(NODE_EVENT_PATTERNS.len());
    for pattern in NODE_EVENT_PATTERNS {
        let opts = SubscribeOptions::with_match(MatchPolicy::Wildcard);
        let sub = session
            .subscribe(pattern, opts)
            .await
            .map_err(|e| MasterError::Internal(format!("subscribe {pattern}: {e}")))?;
        subs.push(sub);
    }
    Ok(subs)
}

/// Republishes events until the session ends.
pub(crate) async fn run(session: Session, subs: Vec<Subscription>) {
    let mut events = futures_util::stream::select_all(subs);
    while let Some(e) = futures_util::StreamExt::next(&mut events).await {
        republish(&session, e).await;
    }
}

async fn republish(session: &Session, e: Event) {
    let Some(src) = e.topic().and_then(Source::parse) else {
        return;
    };
    let (targets, ids) = src.targets();
    if targets.is_empty() {
        return;
    }
    if !published_by_node(&e, src.node()) {
        warn!(topic = ?e.topic(), publisher = ?e.details.get("publisher_authid"), "node event not published by that node: dropped");
        return;
    }
    let mut args: Vec<Value> = ids.into_iter().map(Value::from).collect();
    args.extend(e.args);
    for (topic, include_me) in targets {
        debug!(%topic, "republishing node event");
        let opts = PublishOptions {
            exclude_me: include_me.then_some(false),
            ..Default::default()
        };
        if let Err(err) = session
            .publish(&topic, args.clone(), e.kwargs.clone(), opts)
            .await
        {
            warn!(%topic, error = %err, "cannot republish node event");
        }
    }
}

fn published_by_node(e: &Event, authid: &str) -> bool {
    let get = |k: &str| e.details.get(k).and_then(Value::as_str);
    get("publisher_authid") == Some(authid) && get("publisher_authrole") == Some("node")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_routed_like_crossbar() {
        let t = "crossbarfabriccenter.node.node1.worker.w1.on_router_realm_role_started";
        let src = Source::parse(t).expect("worker event");
        let (targets, ids) = src.targets();
        assert_eq!(ids, vec!["node1", "w1"]);
        let want = "crossbarfabriccenter.remote.router.on_router_realm_role_started";
        assert_eq!(targets, vec![(want.to_owned(), true)]);

        let src = Source::parse("crossbarfabriccenter.node.n-2.on_image_pull").expect("node");
        let want = "crossbarfabriccenter.remote.docker.on_image_pull";
        assert_eq!(src.targets().0, vec![(want.to_owned(), true)]);
    }

    #[test]
    fn meta_events_undo_the_dash_hack() {
        let t = "crossbarfabriccenter.node.n1.worker.w1.realm.r1.root.wamp-session-on_join";
        let src = Source::parse(t).expect("meta");
        let (targets, ids) = src.targets();
        assert_eq!(ids, vec!["n1", "w1", "r1"]);
        let want = "crossbarfabriccenter.remote.realm.meta.wamp.session.on_join";
        assert_eq!(targets, vec![(want.to_owned(), false)]);
    }

    #[test]
    fn unlisted_and_malformed_topics_are_dropped() {
        for t in [
            "crossbarfabriccenter.node.on_heartbeat",
            "crossbarfabriccenter.node.on_worker_heartbeat",
            "crossbarfabriccenter.node.n1.worker.w1.on_log",
            "crossbarfabriccenter.node.n1.get_status",
        ] {
            let none = Source::parse(t).is_none_or(|s| s.targets().0.is_empty());
            assert!(none, "{t}");
        }
        assert_eq!(
            Source::parse("crossbarfabriccenter.node.Node1.on_router_started"),
            None
        );
        assert_eq!(
            Source::parse("crossbarfabriccenter.node.n1.worker._w.on_x"),
            None
        );
    }

    #[test]
    fn no_topic_is_listed_twice_on_a_level() {
        let mut seen = std::collections::HashSet::new();
        for (_, level, topics) in EVENTS {
            for t in *topics {
                assert!(seen.insert((*level == Level::Node, *t)), "{t}");
            }
        }
        assert_eq!(seen.len(), 68);
    }
}
