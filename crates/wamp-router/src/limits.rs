//! Resource limits against hostile or runaway peers: what one session may hold in a realm
//! (calls in flight as caller and as callee, registrations, subscriptions and, fewer, prefix or
//! wildcard subscriptions) and how long a URI may be. (Connection limits: `admission`.)
//!
//! Session limits and the URI length are checked by the realm before it adds state; sessions of
//! the router's own `trusted` role are exempt.

use std::collections::HashMap;

use wamp_proto::{Id, MatchPolicy};

use crate::ratelog::{warn_limited, Gate};
use crate::realm::{RealmState, TRUSTED};
use crate::session::SessionInfo;

/// ERROR of a CALL when the caller already has `max_pending_calls` calls in flight.
pub const TOO_MANY_PENDING_CALLS: &str = "mrealm.error.too_many_pending_calls";
/// ERROR of a CALL when the chosen callee already has `max_pending_invocations` in flight.
pub const TOO_MANY_PENDING_INVOCATIONS: &str = "mrealm.error.too_many_pending_invocations";
/// ERROR of a REGISTER beyond `max_registrations` of the session.
pub const TOO_MANY_REGISTRATIONS: &str = "mrealm.error.too_many_registrations";
/// ERROR of a SUBSCRIBE beyond `max_subscriptions` of the session.
pub const TOO_MANY_SUBSCRIPTIONS: &str = "mrealm.error.too_many_subscriptions";
/// ABORT of a session that did not complete HELLO → WELCOME within the handshake timeout.
pub const HANDSHAKE_TIMEOUT: &str = "mrealm.error.handshake_timeout";

/// What one session may hold in a realm. Defaults sit far above what a Crossbar edge node
/// (~110 registrations) or `crossbar shell` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Calls a session may have in flight as caller.
    pub max_pending_calls: usize,
    /// Invocations a callee may have in flight (unanswered).
    pub max_pending_invocations: usize,
    /// Registrations per session.
    pub max_registrations: usize,
    /// Subscriptions per session.
    pub max_subscriptions: usize,
    /// Of those, prefix and wildcard subscriptions.
    pub max_pattern_subscriptions: usize,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            max_pending_calls: 10_000,
            max_pending_invocations: 10_000,
            max_registrations: 10_000,
            max_subscriptions: 10_000,
            max_pattern_subscriptions: 1_000,
        }
    }
}

/// Decrements `id`'s count, forgetting it at zero.
pub(crate) fn count_down(counts: &mut HashMap<Id, usize>, id: Id) {
    if let Some(n) = counts.get_mut(&id) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            counts.remove(&id);
        }
    }
}

/// The per-session limits, for messages and the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    PendingCalls,
    Registrations,
    Subscriptions,
    PatternSubscriptions,
}

impl Limit {
    fn what(self) -> &'static str {
        match self {
            Limit::PendingCalls => "calls in flight",
            Limit::Registrations => "registrations",
            Limit::Subscriptions => "subscriptions",
            Limit::PatternSubscriptions => "prefix/wildcard subscriptions",
        }
    }
}

/// One log gate per [`Limit`]: a burst of refusals logs one line per kind and period.
static GATES: [Gate; 4] = [Gate::new(), Gate::new(), Gate::new(), Gate::new()];

impl RealmState {
    /// `Err(message)` (and a rate-limited log line) when session `s`, holding `held` of `kind`,
    /// may not take one more; `trusted` sessions are never limited.
    pub(crate) fn within_limit(
        &self,
        s: &SessionInfo,
        held: usize,
        max: usize,
        kind: Limit,
    ) -> Result<(), String> {
        if held < max || s.authrole == TRUSTED {
            return Ok(());
        }
        let what = kind.what();
        warn_limited!(gate: GATES[kind as usize], session = s.id, authid = %s.authid,
            realm = %self.realm, held, max, "session limit reached: {what}");
        Err(format!(
            "session {} already holds {held} {what} (limit {max})",
            s.id
        ))
    }

    /// Whether session `s` may take one more subscription with `policy`.
    pub(crate) fn subscription_limits(
        &self,
        s: &SessionInfo,
        policy: MatchPolicy,
    ) -> Result<(), String> {
        let b = &self.broker;
        let held = b.by_session.get(&s.id).map_or(0, Vec::len);
        self.within_limit(s, held, self.limits.max_subscriptions, Limit::Subscriptions)?;
        if policy == MatchPolicy::Exact {
            return Ok(());
        }
        let patterns = b.patterns_of.get(&s.id).copied().unwrap_or(0);
        let max = self.limits.max_pattern_subscriptions;
        self.within_limit(s, patterns, max, Limit::PatternSubscriptions)
    }

    /// Checks a URI's length (`max_uri_length`; `trusted` sessions, the router's own, are
    /// exempt), then its form for `policy`; `what` names it in the message (`topic`, ...).
    pub(crate) fn check_uri(
        &self,
        s: &SessionInfo,
        uri: &str,
        policy: MatchPolicy,
        what: &str,
    ) -> Result<(), String> {
        if s.authrole != TRUSTED {
            check_uri_length(uri, self.max_uri_length, what)?;
        }
        if wamp_proto::uri::validate(uri, policy, false) {
            return Ok(());
        }
        Err(match policy {
            MatchPolicy::Exact => format!("invalid {what} URI '{uri}'"),
            _ => format!(
                "invalid {what} URI '{uri}' for match policy '{}'",
                policy.as_str()
            ),
        })
    }
}

/// `Err(message)` when `uri` is longer than `max` bytes.
pub(crate) fn check_uri_length(uri: &str, max: usize, what: &str) -> Result<(), String> {
    if uri.len() <= max {
        return Ok(());
    }
    Err(format!(
        "{what} URI of {} bytes is longer than the limit of {max} bytes",
        uri.len()
    ))
}
