//! Serializer tests: every message variant round-trips through all six serializers with rich
//! payloads, the exact JSON text of a few messages, WAMP's JSON binary convention, and the
//! framing of the batched variants (including its error cases).

mod common;

use common::{all_messages, payloads, rich_args, rich_kwargs, scalars};
use wamp_proto::codec::{decode_value, encode_body, split_batch, JSON_BATCH_SEP};
use wamp_proto::{dict, Dict, Format, Message, Payload, ProtoError, Serializer, Value};

fn json_text(msg: &Message) -> String {
    String::from_utf8(Serializer::JSON.encode(msg).expect("encodes")).expect("JSON is UTF-8")
}

fn json_decode(text: &str) -> Result<Message, ProtoError> {
    let mut msgs = Serializer::JSON.decode(text.as_bytes())?;
    assert_eq!(msgs.len(), 1);
    Ok(msgs.remove(0))
}

#[test]
fn all_variants_round_trip_through_all_serializers() {
    let mut checked = 0;
    for payload in payloads() {
        let msgs = all_messages(&payload);
        assert_eq!(msgs.len(), 24, "one sample per Message variant");
        let codes: std::collections::BTreeSet<u64> = msgs.iter().map(Message::code).collect();
        assert_eq!(codes.len(), 24, "samples cover distinct variants");
        for ser in Serializer::ALL {
            for msg in &msgs {
                let bytes = ser.encode(msg).unwrap();
                let back = ser.decode(&bytes).unwrap();
                assert_eq!(
                    back,
                    vec![msg.clone()],
                    "{} via {}",
                    msg.name(),
                    ser.subprotocol()
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 4 * 6 * 24);
}

#[test]
fn every_scalar_survives_each_format_alone() {
    for format in [Format::Json, Format::MsgPack, Format::Cbor] {
        for v in scalars() {
            let msg = Message::Yield {
                request: 1,
                options: dict! { "v" => v.clone() },
                payload: Payload::args(vec![v.clone()]),
            };
            let mut out = Vec::new();
            encode_body(format, &msg, &mut out).unwrap();
            let back = wamp_proto::codec::decode_one(format, &out).unwrap();
            assert_eq!(back, msg, "{v:?} via {}", format.name());
        }
    }
}

#[test]
fn integer_kinds_are_normalised() {
    // i64-range integers are Int, larger ones UInt, whatever the wire width was.
    for format in [Format::Json, Format::MsgPack, Format::Cbor] {
        let msg = Message::Yield {
            request: 1,
            options: Dict::new(),
            payload: Payload::args(vec![Value::UInt(5), Value::from(u64::MAX)]),
        };
        let mut out = Vec::new();
        encode_body(format, &msg, &mut out).unwrap();
        let Message::Yield { payload, .. } = wamp_proto::codec::decode_one(format, &out).unwrap()
        else {
            panic!("not a YIELD");
        };
        assert_eq!(payload.args, vec![Value::Int(5), Value::UInt(u64::MAX)]);
    }
}

#[test]
fn json_exact_text() {
    let call = Message::Call {
        request: 1,
        options: Dict::new(),
        procedure: "com.x".into(),
        payload: Payload::args(vec![1.into(), "a".into()]),
    };
    assert_eq!(json_text(&call), r#"[48,1,{},"com.x",[1,"a"]]"#);

    let kw_only = Message::Result {
        request: 2,
        details: Dict::new(),
        payload: Payload::new(vec![], dict! { "b" => true }),
    };
    assert_eq!(json_text(&kw_only), r#"[50,2,{},[],{"b":true}]"#);

    let empty = Message::Event {
        subscription: 3,
        publication: 4,
        details: Dict::new(),
        payload: Payload::default(),
    };
    assert_eq!(json_text(&empty), "[36,3,4,{}]");

    let hello = Message::Hello {
        realm: None,
        details: dict! { "b" => 1, "a" => -2 },
    };
    assert_eq!(json_text(&hello), r#"[1,null,{"a":-2,"b":1}]"#);

    let unsub = Message::Unsubscribed {
        request: 9,
        details: None,
    };
    assert_eq!(json_text(&unsub), "[35,9]");
    let unsub = Message::Unsubscribed {
        request: 9,
        details: Some(Dict::new()),
    };
    assert_eq!(json_text(&unsub), "[35,9,{}]");

    let big = Message::Yield {
        request: 1 << 53,
        options: Dict::new(),
        payload: Payload::args(vec![
            Value::UInt(u64::MAX),
            Value::Int(i64::MIN),
            0.5.into(),
        ]),
    };
    assert_eq!(
        json_text(&big),
        "[70,9007199254740992,{},[18446744073709551615,-9223372036854775808,0.5]]"
    );
}

#[test]
fn json_bytes_encode_as_nul_base64() {
    let msg = Message::Publish {
        request: 1,
        options: dict! { "k" => Value::Bytes(b"hi".to_vec()) },
        topic: "t".into(),
        payload: Payload::args(vec![Value::Bytes(vec![0, 1, 0xff]), Value::Bytes(vec![])]),
    };
    assert_eq!(
        json_text(&msg),
        r#"[16,1,{"k":"\u0000aGk="},"t",["\u0000AAH/","\u0000"]]"#
    );
    assert_eq!(json_decode(&json_text(&msg)).unwrap(), msg);
}

#[test]
fn json_nul_strings_decode_as_bytes() {
    let v = decode_value(Format::Json, br#"["\u0000aGk=", "aGk=", "", "\u0000"]"#).unwrap();
    let want = vec![
        Value::Bytes(b"hi".to_vec()),
        Value::Str("aGk=".into()),
        Value::Str(String::new()),
        Value::Bytes(vec![]),
    ];
    assert_eq!(v, Value::List(want));
    // dict values too, but never dict keys
    let v = decode_value(Format::Json, br#"{"\u0000aGk=": "\u0000aGk="}"#).unwrap();
    assert_eq!(
        v,
        Value::Dict(dict! { "\0aGk=" => Value::Bytes(b"hi".to_vec()) })
    );
}

#[test]
fn json_nul_in_the_middle_stays_a_string() {
    let v = decode_value(Format::Json, br#""a\u0000b""#).unwrap();
    assert_eq!(v, Value::Str("a\0b".into()));
}

#[test]
fn json_invalid_base64_after_nul_is_an_error() {
    for bad in [
        r#""\u0000!!!!""#,
        r#""\u0000aGk""#,
        r#""\u0000a=Gk""#,
        r#""\u0000 aGk=""#,
    ] {
        let err = decode_value(Format::Json, bad.as_bytes()).unwrap_err();
        assert!(
            matches!(err, ProtoError::Decode { format: "json", .. }),
            "{bad}: {err}"
        );
    }
    let err = json_decode(r#"[48,1,{},"p",["\u0000%%"]]"#).unwrap_err();
    assert!(matches!(err, ProtoError::Decode { .. }), "{err}");
}

#[test]
fn msgpack_and_cbor_keep_nul_strings_as_strings() {
    let msg = Message::Yield {
        request: 1,
        options: Dict::new(),
        payload: Payload::args(vec![Value::Str("\0aGk=".into())]),
    };
    for ser in [Serializer::MSGPACK, Serializer::CBOR] {
        let back = ser.decode(&ser.encode(&msg).unwrap()).unwrap();
        assert_eq!(back, vec![msg.clone()]);
    }
}

#[test]
fn native_binary_in_msgpack_and_cbor() {
    let msg = Message::Yield {
        request: 1,
        options: Dict::new(),
        payload: Payload::args(vec![Value::Bytes(vec![1, 2])]),
    };
    // msgpack: fixarray(4) 0x46 0x01 fixmap(0) fixarray(1) bin8(2) 01 02
    assert_eq!(
        Serializer::MSGPACK.encode(&msg).unwrap(),
        [0x94, 0x46, 1, 0x80, 0x91, 0xc4, 2, 1, 2]
    );
    // cbor: array(4) uint(70) 1 map(0) array(1) bytes(2) 01 02
    assert_eq!(
        Serializer::CBOR.encode(&msg).unwrap(),
        [0x84, 0x18, 70, 1, 0xa0, 0x81, 0x42, 1, 2]
    );
}

fn batch_of(ser: Serializer, msgs: &[Message]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in msgs {
        ser.encode_into(m, &mut out).expect("encodes");
    }
    out
}

#[test]
fn batched_binary_framing_is_length_prefixed() {
    let msgs = all_messages(&Payload::new(rich_args(), rich_kwargs()));
    for format in [Format::Cbor, Format::MsgPack] {
        let ser = Serializer {
            format,
            batched: true,
        };
        let buf = batch_of(ser, &msgs);
        assert_eq!(ser.decode(&buf).unwrap(), msgs);
        // walk the frames by hand: 4-byte big-endian length, then a plain body
        let mut rest = &buf[..];
        for m in &msgs {
            let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            let plain = Serializer {
                format,
                batched: false,
            };
            assert_eq!(&rest[4..4 + len], &plain.encode(m).unwrap()[..]);
            rest = &rest[4 + len..];
        }
        assert!(rest.is_empty());
    }
}

#[test]
fn batched_json_framing_uses_separator() {
    let ser = Serializer {
        format: Format::Json,
        batched: true,
    };
    let msgs = all_messages(&Payload::new(rich_args(), rich_kwargs()));
    let buf = batch_of(ser, &msgs);
    assert_eq!(
        buf.iter().filter(|b| **b == JSON_BATCH_SEP).count(),
        msgs.len()
    );
    assert_eq!(buf.last(), Some(&JSON_BATCH_SEP));
    assert_eq!(ser.decode(&buf).unwrap(), msgs);
    let one = Message::Published {
        request: 1,
        publication: 2,
    };
    assert_eq!(ser.encode(&one).unwrap(), b"[17,1,2]\x18");
}

#[test]
fn frame_into_matches_encode_into() {
    let msg = Message::Subscribed {
        request: 1,
        subscription: 2,
    };
    for ser in Serializer::ALL {
        let mut body = Vec::new();
        encode_body(ser.format, &msg, &mut body).unwrap();
        let mut framed = Vec::new();
        ser.frame_into(&body, &mut framed).unwrap();
        assert_eq!(framed, ser.encode(&msg).unwrap(), "{}", ser.subprotocol());
    }
}

#[test]
fn batched_binary_framing_errors() {
    let msg = Message::Published {
        request: 1,
        publication: 2,
    };
    for format in [Format::Cbor, Format::MsgPack] {
        let ser = Serializer {
            format,
            batched: true,
        };
        let good = ser.encode(&msg).unwrap();
        let framing =
            |data: &[u8]| matches!(split_batch(format, data), Err(ProtoError::Framing(_)));
        assert!(framing(&[]), "empty batch");
        for cut in 1..4 {
            assert!(framing(&good[..cut]), "truncated length prefix at {cut}");
        }
        assert!(framing(&good[..good.len() - 1]), "length past the end");
        assert!(framing(&[0xff, 0xff, 0xff, 0xff, 1]), "huge length");
        let mut two = good.clone();
        two.extend_from_slice(&good[..6]);
        assert!(framing(&two), "second frame truncated");
        // a zero-length frame splits fine but is not a message
        assert!(ser.decode(&[0, 0, 0, 0]).is_err());
        // a frame that holds two messages is trailing garbage
        let mut body = Vec::new();
        encode_body(format, &msg, &mut body).unwrap();
        encode_body(format, &msg, &mut body).unwrap();
        let mut bad = (body.len() as u32).to_be_bytes().to_vec();
        bad.extend_from_slice(&body);
        assert!(ser.decode(&bad).is_err());
    }
}

#[test]
fn batched_json_framing_errors() {
    let ser = Serializer {
        format: Format::Json,
        batched: true,
    };
    let framing = |data: &[u8]| matches!(ser.decode(data), Err(ProtoError::Framing(_)));
    assert!(framing(b""), "empty");
    assert!(framing(b"[17,1,2]"), "missing trailing separator");
    assert!(
        framing(b"[17,1,2]\x18[17,1,3]"),
        "missing separator after the last"
    );
    assert!(ser.decode(b"\x18").is_err(), "empty message");
    assert!(
        ser.decode(b"[17,1,2]\x18\x18").is_err(),
        "empty second message"
    );
    assert!(
        ser.decode(b"[17,1,2][17,1,3]\x18").is_err(),
        "two messages without separator"
    );
}

#[test]
fn one_bad_message_fails_the_whole_batch() {
    let ser = Serializer {
        format: Format::Json,
        batched: true,
    };
    assert!(ser.decode(b"[17,1,2]\x18[99]\x18").is_err());
    let ser = Serializer {
        format: Format::Cbor,
        batched: true,
    };
    let mut buf = ser
        .encode(&Message::Published {
            request: 1,
            publication: 2,
        })
        .unwrap();
    buf.extend_from_slice(&[0, 0, 0, 2, 0x81, 0x18]); // [99] truncated
    assert!(ser.decode(&buf).is_err());
}

#[test]
fn plain_serializers_reject_trailing_bytes() {
    let msg = Message::Published {
        request: 1,
        publication: 2,
    };
    for ser in [Serializer::JSON, Serializer::MSGPACK, Serializer::CBOR] {
        let mut buf = ser.encode(&msg).unwrap();
        buf.push(0);
        assert!(ser.decode(&buf).is_err(), "{}", ser.subprotocol());
    }
    // JSON whitespace around the value is fine
    assert_eq!(Serializer::JSON.decode(b" [17,1,2]\n").unwrap(), vec![msg]);
}

#[test]
fn subprotocol_names() {
    let names: Vec<&str> = Serializer::ALL.iter().map(|s| s.subprotocol()).collect();
    assert_eq!(
        names,
        [
            "wamp.2.cbor.batched",
            "wamp.2.cbor",
            "wamp.2.msgpack.batched",
            "wamp.2.msgpack",
            "wamp.2.json.batched",
            "wamp.2.json"
        ]
    );
    for ser in Serializer::ALL {
        assert_eq!(Serializer::from_subprotocol(ser.subprotocol()), Some(ser));
    }
    assert_eq!(Serializer::from_subprotocol("wamp.2.ubjson"), None);
    assert_eq!(Serializer::from_subprotocol("wamp.2.JSON"), None);
}

#[test]
fn json_floats_parse_exactly() {
    // serde_json's default float parser can be off by one ULP; WAMP must not alter numbers
    let cases = [
        "1.844674407437095e20",
        "184467440743709551615",
        "18446744074370955161",
        "0.1",
        "2.2250738585072014e-308",
    ];
    for text in cases {
        let want: f64 = text.parse().unwrap();
        let got = decode_value(Format::Json, text.as_bytes()).unwrap();
        assert_eq!(got, Value::Float(want), "{text}");
        // and our output text parses back to the same bits
        let msg = Message::Yield {
            request: 1,
            options: Dict::new(),
            payload: Payload::args(vec![got]),
        };
        let back = Serializer::JSON
            .decode(&Serializer::JSON.encode(&msg).unwrap())
            .unwrap();
        assert_eq!(back, vec![msg], "{text}");
    }
}
