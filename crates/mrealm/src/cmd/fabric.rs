//! `mrealm status` and `mrealm mrealm …`: the global realm's domain status and management realm
//! CRUD, mapped onto the procedures `crossbar shell` calls (`show status`, `list/show/create/
//! delete mrealm`).

use clap::{Args, Subcommand};
use wamp_client::{Dict, Value};

use crate::cli::output::{self, cell, field, print_json, table};
use crate::cli::{is_uuid, kwargs, Conn, ConnArgs};

const DOMAIN: &str = master::wire::domain::PREFIX;
const MREALM: &str = master::wire::mrealm::PREFIX;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  mrealm status\n  mrealm status --realm default --json")]
pub struct StatusArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
}

#[derive(Debug, Args)]
pub struct MrealmArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(subcommand)]
    pub command: MrealmCommand,
}

#[derive(Debug, Subcommand)]
pub enum MrealmCommand {
    /// List the management realms (name, oid, created).
    #[command(after_help = "Examples:\n  mrealm mrealm list\n  mrealm mrealm list --names --json")]
    List {
        /// Only the names (`list_mrealms(return_names=true)`).
        #[arg(long)]
        names: bool,
    },
    /// Show one management realm by name or oid.
    #[command(after_help = "Example:\n  mrealm mrealm show default")]
    Show { realm: String },
    /// Create a management realm.
    #[command(after_help = "Example:\n  mrealm mrealm create mr1")]
    Create { name: String },
    /// Delete a management realm (with --cascade: unpair its nodes first).
    #[command(after_help = "Example:\n  mrealm mrealm delete mr1 --cascade")]
    Delete {
        name: String,
        /// Unpair the realm's nodes instead of refusing.
        #[arg(long)]
        cascade: bool,
    },
}

/// `mrealm status`: `domain.get_status` on the global realm, `mrealm.get_status` with --realm.
pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let realm = args.conn.realm.as_deref();
    let conn = Conn::open(&args.conn, realm).await?;
    let uri = match realm {
        None => format!("{DOMAIN}get_status"),
        Some(_) => format!("{MREALM}get_status"),
    };
    let r = conn.call("get the status", &uri, vec![], Dict::new()).await;
    conn.close().await;
    show_dict(&r?, args.conn.json);
    Ok(())
}

pub async fn mrealm(args: MrealmArgs) -> anyhow::Result<()> {
    let conn = Conn::open(&args.conn, None).await?;
    let json = args.conn.json;
    let r = match args.command {
        MrealmCommand::List { names } => list(&conn, names, json).await,
        MrealmCommand::Show { realm } => get(&conn, &realm).await.map(|v| show_dict(&v, json)),
        MrealmCommand::Create { name } => create(&conn, &name).await.map(|v| show_dict(&v, json)),
        MrealmCommand::Delete { name, cascade } => delete(&conn, &name, cascade)
            .await
            .map(|v| show_dict(&v, json)),
    };
    conn.close().await;
    r
}

async fn list(conn: &Conn, names: bool, json: bool) -> anyhow::Result<()> {
    let what = "list the management realms";
    if names {
        let kw = kwargs([("return_names", Value::Bool(true))]);
        let v = conn
            .call(what, &format!("{MREALM}list_mrealms"), vec![], kw)
            .await?;
        show_names(&v, "NAME", json);
        return Ok(());
    }
    let oids = conn
        .call(what, &format!("{MREALM}list_mrealms"), vec![], Dict::new())
        .await?;
    let mut objs = Vec::new();
    for oid in oids.as_list().into_iter().flatten() {
        objs.push(get(conn, &cell(oid)).await?);
    }
    objs.sort_by_key(|o| o.get("name").map(cell));
    if json {
        print_json(&Value::List(objs));
    } else {
        let rows: Vec<Vec<String>> = objs
            .iter()
            .map(|o| ["name", "oid", "created"].map(|k| col(o, k)).to_vec())
            .collect();
        print!(
            "{}",
            table(&["NAME", "OID", "CREATED"], &rows, output::colour())
        );
    }
    Ok(())
}

async fn get(conn: &Conn, realm: &str) -> anyhow::Result<Value> {
    let (proc, what) = if is_uuid(realm) {
        ("get_mrealm", format!("show management realm {realm}"))
    } else {
        (
            "get_mrealm_by_name",
            format!("show management realm \"{realm}\""),
        )
    };
    let args = vec![Value::Str(realm.to_owned())];
    Ok(conn
        .call(&what, &format!("{MREALM}{proc}"), args, Dict::new())
        .await?)
}

async fn create(conn: &Conn, name: &str) -> anyhow::Result<Value> {
    let obj = Value::Dict(kwargs([("name", Value::Str(name.to_owned()))]));
    let what = format!("create management realm \"{name}\"");
    Ok(conn
        .call(
            &what,
            &format!("{MREALM}create_mrealm"),
            vec![obj],
            Dict::new(),
        )
        .await?)
}

async fn delete(conn: &Conn, name: &str, cascade: bool) -> anyhow::Result<Value> {
    let kw = kwargs([("cascade", Value::Bool(cascade))]);
    let what = format!("delete management realm \"{name}\"");
    let args = vec![Value::Str(name.to_owned())];
    Ok(conn
        .call(&what, &format!("{MREALM}delete_mrealm_by_name"), args, kw)
        .await?)
}

/// A dict as a KEY/VALUE table, or its exact JSON.
pub fn show_dict(v: &Value, json: bool) {
    if json {
        print_json(v);
    } else {
        let rows = output::dict_rows(v);
        print!("{}", table(&["KEY", "VALUE"], &rows, output::colour()));
    }
}

/// A list of names as a one-column table, or its exact JSON.
pub fn show_names(v: &Value, header: &str, json: bool) {
    if json {
        print_json(v);
    } else {
        let rows: Vec<Vec<String>> = v
            .as_list()
            .into_iter()
            .flatten()
            .map(|n| vec![cell(n)])
            .collect();
        print!("{}", table(&[header], &rows, output::colour()));
    }
}

/// One field of an object for a table cell.
pub fn col(obj: &Value, key: &str) -> String {
    obj.get(key).map_or_else(|| "-".into(), |v| field(key, v))
}
