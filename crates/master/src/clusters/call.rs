//! How a manager procedure is called: its arguments read Crossbar's way (type mismatches are
//! `wamp.error.type_check_error` with Python's wording, clusters spec §0), who the caller is
//! (a user of this master, or `wamp.error.no_such_principal`, spec §1.3), whether it may manage
//! an object (`wamp.error.not_authorized`), and [`Reply`]: the result, the event to publish
//! after the commit, and the reconciler to wake after the event.

use std::sync::Arc;

use store::Store;
use tracing::{debug, warn};
use uuid::Uuid;
use wamp_client::{PublishOptions, RegisterOptions, Session};
use wamp_proto::{Dict, Value};

use crate::authz::SUPERUSER;
use crate::error::{MasterError, Result};

/// One invocation of a manager procedure.
pub(crate) struct Call<'a> {
    pub args: &'a [Value],
    pub kwargs: &'a Dict,
    pub details: &'a Dict,
}

fn type_error(name: &str, want: &str, got: &Value) -> MasterError {
    let got = match got {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::UInt(_) => "int",
        Value::Float(_) => "float",
        Value::Str(_) => "str",
        Value::Bytes(_) => "bytes",
        Value::List(_) => "list",
        Value::Dict(_) => "dict",
    };
    MasterError::TypeCheck(format!("'{name}' expected type={want} got={got}"))
}

fn missing(name: &str) -> MasterError {
    MasterError::Runtime(format!("missing required argument '{name}'"))
}

impl<'a> Call<'a> {
    /// Parameter `i` or keyword `name`; `None` when absent or null.
    pub(crate) fn get(&self, i: usize, name: &str) -> Option<&'a Value> {
        self.args
            .get(i)
            .or_else(|| self.kwargs.get(name))
            .filter(|v| !v.is_null())
    }

    /// A required `str`.
    pub(crate) fn str(&self, i: usize, name: &str) -> Result<&'a str> {
        match self.get(i, name) {
            Some(Value::Str(s)) => Ok(s),
            Some(v) => Err(type_error(name, "str", v)),
            None => Err(missing(name)),
        }
    }

    /// An optional `str`.
    pub(crate) fn opt_str(&self, i: usize, name: &str) -> Result<Option<&'a str>> {
        match self.get(i, name) {
            Some(Value::Str(s)) => Ok(Some(s)),
            Some(v) => Err(type_error(name, "str", v)),
            None => Ok(None),
        }
    }

    /// An optional `bool`.
    pub(crate) fn opt_bool(&self, i: usize, name: &str) -> Result<Option<bool>> {
        match self.get(i, name) {
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(type_error(name, "bool", v)),
            None => Ok(None),
        }
    }

    /// A required `dict`.
    pub(crate) fn dict(&self, i: usize, name: &str) -> Result<&'a Dict> {
        self.opt_dict(i, name)?.ok_or_else(|| missing(name))
    }

    /// An optional `dict`.
    pub(crate) fn opt_dict(&self, i: usize, name: &str) -> Result<Option<&'a Dict>> {
        match self.get(i, name) {
            Some(Value::Dict(d)) => Ok(Some(d)),
            Some(v) => Err(type_error(name, "dict", v)),
            None => Ok(None),
        }
    }

    /// A required oid: a `str` (else TCE) that parses as a UUID (else
    /// `wamp.error.invalid_argument "invalid <label>: badly formed hexadecimal UUID string"`).
    pub(crate) fn oid(&self, i: usize, name: &str, label: &str) -> Result<Uuid> {
        let s = self.str(i, name)?;
        crate::args::parse_uuid(s, label)
    }

    /// The caller's authid, as the router disclosed it.
    pub(crate) fn caller_authid(&self) -> Option<&'a str> {
        self.details.get("caller_authid").and_then(Value::as_str)
    }

    fn caller_authrole(&self) -> Option<&'a str> {
        self.details.get("caller_authrole").and_then(Value::as_str)
    }

    /// `who` of start/stop payloads: the caller's session, authid and authrole (or nulls).
    pub(crate) fn who(&self) -> Value {
        let mut d = Dict::new();
        d.insert(
            "session".into(),
            self.details.get("caller").cloned().unwrap_or(Value::Null),
        );
        d.insert("authid".into(), self.caller_authid().into());
        d.insert("authrole".into(), self.caller_authrole().into());
        Value::Dict(d)
    }
}

/// How many objects of one kind one parent may hold: router and web clusters per management
/// realm, worker groups per router cluster, web services per web cluster. Every round of a
/// reconciler reads them all, and every listing returns them all.
pub(crate) const MAX_OBJECTS: usize = 1000;

/// `wamp.error.invalid_argument` once `have` objects of `what` exist in `parent`.
pub(crate) fn check_room(have: usize, what: &str, parent: &str) -> Result<()> {
    if have >= MAX_OBJECTS {
        return Err(MasterError::InvalidArgument(format!(
            "{parent} already has {have} {what}, the limit ({MAX_OBJECTS}): remove some first"
        )));
    }
    Ok(())
}

/// The user behind a call.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub oid: Uuid,
    pub superuser: bool,
}

/// Maps the caller to a user of this master: the superuser (and the master's own `trusted`
/// sessions) or a stored user; anyone else is `wamp.error.no_such_principal` (spec §1.3).
pub(crate) fn principal(store: &Store, superuser_oid: Uuid, call: &Call<'_>) -> Result<Principal> {
    let superuser = Principal {
        oid: superuser_oid,
        superuser: true,
    };
    if call.caller_authrole() == Some("trusted") {
        return Ok(superuser);
    }
    let Some(authid) = call.caller_authid() else {
        return Err(MasterError::NoSuchPrincipal(
            "cannot map user - no caller authid available".into(),
        ));
    };
    if authid == SUPERUSER {
        return Ok(superuser);
    }
    match store.user_by_authid(authid)? {
        Some(u) => Ok(Principal {
            oid: u.oid,
            superuser: false,
        }),
        None => Err(MasterError::NoSuchPrincipal(format!(
            "no user found for authid \"{authid}\""
        ))),
    }
}

/// Whether `who` may manage an object owned by `owner_oid` in management realm `mrealm`: its
/// owner, the superuser, or a user holding `owner` on the management realm (Crossbar: the
/// object's owner only; an mrealm owner taking over a colleague's cluster is mrealm's addition).
/// Otherwise `wamp.error.not_authorized` with `message`.
pub(crate) fn check_owner(
    store: &Store,
    mrealm: Uuid,
    who: &Principal,
    owner_oid: Uuid,
    message: &str,
) -> Result<()> {
    if who.superuser || who.oid == owner_oid {
        return Ok(());
    }
    let roles = store.user_roles(who.oid, mrealm)?;
    if roles.iter().any(|r| r == "owner") {
        return Ok(());
    }
    Err(MasterError::NotAuthorized(message.to_owned()))
}

/// Which reconciler to wake after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    RouterCluster(Uuid),
    WebCluster(Uuid),
}

/// What a procedure answers: its result, the event it publishes (after the commit, before
/// the result is returned, acknowledged: spec §0), and the reconciler it wakes (after the event).
#[derive(Debug)]
pub(crate) struct Reply {
    pub result: Value,
    pub event: Option<(String, Value)>,
    pub wake: Option<Wake>,
}

impl Reply {
    /// Just a result.
    pub(crate) fn result(result: Value) -> Reply {
        Reply {
            result,
            event: None,
            wake: None,
        }
    }

    /// A result that is also published on `topic`.
    pub(crate) fn event(topic: String, result: Value) -> Reply {
        Reply {
            event: Some((topic, result.clone())),
            result,
            wake: None,
        }
    }

    /// Wakes a reconciler once the event is out.
    pub(crate) fn wake(mut self, wake: Wake) -> Reply {
        self.wake = Some(wake);
        self
    }
}

/// Something that can wake reconcilers (the managers' handles).
pub(crate) trait Waker: Send + Sync + 'static {
    fn wake(&self, wake: Wake);
}

/// Registers `uri`, answered by `f` (synchronous: reads and one write transaction), then
/// publishes the reply's event and wakes its reconciler.
pub(crate) async fn register<T, W, F>(
    session: &Session,
    uri: String,
    target: &Arc<T>,
    waker: &Arc<W>,
    f: F,
) -> Result<()>
where
    T: Send + Sync + 'static,
    W: Waker,
    F: Fn(&T, &Call<'_>) -> Result<Reply> + Send + Sync + 'static,
{
    let target = target.clone();
    let waker = waker.clone();
    let publisher = session.clone();
    let name = uri.clone();
    session
        .register(&uri, RegisterOptions::default(), move |inv| {
            let call = Call {
                args: &inv.args,
                kwargs: &inv.kwargs,
                details: &inv.details,
            };
            let out = f(&target, &call);
            let publisher = publisher.clone();
            let waker = waker.clone();
            let name = name.clone();
            async move {
                let reply = match out {
                    Ok(r) => r,
                    Err(e) => {
                        debug!(procedure = %name, error = %e, uri = e.uri(), "refused");
                        return Err(e.into());
                    }
                };
                if let Some((topic, payload)) = reply.event {
                    let opts = PublishOptions {
                        acknowledge: true,
                        ..PublishOptions::default()
                    };
                    if let Err(e) = publisher
                        .publish(&topic, vec![payload], Dict::new(), opts)
                        .await
                    {
                        warn!(%topic, error = %e, "event not published (the change is stored)");
                    }
                }
                if let Some(w) = reply.wake {
                    waker.wake(w);
                }
                Ok((vec![reply.result], Dict::new()))
            }
        })
        .await
        .map_err(|e| MasterError::Internal(format!("register {uri}: {e}")))?;
    Ok(())
}
