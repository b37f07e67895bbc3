//! `mrealm webcluster …`: web clusters of a management realm, their member nodes and web
//! services, mapped onto `crossbarfabriccenter.mrealm.webcluster.*` as `crossbar shell` does
//! (`create/delete/start/stop/show/list webcluster`, `add/remove webcluster-node`,
//! `add/remove webcluster-service`, …), plus `stat` (an mrealm addition).

use clap::{Args, Subcommand};
use wamp_client::{Dict, Value};

use crate::cli::output::{self, cell, print_json, table};
use crate::cli::{is_uuid, Conn, ConnArgs};
use crate::cmd::call::parse_arg;
use crate::cmd::cluster::{self as c, json_dict, s, Kind, NodeFilter};
use crate::cmd::cluster_rc::status_filter;
use crate::cmd::fabric::{col, show_dict};

const K: Kind = Kind::Web;

#[derive(Debug, Args)]
pub struct WebclusterArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(subcommand)]
    pub command: WcCommand,
}

/// The listening settings of `create` (flags win over `--config`).
#[derive(Debug, Default, Args)]
pub struct Listen {
    /// TCP port every member node serves on (`tcp_port`).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Share the port between processes (`tcp_shared`; needed for several nodes on one host).
    #[arg(long)]
    pub shared: bool,
    /// Interface to listen on (`tcp_interface`).
    #[arg(long, value_name = "ADDRESS")]
    pub interface: Option<String>,
    /// More settings, a JSON object (tcp_*, tls_*, http_*, label, description, tags).
    #[arg(long, value_name = "JSON")]
    pub config: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum WcCommand {
    /// List the web clusters (name, oid, status).
    #[command(after_help = "Examples:\n  mrealm webcluster list --realm default\n  \
        mrealm webcluster list --realm default --names --json")]
    List {
        /// Only the names.
        #[arg(long)]
        names: bool,
    },
    /// Show one web cluster by name or oid.
    #[command(after_help = "Example:\n  mrealm webcluster show wc1 --realm default")]
    Show { cluster: String },
    /// Create a web cluster (status STOPPED).
    #[command(
        after_help = "Example:\n  mrealm webcluster create wc1 --realm default \
        --port 8080 --shared"
    )]
    Create {
        name: String,
        #[command(flatten)]
        listen: Listen,
    },
    /// Delete a stopped web cluster (with its memberships and services).
    #[command(after_help = "Example:\n  mrealm webcluster delete wc1 --realm default")]
    Delete { cluster: String },
    /// Start a web cluster: every member node runs its proxy workers and web services.
    #[command(after_help = "Example:\n  mrealm webcluster start wc1 --realm default")]
    Start { cluster: String },
    /// Stop a web cluster: its workers are torn down, then it is STOPPED.
    #[command(after_help = "Example:\n  mrealm webcluster stop wc1 --realm default")]
    Stop { cluster: String },
    /// Status of a web cluster: its nodes and their proxy workers (status, since, last error).
    #[command(after_help = "Example:\n  mrealm webcluster stat wc1 --realm default")]
    Stat { cluster: String },
    /// Add nodes (names or oids, comma lists, or `all`) to a web cluster.
    #[command(
        after_help = "Examples:\n  mrealm webcluster add-node wc1 node1,node2 --realm default\n  \
        mrealm webcluster add-node wc1 node3 --parallel 2 --realm default"
    )]
    AddNode {
        cluster: String,
        #[arg(required = true, value_name = "NODE")]
        nodes: Vec<String>,
        /// Proxy workers on each of these nodes.
        #[arg(long, value_name = "N")]
        parallel: Option<u64>,
        /// Keep these nodes as standby (no workers).
        #[arg(long)]
        standby: bool,
        /// Membership settings, a JSON object (parallel, standby).
        #[arg(long, value_name = "JSON")]
        config: Option<String>,
    },
    /// Remove nodes from a web cluster (their workers are stopped).
    #[command(after_help = "Example:\n  mrealm webcluster remove-node wc1 node2 --realm default")]
    RemoveNode {
        cluster: String,
        #[arg(required = true, value_name = "NODE")]
        nodes: Vec<String>,
    },
    /// List the member nodes of a web cluster.
    #[command(
        after_help = "Example:\n  mrealm webcluster list-nodes wc1 --realm default --online"
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
    /// Add a web service at PATH (served at http://NODE:PORT/PATH).
    #[command(
        after_help = "Examples:\n  mrealm webcluster add-service wc1 info --realm default \
        --config '{\"type\": \"json\", \"value\": {\"hello\": \"world\"}}'\n  \
        mrealm webcluster add-service wc1 info --realm default --type json --value '{\"hello\": 1}'\n  \
        mrealm webcluster add-service wc1 node --realm default --type nodeinfo"
    )]
    AddService {
        cluster: String,
        path: String,
        /// The service, a JSON object with its `type`.
        #[arg(long, value_name = "JSON", required_unless_present = "service_type")]
        config: Option<String>,
        /// The service type (json, static, nodeinfo, redirect, websocket, …).
        #[arg(long = "type", value_name = "TYPE")]
        service_type: Option<String>,
        /// The service's `value` (JSON when it parses, else a string), e.g. for `json`.
        #[arg(long, value_name = "VALUE")]
        value: Option<String>,
    },
    /// Remove the web service at PATH (or by oid).
    #[command(
        after_help = "Example:\n  mrealm webcluster remove-service wc1 info --realm default"
    )]
    RemoveService { cluster: String, path: String },
    /// List the web services of a web cluster (path, type, config).
    #[command(after_help = "Example:\n  mrealm webcluster list-services wc1 --realm default")]
    ListServices { cluster: String },
    /// Show the web service at PATH (or by oid).
    #[command(after_help = "Example:\n  mrealm webcluster show-service wc1 info --realm default")]
    ShowService { cluster: String, path: String },
}

/// Connects to the management realm, runs one web cluster command, and leaves.
pub async fn run(args: WebclusterArgs) -> anyhow::Result<()> {
    let realm = c::need_realm(&args.conn, K)?;
    let json = args.conn.json;
    let conn = Conn::open(&args.conn, Some(realm)).await?;
    let r = dispatch(&conn, args.command, json).await;
    conn.close().await;
    r
}

async fn dispatch(conn: &Conn, command: WcCommand, json: bool) -> anyhow::Result<()> {
    let show = |v: Value| show_dict(&v, json);
    match command {
        WcCommand::List { names } => c::list(conn, K, names, json).await,
        WcCommand::Show { cluster } => c::show(conn, K, &cluster, json).await,
        WcCommand::Create { name, listen } => create(conn, &name, &listen).await.map(show),
        WcCommand::Delete { cluster } => c::lifecycle(conn, K, "delete", &cluster).await.map(show),
        WcCommand::Start { cluster } => c::lifecycle(conn, K, "start", &cluster).await.map(show),
        WcCommand::Stop { cluster } => c::lifecycle(conn, K, "stop", &cluster).await.map(show),
        WcCommand::Stat { cluster } => c::stat(conn, K, &cluster, json).await,
        WcCommand::AddNode {
            cluster,
            nodes,
            parallel,
            standby,
            config,
        } => {
            let config = member_config(parallel, standby, config.as_deref())?;
            let v = c::add_nodes(conn, K, &cluster, &nodes, config).await?;
            c::show_members(conn, K, &v, json).await;
            Ok(())
        }
        WcCommand::RemoveNode { cluster, nodes } => {
            let v = c::remove_nodes(conn, K, &cluster, &nodes).await?;
            c::show_members(conn, K, &v, json).await;
            Ok(())
        }
        WcCommand::ListNodes {
            cluster,
            names,
            online,
            offline,
        } => {
            let status = status_filter(online, offline);
            c::list_nodes(conn, K, &cluster, NodeFilter { names, status }, json).await
        }
        other => dispatch_services(conn, other, json).await,
    }
}

async fn dispatch_services(conn: &Conn, command: WcCommand, json: bool) -> anyhow::Result<()> {
    match command {
        WcCommand::AddService {
            cluster,
            path,
            config,
            service_type,
            value,
        } => {
            let svc = service_object(config.as_deref(), service_type, value.as_deref())?;
            show_dict(&add_service(conn, &cluster, &path, svc).await?, json);
            Ok(())
        }
        WcCommand::RemoveService { cluster, path } => {
            show_dict(&remove_service(conn, &cluster, &path).await?, json);
            Ok(())
        }
        WcCommand::ListServices { cluster } => list_services(conn, &cluster, json).await,
        WcCommand::ShowService { cluster, path } => {
            let (_, svc) = get_service(conn, &cluster, &path).await?;
            show_dict(&svc, json);
            Ok(())
        }
        other => anyhow::bail!("internal: {other:?} is not a web service command"),
    }
}

/// The `create_webcluster` object: `--config`, then the flags, then the name.
pub fn cluster_object(name: &str, listen: &Listen) -> anyhow::Result<Dict> {
    let mut obj = json_dict("--config", listen.config.as_deref())?;
    if let Some(p) = listen.port {
        obj.insert("tcp_port".into(), Value::from(u64::from(p)));
    }
    if listen.shared {
        obj.insert("tcp_shared".into(), Value::Bool(true));
    }
    if let Some(i) = &listen.interface {
        obj.insert("tcp_interface".into(), s(i));
    }
    obj.insert("name".into(), s(name));
    Ok(obj)
}

async fn create(conn: &Conn, name: &str, listen: &Listen) -> anyhow::Result<Value> {
    let obj = cluster_object(name, listen)?;
    let what = format!("create web cluster \"{name}\"");
    K.call(conn, &what, "create_*", vec![Value::Dict(obj)])
        .await
}

/// The membership config: `--config`, then `--parallel` / `--standby`; null when empty.
pub fn member_config(
    parallel: Option<u64>,
    standby: bool,
    config: Option<&str>,
) -> anyhow::Result<Value> {
    let mut obj = json_dict("--config", config)?;
    if let Some(n) = parallel {
        obj.insert("parallel".into(), Value::from(n));
    }
    if standby {
        obj.insert("standby".into(), Value::Bool(true));
    }
    Ok(c::dict_or_null(obj))
}

/// The web service: `--config`, then `--type` and `--value`.
pub fn service_object(
    config: Option<&str>,
    service_type: Option<String>,
    value: Option<&str>,
) -> anyhow::Result<Dict> {
    let mut obj = json_dict("--config", config)?;
    if let Some(t) = service_type {
        obj.insert("type".into(), Value::Str(t));
    }
    if let Some(v) = value {
        obj.insert("value".into(), parse_arg(v));
    }
    anyhow::ensure!(
        obj.contains_key("type"),
        "a web service needs a type: --type TYPE or \"type\" in --config"
    );
    Ok(obj)
}

async fn add_service(conn: &Conn, cluster: &str, path: &str, svc: Dict) -> anyhow::Result<Value> {
    let oid = c::oid(conn, K, cluster).await?;
    let what = format!("add web service \"{path}\" to web cluster \"{cluster}\"");
    let args = vec![s(&oid), s(path), Value::Dict(svc)];
    K.call(conn, &what, "add_*_service", args).await
}

/// The cluster's oid and the service (by oid, UUID-shaped, or by path).
async fn get_service(conn: &Conn, cluster: &str, path: &str) -> anyhow::Result<(String, Value)> {
    let oid = c::oid(conn, K, cluster).await?;
    let what = format!("show web service \"{path}\" of web cluster \"{cluster}\"");
    let proc = if is_uuid(path) {
        "get_*_service"
    } else {
        "get_*_service_by_path"
    };
    let svc = K.call(conn, &what, proc, vec![s(&oid), s(path)]).await?;
    Ok((oid, svc))
}

async fn remove_service(conn: &Conn, cluster: &str, path: &str) -> anyhow::Result<Value> {
    let (oid, svc) = get_service(conn, cluster, path).await?;
    let svc_oid = c::text(&svc, "oid", path)?;
    let what = format!("remove web service \"{path}\" from web cluster \"{cluster}\"");
    let args = vec![s(&oid), s(&svc_oid)];
    K.call(conn, &what, "remove_*_service", args).await
}

async fn list_services(conn: &Conn, cluster: &str, json: bool) -> anyhow::Result<()> {
    let oid = c::oid(conn, K, cluster).await?;
    let what = format!("list the web services of web cluster \"{cluster}\"");
    let map = K
        .call(conn, &what, "list_*_services", vec![s(&oid)])
        .await?;
    let mut services = Vec::new();
    for svc in map.as_dict().into_iter().flat_map(|d| d.values()) {
        let args = vec![s(&oid), svc.clone()];
        services.push(K.call(conn, &what, "get_*_service", args).await?);
    }
    services.sort_by_key(|v| col(v, "path"));
    if json {
        print_json(&Value::List(services));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = services.iter().map(service_row).collect();
    let headers = ["PATH", "TYPE", "OID", "CONFIG"];
    print!("{}", table(&headers, &rows, output::colour()));
    Ok(())
}

/// Path, type, oid and the service-specific settings (as JSON).
fn service_row(svc: &Value) -> Vec<String> {
    const COMMON: [&str; 8] = [
        "oid",
        "label",
        "description",
        "tags",
        "path",
        "type",
        "webcluster_oid",
        "cluster_oid",
    ];
    let mut rest = svc.as_dict().cloned().unwrap_or_default();
    rest.retain(|k, _| !COMMON.contains(&k.as_str()));
    let config = if rest.is_empty() {
        "-".into()
    } else {
        cell(&Value::Dict(rest))
    };
    vec![col(svc, "path"), col(svc, "type"), col(svc, "oid"), config]
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        args: WebclusterArgs,
    }

    fn parse(argv: &[&str]) -> Result<WcCommand, clap::Error> {
        let argv = std::iter::once("webcluster").chain(argv.iter().copied());
        T::try_parse_from(argv).map(|t| t.args.command)
    }

    #[test]
    fn create_flags_win_over_config() {
        let c = parse(&[
            "create",
            "wc1",
            "--port",
            "8080",
            "--shared",
            "--config",
            "{\"tcp_port\": 1}",
        ]);
        let Ok(WcCommand::Create { name, listen }) = c else {
            panic!("{c:?}")
        };
        let o = cluster_object(&name, &listen).expect("object");
        assert_eq!(o.get("tcp_port"), Some(&Value::from(8080u64)));
        assert_eq!(o.get("tcp_shared"), Some(&Value::Bool(true)));
        assert_eq!(o.get("name"), Some(&s("wc1")));
        assert!(parse(&["create", "wc1", "--port", "70000"]).is_err());
    }

    #[test]
    fn memberships() {
        assert_eq!(member_config(None, false, None).expect("null"), Value::Null);
        let m = member_config(Some(2), true, Some("{\"parallel\": 1}")).expect("config");
        assert_eq!(m.get("parallel"), Some(&Value::from(2u64)));
        assert_eq!(m.get("standby"), Some(&Value::Bool(true)));
    }

    #[test]
    fn services() {
        let o = service_object(None, Some("json".into()), Some("{\"hello\": \"world\"}"))
            .expect("service");
        assert_eq!(o.get("type"), Some(&s("json")));
        assert_eq!(
            o.get("value").and_then(|v| v.get("hello")),
            Some(&s("world"))
        );
        let o = service_object(Some("{\"type\": \"nodeinfo\"}"), None, None).expect("config");
        assert_eq!(o.get("type"), Some(&s("nodeinfo")));
        assert!(service_object(Some("{}"), None, None).is_err());
        assert!(parse(&["add-service", "wc1", "info"]).is_err());
        assert!(parse(&["add-service", "wc1", "info", "--type", "nodeinfo"]).is_ok());
    }

    #[test]
    fn service_rows_show_the_settings() {
        let v = Value::from(
            serde_json::json!({"oid": "o", "path": "info", "type": "json",
            "webcluster_oid": "w", "label": null, "value": {"a": 1}}),
        );
        assert_eq!(
            service_row(&v),
            ["info", "json", "o", "{\"value\":{\"a\":1}}"]
        );
    }
}
