//! Interop with the Python serializers that autobahn uses (`json`, `msgpack`, `cbor2`).
//!
//! The hex constants were produced once by `tests/fixtures/gen_interop.py` (cbor2 5.x,
//! msgpack 1.2.4, CPython 3.11 json with autobahn's conventions); Python is not needed to run
//! these tests. Our own encodings of the same messages were checked to decode equal in Python.

mod common;

use common::hex;
use wamp_proto::{dict, Dict, Format, Message, Payload, Serializer, Value};

/// One fixture: the message and its bytes from Python's json, msgpack and cbor2.
struct Fixture {
    name: &'static str,
    json: &'static str,
    msgpack: &'static str,
    cbor: &'static str,
    expect: fn() -> Message,
}

const FIXTURES: &[Fixture] = &[
    Fixture {
        name: "hello",
        json: "5b312c227265616c6d31222c7b22726f6c6573223a7b2263616c6c6572223a7b7d2c227075626c6973686572223a7b7d7d2c22617574686d6574686f6473223a5b22616e6f6e796d6f7573225d7d5d",
        msgpack: "9301a67265616c6d3182a5726f6c657382a663616c6c657280a97075626c697368657280ab617574686d6574686f647391a9616e6f6e796d6f7573",
        cbor: "8301667265616c6d31a265726f6c6573a26663616c6c6572a0697075626c6973686572a06b617574686d6574686f64738169616e6f6e796d6f7573",
        expect: || Message::Hello {
            realm: Some("realm1".into()),
            details: dict! {
                "roles" => dict! { "caller" => Dict::new(), "publisher" => Dict::new() },
                "authmethods" => vec![Value::from("anonymous")],
            },
        },
    },
    Fixture {
        name: "welcome",
        json: "5b322c31323334352c7b22617574686964223a226a6f65222c22726f6c6573223a7b2262726f6b6572223a7b7d2c226465616c6572223a7b7d7d7d5d",
        msgpack: "9302cd303982a6617574686964a36a6f65a5726f6c657382a662726f6b657280a66465616c657280",
        cbor: "8302193039a266617574686964636a6f6565726f6c6573a26662726f6b6572a0666465616c6572a0",
        expect: || Message::Welcome {
            session: 12345,
            details: dict! {
                "authid" => "joe",
                "roles" => dict! { "broker" => Dict::new(), "dealer" => Dict::new() },
            },
        },
    },
    Fixture {
        name: "call",
        json: "5b34382c372c7b7d2c22636f6d2e78222c5b312c2261222c225c75303030304141482f225d2c7b2266223a312e352c226b223a2d357d5d",
        msgpack: "96300780a5636f6d2e789301a161c4030001ff82a166cb3ff8000000000000a16bfb",
        cbor: "86183007a065636f6d2e7883016161430001ffa26166fb3ff8000000000000616b24",
        expect: || Message::Call {
            request: 7,
            options: Dict::new(),
            procedure: "com.x".into(),
            payload: Payload::new(
                vec![1.into(), "a".into(), Value::Bytes(vec![0, 1, 0xff])],
                dict! { "f" => 1.5, "k" => -5 },
            ),
        },
    },
    Fixture {
        name: "event",
        json: "5b33362c393030373139393235343734303939322c312c7b7d2c5b31383434363734343037333730393535313631352c2d393232333337323033363835343737353830382c6e756c6c2c747275652c322e352c22c3a9e4b8ad225d5d",
        msgpack: "9524cf0020000000000000018096cfffffffffffffffffd38000000000000000c0c3cb4004000000000000a5c3a9e4b8ad",
        cbor: "8518241b002000000000000001a0861bffffffffffffffff3b7ffffffffffffffff6f5fb400400000000000065c3a9e4b8ad",
        expect: || Message::Event {
            subscription: 1 << 53,
            publication: 1,
            details: Dict::new(),
            payload: Payload::args(vec![
                Value::UInt(u64::MAX),
                Value::Int(i64::MIN),
                Value::Null,
                Value::Bool(true),
                Value::Float(2.5),
                "é中".into(),
            ]),
        },
    },
    Fixture {
        name: "error",
        json: "5b382c34382c372c7b7d2c2277616d702e6572726f722e6e6f5f737563685f70726f636564757265225d",
        msgpack: "9508300780bc77616d702e6572726f722e6e6f5f737563685f70726f636564757265",
        cbor: "8508183007a0781c77616d702e6572726f722e6e6f5f737563685f70726f636564757265",
        expect: || Message::Error {
            request_type: 48,
            request: 7,
            details: Dict::new(),
            error: "wamp.error.no_such_procedure".into(),
            payload: Payload::default(),
        },
    },
    Fixture {
        name: "publish",
        json: "5b31362c332c7b2261636b6e6f776c65646765223a747275657d2c22612e62222c5b5b312c5b322c7b2278223a5b5d7d5d5d5d2c7b2262223a225c7530303030227d5d",
        msgpack: "96100381ab61636b6e6f776c65646765c3a3612e62919201920281a1789081a162c400",
        cbor: "861003a16b61636b6e6f776c65646765f563612e628182018202a1617880a1616240",
        expect: || Message::Publish {
            request: 3,
            options: dict! { "acknowledge" => true },
            topic: "a.b".into(),
            payload: Payload::new(
                vec![Value::List(vec![
                    1.into(),
                    Value::List(vec![2.into(), Value::Dict(dict! { "x" => Vec::<Value>::new() })]),
                ])],
                dict! { "b" => Value::Bytes(vec![]) },
            ),
        },
    },
    Fixture {
        name: "unsubscribed",
        json: "5b33352c395d",
        msgpack: "922309",
        cbor: "82182309",
        expect: || Message::Unsubscribed { request: 9, details: None },
    },
    Fixture {
        name: "result_kw",
        json: "5b35302c342c7b7d2c5b5d2c7b2278223a225c753030303061476b3d227d5d",
        msgpack: "953204809081a178c4026869",
        cbor: "85183204a080a16178426869",
        expect: || Message::Result {
            request: 4,
            details: Dict::new(),
            payload: Payload::new(vec![], dict! { "x" => Value::Bytes(b"hi".to_vec()) }),
        },
    },
];

fn fixture_bytes(f: &Fixture) -> [(Serializer, Vec<u8>); 3] {
    [
        (Serializer::JSON, hex(f.json)),
        (Serializer::MSGPACK, hex(f.msgpack)),
        (Serializer::CBOR, hex(f.cbor)),
    ]
}

#[test]
fn python_encodings_decode_to_expected_messages() {
    for f in FIXTURES {
        for (ser, bytes) in fixture_bytes(f) {
            let got = ser
                .decode(&bytes)
                .unwrap_or_else(|e| panic!("{} {}: {e}", f.name, ser.subprotocol()));
            assert_eq!(
                got,
                vec![(f.expect)()],
                "{} via {}",
                f.name,
                ser.subprotocol()
            );
        }
    }
}

#[test]
fn python_encodings_work_in_batches() {
    for format in [Format::Json, Format::MsgPack, Format::Cbor] {
        let ser = Serializer {
            format,
            batched: true,
        };
        let mut batch = Vec::new();
        for f in FIXTURES {
            let (_, body) = fixture_bytes(f)
                .into_iter()
                .find(|(s, _)| s.format == format)
                .unwrap();
            ser.frame_into(&body, &mut batch).unwrap();
        }
        let want: Vec<Message> = FIXTURES.iter().map(|f| (f.expect)()).collect();
        assert_eq!(ser.decode(&batch).unwrap(), want, "{}", ser.subprotocol());
    }
}

/// Where our encoder and Python's agree byte for byte (same integer widths, sorted keys,
/// no floats, compact JSON), the encodings must be identical.
#[test]
fn our_encoding_matches_python_where_canonical() {
    let same = ["welcome", "error", "unsubscribed", "result_kw"];
    for f in FIXTURES.iter().filter(|f| same.contains(&f.name)) {
        for (ser, bytes) in fixture_bytes(f) {
            let ours = ser.encode(&(f.expect)()).unwrap();
            assert_eq!(
                common::to_hex(&ours),
                common::to_hex(&bytes),
                "{} {}",
                f.name,
                ser.subprotocol()
            );
        }
    }
}
