//! WAMP-cryptosign on the router side: the CHALLENGE (fresh 32 random bytes per attempt,
//! optionally bound to the TLS channel) and the check of the AUTHENTICATE answer.

use wamp_proto::cryptosign::{self, LEN};
use wamp_proto::{dict, wamp_errors as err, Dict, Value};

use super::{AuthStep, HelloRequest, PendingAuth, Principal};
use crate::error::Abort;

/// The client's public key from `HELLO.Details.authextra.pubkey`.
pub fn requested_pubkey(req: &HelloRequest<'_>) -> Result<[u8; LEN], Abort> {
    let hex = req
        .authextra
        .get("pubkey")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Abort::new(
                err::INVALID_ARGUMENT,
                "cryptosign: HELLO.Details.authextra.pubkey (64 hex characters) is required",
            )
        })?;
    cryptosign::parse_hex(hex).map_err(|e| {
        Abort::new(
            err::INVALID_ARGUMENT,
            format!("cryptosign: invalid authextra.pubkey: {e}"),
        )
    })
}

/// The channel binding the client asked for, resolved against the transport.
fn channel_binding(req: &HelloRequest<'_>) -> Result<Option<[u8; LEN]>, Abort> {
    match req.authextra.get("channel_binding") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s)) if s == "tls-unique" => match req.tls_unique {
            Some(finished) => Ok(Some(cryptosign::tls_unique_binding(finished))),
            None => Err(Abort::new(
                err::INVALID_ARGUMENT,
                "cryptosign: channel binding 'tls-unique' requested, but this transport is not TLS",
            )),
        },
        Some(other) => Err(Abort::new(
            err::INVALID_ARGUMENT,
            format!("cryptosign: unsupported channel binding {other:?} (only 'tls-unique')"),
        )),
    }
}

/// Challenges the holder of `pubkey`, who becomes `principal` once the signature checks out.
pub fn challenge(req: &HelloRequest<'_>, pubkey: [u8; LEN], principal: Principal) -> AuthStep {
    let binding = match channel_binding(req) {
        Ok(b) => b,
        Err(a) => return AuthStep::Reject(a),
    };
    let challenge: [u8; LEN] = rand::random();
    let extra = dict! {
        "challenge" => hex::encode(challenge),
        "channel_binding" => if binding.is_some() { Value::from("tls-unique") } else { Value::Null },
    };
    let expected = cryptosign::signed_data(&challenge, binding.as_ref());
    let pending = Box::new(Pending {
        pubkey,
        expected,
        principal,
    });
    AuthStep::Challenge {
        authmethod: "cryptosign".into(),
        extra,
        pending,
    }
}

/// A cryptosign challenge waiting for its answer.
struct Pending {
    pubkey: [u8; LEN],
    expected: [u8; LEN],
    principal: Principal,
}

impl PendingAuth for Pending {
    fn authenticate(self: Box<Self>, signature: &str, _extra: &Dict) -> Result<Principal, Abort> {
        cryptosign::verify(&self.pubkey, &self.expected, signature)
            .map_err(|e| Abort::new(err::AUTHENTICATION_FAILED, format!("cryptosign: {e}")))?;
        Ok(self.principal)
    }
}
