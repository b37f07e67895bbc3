//! Who may do what on the master (docs/authorization.md).
//!
//! * **Global realm** `com.crossbario.fabric`: role `user` for the superuser (authid
//!   `superuser`) and for every stored user, `trusted` for the master's in-process sessions
//!   (treated as the superuser). The router lets `user` call and subscribe under
//!   `crossbarfabriccenter.`; the domain controller checks each call against its row of
//!   [`table::GLOBAL`] with the caller's stored roles on the management realm the call is about
//!   (`Access`), filters lists to what the caller may see, and publishes each global event
//!   only to the superuser and the users with a role on that management realm (`audience`).
//! * **Management realm**: the router's role rules and authorizer ([`crate::roles`]), whose
//!   table is [`table::MREALM`].
//!
//! A user's roles are read from the store at every call and event, so a change by
//! `set_roles_on_mrealm_for_user` applies at once.

pub mod table;

use std::sync::Arc;

use store::{MrealmRecord, NodeRecord, Store, UserRecord};
use tracing::warn;
use uuid::Uuid;
use wamp_proto::{Dict, Value};

use crate::error::{MasterError, Result};
pub use table::{global_rule, GlobalRule, Permission};

/// The superuser's authid.
pub const SUPERUSER: &str = "superuser";

/// Who is calling a global procedure.
#[derive(Debug, Clone)]
pub(crate) enum Caller {
    /// The superuser, or one of the master's in-process sessions.
    Superuser,
    /// A stored user.
    User(UserRecord),
}

impl Caller {
    /// The caller of an invocation, from the details the router discloses (`user` and
    /// `trusted` callers are always disclosed). An undisclosed caller or an authid that is no
    /// (longer a) user is refused.
    pub(crate) fn of(store: &Store, details: &Dict) -> Result<Caller> {
        let get = |k: &str| details.get(k).and_then(Value::as_str);
        match (get("caller_authrole"), get("caller_authid")) {
            (Some("trusted"), _) | (Some("user"), Some(SUPERUSER)) => Ok(Caller::Superuser),
            (Some("user"), Some(authid)) => store
                .user_by_authid(authid)?
                .map(Caller::User)
                .ok_or_else(|| {
                    MasterError::NotAuthorized(format!("\"{authid}\" is not a user of this master"))
                }),
            (role, authid) => Err(MasterError::NotAuthorized(format!(
                "caller (authid {authid:?}, authrole {role:?}) may not use the global API"
            ))),
        }
    }

    pub(crate) fn authid(&self) -> &str {
        match self {
            Caller::Superuser => SUPERUSER,
            Caller::User(u) => &u.authid,
        }
    }

    /// The caller's user oid (owner of what it creates).
    pub(crate) fn oid(&self, superuser_oid: Uuid) -> Uuid {
        match self {
            Caller::Superuser => superuser_oid,
            Caller::User(u) => u.oid,
        }
    }

    pub(crate) fn is_superuser(&self) -> bool {
        matches!(self, Caller::Superuser)
    }
}

/// A call of a global procedure: the caller and the permission of its row.
#[derive(Debug, Clone)]
pub(crate) struct Access {
    pub caller: Caller,
    rule: &'static GlobalRule,
}

impl Access {
    /// Checks what can be checked before the call's target is known: [`Permission::Superuser`]
    /// and [`Permission::AnyUser`] rows are decided here, the others by the handler.
    pub(crate) fn check(
        store: &Store,
        rule: &'static GlobalRule,
        details: &Dict,
    ) -> Result<Access> {
        let caller = Caller::of(store, details)?;
        let a = Access { caller, rule };
        if rule.permission == Permission::Superuser && !a.caller.is_superuser() {
            return Err(a.refusal("only the superuser may"));
        }
        Ok(a)
    }

    fn refusal(&self, why: &str) -> MasterError {
        MasterError::NotAuthorized(format!(
            "\"{}\" is not authorized to call {}: {why}",
            self.caller.authid(),
            self.rule.uri
        ))
    }

    /// The roles a management realm row needs (all user roles for the other rows).
    fn needs(&self) -> &'static [&'static str] {
        match self.rule.permission {
            Permission::OnMrealm(roles) => roles,
            _ => table::READ,
        }
    }

    /// Whether the caller holds a role the row needs on management realm `mrealm`.
    pub(crate) fn may(&self, store: &Store, mrealm: Uuid) -> Result<bool> {
        let Caller::User(u) = &self.caller else {
            return Ok(true);
        };
        let roles = store.user_roles(u.oid, mrealm)?;
        Ok(roles.iter().any(|r| self.needs().contains(&r.as_str())))
    }

    /// Checks the call may act on management realm `rec`.
    pub(crate) fn mrealm(&self, store: &Store, rec: &MrealmRecord) -> Result<()> {
        if self.may(store, rec.oid)? {
            return Ok(());
        }
        Err(self.refusal(&format!(
            "it needs one of the roles {:?} on management realm \"{}\"",
            self.needs(),
            rec.name
        )))
    }

    /// Checks the call may act on node `n`: on the management realm it is paired to (a node
    /// paired nowhere is the superuser's business).
    pub(crate) fn node(&self, store: &Store, n: &NodeRecord) -> Result<()> {
        if self.caller.is_superuser() {
            return Ok(());
        }
        let rec = match n.mrealm_oid {
            Some(oid) => store.get_mrealm(oid)?,
            None => None,
        };
        match rec {
            Some(rec) => self.mrealm(store, &rec),
            None => Err(self.refusal(&format!("node {} is paired to no management realm", n.oid))),
        }
    }

    /// Checks the caller may read user record `u` (its own).
    pub(crate) fn user(&self, u: &UserRecord) -> Result<()> {
        match &self.caller {
            Caller::Superuser => Ok(()),
            Caller::User(me) if me.oid == u.oid => Ok(()),
            Caller::User(_) => Err(self.refusal("a user may read only its own record")),
        }
    }

    /// A refusal for a user record the caller may not read, found or not (so that a user
    /// cannot probe for others).
    pub(crate) fn not_own_record(&self) -> MasterError {
        self.refusal("a user may read only its own record")
    }
}

/// The authids that receive a global event about management realm `mrealm`: the superuser and
/// every user with a role there. A store error leaves only the superuser (logged).
pub(crate) fn audience(store: &Store, mrealm: Uuid) -> Vec<String> {
    let mut out = vec![SUPERUSER.to_owned()];
    match store.authids_with_roles_on(mrealm) {
        Ok(users) => out.extend(users),
        Err(e) => {
            warn!(%mrealm, error = %e, "cannot read the users of a management realm: event goes to the superuser only")
        }
    }
    out
}

/// [`audience`] of one management realm, for a task that publishes its events.
#[derive(Clone)]
pub(crate) struct Audience {
    store: Arc<Store>,
    mrealm: Uuid,
}

impl Audience {
    pub(crate) fn new(store: Arc<Store>, mrealm: Uuid) -> Audience {
        Audience { store, mrealm }
    }

    /// The authids that may receive the realm's global events now.
    pub(crate) fn authids(&self) -> Vec<String> {
        audience(&self.store, self.mrealm)
    }
}
