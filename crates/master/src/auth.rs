//! The master's authenticator: who a HELLO is, decided from the store.
//!
//! * in-process sessions (the controllers) join as `trusted`;
//! * a node (cryptosign, authrole `node`, no realm) is found by its public key: realm = the name
//!   of its management realm, authid = its paired name, authextra = the pairing's authextra plus
//!   `node_oid` and `mrealm_oid`; unpaired → `fabric.auth-failed.node-unpaired`, a realm in
//!   HELLO → `fabric.auth-failed.invalid-parameters`, a second session of a connected node →
//!   `fabric.auth-failed.node-already-connected`;
//! * the superuser key gets authid `superuser`: role `user` on the global realm, `owner` (or a
//!   requested user role) on every management realm;
//! * other users by key, with their stored roles on the management realm;
//! * anonymous gets role `public` on a management realm.
//!
//! What HELLO decided is decided again at WELCOME ([`Authenticator::admit`], under the realm's
//! lock, in the same critical section that adds the session): the node is still paired with the
//! same management realm and has no other session there, the user still exists and still holds
//! the role, the management realm still exists. Unpairing, role changes and realm deletion
//! commit first and then close sessions under that lock, so a session can never slip in between
//! (two HELLOs of one node key, or a CHALLENGE pending across an unpair).

use crate::wire::errors::{
    AUTH_INVALID_PARAMETERS, AUTH_NODE_ALREADY_CONNECTED, AUTH_NODE_UNPAIRED,
};
use std::sync::{Arc, Weak};

use serde_json::json;
use wamp_proto::{wamp_errors as err, Dict, Value};
use wamp_router::auth::{
    cryptosign, random_authid, AuthStep, Authenticator, HelloRequest, Principal,
};
use wamp_router::session::SessionInfo;
use wamp_router::{Abort, Router};

use crate::roles::{GLOBAL_REALM, USER_ROLES};

/// The master's dynamic authenticator.
pub struct MasterAuth {
    pub store: Arc<store::Store>,
    pub router: Weak<Router>,
    pub superuser: Option<[u8; 32]>,
    /// `allow_anonymous` of the configuration.
    pub allow_anonymous: bool,
}

fn reject(uri: &str, msg: impl Into<String>) -> AuthStep {
    AuthStep::Reject(Abort::new(uri, msg))
}

fn principal(
    realm: &str,
    authid: &str,
    authrole: &str,
    authmethod: &str,
    authextra: Dict,
) -> Principal {
    Principal {
        realm: realm.into(),
        authid: authid.into(),
        authrole: authrole.into(),
        authmethod: authmethod.into(),
        authprovider: "dynamic".into(),
        authextra,
    }
}

impl Authenticator for MasterAuth {
    fn hello(&self, req: &HelloRequest<'_>) -> AuthStep {
        if req.transport.get("type").and_then(Value::as_str) == Some("function") {
            let realm = req.realm.unwrap_or(GLOBAL_REALM);
            let authid = req.authid.map(str::to_owned).unwrap_or_else(random_authid);
            return AuthStep::Welcome(principal(
                realm,
                &authid,
                "trusted",
                "function",
                Dict::new(),
            ));
        }
        let offers = |m: &str| req.authmethods.iter().any(|x| x == m);
        if offers("cryptosign") {
            return self.cryptosign(req);
        }
        if offers("anonymous") || req.authmethods.is_empty() {
            return self.anonymous(req);
        }
        let msg = format!(
            "cannot authenticate using any of the offered authmethods {:?}",
            req.authmethods
        );
        reject(err::NO_AUTH_METHOD, msg)
    }

    fn admit(&self, s: &SessionInfo, joined: &dyn Fn() -> usize) -> Result<(), Abort> {
        match (s.authmethod.as_str(), s.authrole.as_str()) {
            ("function", "trusted") | ("anonymous", _) => Ok(()),
            (_, "node") => self.admit_node(s, joined),
            _ => self.admit_user(s),
        }
    }
}

impl MasterAuth {
    /// A node at WELCOME: still paired, with the realm it was challenged for, and alone.
    fn admit_node(&self, s: &SessionInfo, joined: &dyn Fn() -> usize) -> Result<(), Abort> {
        if let Err(why) = crate::wire::node::check_authid(&s.authid) {
            let msg = format!("{why}: this node must be paired again under a valid authid");
            return Err(Abort::new(AUTH_NODE_UNPAIRED, msg));
        }
        let oid = s.authextra.get("node_oid").and_then(Value::as_str);
        let oid = oid.and_then(|o| uuid::Uuid::parse_str(o).ok());
        let node = oid.and_then(|o| self.store.get_node(o).ok().flatten());
        let unpaired = || {
            Abort::new(
                AUTH_NODE_UNPAIRED,
                "This node was unpaired during its authentication.",
            )
        };
        let node = node.filter(|n| n.is_paired() && n.authid.as_deref() == Some(&s.authid));
        let mrealm = node.and_then(|n| n.mrealm_oid);
        let mrealm = mrealm.and_then(|m| self.store.get_mrealm(m).ok().flatten());
        if mrealm.is_none_or(|m| m.name != s.realm) {
            return Err(unpaired());
        }
        if joined() > 0 {
            let msg = format!(
                "node \"{}\" is already connected to management realm \"{}\"",
                s.authid, s.realm
            );
            return Err(Abort::new(AUTH_NODE_ALREADY_CONNECTED, msg));
        }
        Ok(())
    }

    /// A user (or the superuser) at WELCOME: still known, the management realm still exists and
    /// the user still holds the role there.
    fn admit_user(&self, s: &SessionInfo) -> Result<(), Abort> {
        let gone =
            |what: &str| Abort::new(err::NOT_AUTHORIZED, format!("{what} during authentication"));
        let user = match self.store.user_by_authid(&s.authid) {
            Ok(Some(u)) => u,
            Ok(None) => return Err(gone("the user was removed")),
            Err(e) => {
                return Err(Abort::new(
                    err::AUTHENTICATION_FAILED,
                    format!("database error: {e}"),
                ))
            }
        };
        if s.realm == GLOBAL_REALM {
            return Ok(());
        }
        let mrealm = match self.store.get_mrealm_by_name(&s.realm) {
            Ok(Some(m)) => m,
            _ => {
                return Err(Abort::new(
                    err::NO_SUCH_REALM,
                    format!("management realm \"{}\" was deleted", s.realm),
                ))
            }
        };
        if s.authid == "superuser" && USER_ROLES.contains(&s.authrole.as_str()) {
            return Ok(());
        }
        let roles = self
            .store
            .user_roles(user.oid, mrealm.oid)
            .unwrap_or_default();
        if roles.contains(&s.authrole) {
            Ok(())
        } else {
            Err(gone(&format!(
                "role \"{}\" on \"{}\" was revoked",
                s.authrole, s.realm
            )))
        }
    }

    fn cryptosign(&self, req: &HelloRequest<'_>) -> AuthStep {
        let pubkey = match cryptosign::requested_pubkey(req) {
            Ok(k) => k,
            Err(a) => return AuthStep::Reject(a),
        };
        if req.authrole == Some("node") {
            return self.node(req, pubkey);
        }
        if self.superuser == Some(pubkey) {
            return self.superuser(req, pubkey);
        }
        self.user(req, pubkey)
    }

    fn node(&self, req: &HelloRequest<'_>, pubkey: [u8; 32]) -> AuthStep {
        if let Some(realm) = req.realm {
            let msg = format!("Invalid parameters in authentication: a node must not request a realm (got \"{realm}\")");
            return reject(AUTH_INVALID_PARAMETERS, msg);
        }
        let node = match self.store.node_by_pubkey(&hex::encode(pubkey)) {
            Ok(Some(n)) if n.is_paired() => n,
            Ok(_) => {
                let msg =
                    "This node is unpaired. Please pair the node with management realm first.";
                return reject(AUTH_NODE_UNPAIRED, msg);
            }
            Err(e) => return reject(err::AUTHENTICATION_FAILED, format!("database error: {e}")),
        };
        let (Some(mrealm_oid), Some(authid)) = (node.mrealm_oid, node.authid.clone()) else {
            return reject(AUTH_NODE_UNPAIRED, "This node is unpaired.");
        };
        let mrealm = match self.store.get_mrealm(mrealm_oid) {
            Ok(Some(m)) => m,
            _ => {
                return reject(
                    err::NO_SUCH_REALM,
                    "the management realm of this node is gone",
                )
            }
        };
        let connected = self
            .router
            .upgrade()
            .and_then(|r| r.realm(&mrealm.name))
            .map(|r| r.sessions_of(&authid, Some("node")));
        if connected.is_some_and(|s| !s.is_empty()) {
            // said before the key is proven: name neither the node nor its realm
            let msg = "this node is already connected";
            return reject(AUTH_NODE_ALREADY_CONNECTED, msg);
        }
        let mut extra = match node.authextra.clone() {
            Some(serde_json::Value::Object(o)) => serde_json::Value::Object(o),
            _ => json!({}),
        };
        extra["node_oid"] = json!(node.oid.to_string());
        extra["mrealm_oid"] = json!(mrealm_oid.to_string());
        let extra = match Value::from(extra) {
            Value::Dict(d) => d,
            _ => Dict::new(),
        };
        cryptosign::challenge(
            req,
            pubkey,
            principal(&mrealm.name, &authid, "node", "cryptosign", extra),
        )
    }

    fn superuser(&self, req: &HelloRequest<'_>, pubkey: [u8; 32]) -> AuthStep {
        match req.realm {
            None | Some(GLOBAL_REALM) if req.authrole.is_some_and(|r| r != "user") => {
                let r = req.authrole.unwrap_or_default();
                let msg = format!(
                    "Invalid parameters in authentication: invalid requested authrole \"{r}\" for realm \"{GLOBAL_REALM}\""
                );
                reject(AUTH_INVALID_PARAMETERS, msg)
            }
            None | Some(GLOBAL_REALM) => cryptosign::challenge(
                req,
                pubkey,
                principal(GLOBAL_REALM, "superuser", "user", "cryptosign", Dict::new()),
            ),
            Some(realm) => match self.mrealm_role(req, realm, USER_ROLES) {
                Ok(role) => cryptosign::challenge(
                    req,
                    pubkey,
                    principal(realm, "superuser", &role, "cryptosign", Dict::new()),
                ),
                Err(abort) => AuthStep::Reject(abort),
            },
        }
    }

    fn user(&self, req: &HelloRequest<'_>, pubkey: [u8; 32]) -> AuthStep {
        let user = match self.store.user_by_pubkey(&hex::encode(pubkey)) {
            Ok(Some(u)) => u,
            Ok(None) => {
                let msg = format!(
                    "no user or node with public key {} is known to this master",
                    hex::encode(pubkey)
                );
                return reject(err::NOT_AUTHORIZED, msg);
            }
            Err(e) => return reject(err::AUTHENTICATION_FAILED, format!("database error: {e}")),
        };
        let Some(realm) = req.realm.filter(|r| *r != GLOBAL_REALM) else {
            return cryptosign::challenge(
                req,
                pubkey,
                principal(
                    GLOBAL_REALM,
                    &user.authid,
                    "user",
                    "cryptosign",
                    Dict::new(),
                ),
            );
        };
        let mrealm = match self.store.get_mrealm_by_name(realm) {
            Ok(Some(m)) => m,
            _ => {
                return reject(
                    err::NO_SUCH_REALM,
                    format!("no realm \"{realm}\" exists on this router"),
                )
            }
        };
        let roles = self
            .store
            .user_roles(user.oid, mrealm.oid)
            .unwrap_or_default();
        let allowed: Vec<&str> = roles.iter().map(String::as_str).collect();
        match self.mrealm_role(req, realm, &allowed) {
            Ok(role) => cryptosign::challenge(
                req,
                pubkey,
                principal(realm, &user.authid, &role, "cryptosign", Dict::new()),
            ),
            Err(abort) => AuthStep::Reject(abort),
        }
    }

    /// The role a user gets on management realm `realm`: the requested one if allowed, else
    /// the first allowed one.
    fn mrealm_role(
        &self,
        req: &HelloRequest<'_>,
        realm: &str,
        allowed: &[&str],
    ) -> Result<String, Abort> {
        match self.store.get_mrealm_by_name(realm) {
            Ok(Some(_)) => {}
            _ => {
                return Err(Abort::new(
                    err::NO_SUCH_REALM,
                    format!("no realm \"{realm}\" exists on this router"),
                ))
            }
        }
        match req.authrole {
            Some(r @ ("public" | "node")) => Err(Abort::new(
                AUTH_INVALID_PARAMETERS,
                format!("Invalid parameters in authentication: invalid requested authrole \"{r}\" for realm \"{realm}\""),
            )),
            Some(r) if allowed.contains(&r) => Ok(r.to_owned()),
            Some(r) => Err(Abort::new(err::NOT_AUTHORIZED, format!("not authorized for role \"{r}\" on realm \"{realm}\""))),
            None => allowed
                .first()
                .map(|r| r.to_string())
                .ok_or_else(|| Abort::new(err::NOT_AUTHORIZED, format!("no roles on management realm \"{realm}\""))),
        }
    }

    fn anonymous(&self, req: &HelloRequest<'_>) -> AuthStep {
        match req.realm {
            None => reject(err::NO_SUCH_REALM, "no realm assigned"),
            Some(GLOBAL_REALM) => reject(
                err::NOT_AUTHORIZED,
                "anonymous access to the global realm is not allowed",
            ),
            Some(_) if !self.allow_anonymous => reject(
                err::NOT_AUTHORIZED,
                "anonymous access is turned off on this master (allow_anonymous = false)",
            ),
            Some(realm) => {
                if req.authrole.is_some_and(|r| r != "public") {
                    let msg =
                        format!("anonymous sessions get role \"public\" on realm \"{realm}\"");
                    return reject(err::NOT_AUTHORIZED, msg);
                }
                let mut p = principal(realm, &random_authid(), "public", "anonymous", Dict::new());
                p.authprovider = "static".into();
                AuthStep::Welcome(p)
            }
        }
    }
}
