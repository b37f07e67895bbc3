//! The domain controller: an in-process `trusted` session on the global realm
//! `com.crossbario.fabric` that offers Crossbar's global API (management realms, pairing,
//! domain status) and publishes its events.
//!
//! Every procedure is registered through [`register`], which checks the caller against the
//! procedure's row of the authorization table ([`crate::authz`]) and hands the handler the
//! caller's [`Access`] for the checks that need the target (a management realm, a node, a user
//! record). Every event goes only to the sessions that may see it ([`publish`]).

mod mrealms;
pub(crate) use nodes::{pair_record, to_value as node_value};
mod nodes;
mod users;

use crate::wire;
use std::future::Future;
use std::sync::{Arc, Weak};

use uuid::Uuid;
use wamp_client::{Invocation, PublishOptions, RegisterOptions, Session, WampError};
use wamp_proto::{dict, Dict, Value};

use crate::authz::{self, Access};
use crate::error::{MasterError, Result};
use crate::roles::GLOBAL_REALM;
use crate::Master;

/// Joins the global realm and registers every procedure.
pub(crate) async fn start(master: &Arc<Master>) -> Result<Session> {
    let s = master
        .local_session(GLOBAL_REALM, "domain-controller")
        .await?;
    register(&s, master, wire::domain::GET_STATUS, |m, _, _| async move {
        Ok(status(&m))
    })
    .await?;
    register(
        &s,
        master,
        wire::domain::GET_VERSION,
        |_, _, _| async move { Ok(version()) },
    )
    .await?;
    register(
        &s,
        master,
        wire::domain::GET_LICENSE,
        |_, _, _| async move { Ok(license()) },
    )
    .await?;
    register(
        &s,
        master,
        wire::domain::BACKUP_DATABASE,
        |m, inv, _| async move {
            let path = crate::args::Args::new(&inv.args, &inv.kwargs).str(0, "path")?;
            crate::backup::online(&m, path).await
        },
    )
    .await?;
    mrealms::register_all(&s, master).await?;
    nodes::register_all(&s, master).await?;
    users::register_all(&s, master).await?;
    Ok(s)
}

/// Registers global procedure `uri` with its row of the authorization table: each call is
/// checked against the row ([`Access::check`]) before `f` runs, with the caller's access; `f`
/// returns a single result value. A procedure without a row is not registered (an error: the
/// master does not start).
pub(crate) async fn register<F, Fut>(
    s: &Session,
    master: &Arc<Master>,
    uri: &str,
    f: F,
) -> Result<()>
where
    F: Fn(Arc<Master>, Invocation, Access) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value>> + Send + 'static,
{
    let rule = authz::global_rule(uri).ok_or_else(|| {
        MasterError::Internal(format!("{uri} has no row in the authorization table"))
    })?;
    let weak: Weak<Master> = Arc::downgrade(master);
    let f = Arc::new(f);
    s.register(uri, RegisterOptions::default(), move |inv| {
        let master = weak.upgrade();
        let f = f.clone();
        async move {
            let Some(master) = master else {
                return Err(WampError::with_message(
                    "wamp.error.canceled",
                    "master shutting down",
                ));
            };
            let access = Access::check(&master.store, rule, &inv.details)?;
            match f(master, inv, access).await {
                Ok(v) => Ok((vec![v], Dict::new())),
                Err(e) => Err(e.into()),
            }
        }
    })
    .await
    .map_err(|e| crate::MasterError::Internal(format!("register {uri}: {e}")))?;
    Ok(())
}

/// Publishes an event about management realm `mrealm` on the global realm (acknowledged, as
/// Crossbar does), to the superuser and the users with a role there ([`authz::audience`]).
pub(crate) async fn publish(master: &Master, topic: &str, args: Vec<Value>, mrealm: Uuid) {
    let opts = PublishOptions {
        eligible_authid: authz::audience(&master.store, mrealm),
        ..PublishOptions::acknowledged()
    };
    if let Some(s) = master.domain_session() {
        if let Err(e) = s.publish(topic, args, Dict::new(), opts).await {
            tracing::warn!(%topic, error = %e, "cannot publish event");
        }
    }
}

/// Crossbar's domain status, plus `store`: the database's health (an mrealm addition).
fn status(m: &Master) -> Value {
    let mut v = wire::controller_status("domain", GLOBAL_REALM, m.started, 1);
    let h = m.store.health();
    if let Value::Dict(d) = &mut v {
        let store = dict! {
            "healthy" => h.healthy,
            "failed_writes" => h.failed_writes,
            "reopens" => h.reopens,
            "last_error" => h.last_error,
        };
        d.insert("store".into(), store.into());
    }
    v
}

fn version() -> Value {
    dict! {
        "executable" => std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
        "platform" => std::env::consts::OS,
        "machine" => std::env::consts::ARCH,
        "mrealm_ver" => env!("CARGO_PKG_VERSION"),
        "crossbar_ver" => "26.10.1",
        "supported_serializers" => Value::List(vec!["JSON".into(), "MessagePack".into(), "CBOR".into()]),
    }
    .into()
}

fn license() -> Value {
    dict! {
        "product" => "mrealm",
        "description" => "mrealm management plane: no node limit",
        "terms" => "MIT",
        "features" => Dict::new(),
        "limits" => Dict::new(),
    }
    .into()
}
