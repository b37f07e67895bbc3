//! What `mrealm routercluster …` and `mrealm webcluster …` share: resolving cluster and node
//! names to oids the way `crossbar shell` does (UUID-shaped arguments pass through; comma lists
//! and `all` for nodes), JSON `--config` parsing, and the commands both managers have (list,
//! show, delete, start, stop, stat, add/remove/list nodes) with their tables.

use anyhow::Context;
use wamp_client::{Dict, Value};

use crate::cli::output::{self, cell, print_json, table};
use crate::cli::{is_uuid, kwargs, CallFailure, Conn, ConnArgs};
use crate::cmd::fabric::{col, show_dict, show_names};

const MREALM: &str = master::wire::mrealm::PREFIX;

/// Which cluster manager a command talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Router,
    Web,
}

impl Kind {
    /// The infix of the procedure names and the command's name.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Router => "routercluster",
            Kind::Web => "webcluster",
        }
    }

    /// For people: "router cluster", "web cluster".
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Router => "router cluster",
            Kind::Web => "web cluster",
        }
    }

    /// The procedure URI for a name pattern where `*` stands for the manager's word
    /// (`get_*_by_name` → `crossbarfabriccenter.mrealm.routercluster.get_routercluster_by_name`).
    pub fn uri(self, pattern: &str) -> String {
        let name = pattern.replace('*', self.word());
        match self {
            Kind::Router => master::wire::routercluster::uri(&name),
            Kind::Web => master::wire::webcluster::uri(&name),
        }
    }

    /// Calls `pattern` with positional `args`; an unknown object gets a hint naming the list
    /// command.
    pub async fn call(
        self,
        conn: &Conn,
        what: &str,
        pattern: &str,
        args: Vec<Value>,
    ) -> anyhow::Result<Value> {
        self.call_kw(conn, what, pattern, args, Dict::new()).await
    }

    /// Like [`Kind::call`], with keyword arguments.
    pub async fn call_kw(
        self,
        conn: &Conn,
        what: &str,
        pattern: &str,
        args: Vec<Value>,
        kw: Dict,
    ) -> anyhow::Result<Value> {
        let r = conn.call(what, &self.uri(pattern), args, kw).await;
        r.map_err(|f| self.hinted(f))
    }

    fn hinted(self, f: CallFailure) -> anyhow::Error {
        let hint = match f.uri() {
            Some("crossbar.error.no_such_object") => Some(format!(
                "see `mrealm {} list --realm R` and `mrealm node list --realm R`",
                self.word()
            )),
            Some("crossbar.error.not_stopped") => {
                Some(format!("stop it first: `mrealm {} stop …`", self.word()))
            }
            Some("wamp.error.no_such_procedure") => Some(format!(
                "the master has no {} manager on this realm (is --realm a management realm?)",
                self.noun()
            )),
            _ => None,
        };
        f.with_hint(hint)
    }
}

/// The management realm every cluster command needs.
pub fn need_realm(conn: &ConnArgs, kind: Kind) -> anyhow::Result<&str> {
    conn.realm.as_deref().with_context(|| {
        format!(
            "{}s live in a management realm: pass --realm NAME (see `mrealm mrealm list`)",
            kind.noun()
        )
    })
}

/// One argument as a WAMP string.
pub fn s(text: &str) -> Value {
    Value::Str(text.to_owned())
}

/// A cluster object, by oid (UUID-shaped) or by name.
pub async fn get(conn: &Conn, kind: Kind, c: &str) -> anyhow::Result<Value> {
    let what = format!("show {} \"{c}\"", kind.noun());
    let proc = if is_uuid(c) { "get_*" } else { "get_*_by_name" };
    kind.call(conn, &what, proc, vec![s(c)]).await
}

/// A cluster's oid and name.
pub struct Cluster {
    pub oid: String,
    pub name: String,
}

/// Looks the cluster up (by oid or name) for its oid and name.
pub async fn resolve(conn: &Conn, kind: Kind, c: &str) -> anyhow::Result<Cluster> {
    let obj = get(conn, kind, c).await?;
    Ok(Cluster {
        oid: text(&obj, "oid", c)?,
        name: text(&obj, "name", c)?,
    })
}

/// The cluster's oid: a UUID-shaped argument as given, else looked up by name.
pub async fn oid(conn: &Conn, kind: Kind, c: &str) -> anyhow::Result<String> {
    if is_uuid(c) {
        return Ok(c.to_owned());
    }
    Ok(resolve(conn, kind, c).await?.oid)
}

/// A string field of an answer the master must have given.
pub fn text(obj: &Value, key: &str, of: &str) -> anyhow::Result<String> {
    obj.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("the master answered no {key} for \"{of}\""))
}

/// Node arguments, each possibly a comma list (`node1,node2`), flattened.
pub fn split_list(items: &[String]) -> Vec<String> {
    items
        .iter()
        .flat_map(|i| i.split(','))
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The oids of the nodes named (names or oids, comma lists, or `all`: every node of the realm).
pub async fn node_oids(conn: &Conn, items: &[String]) -> anyhow::Result<Vec<String>> {
    let names = split_list(items);
    anyhow::ensure!(!names.is_empty(), "name at least one node (or `all`)");
    if names == ["all"] {
        let uri = format!("{MREALM}get_nodes");
        let v = conn
            .call("list the nodes", &uri, vec![], Dict::new())
            .await?;
        return Ok(v.as_list().into_iter().flatten().map(cell).collect());
    }
    let mut oids = Vec::with_capacity(names.len());
    for n in &names {
        oids.push(crate::cmd::node::node_oid(conn, n).await?);
    }
    Ok(oids)
}

/// A node's name (authid) for tables; its oid when the master does not know it.
pub async fn node_name(conn: &Conn, node_oid: &str) -> String {
    let uri = format!("{MREALM}get_node");
    let r = conn.call("show node", &uri, vec![s(node_oid)], Dict::new());
    match r.await {
        Ok(v) => v.get("authid").map_or_else(|| node_oid.to_owned(), cell),
        Err(_) => node_oid.to_owned(),
    }
}

/// A `--config` JSON object (none: empty).
pub fn json_dict(flag: &str, text: Option<&str>) -> anyhow::Result<Dict> {
    let Some(text) = text else {
        return Ok(Dict::new());
    };
    let j: serde_json::Value =
        serde_json::from_str(text).with_context(|| format!("{flag}: not valid JSON"))?;
    match Value::from(j) {
        Value::Dict(d) => Ok(d),
        other => anyhow::bail!("{flag}: expected a JSON object, got {}", other.type_name()),
    }
}

/// A JSON object, or null when it is empty.
pub fn dict_or_null(d: Dict) -> Value {
    if d.is_empty() {
        Value::Null
    } else {
        Value::Dict(d)
    }
}

/// `list`: names (`--names`), else every cluster object (a table, or their JSON).
pub async fn list(conn: &Conn, kind: Kind, names: bool, json: bool) -> anyhow::Result<()> {
    let what = format!("list the {}s", kind.noun());
    let kw = kwargs([("return_names", Value::Bool(names))]);
    let v = kind.call_kw(conn, &what, "list_*s", vec![], kw).await?;
    if names {
        show_names(&v, "NAME", json);
        return Ok(());
    }
    let mut objs = Vec::new();
    for oid in v.as_list().into_iter().flatten() {
        objs.push(get(conn, kind, &cell(oid)).await?);
    }
    objs.sort_by_key(|o| o.get("name").map(cell));
    if json {
        print_json(&Value::List(objs));
        return Ok(());
    }
    let keys = ["name", "oid", "status", "changed"];
    let rows: Vec<Vec<String>> = objs
        .iter()
        .map(|o| keys.map(|k| col(o, k)).to_vec())
        .collect();
    let headers = ["NAME", "OID", "STATUS", "CHANGED"];
    print!("{}", table(&headers, &rows, output::colour()));
    Ok(())
}

/// `delete`, `start`, `stop`: the cluster by oid or name; the master's answer.
pub async fn lifecycle(conn: &Conn, kind: Kind, verb: &str, c: &str) -> anyhow::Result<Value> {
    let oid = oid(conn, kind, c).await?;
    let what = format!("{verb} {} \"{c}\"", kind.noun());
    kind.call(conn, &what, &format!("{verb}_*"), vec![s(&oid)])
        .await
}

/// `stat`: the cluster's status, nodes and workers as the reconciler last saw them.
pub async fn stat(conn: &Conn, kind: Kind, c: &str, json: bool) -> anyhow::Result<()> {
    let oid = oid(conn, kind, c).await?;
    let what = format!("get the status of {} \"{c}\"", kind.noun());
    let v = kind.call(conn, &what, "stat_*", vec![s(&oid)]).await?;
    if json {
        print_json(&v);
    } else {
        print!("{}", stat_text(kind, &v, output::colour()));
    }
    Ok(())
}

/// The human rendering of a `stat_*` answer: a summary line, the nodes, the workers.
pub fn stat_text(kind: Kind, v: &Value, colour: bool) -> String {
    let mut out = format!(
        "{} {}: {} (changed {})\n\n",
        kind.noun(),
        col(v, "name"),
        col(v, "status"),
        col(v, "changed")
    );
    let nodes: Vec<Vec<String>> = list_of(v, "nodes")
        .map(|n| ["authid", "node_oid", "status"].map(|k| col(n, k)).to_vec())
        .collect();
    out.push_str(&table(&["NODE", "OID", "STATUS"], &nodes, colour));
    out.push('\n');
    let headers = ["WORKER", "GROUP", "NODE", "STATUS", "SINCE", "LAST ERROR"];
    out.push_str(&table(&headers, &worker_rows(v), colour));
    out
}

/// The items of a list field (none when absent).
pub fn list_of<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_list).into_iter().flatten()
}

/// One row per worker of a `stat_*` answer: router workers under `workergroups[].workers`,
/// web workers under `nodes[].workers` (or a flat `workers` list).
pub fn worker_rows(v: &Value) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for g in list_of(v, "workergroups") {
        for w in list_of(g, "workers") {
            rows.push(worker_row(w, &col(g, "name"), None));
        }
    }
    for n in list_of(v, "nodes") {
        for w in list_of(n, "workers") {
            rows.push(worker_row(w, "-", Some(col(n, "authid"))));
        }
    }
    let group = col(v, "name");
    for w in list_of(v, "workers") {
        rows.push(worker_row(w, &group, None));
    }
    rows
}

fn worker_row(w: &Value, group: &str, node: Option<String>) -> Vec<String> {
    let node = node
        .filter(|n| n != "-")
        .or_else(|| w.get("node_authid").map(cell))
        .unwrap_or_else(|| col(w, "node_oid"));
    vec![
        col(w, "worker_id"),
        group.to_owned(),
        node,
        col(w, "status"),
        col(w, "since"),
        col(w, "last_error"),
    ]
}

/// `add-node`: adds each node with `config` (null: none); the memberships.
pub async fn add_nodes(
    conn: &Conn,
    kind: Kind,
    c: &str,
    nodes: &[String],
    config: Value,
) -> anyhow::Result<Value> {
    let oid = oid(conn, kind, c).await?;
    let mut added = Vec::new();
    for n in node_oids(conn, nodes).await? {
        let what = format!("add node {n} to {} \"{c}\"", kind.noun());
        let args = vec![s(&oid), s(&n), config.clone()];
        added.push(kind.call(conn, &what, "add_*_node", args).await?);
    }
    Ok(Value::List(added))
}

/// `remove-node`: removes each node; the removed memberships.
pub async fn remove_nodes(
    conn: &Conn,
    kind: Kind,
    c: &str,
    nodes: &[String],
) -> anyhow::Result<Value> {
    let oid = oid(conn, kind, c).await?;
    let mut removed = Vec::new();
    for n in node_oids(conn, nodes).await? {
        let what = format!("remove node {n} from {} \"{c}\"", kind.noun());
        let args = vec![s(&oid), s(&n)];
        removed.push(kind.call(conn, &what, "remove_*_node", args).await?);
    }
    Ok(Value::List(removed))
}

/// Which nodes `list-nodes` shows.
pub struct NodeFilter {
    pub names: bool,
    /// `online`, `offline`, or none.
    pub status: Option<&'static str>,
}

/// `list-nodes`: the member names, else the memberships (a table with node names, or JSON).
pub async fn list_nodes(
    conn: &Conn,
    kind: Kind,
    c: &str,
    filter: NodeFilter,
    json: bool,
) -> anyhow::Result<()> {
    let oid = oid(conn, kind, c).await?;
    let what = format!("list the nodes of {} \"{c}\"", kind.noun());
    let kw = kwargs([
        ("return_names", Value::Bool(filter.names)),
        ("filter_by_status", filter.status.map_or(Value::Null, s)),
    ]);
    let v = kind
        .call_kw(conn, &what, "list_*_nodes", vec![s(&oid)], kw)
        .await?;
    if filter.names {
        show_names(&v, "NODE", json);
        return Ok(());
    }
    let mut members = Vec::new();
    for n in v.as_list().into_iter().flatten() {
        let args = vec![s(&oid), n.clone()];
        members.push(kind.call(conn, &what, "get_*_node", args).await?);
    }
    show_members(conn, kind, &Value::List(members), json).await;
    Ok(())
}

/// Memberships as a table (node names looked up) or their exact JSON.
pub async fn show_members(conn: &Conn, kind: Kind, v: &Value, json: bool) {
    if json {
        print_json(v);
        return;
    }
    let mut rows = Vec::new();
    for m in v.as_list().into_iter().flatten() {
        let node = col(m, "node_oid");
        let mut row = vec![node_name(conn, &node).await, node];
        row.extend(member_cols(kind).map(|k| col(m, k)));
        rows.push(row);
    }
    let [a, b] = member_cols(kind).map(str::to_uppercase);
    let headers = ["NODE", "OID", a.as_str(), b.as_str()];
    print!("{}", table(&headers, &rows, output::colour()));
}

fn member_cols(kind: Kind) -> [&'static str; 2] {
    match kind {
        Kind::Router => ["softlimit", "hardlimit"],
        Kind::Web => ["parallel", "standby"],
    }
}

/// `show`: one cluster as a KEY/VALUE table or its JSON.
pub async fn show(conn: &Conn, kind: Kind, c: &str, json: bool) -> anyhow::Result<()> {
    show_dict(&get(conn, kind, c).await?, json);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_lists_split_on_commas() {
        let items = [
            "node1,node2".to_owned(),
            " node3 ".to_owned(),
            ",".to_owned(),
        ];
        assert_eq!(split_list(&items), ["node1", "node2", "node3"]);
        assert!(split_list(&[]).is_empty());
    }

    #[test]
    fn procedure_names() {
        assert_eq!(
            Kind::Router.uri("get_*_by_name"),
            "crossbarfabriccenter.mrealm.routercluster.get_routercluster_by_name"
        );
        assert_eq!(
            Kind::Web.uri("list_*s"),
            "crossbarfabriccenter.mrealm.webcluster.list_webclusters"
        );
    }

    #[test]
    fn configs_are_json_objects() {
        let d = json_dict("--config", Some(r#"{"scale": 2}"#)).expect("object");
        assert_eq!(d.get("scale"), Some(&Value::from(2u64)));
        assert!(json_dict("--config", None).expect("none").is_empty());
        let e = json_dict("--config", Some("[1]")).expect_err("list");
        assert!(e.to_string().contains("expected a JSON object"), "{e}");
        assert!(json_dict("--config", Some("{")).is_err());
        assert_eq!(dict_or_null(Dict::new()), Value::Null);
    }

    fn json(text: &str) -> Value {
        Value::from(serde_json::from_str::<serde_json::Value>(text).expect("json"))
    }

    #[test]
    fn router_stat_rows() {
        let v = json(
            r#"{"oid": "x", "name": "cl1", "status": "RUNNING", "nodes": [],
                "workergroups": [{"name": "wg1", "workers": [
                  {"worker_id": "wg1_1", "node_oid": "n1", "node_authid": "node1",
                   "status": "running", "since": null, "last_error": null}]}]}"#,
        );
        let rows = worker_rows(&v);
        assert_eq!(rows, [["wg1_1", "wg1", "node1", "running", "-", "-"]]);
    }

    #[test]
    fn web_stat_rows() {
        let v = json(
            r#"{"name": "wc1", "status": "STARTING", "nodes": [{"node_oid": "n2",
                "authid": "node2", "status": "online", "workers": [
                  {"worker_id": "cpw-1-0", "node_oid": "n2", "status": "failed",
                   "last_error": "node2: crossbar.error.invalid_configuration"}]}]}"#,
        );
        let rows = worker_rows(&v);
        let want = [
            "cpw-1-0",
            "-",
            "node2",
            "failed",
            "-",
            "node2: crossbar.error.invalid_configuration",
        ];
        assert_eq!(rows, [want]);
        let t = stat_text(Kind::Web, &v, false);
        assert!(t.starts_with("web cluster wc1: STARTING"), "{t}");
        assert!(t.contains("node2  n2   online"), "{t}");
    }
}
