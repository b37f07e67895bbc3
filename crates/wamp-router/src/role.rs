//! Roles and their permissions on a realm: which URIs a role may call, register, publish and
//! subscribe, and whether the caller or publisher is disclosed.
//!
//! The permission for a URI is the most specific rule that matches it: an exact rule first,
//! then the longest prefix rule, then the most specific wildcard rule (as in Crossbar).

use wamp_proto::uri::{self, MatchPolicy};

/// What a session tries to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Call,
    Register,
    Publish,
    Subscribe,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Call => "call",
            Action::Register => "register",
            Action::Publish => "publish",
            Action::Subscribe => "subscribe",
        }
    }
    /// The verb in Crossbar's refusal text ("call procedure", "publish to topic").
    pub fn phrase(self) -> &'static str {
        match self {
            Action::Call => "call procedure",
            Action::Register => "register procedure",
            Action::Publish => "publish to topic",
            Action::Subscribe => "subscribe to topic",
        }
    }
}

/// One permission rule of a role.
#[derive(Debug, Clone, PartialEq)]
pub struct Permission {
    pub uri: String,
    pub policy: MatchPolicy,
    pub call: bool,
    pub register: bool,
    pub publish: bool,
    pub subscribe: bool,
    pub disclose_caller: bool,
    pub disclose_publisher: bool,
}

impl Permission {
    /// A rule allowing every action on every URI, disclosing nothing.
    pub fn allow_all() -> Self {
        Permission {
            uri: String::new(),
            policy: MatchPolicy::Prefix,
            call: true,
            register: true,
            publish: true,
            subscribe: true,
            disclose_caller: false,
            disclose_publisher: false,
        }
    }
    pub fn allows(&self, action: Action) -> bool {
        match action {
            Action::Call => self.call,
            Action::Register => self.register,
            Action::Publish => self.publish,
            Action::Subscribe => self.subscribe,
        }
    }
}

/// A named role with its rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub name: String,
    pub permissions: Vec<Permission>,
}

impl Role {
    pub fn new(name: impl Into<String>, permissions: Vec<Permission>) -> Self {
        Role {
            name: name.into(),
            permissions,
        }
    }

    /// The most specific rule matching `target`.
    pub fn permission_for(&self, target: &str) -> Option<&Permission> {
        let matching = self
            .permissions
            .iter()
            .filter(|p| uri::matches(&p.uri, p.policy, target));
        matching.max_by_key(|p| specificity(p))
    }
}

/// Orders rules: exact > prefix (longer first) > wildcard (leftmost concrete component first).
fn specificity(p: &Permission) -> (u8, usize, Vec<bool>) {
    match p.policy {
        MatchPolicy::Exact => (2, 0, Vec::new()),
        MatchPolicy::Prefix => (1, p.uri.len(), Vec::new()),
        MatchPolicy::Wildcard => (0, 0, uri::wildcard_rank(&p.uri)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(uri: &str, policy: MatchPolicy, call: bool) -> Permission {
        Permission {
            uri: uri.into(),
            policy,
            call,
            ..Permission::allow_all()
        }
    }

    #[test]
    fn most_specific_rule_wins() {
        let role = Role::new(
            "r",
            vec![
                rule("", MatchPolicy::Prefix, false),
                rule("com.x.", MatchPolicy::Prefix, true),
                rule("com.x.secret", MatchPolicy::Exact, false),
                rule("com..public", MatchPolicy::Wildcard, true),
            ],
        );
        let allowed = |u: &str| role.permission_for(u).map(|p| p.call).unwrap_or(false);
        assert!(allowed("com.x.y"));
        assert!(!allowed("com.x.secret"));
        assert!(!allowed("org.y"));
        // Any prefix rule beats any wildcard rule, as in Crossbar: "" (prefix) wins here.
        assert!(!allowed("com.y.public"));
        assert!(allowed("com.x.public"));
        let only_wildcard = Role::new("w", vec![rule("com..public", MatchPolicy::Wildcard, true)]);
        assert!(only_wildcard
            .permission_for("com.y.public")
            .is_some_and(|p| p.call));
    }
}

/// The answer of a dynamic [`Authorizer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed; `disclose` says whether the caller/publisher is disclosed.
    Allow { disclose: bool },
    /// Refused, with the reason sent in `wamp.error.not_authorized`.
    Deny(String),
    /// No opinion: the realm's role rules decide.
    UseRoles,
}

/// A dynamic authorization hook, asked before the role rules on every action.
pub trait Authorizer: Send + Sync {
    fn authorize(
        &self,
        session: &crate::session::SessionInfo,
        action: Action,
        uri: &str,
    ) -> Decision;
}
