//! The remote API of a management realm: `crossbarfabriccenter.remote.<api>.<proc>` forwarders
//! that reach a node's (or one of its workers') procedures over the node's uplink, and the
//! prefix registration `crossbarfabriccenter.remote.realm.meta.` for a router realm's WAMP meta
//! API (WIRE.md §4). Event republishing lives in [`super::remote_events`].
//!
//! | call | forwarded to |
//! |---|---|
//! | `remote.<api>.<proc>(node_oid, *args, **kw)` (node level) | `node.<authid>.<target>(*args, **kw)` |
//! | `remote.<api>.<proc>(node_oid, worker_id, *args, **kw)` (worker level) | `node.<authid>.worker.<worker_id>.<target>(*args, **kw)` |
//! | `remote.realm.meta.<p>(node, worker_id, realm_id, *args, **kw)` | `node.<node>.worker.<worker_id>.realm.<realm_id>.root.<p>(*args, **kw)` |
//!
//! Results and callee errors pass through unchanged. Errors raised here (Crossbar answers some
//! of them with `runtime_error` or a `node.None.` URI): a malformed oid, a non-string or
//! ill-formed worker id → `wamp.error.invalid_argument`; an oid that is not a node of this
//! management realm → `crossbar.error.no_such_object`; a node that is not connected →
//! `wamp.error.no_such_procedure` (the router's answer, as Crossbar gives it) whose message
//! names the node and the real URI; no answer within [`FORWARD_TIMEOUT`] →
//! `wamp.error.timeout` (the node call is canceled).

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use uuid::Uuid;
use wamp_client::{CallOptions, Error as ClientError, Invocation, RegisterOptions, Session};
use wamp_client::{MatchPolicy, WampError};
use wamp_proto::{wamp_errors as err, Dict, Value};

use super::ctx::Ctx;
use crate::args::parse_uuid;
use crate::error::{MasterError, Result};
use crate::wire;

/// How long a forwarded call may take before the caller gets `wamp.error.timeout`.
pub(crate) const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);

/// The prefix of the remote API.
pub(crate) const REMOTE_PREFIX: &str = wire::remote::PREFIX;

/// The prefix registration forwarding to a router realm's WAMP meta API.
pub(crate) const REALM_META_PREFIX: &str = wire::remote::REALM_META_PREFIX;

/// Whether a remote procedure addresses a node or one of its workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Node,
    Worker,
}

/// One remote API: its name, level and procedures (`"local"` or `"local=target"` when the
/// node-side name differs).
pub(crate) struct Api {
    pub name: &'static str,
    pub level: Level,
    pub procs: &'static [&'static str],
}

/// Every remote API procedure, as Crossbar's master defines them (107 in all).
pub(crate) const APIS: &[Api] = &[
    Api {
        name: "node",
        level: Level::Node,
        procs: &[
            "get_cpu_count",
            "get_cpu_affinity",
            "set_cpu_affinity",
            "get_process_info",
            "get_process_stats",
            "set_process_stats_monitoring",
            "trigger_gc",
            "start_manhole",
            "stop_manhole",
            "get_manhole",
            "get_status",
            "get_system_stats",
            "shutdown",
            "get_worker_log",
            "get_workers",
            "get_worker",
            "start_worker",
            "stop_worker",
        ],
    },
    Api {
        name: "worker",
        level: Level::Worker,
        procs: &[
            "shutdown",
            "get_status",
            "get_pythonpath",
            "add_pythonpath",
            "get_cpu_affinity",
            "set_cpu_affinity",
            "get_profilers",
            "start_profiler",
            "get_profile",
            "get_process_info",
            "get_process_stats",
            "set_process_stats_monitoring",
        ],
    },
    Api {
        name: "router",
        level: Level::Worker,
        procs: &[
            "get_router_realms",
            "get_router_realm",
            "get_router_realm_stats",
            "get_router_realm_by_name",
            "start_router_realm",
            "stop_router_realm",
            "get_router_realm_roles",
            "get_router_realm_role",
            "start_router_realm_role",
            "stop_router_realm_role",
            "get_router_transports",
            "get_router_transport",
            "start_router_transport",
            "stop_router_transport",
            "get_web_transport_services",
            "get_web_transport_service",
            "start_web_transport_service",
            "stop_web_transport_service",
            "get_router_components",
            "get_router_component",
            "start_router_component",
            "stop_router_component",
            "get_router_realm_links",
            "get_router_realm_link",
            "start_router_realm_link",
            "stop_router_realm_link",
        ],
    },
    Api {
        name: "container",
        level: Level::Worker,
        procs: &[
            "get_components",
            "get_component",
            "start_component",
            "stop_component",
        ],
    },
    Api {
        name: "proxy",
        level: Level::Worker,
        procs: &[
            "get_proxy_transports",
            "get_proxy_transport",
            "start_proxy_transport",
            "stop_proxy_transport",
            "get_web_transport_services",
            "get_web_transport_service",
            "start_web_transport_service",
            "stop_web_transport_service",
            "get_proxy_routes",
            "get_proxy_realm_route",
            "list_proxy_realm_routes",
            "start_proxy_realm_route",
            "stop_proxy_realm_route",
            "get_proxy_connections",
            "get_proxy_connection",
            "start_proxy_connection",
            "stop_proxy_connection",
        ],
    },
    Api {
        name: "tracing",
        level: Level::Worker,
        procs: &[
            "get_traces",
            "get_trace",
            "start_trace",
            "stop_trace",
            "get_trace_data",
        ],
    },
    Api {
        name: "docker",
        level: Level::Node,
        procs: &[
            "get_info=get_docker_info",
            "get_ping=get_docker_ping",
            "get_version=get_docker_version",
            "get_df=get_docker_df",
            "get_containers=get_docker_containers",
            "get_container=get_docker_container",
            "get_images=get_docker_images",
            "get_image=get_docker_image",
            "fs_open=fs_docker_open",
            "fs_get=fs_docker_get",
            "fs_put=fs_docker_put",
            "create=create_docker_container",
            "start=start_docker_container",
            "stop=stop_docker_container",
            "restart=restart_docker_container",
            "pause=pause_docker_container",
            "unpause=unpause_docker_container",
            "destroy=destroy_docker_container",
            "delete_image=delete_docker_image",
            "prune_images=prune_docker_images",
            "request_tty=request_docker_tty",
            "watch=watch_docker_container",
            "shell=shell_docker_container",
            "backlog=backlog_docker_container",
            "keystroke=keystroke_docker_container",
        ],
    },
];

/// One forwarder: the URI it registers, the node-side procedure name and its level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Forward {
    pub uri: String,
    pub target: &'static str,
    pub level: Level,
}

/// Every exact forwarder of [`APIS`].
pub(crate) fn forwards() -> Vec<Forward> {
    APIS.iter()
        .flat_map(|api| {
            api.procs.iter().map(move |p| {
                let (local, target) = p.split_once('=').unwrap_or((p, p));
                Forward {
                    uri: format!("{REMOTE_PREFIX}{}.{local}", api.name),
                    target,
                    level: api.level,
                }
            })
        })
        .collect()
}

/// What the forwarders need.
pub(crate) struct Remote {
    pub ctx: Arc<Ctx>,
    pub timeout: Duration,
}

/// Registers the remote API on the controller session, subscribes to the node events on the
/// ingest session and returns the task republishing them.
pub(crate) async fn start(ctx: &Arc<Ctx>, ingest: &Session) -> Result<JoinHandle<()>> {
    let remote = Arc::new(Remote {
        ctx: ctx.clone(),
        timeout: FORWARD_TIMEOUT,
    });
    let n = register_all(&remote).await?;
    let sub = super::remote_events::subscribe(ingest).await?;
    tracing::debug!(mrealm = %ctx.mrealm.name, registrations = n, "remote API registered");
    Ok(tokio::spawn(super::remote_events::run(ingest.clone(), sub)))
}

/// Registers every forwarder and the realm meta prefix on the controller session.
pub(crate) async fn register_all(remote: &Arc<Remote>) -> Result<usize> {
    let all = forwards();
    for f in &all {
        let (r, f2) = (remote.clone(), f.clone());
        let handler = move |inv: Invocation| {
            let (r, f) = (r.clone(), f2.clone());
            async move { r.forward(&f, inv).await }
        };
        register(
            &remote.ctx.session,
            &f.uri,
            RegisterOptions::default(),
            handler,
        )
        .await?;
    }
    let r = remote.clone();
    let opts = RegisterOptions::with_match(MatchPolicy::Prefix);
    register(&remote.ctx.session, REALM_META_PREFIX, opts, move |inv| {
        let r = r.clone();
        async move { r.forward_meta(inv).await }
    })
    .await?;
    Ok(all.len() + 1)
}

async fn register<F, Fut>(s: &Session, uri: &str, opts: RegisterOptions, h: F) -> Result<()>
where
    F: Fn(Invocation) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = std::result::Result<(Vec<Value>, Dict), WampError>>
        + Send
        + 'static,
{
    s.register(uri, opts, h)
        .await
        .map_err(|e| MasterError::Internal(format!("register {uri}: {e}")))?;
    Ok(())
}

type Reply = std::result::Result<(Vec<Value>, Dict), WampError>;

impl Remote {
    /// A node- or worker-level forwarder.
    async fn forward(&self, f: &Forward, inv: Invocation) -> Reply {
        let mut args = inv.args.into_iter();
        let mut kwargs = inv.kwargs;
        let oid_arg = take_arg(&mut args, &mut kwargs, "node_oid")?;
        let (oid, authid) = self.node_by_oid(&oid_arg)?;
        let uri = match f.level {
            Level::Node => wire::node::uri(&authid, f.target),
            Level::Worker => {
                let wid = take_arg(&mut args, &mut kwargs, "worker_id")?;
                wire::node::worker_uri(&authid, component(&wid, "worker_id")?, f.target)
            }
        };
        self.call(&uri, args.collect(), kwargs, Some((oid, &authid)))
            .await
    }

    /// The `remote.realm.meta.` prefix forwarder; the node is given by oid or by authid.
    async fn forward_meta(&self, inv: Invocation) -> Reply {
        let proc = inv
            .procedure()
            .and_then(|p| p.strip_prefix(REALM_META_PREFIX))
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| invalid("missing the WAMP meta procedure after the prefix"))?;
        let mut args = inv.args.into_iter();
        let mut kwargs = inv.kwargs;
        let node = take_arg(&mut args, &mut kwargs, "node_id")?;
        let wid = take_arg(&mut args, &mut kwargs, "worker_id")?;
        let rid = take_arg(&mut args, &mut kwargs, "realm_id")?;
        let node_str = component(&node, "node_id")?;
        // an oid of a node here, else the authid verbatim (an authid may look like a UUID)
        let (oid, authid) = match self.node_by_oid(&node) {
            Ok((oid, authid)) => (Some(oid), authid),
            Err(_) => (None, node_str.to_owned()),
        };
        let uri = wire::node::realm_meta_uri(
            &authid,
            component(&wid, "worker_id")?,
            component(&rid, "realm_id")?,
            &proc,
        );
        let node = oid.map(|o| (o, authid.as_str()));
        self.call(&uri, args.collect(), kwargs, node).await
    }

    /// The oid argument → (oid, authid) of a node paired in this management realm.
    fn node_by_oid(&self, v: &Value) -> std::result::Result<(Uuid, String), WampError> {
        let s = v.as_str().ok_or_else(|| {
            invalid(&format!(
                "'node_oid' expected type=str got={}",
                v.type_name()
            ))
        })?;
        let oid = parse_uuid(s, "node_oid")?;
        let node = self.ctx.store.get_node(oid).map_err(MasterError::from)?;
        let authid = node
            .filter(|n| n.mrealm_oid == Some(self.ctx.mrealm.oid))
            .and_then(|n| n.authid);
        let authid = authid.ok_or_else(|| {
            MasterError::NoSuchObject(format!(
                "no node with oid {oid} in management realm {}",
                self.ctx.mrealm.name
            ))
        })?;
        Ok((oid, authid))
    }

    /// Calls the node-side URI, passing results and errors through.
    async fn call(
        &self,
        uri: &str,
        args: Vec<Value>,
        kwargs: Dict,
        node: Option<(Uuid, &str)>,
    ) -> Reply {
        let opts = CallOptions::timeout(self.timeout);
        match self.ctx.session.call(uri, args, kwargs, opts).await {
            Ok(r) => Ok((r.args, r.kwargs)),
            Err(ClientError::Wamp {
                uri: e,
                args,
                kwargs,
            }) => {
                let offline = node.filter(|(oid, _)| !self.ctx.nodes.is_online(oid));
                if let (true, Some((oid, authid))) = (e == err::NO_SUCH_PROCEDURE, offline) {
                    return Err(WampError::with_message(
                        e,
                        format!(
                            "node \"{authid}\" (oid {oid}) is not connected to management realm {}: no callee registered for procedure <{uri}>",
                            self.ctx.mrealm.name
                        ),
                    ));
                }
                Err(WampError::new(e).args(args).kwargs(kwargs))
            }
            Err(ClientError::Timeout(_)) => Err(WampError::with_message(
                "wamp.error.timeout",
                format!(
                    "no answer to <{uri}> within {} s (the call was canceled)",
                    self.timeout.as_secs_f64()
                ),
            )),
            Err(e) => Err(WampError::with_message(
                err::RUNTIME_ERROR,
                format!("cannot forward to <{uri}>: {e}"),
            )),
        }
    }
}

fn invalid(msg: &str) -> WampError {
    MasterError::InvalidArgument(msg.to_owned()).into()
}

/// Takes the next positional argument, or else the keyword argument `name`.
fn take_arg(
    args: &mut impl Iterator<Item = Value>,
    kwargs: &mut Dict,
    name: &str,
) -> std::result::Result<Value, WampError> {
    args.next()
        .or_else(|| kwargs.remove(name))
        .ok_or_else(|| invalid(&format!("missing required argument '{name}'")))
}

/// A string usable as one URI component (a worker, realm or node id).
fn component<'a>(v: &'a Value, name: &str) -> std::result::Result<&'a str, WampError> {
    let s = v
        .as_str()
        .ok_or_else(|| invalid(&format!("'{name}' expected type=str got={}", v.type_name())))?;
    let bad = |c: char| c == '.' || c == '#' || c.is_whitespace();
    if s.is_empty() || s.contains(bad) {
        return Err(invalid(&format!(
            "invalid {name} \"{s}\": must be a non-empty URI component (no '.', '#' or whitespace)"
        )));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_crossbars_counts() {
        let count = |api: &str| {
            let prefix = format!("{REMOTE_PREFIX}{api}.");
            forwards()
                .iter()
                .filter(|f| f.uri.starts_with(&prefix))
                .count()
        };
        let want = [
            ("node", 18),
            ("worker", 12),
            ("router", 26),
            ("container", 4),
            ("proxy", 17),
            ("tracing", 5),
            ("docker", 25),
        ];
        for (api, n) in want {
            assert_eq!(count(api), n, "{api}");
        }
        assert_eq!(forwards().len(), 107);
        let mut uris: Vec<String> = forwards().into_iter().map(|f| f.uri).collect();
        uris.sort();
        uris.dedup();
        assert_eq!(uris.len(), 107, "duplicate URIs");
    }

    #[test]
    fn docker_targets_are_renamed() {
        let f = forwards();
        let get = |uri: &str| f.iter().find(|f| f.uri == uri).cloned();
        let info = get("crossbarfabriccenter.remote.docker.get_info").expect("get_info");
        assert_eq!(info.target, "get_docker_info");
        assert_eq!(info.level, Level::Node);
        let realms = get("crossbarfabriccenter.remote.router.get_router_realms").expect("realms");
        assert_eq!(realms.target, "get_router_realms");
        assert_eq!(realms.level, Level::Worker);
    }

    #[test]
    fn components_are_checked() {
        assert!(component(&Value::from("w1"), "worker_id").is_ok());
        for bad in ["", "a.b", "a b", "#"] {
            let e = component(&Value::from(bad), "worker_id").expect_err(bad);
            assert_eq!(e.uri, err::INVALID_ARGUMENT);
        }
        let e = component(&Value::from(3u64), "worker_id").expect_err("int");
        assert_eq!(e.uri, err::INVALID_ARGUMENT);
    }
}
