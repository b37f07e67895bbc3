//! WAMP-ticket: the client answers an empty CHALLENGE with its secret ticket.

use wamp_proto::{wamp_errors as err, Dict};

use super::{AuthStep, PendingAuth, Principal};
use crate::error::Abort;

/// Challenges for the ticket of `principal`.
pub fn challenge(secret: String, principal: Principal) -> AuthStep {
    let pending = Box::new(Pending { secret, principal });
    AuthStep::Challenge {
        authmethod: "ticket".into(),
        extra: Dict::new(),
        pending,
    }
}

struct Pending {
    secret: String,
    principal: Principal,
}

impl PendingAuth for Pending {
    fn authenticate(self: Box<Self>, signature: &str, _extra: &Dict) -> Result<Principal, Abort> {
        if constant_time_eq(signature.as_bytes(), self.secret.as_bytes()) {
            Ok(self.principal)
        } else {
            let msg = format!(
                "ticket: invalid ticket for authid '{}'",
                self.principal.authid
            );
            Err(Abort::new(err::AUTHENTICATION_FAILED, msg))
        }
    }
}

/// Compares without leaking where the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
