//! Checks shared by the fuzz targets: decoding never panics, and whatever decodes re-encodes
//! to bytes that decode to the same messages; plus the per-target checks in the modules below
//! (message parsing, key files, cryptosign, heartbeats, config, the HTTP upgrade request).

pub mod gen;
pub mod http;
pub mod keys;
pub mod master;
pub mod message;

use wamp_proto::uri::{matches, validate, wildcard_rank};
use wamp_proto::{MatchPolicy, Message, Serializer};

/// Decodes `data` with `ser`; on success, re-encodes and checks the second decode agrees.
pub fn decode_round_trip(ser: Serializer, data: &[u8]) {
    let Ok(msgs) = ser.decode(data) else { return };
    let again = reencode(ser, &msgs);
    let back = match ser.decode(&again) {
        Ok(back) => back,
        Err(e) => panic!(
            "{}: our own encoding does not decode: {e}",
            ser.subprotocol()
        ),
    };
    assert!(
        same(&msgs, &back),
        "{}: {msgs:?} became {back:?}",
        ser.subprotocol()
    );
}

fn reencode(ser: Serializer, msgs: &[Message]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in msgs {
        if let Err(e) = ser.encode_into(m, &mut out) {
            panic!(
                "{}: decoded message does not encode: {e}",
                ser.subprotocol()
            );
        }
    }
    out
}

/// Equality that treats NaN as equal to itself (Debug text is the same for both).
pub fn same(a: &[Message], b: &[Message]) -> bool {
    a == b || format!("{a:?}") == format!("{b:?}")
}

/// Splits fuzz input into a policy, a pattern and a URI, and checks the URI rules' invariants.
pub fn uri_invariants(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (pattern, uri) = text.split_once('\0').unwrap_or((text, ""));
    let policy = [
        MatchPolicy::Exact,
        MatchPolicy::Prefix,
        MatchPolicy::Wildcard,
    ][first as usize % 3];
    let strict = first & 0x80 != 0;

    let _ = wildcard_rank(pattern);
    let valid = validate(pattern, policy, strict);
    if valid && strict {
        assert!(
            validate(pattern, policy, false),
            "strict-valid but loose-invalid: {pattern:?}"
        );
    }
    if validate(pattern, MatchPolicy::Exact, strict) {
        for p in [
            MatchPolicy::Exact,
            MatchPolicy::Prefix,
            MatchPolicy::Wildcard,
        ] {
            assert!(
                validate(pattern, p, strict),
                "exact-valid but not {p:?}: {pattern:?}"
            );
            assert!(
                matches(pattern, p, pattern),
                "{pattern:?} does not match itself as {p:?}"
            );
        }
    }
    let hit = matches(pattern, policy, uri);
    match policy {
        MatchPolicy::Exact => assert_eq!(hit, pattern == uri),
        MatchPolicy::Prefix => assert_eq!(hit, uri.starts_with(pattern)),
        MatchPolicy::Wildcard if hit => {
            assert_eq!(pattern.split('.').count(), uri.split('.').count());
        }
        MatchPolicy::Wildcard => {}
    }
}
