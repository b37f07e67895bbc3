//! The procedures a Crossbar.io edge node registers on its uplink (WIRE.md §3 item 1): 52 on
//! the node controller and 58 per router worker, under `crossbarfabriccenter.node.<authid>.`.
//! Names taken from Crossbar 26.10.1's `FabricNodeControllerSession` and `ExtRouterController`.

/// Node-level procedures (`crossbarfabriccenter.node.<authid>.<name>`).
pub const NODE: [&str; 52] = [
    "backlog_docker_container",
    "create_docker_container",
    "delete_docker_image",
    "destroy_docker_container",
    "fs_docker_get",
    "fs_docker_open",
    "fs_docker_put",
    "get_cpu_affinity",
    "get_cpu_count",
    "get_cpus",
    "get_docker_container",
    "get_docker_containers",
    "get_docker_df",
    "get_docker_image",
    "get_docker_images",
    "get_docker_info",
    "get_docker_ping",
    "get_docker_version",
    "get_manhole",
    "get_process_info",
    "get_process_monitor",
    "get_process_stats",
    "get_public_key",
    "get_status",
    "get_system_stats",
    "get_worker",
    "get_worker_log",
    "get_workers",
    "keystroke_docker_container",
    "pause_docker_container",
    "prune_docker_images",
    "remove_docker_image",
    "request_docker_tty",
    "restart_docker_container",
    "set_cpu_affinity",
    "set_process_stats_monitoring",
    "shell_docker_container",
    "shutdown",
    "sign",
    "sign_challenge",
    "start_docker_container",
    "start_manhole",
    "start_worker",
    "started",
    "stop_docker_container",
    "stop_manhole",
    "stop_worker",
    "trigger_gc",
    "unpause_docker_container",
    "uptime",
    "utcnow",
    "watch_docker_container",
];

/// Router-worker procedures (`crossbarfabriccenter.node.<authid>.worker.<wid>.<name>`).
pub const WORKER: [&str; 58] = [
    "add_pythonpath",
    "get_cpu_affinity",
    "get_cpu_count",
    "get_cpus",
    "get_manhole",
    "get_node_id",
    "get_process_info",
    "get_process_monitor",
    "get_process_stats",
    "get_profile",
    "get_profilers",
    "get_pythonpath",
    "get_router_component",
    "get_router_components",
    "get_router_realm",
    "get_router_realm_by_name",
    "get_router_realm_interface",
    "get_router_realm_link",
    "get_router_realm_links",
    "get_router_realm_role",
    "get_router_realm_roles",
    "get_router_realm_stats",
    "get_router_realms",
    "get_router_transport",
    "get_router_transports",
    "get_trace",
    "get_trace_data",
    "get_traces",
    "get_web_transport_service",
    "get_web_transport_services",
    "kill_by_authid",
    "set_cpu_affinity",
    "set_node_id",
    "set_process_stats_monitoring",
    "shutdown",
    "start_manhole",
    "start_profiler",
    "start_router_component",
    "start_router_realm",
    "start_router_realm_interface",
    "start_router_realm_link",
    "start_router_realm_role",
    "start_router_transport",
    "start_trace",
    "start_web_transport_service",
    "started",
    "stop_manhole",
    "stop_router_component",
    "stop_router_realm",
    "stop_router_realm_interface",
    "stop_router_realm_link",
    "stop_router_realm_role",
    "stop_router_transport",
    "stop_trace",
    "stop_web_transport_service",
    "trigger_gc",
    "uptime",
    "utcnow",
];

/// Which registered procedure an index (0..52 + 58 * workers) stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proc {
    /// A node-level procedure (by name).
    Node(&'static str),
    /// A worker procedure: worker number (0-based, `router<n+1>`) and name.
    Worker(usize, &'static str),
}

/// How many procedures a node with `workers` router workers registers.
pub fn count(workers: usize) -> usize {
    NODE.len() + WORKER.len() * workers
}

/// The procedure at registration index `i`, if any.
pub fn at(i: usize, workers: usize) -> Option<Proc> {
    if let Some(name) = NODE.get(i) {
        return Some(Proc::Node(name));
    }
    let j = i - NODE.len();
    let w = j / WORKER.len();
    (w < workers).then(|| Proc::Worker(w, WORKER[j % WORKER.len()]))
}

/// The id of router worker `w` (0-based): `router1`, `router2`, ...
pub fn worker_id(w: usize) -> String {
    format!("router{}", w + 1)
}

/// The router worker number of a worker id (`router3` → 2).
pub fn worker_index(id: &str, workers: usize) -> Option<usize> {
    let n: usize = id.strip_prefix("router")?.parse().ok()?;
    (1..=workers).contains(&n).then(|| n - 1)
}

/// The full URI of procedure `p` on node `authid`.
pub fn uri(authid: &str, p: Proc) -> String {
    match p {
        Proc::Node(name) => format!("crossbarfabriccenter.node.{authid}.{name}"),
        Proc::Worker(w, name) => {
            format!(
                "crossbarfabriccenter.node.{authid}.worker.router{}.{name}",
                w + 1
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_cover_node_then_workers() {
        assert_eq!(count(1), 110);
        assert_eq!(at(0, 1), Some(Proc::Node("backlog_docker_container")));
        assert_eq!(at(52, 2), Some(Proc::Worker(0, "add_pythonpath")));
        assert_eq!(at(110, 2), Some(Proc::Worker(1, "add_pythonpath")));
        assert_eq!(at(110, 1), None);
        assert_eq!(
            uri("n1", Proc::Worker(1, "get_traces")),
            "crossbarfabriccenter.node.n1.worker.router2.get_traces"
        );
        assert_eq!(worker_index("router2", 2), Some(1));
        assert_eq!(worker_index("router3", 2), None);
        assert_eq!(worker_index("controller", 2), None);
    }

    #[test]
    fn names_are_unique() {
        let mut n = NODE.to_vec();
        n.sort_unstable();
        n.dedup();
        assert_eq!(n.len(), 52);
        let mut w = WORKER.to_vec();
        w.sort_unstable();
        w.dedup();
        assert_eq!(w.len(), 58);
    }
}
