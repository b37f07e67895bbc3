//! Shared helpers of the wamp-proto integration tests: sample values covering every [`Value`]
//! kind, one sample of each of the 24 [`Message`] variants, hex helpers and a deterministic
//! pseudo-random generator.
#![allow(dead_code)]

use wamp_proto::{dict, Dict, Message, Payload, Value, MAX_ID};

/// A xorshift64* generator: deterministic, so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

pub fn hex(s: &str) -> Vec<u8> {
    assert_eq!(s.len() % 2, 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
        .collect()
}

pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One value of every kind, including edge integers and floats.
pub fn scalars() -> Vec<Value> {
    vec![
        Value::Null,
        Value::Bool(true),
        Value::Bool(false),
        Value::Int(0),
        Value::Int(-1),
        Value::Int(-33),
        Value::Int(i64::MIN),
        Value::Int(i64::MAX),
        Value::Int(1 << 53),
        Value::Int((1 << 53) + 1),
        Value::UInt(u64::MAX),
        Value::UInt(i64::MAX as u64 + 1),
        Value::Float(1.5),
        Value::Float(-0.25),
        Value::Float(1e300),
        Value::Float(f64::MIN_POSITIVE),
        Value::Float(3.0),
        Value::Str(String::new()),
        Value::Str("héllo wörld ✓ 中".into()),
        Value::Str("quote\" backslash\\ ctl\u{1}\u{18}".into()),
        Value::Bytes(vec![]),
        Value::Bytes(vec![0]),
        Value::Bytes((0..=255).collect()),
    ]
}

/// Scalars plus nested lists and dicts of them.
pub fn rich_args() -> Vec<Value> {
    let mut args = scalars();
    args.push(Value::List(scalars()));
    args.push(Value::List(vec![]));
    args.push(Value::Dict(Dict::new()));
    args.push(Value::Dict(rich_kwargs()));
    args.push(Value::List(vec![Value::List(vec![Value::Dict(
        rich_kwargs(),
    )])]));
    args
}

pub fn rich_kwargs() -> Dict {
    let mut d: Dict = scalars()
        .into_iter()
        .enumerate()
        .map(|(i, v)| (format!("k{i}"), v))
        .collect();
    d.insert(String::new(), Value::Int(1));
    d.insert(
        "nested".into(),
        Value::List(vec![Value::Dict(dict! {"x" => vec![Value::Null]})]),
    );
    d
}

/// A details/options dict with a few kinds of values.
pub fn details() -> Dict {
    dict! {
        "roles" => dict! { "caller" => dict! { "features" => dict! { "progressive" => true } } },
        "authid" => "joe",
        "n" => -7,
        "blob" => Value::Bytes(vec![1, 2, 3]),
        "ids" => vec![Value::from(MAX_ID), Value::Int(1)],
    }
}

/// The four payload shapes: empty, args only, kwargs only, both.
pub fn payloads() -> Vec<Payload> {
    vec![
        Payload::default(),
        Payload::args(rich_args()),
        Payload::new(vec![], rich_kwargs()),
        Payload::new(rich_args(), rich_kwargs()),
    ]
}

/// One message of each of the 24 variants, carrying `payload` where the variant has one.
pub fn all_messages(payload: &Payload) -> Vec<Message> {
    use Message as M;
    let p = || payload.clone();
    let d = details;
    vec![
        M::Hello {
            realm: Some("realm1".into()),
            details: d(),
        },
        M::Welcome {
            session: MAX_ID,
            details: d(),
        },
        M::Abort {
            details: d(),
            reason: "wamp.error.no_such_realm".into(),
        },
        M::Challenge {
            authmethod: "wampcra".into(),
            extra: d(),
        },
        M::Authenticate {
            signature: "c2lnbmF0dXJl".into(),
            extra: Dict::new(),
        },
        M::Goodbye {
            details: Dict::new(),
            reason: "wamp.close.normal".into(),
        },
        M::Error {
            request_type: 48,
            request: 1,
            details: d(),
            error: "com.err".into(),
            payload: p(),
        },
        M::Publish {
            request: 2,
            options: d(),
            topic: "com.topic".into(),
            payload: p(),
        },
        M::Published {
            request: 2,
            publication: MAX_ID,
        },
        M::Subscribe {
            request: 3,
            options: d(),
            topic: "com..x".into(),
        },
        M::Subscribed {
            request: 3,
            subscription: 77,
        },
        M::Unsubscribe {
            request: 4,
            subscription: 77,
        },
        M::Unsubscribed {
            request: 4,
            details: None,
        },
        M::Event {
            subscription: 77,
            publication: 5,
            details: d(),
            payload: p(),
        },
        M::Call {
            request: 6,
            options: d(),
            procedure: "com.proc".into(),
            payload: p(),
        },
        M::Cancel {
            request: 6,
            options: dict! { "mode" => "kill" },
        },
        M::Result {
            request: 6,
            details: d(),
            payload: p(),
        },
        M::Register {
            request: 7,
            options: d(),
            procedure: "com.proc".into(),
        },
        M::Registered {
            request: 7,
            registration: 88,
        },
        M::Unregister {
            request: 8,
            registration: 88,
        },
        M::Unregistered {
            request: 8,
            details: Some(dict! { "reason" => "x" }),
        },
        M::Invocation {
            request: 9,
            registration: 88,
            details: d(),
            payload: p(),
        },
        M::Interrupt {
            request: 9,
            options: Dict::new(),
        },
        M::Yield {
            request: 9,
            options: d(),
            payload: p(),
        },
    ]
}

/// Small valid messages whose encodings seed the hostile-input tests.
pub fn seed_messages() -> Vec<Message> {
    let small = Payload::new(
        vec![
            Value::Int(1),
            "a".into(),
            Value::Bytes(vec![0, 255]),
            Value::Float(0.5),
        ],
        dict! { "k" => vec![Value::Null, Value::Bool(true)], "u" => Value::UInt(u64::MAX) },
    );
    let mut msgs = all_messages(&small);
    msgs.push(Message::Hello {
        realm: None,
        details: Dict::new(),
    });
    msgs.push(Message::Unregistered {
        request: 1,
        details: None,
    });
    msgs
}
