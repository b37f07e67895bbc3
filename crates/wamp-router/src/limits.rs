//! Resource limits against hostile or runaway peers: how many connections the listener holds
//! (and how many of them may still be in their opening handshake), and what one session may
//! hold in a realm (calls in flight as caller and as callee, registrations, subscriptions).
//!
//! Connection limits are counted by [`Gauge`]s owned by the router; a connection holds a
//! [`Permit`] for as long as it counts. Session limits are checked by the realm before it adds
//! state; sessions of the router's own `trusted` role are exempt.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tracing::warn;
use wamp_proto::Id;

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
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            max_pending_calls: 10_000,
            max_pending_invocations: 10_000,
            max_registrations: 10_000,
            max_subscriptions: 10_000,
        }
    }
}

/// A counter with an upper bound, shared by the connections it counts.
#[derive(Debug, Default)]
pub struct Gauge {
    count: AtomicUsize,
}

impl Gauge {
    /// Counts one more unless `max` are already counted.
    pub fn try_acquire(self: &Arc<Self>, max: usize) -> Option<Permit> {
        let mut now = self.count.load(Ordering::Relaxed);
        loop {
            if now >= max {
                return None;
            }
            match self.count.compare_exchange_weak(
                now,
                now + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(Permit(self.clone())),
                Err(seen) => now = seen,
            }
        }
    }

    /// How many are counted now.
    pub fn get(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}

/// One counted unit of a [`Gauge`]; released on drop.
#[derive(Debug)]
pub struct Permit(Arc<Gauge>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What an accepted connection holds: its place among the connections and, until its session
/// is welcomed, among the connections in their opening handshake.
#[derive(Debug)]
pub struct Admission {
    _connection: Permit,
    handshake: Option<Permit>,
}

impl Admission {
    pub fn new(connection: Permit, handshake: Permit) -> Self {
        Admission {
            _connection: connection,
            handshake: Some(handshake),
        }
    }

    /// The opening handshake is over (WELCOME sent): free the handshake slot.
    pub fn handshake_done(&mut self) {
        self.handshake = None;
    }

    /// Whether the connection still counts as in its opening handshake.
    pub fn in_handshake(&self) -> bool {
        self.handshake.is_some()
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

impl RealmState {
    /// `Err(message)` (and a log line) when session `s`, holding `held` of `what`, may not
    /// take one more; `trusted` sessions are never limited.
    pub(crate) fn within_limit(
        &self,
        s: &SessionInfo,
        held: usize,
        max: usize,
        what: &str,
    ) -> Result<(), String> {
        if held < max || s.authrole == TRUSTED {
            return Ok(());
        }
        warn!(session = s.id, authid = %s.authid, realm = %self.realm, held, max, "session limit reached: {what}");
        Err(format!(
            "session {} already holds {held} {what} (limit {max})",
            s.id
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_bounds_and_releases() {
        let g = Arc::new(Gauge::default());
        let a = g.try_acquire(2).expect("first");
        let _b = g.try_acquire(2).expect("second");
        assert!(g.try_acquire(2).is_none());
        drop(a);
        assert_eq!(g.get(), 1);
        assert!(g.try_acquire(2).is_some());
    }
}
