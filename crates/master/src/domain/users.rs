//! Global API: users and their roles on management realms.
//!
//! Crossbar's users come from an e-mail activation flow; mrealm lets the superuser add users by
//! public key directly (`create_user`, an mrealm extension) and assign their roles per management
//! realm (`set_roles_on_mrealm_for_user`, a stub in Crossbar). A user then joins a management
//! realm with their key under one of their roles.
//!
//! A user reads only its own record; creating users and assigning roles is the superuser's
//! (docs/authorization.md).

use crate::wire;
use std::sync::Arc;

use store::{MrealmRoles, UserRecord};
use uuid::Uuid;
use wamp_client::{Invocation, Session};
use wamp_proto::{dict, Value};

use super::register;
use crate::args::{parse_pubkey, Args};
use crate::authz::Access;
use crate::error::{MasterError, Result};
use crate::roles::USER_ROLES;
use crate::util::now_ns;
use crate::Master;

pub(super) async fn register_all(s: &Session, m: &Arc<Master>) -> Result<()> {
    use wire::user::*;
    register(s, m, LIST_USERS, |m, _, who| async move {
        let users = m.store.list_users()?;
        let mine = users.iter().filter(|u| who.user(u).is_ok());
        Ok(Value::List(
            mine.map(|u| Value::from(u.oid.to_string())).collect(),
        ))
    })
    .await?;
    register(s, m, GET_USER, |m, inv, who| async move {
        let oid = Args::new(&inv.args, &inv.kwargs).uuid(0, "user_oid")?;
        let user = m.store.list_users()?.into_iter().find(|u| u.oid == oid);
        own(&who, user, || format!("no user with oid {oid}"))
    })
    .await?;
    register(s, m, GET_USER_BY_EMAIL, |m, inv, who| async move {
        let email = Args::new(&inv.args, &inv.kwargs).str(0, "email")?;
        let user = m.store.user_by_authid(email)?;
        own(&who, user, || format!("no user with email {email}"))
    })
    .await?;
    register(s, m, GET_USER_BY_PUBKEY, |m, inv, who| async move {
        let pubkey = parse_pubkey(Args::new(&inv.args, &inv.kwargs).str(0, "pubkey")?)?;
        let user = m.store.user_by_pubkey(&pubkey)?;
        own(&who, user, || format!("no user with pubkey {pubkey}"))
    })
    .await?;
    register(
        s,
        m,
        CREATE_USER,
        |m, inv, _| async move { create(&m, &inv) },
    )
    .await?;
    let p = wire::mrealm::SET_ROLES_ON_MREALM_FOR_USER;
    register(s, m, p, |m, inv, _| async move { set_roles(&m, &inv) }).await
}

/// A looked-up user record, if the caller may read it. A user asking for another record, found
/// or not, is refused alike (it cannot probe for others); the superuser gets `no_such_object`
/// for a missing one.
fn own(who: &Access, user: Option<UserRecord>, missing: impl FnOnce() -> String) -> Result<Value> {
    match user {
        Some(u) => {
            who.user(&u)?;
            Ok(to_value(&u))
        }
        None if who.caller.is_superuser() => Err(MasterError::NoSuchObject(missing())),
        None => Err(who.not_own_record()),
    }
}

fn to_value(u: &UserRecord) -> Value {
    dict! {
        "oid" => u.oid.to_string(),
        "label" => Value::Null,
        "description" => Value::Null,
        "tags" => Value::Null,
        "email" => u.email.clone().unwrap_or_else(|| u.authid.clone()),
        "registered" => u.created,
        "pubkey" => if u.pubkey.is_empty() { Value::Null } else { Value::from(u.pubkey.as_str()) },
    }
    .into()
}

/// The longest user authid (e-mail), in bytes.
const MAX_USER_AUTHID_LEN: usize = 255;

/// `create_user({"email"|"authid": str, "pubkey": hex})`.
fn create(m: &Master, inv: &Invocation) -> Result<Value> {
    let obj = Args::new(&inv.args, &inv.kwargs).dict(0, "user")?;
    let authid = obj
        .get("email")
        .or_else(|| obj.get("authid"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            MasterError::InvalidArgument("a user needs an 'email' (or 'authid') string".into())
        })?;
    let pubkey = obj.get("pubkey").and_then(Value::as_str).ok_or_else(|| {
        MasterError::InvalidArgument("a user needs a 'pubkey' (64 hex characters)".into())
    })?;
    let pubkey = parse_pubkey(pubkey)?;
    let printable = !authid.chars().any(|c| c.is_control() || c.is_whitespace());
    if authid.is_empty() || authid.len() > MAX_USER_AUTHID_LEN || !printable {
        return Err(MasterError::InvalidArgument(format!(
            "invalid user authid: 1 to {MAX_USER_AUTHID_LEN} bytes without spaces or control characters"
        )));
    }
    if m.store.user_by_authid(authid)?.is_some() || m.store.user_by_pubkey(&pubkey)?.is_some() {
        return Err(MasterError::AlreadyExists(format!(
            "a user with authid \"{authid}\" or this pubkey exists"
        )));
    }
    let rec = UserRecord {
        oid: Uuid::new_v4(),
        authid: authid.to_owned(),
        email: Some(authid.to_owned()),
        pubkey,
        created: now_ns() / 1000,
    };
    m.store.put_user(&rec)?;
    Ok(to_value(&rec))
}

/// Closes the user's sessions on management realm `realm` whose role it no longer holds (after
/// the change is committed; a session welcomed meanwhile was checked against the new roles at
/// WELCOME, under the same realm lock). The superuser's roles come from its key, not the store.
fn close_revoked(m: &Master, realm: &str, authid: &str, roles: &[String]) {
    let Some(r) = m.router.realm(realm).filter(|_| authid != "superuser") else {
        return;
    };
    for role in USER_ROLES.iter().filter(|u| !roles.iter().any(|r| r == *u)) {
        for id in r.sessions_of(authid, Some(role)) {
            r.kill(id, "wamp.close.killed", &format!("role \"{role}\" revoked"));
        }
    }
}

/// `set_roles_on_mrealm_for_user(mrealm_oid, user_oid, roles)`.
fn set_roles(m: &Master, inv: &Invocation) -> Result<Value> {
    let a = Args::new(&inv.args, &inv.kwargs);
    let mrealm = a.uuid(0, "mrealm_oid")?;
    let user = a.uuid(1, "user_oid")?;
    let roles: Vec<String> = match a.get(2, "roles") {
        Some(Value::List(l)) => l
            .iter()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect(),
        _ => {
            return Err(MasterError::InvalidArgument(
                "'roles' must be a list of role names".into(),
            ))
        }
    };
    if let Some(bad) = roles.iter().find(|r| !USER_ROLES.contains(&r.as_str())) {
        return Err(MasterError::InvalidArgument(format!(
            "unknown role \"{bad}\" (use one of {USER_ROLES:?})"
        )));
    }
    let realm = m.store.get_mrealm(mrealm)?.ok_or_else(|| {
        MasterError::NoSuchObject(format!("no management realm with oid {mrealm}"))
    })?;
    let users = m.store.list_users()?;
    let Some(record) = users.iter().find(|u| u.oid == user) else {
        return Err(MasterError::NoSuchObject(format!(
            "no user with oid {user}"
        )));
    };
    m.store.set_user_roles(&MrealmRoles {
        user_oid: user,
        mrealm_oid: mrealm,
        roles: roles.clone(),
    })?;
    close_revoked(m, &realm.name, &record.authid, &roles);
    Ok(
        dict! { "mrealm_oid" => mrealm.to_string(), "user_oid" => user.to_string(),
        "roles" => Value::List(roles.into_iter().map(Value::from).collect()) }
        .into(),
    )
}
