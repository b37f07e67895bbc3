//! Message parsing from a structured [`Value`]: [`Message::from_value`] never panics, and a
//! message it accepts encodes under every serializer to bytes that decode to the same message.
//!
//! Two documented conventions are exempt from the JSON round trip: a string that starts with
//! `"\0"` is read back as base64 binary (autobahn's convention), and a non-finite float has no
//! JSON form (serde_json writes `null`).

use libfuzzer_sys::arbitrary::Unstructured;
use wamp_proto::message::code_name;
use wamp_proto::{Format, Message, Serializer, Value};

use crate::same;

/// Builds a message list from `data`, parses it and checks the round trips.
pub fn from_value_round_trip(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(list) = crate::gen::message_list(&mut u) else {
        return;
    };
    let code = list
        .as_list()
        .and_then(|l| l.first())
        .and_then(Value::as_u64);
    let json_safe = json_representable(&list);
    let Ok(msg) = Message::from_value(list) else {
        return;
    };
    assert_eq!(Some(msg.code()), code, "code changed: {msg:?}");
    assert_ne!(code_name(msg.code()), "UNKNOWN");
    for ser in Serializer::ALL {
        if ser.format == Format::Json && !json_safe {
            continue;
        }
        let bytes = match ser.encode(&msg) {
            Ok(b) => b,
            Err(e) => panic!("{}: {msg:?} does not encode: {e}", ser.subprotocol()),
        };
        let back = match ser.decode(&bytes) {
            Ok(b) => b,
            Err(e) => panic!(
                "{}: {msg:?} encodes to undecodable bytes: {e}",
                ser.subprotocol()
            ),
        };
        let one = std::slice::from_ref(&msg);
        assert!(
            same(one, &back),
            "{}: {msg:?} became {back:?}",
            ser.subprotocol()
        );
    }
}

/// Whether JSON can carry `v` unchanged (see the module doc).
fn json_representable(v: &Value) -> bool {
    match v {
        Value::Float(f) => f.is_finite(),
        Value::Str(s) => !s.starts_with('\0'),
        Value::List(l) => l.iter().all(json_representable),
        Value::Dict(d) => d.values().all(json_representable),
        _ => true,
    }
}
