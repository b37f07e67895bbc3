//! `mrealm routercluster …`: router clusters of a management realm, their member nodes and
//! worker groups, mapped onto `crossbarfabriccenter.mrealm.routercluster.*` as `crossbar shell`
//! does (`create/delete/start/stop/show/list routercluster`, `add/remove routercluster-node`,
//! `add/remove routercluster-workergroup`, …), plus `stat` (an mrealm addition).

use clap::{Args, Subcommand};
use wamp_client::{Dict, Value};

use crate::cli::output::{self, print_json, table};
use crate::cli::{is_uuid, kwargs, Conn, ConnArgs};
use crate::cmd::cluster::{self as c, json_dict, s, Kind, NodeFilter};
use crate::cmd::fabric::{col, show_dict, show_names};

const K: Kind = Kind::Router;

#[derive(Debug, Args)]
pub struct RouterclusterArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(subcommand)]
    pub command: RcCommand,
}

#[derive(Debug, Subcommand)]
pub enum RcCommand {
    /// List the router clusters (name, oid, status).
    #[command(
        after_help = "Examples:\n  mrealm routercluster list --realm default\n  \
        mrealm routercluster list --realm default --names --json"
    )]
    List {
        /// Only the names.
        #[arg(long)]
        names: bool,
    },
    /// Show one router cluster by name or oid.
    #[command(after_help = "Example:\n  mrealm routercluster show cl1 --realm default")]
    Show { cluster: String },
    /// Create a router cluster (status STOPPED).
    #[command(
        after_help = "Example:\n  mrealm routercluster create cl1 --realm default \
        --config '{\"description\": \"edge routers\"}'"
    )]
    Create {
        name: String,
        /// More settings, a JSON object (label, description, tags).
        #[arg(long, value_name = "JSON")]
        config: Option<String>,
    },
    /// Delete a stopped router cluster (with its memberships and worker groups).
    #[command(after_help = "Example:\n  mrealm routercluster delete cl1 --realm default")]
    Delete { cluster: String },
    /// Start a router cluster: its worker groups' router workers are deployed on their nodes.
    #[command(after_help = "Example:\n  mrealm routercluster start cl1 --realm default")]
    Start { cluster: String },
    /// Stop a router cluster: its router workers are torn down, then it is STOPPED.
    #[command(after_help = "Example:\n  mrealm routercluster stop cl1 --realm default")]
    Stop { cluster: String },
    /// Status of a router cluster: its nodes and every router worker (status, since, last error).
    #[command(after_help = "Example:\n  mrealm routercluster stat cl1 --realm default")]
    Stat { cluster: String },
    /// Add nodes (names or oids, comma lists, or `all`) to a router cluster.
    #[command(
        after_help = "Examples:\n  mrealm routercluster add-node cl1 node1,node2 --realm default\n  \
        mrealm routercluster add-node cl1 all --realm default --config '{\"softlimit\": 4}'"
    )]
    AddNode {
        cluster: String,
        #[arg(required = true, value_name = "NODE")]
        nodes: Vec<String>,
        /// Membership settings, a JSON object (softlimit, hardlimit).
        #[arg(long, value_name = "JSON")]
        config: Option<String>,
    },
    /// Remove nodes from a router cluster.
    #[command(
        after_help = "Example:\n  mrealm routercluster remove-node cl1 node2 --realm default"
    )]
    RemoveNode {
        cluster: String,
        #[arg(required = true, value_name = "NODE")]
        nodes: Vec<String>,
    },
    /// List the member nodes of a router cluster.
    #[command(
        after_help = "Example:\n  mrealm routercluster list-nodes cl1 --realm default --online"
    )]
    ListNodes {
        cluster: String,
        /// Only the node names.
        #[arg(long)]
        names: bool,
        /// Only nodes connected now.
        #[arg(long, conflicts_with = "offline")]
        online: bool,
        /// Only nodes not connected now.
        #[arg(long)]
        offline: bool,
    },
    /// Add a worker group (SCALE router workers, one per node on the least-loaded members).
    #[command(
        after_help = "Example:\n  mrealm routercluster add-workergroup cl1 wg1 --scale 2 \
        --realm default"
    )]
    AddWorkergroup {
        cluster: String,
        name: String,
        /// Number of router workers.
        #[arg(long, value_name = "N")]
        scale: Option<u64>,
        /// More settings, a JSON object (label, description, tags, scale).
        #[arg(long, value_name = "JSON")]
        config: Option<String>,
    },
    /// Remove a worker group (by name or oid) from a router cluster.
    #[command(
        after_help = "Example:\n  mrealm routercluster remove-workergroup cl1 wg1 \
        --realm default"
    )]
    RemoveWorkergroup {
        cluster: String,
        workergroup: String,
    },
    /// List the worker groups of a router cluster (name, scale, status, placements).
    #[command(
        after_help = "Example:\n  mrealm routercluster list-workergroups cl1 --realm default"
    )]
    ListWorkergroups {
        cluster: String,
        /// Only the names.
        #[arg(long)]
        names: bool,
    },
    /// Show a worker group and where its router workers are placed.
    #[command(
        after_help = "Example:\n  mrealm routercluster show-workergroup cl1 wg1 --realm default"
    )]
    ShowWorkergroup {
        cluster: String,
        workergroup: String,
    },
    /// Status of a worker group's router workers.
    #[command(
        after_help = "Example:\n  mrealm routercluster stat-workergroup cl1 wg1 --realm default"
    )]
    StatWorkergroup {
        cluster: String,
        workergroup: String,
    },
}

/// Connects to the management realm, runs one router cluster command, and leaves.
pub async fn run(args: RouterclusterArgs) -> anyhow::Result<()> {
    let realm = c::need_realm(&args.conn, K)?;
    let json = args.conn.json;
    let conn = Conn::open(&args.conn, Some(realm)).await?;
    let r = dispatch(&conn, args.command, json).await;
    conn.close().await;
    r
}

async fn dispatch(conn: &Conn, command: RcCommand, json: bool) -> anyhow::Result<()> {
    let show = |v: Value| show_dict(&v, json);
    match command {
        RcCommand::List { names } => c::list(conn, K, names, json).await,
        RcCommand::Show { cluster } => c::show(conn, K, &cluster, json).await,
        RcCommand::Create { name, config } => {
            create(conn, &name, config.as_deref()).await.map(show)
        }
        RcCommand::Delete { cluster } => c::lifecycle(conn, K, "delete", &cluster).await.map(show),
        RcCommand::Start { cluster } => c::lifecycle(conn, K, "start", &cluster).await.map(show),
        RcCommand::Stop { cluster } => c::lifecycle(conn, K, "stop", &cluster).await.map(show),
        RcCommand::Stat { cluster } => c::stat(conn, K, &cluster, json).await,
        RcCommand::AddNode {
            cluster,
            nodes,
            config,
        } => {
            let config = c::dict_or_null(json_dict("--config", config.as_deref())?);
            let v = c::add_nodes(conn, K, &cluster, &nodes, config).await?;
            c::show_members(conn, K, &v, json).await;
            Ok(())
        }
        RcCommand::RemoveNode { cluster, nodes } => {
            let v = c::remove_nodes(conn, K, &cluster, &nodes).await?;
            c::show_members(conn, K, &v, json).await;
            Ok(())
        }
        RcCommand::ListNodes {
            cluster,
            names,
            online,
            offline,
        } => {
            let filter = NodeFilter {
                names,
                status: status_filter(online, offline),
            };
            c::list_nodes(conn, K, &cluster, filter, json).await
        }
        other => dispatch_groups(conn, other, json).await,
    }
}

async fn dispatch_groups(conn: &Conn, command: RcCommand, json: bool) -> anyhow::Result<()> {
    match command {
        RcCommand::AddWorkergroup {
            cluster,
            name,
            scale,
            config,
        } => {
            let v = add_group(conn, &cluster, &name, scale, config.as_deref()).await?;
            show_group(conn, &v, json).await;
            Ok(())
        }
        RcCommand::RemoveWorkergroup {
            cluster,
            workergroup,
        } => {
            let v = remove_group(conn, &cluster, &workergroup).await?;
            show_dict(&v, json);
            Ok(())
        }
        RcCommand::ListWorkergroups { cluster, names } => {
            list_groups(conn, &cluster, names, json).await
        }
        RcCommand::ShowWorkergroup {
            cluster,
            workergroup,
        } => {
            let v = get_group(conn, &cluster, &workergroup).await?;
            show_group(conn, &v, json).await;
            Ok(())
        }
        RcCommand::StatWorkergroup {
            cluster,
            workergroup,
        } => stat_group(conn, &cluster, &workergroup, json).await,
        other => anyhow::bail!("internal: {other:?} is not a worker group command"),
    }
}

/// `--online` / `--offline` as `filter_by_status`.
pub fn status_filter(online: bool, offline: bool) -> Option<&'static str> {
    match (online, offline) {
        (true, _) => Some("online"),
        (_, true) => Some("offline"),
        _ => None,
    }
}

/// `create_routercluster({…config, "name": name})`.
async fn create(conn: &Conn, name: &str, config: Option<&str>) -> anyhow::Result<Value> {
    let mut obj = json_dict("--config", config)?;
    obj.insert("name".into(), s(name));
    let what = format!("create router cluster \"{name}\"");
    K.call(conn, &what, "create_*", vec![Value::Dict(obj)])
        .await
}

/// The worker group object the shell sends: `{…config, scale, "name", "cluster_oid"}`.
pub fn group_object(
    cluster_oid: &str,
    name: &str,
    scale: Option<u64>,
    config: Option<&str>,
) -> anyhow::Result<Dict> {
    let mut obj = json_dict("--config", config)?;
    if let Some(n) = scale {
        obj.insert("scale".into(), Value::from(n));
    }
    obj.insert("name".into(), s(name));
    obj.insert("cluster_oid".into(), s(cluster_oid));
    Ok(obj)
}

async fn add_group(
    conn: &Conn,
    cluster: &str,
    name: &str,
    scale: Option<u64>,
    config: Option<&str>,
) -> anyhow::Result<Value> {
    let oid = c::oid(conn, K, cluster).await?;
    let obj = group_object(&oid, name, scale, config)?;
    let what = format!("add worker group \"{name}\" to router cluster \"{cluster}\"");
    let args = vec![s(&oid), Value::Dict(obj)];
    K.call(conn, &what, "add_*_workergroup", args).await
}

/// A worker group by oid (UUID-shaped) or by name within the cluster.
async fn get_group(conn: &Conn, cluster: &str, wg: &str) -> anyhow::Result<Value> {
    let what = format!("show worker group \"{wg}\" of router cluster \"{cluster}\"");
    let rc = c::resolve(conn, K, cluster).await?;
    if is_uuid(wg) {
        let args = vec![s(&rc.oid), s(wg)];
        return K.call(conn, &what, "get_*_workergroup", args).await;
    }
    let args = vec![s(&rc.name), s(wg)];
    K.call(conn, &what, "get_*_workergroup_by_name", args).await
}

/// The cluster's oid and the group's oid.
async fn group_oids(conn: &Conn, cluster: &str, wg: &str) -> anyhow::Result<(String, String)> {
    let group = get_group(conn, cluster, wg).await?;
    let rc_oid = c::text(&group, "cluster_oid", wg)?;
    Ok((rc_oid, c::text(&group, "oid", wg)?))
}

async fn remove_group(conn: &Conn, cluster: &str, wg: &str) -> anyhow::Result<Value> {
    let (rc_oid, wg_oid) = group_oids(conn, cluster, wg).await?;
    let what = format!("remove worker group \"{wg}\" from router cluster \"{cluster}\"");
    let args = vec![s(&rc_oid), s(&wg_oid)];
    K.call(conn, &what, "remove_*_workergroup", args).await
}

async fn stat_group(conn: &Conn, cluster: &str, wg: &str, json: bool) -> anyhow::Result<()> {
    let (rc_oid, wg_oid) = group_oids(conn, cluster, wg).await?;
    let what = format!("get the status of worker group \"{wg}\"");
    let args = vec![s(&rc_oid), s(&wg_oid)];
    let v = K.call(conn, &what, "stat_*_workergroup", args).await?;
    if json {
        print_json(&v);
        return Ok(());
    }
    let headers = ["WORKER", "GROUP", "NODE", "STATUS", "SINCE", "LAST ERROR"];
    let rows = c::worker_rows(&v);
    print!("{}", table(&headers, &rows, output::colour()));
    Ok(())
}

async fn list_groups(conn: &Conn, cluster: &str, names: bool, json: bool) -> anyhow::Result<()> {
    let oid = c::oid(conn, K, cluster).await?;
    let what = format!("list the worker groups of router cluster \"{cluster}\"");
    let kw = kwargs([("return_names", Value::Bool(names))]);
    let v = K
        .call_kw(conn, &what, "list_*_workergroups", vec![s(&oid)], kw)
        .await?;
    if names {
        show_names(&v, "WORKER GROUP", json);
        return Ok(());
    }
    let mut groups = Vec::new();
    for g in v.as_list().into_iter().flatten() {
        let args = vec![s(&oid), g.clone()];
        groups.push(K.call(conn, &what, "get_*_workergroup", args).await?);
    }
    if json {
        print_json(&Value::List(groups));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = groups.iter().map(group_row).collect();
    let headers = ["NAME", "OID", "SCALE", "STATUS", "WORKERS"];
    print!("{}", table(&headers, &rows, output::colour()));
    Ok(())
}

fn group_row(g: &Value) -> Vec<String> {
    let workers: Vec<String> = c::list_of(g, "placements")
        .map(|p| col(p, "worker_name"))
        .collect();
    let mut row = ["name", "oid", "scale", "status"]
        .map(|k| col(g, k))
        .to_vec();
    row.push(if workers.is_empty() {
        "-".into()
    } else {
        workers.join(",")
    });
    row
}

/// A worker group as KEY/VALUE, then its placements (worker, node name, status), or its JSON.
async fn show_group(conn: &Conn, v: &Value, json: bool) {
    if json {
        print_json(v);
        return;
    }
    let mut plain = v.as_dict().cloned().unwrap_or_default();
    let placements = plain.remove("placements");
    show_dict(&Value::Dict(plain), false);
    let Some(placements) = placements else {
        return;
    };
    let mut rows = Vec::new();
    for p in placements.as_list().into_iter().flatten() {
        let node = col(p, "node_oid");
        let name = c::node_name(conn, &node).await;
        rows.push(vec![col(p, "worker_name"), name, node, col(p, "status")]);
    }
    println!();
    let headers = ["WORKER", "NODE", "NODE OID", "STATUS"];
    print!("{}", table(&headers, &rows, output::colour()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        args: RouterclusterArgs,
    }

    fn parse(argv: &[&str]) -> RcCommand {
        let argv = std::iter::once("routercluster").chain(argv.iter().copied());
        T::try_parse_from(argv).expect("parses").args.command
    }

    #[test]
    fn commands_parse() {
        let c = parse(&["add-node", "cl1", "node1,node2", "node3", "--config", "{}"]);
        let RcCommand::AddNode { nodes, config, .. } = c else {
            panic!("{c:?}")
        };
        assert_eq!(c::split_list(&nodes), ["node1", "node2", "node3"]);
        assert_eq!(config.as_deref(), Some("{}"));
        let c = parse(&[
            "add-workergroup",
            "cl1",
            "wg1",
            "--scale",
            "2",
            "--realm",
            "r",
        ]);
        assert!(matches!(
            c,
            RcCommand::AddWorkergroup { scale: Some(2), .. }
        ));
        let c = parse(&["list-nodes", "cl1", "--online", "--names"]);
        assert!(matches!(
            c,
            RcCommand::ListNodes {
                online: true,
                names: true,
                ..
            }
        ));
        let argv = ["routercluster", "list-nodes", "c", "--online", "--offline"];
        assert!(T::try_parse_from(argv).is_err());
        assert!(T::try_parse_from(["routercluster", "add-node", "cl1"]).is_err());
    }

    #[test]
    fn worker_group_objects() {
        let o = group_object(
            "oid1",
            "wg1",
            Some(2),
            Some(r#"{"scale": 1, "label": "x"}"#),
        )
        .expect("object");
        assert_eq!(o.get("scale"), Some(&Value::from(2u64)));
        assert_eq!(o.get("name"), Some(&s("wg1")));
        assert_eq!(o.get("cluster_oid"), Some(&s("oid1")));
        assert_eq!(o.get("label"), Some(&s("x")));
        assert_eq!(status_filter(false, true), Some("offline"));
        assert_eq!(status_filter(false, false), None);
    }

    #[test]
    fn worker_group_rows_name_their_workers() {
        let g = Value::from(serde_json::json!({"name": "wg1", "oid": "o", "scale": 2,
            "status": "RUNNING", "placements": [{"worker_name": "wg1_1"}, {"worker_name": "wg1_2"}]}));
        assert_eq!(group_row(&g), ["wg1", "o", "2", "RUNNING", "wg1_1,wg1_2"]);
    }
}
