//! Hostile input: every decoder must answer garbage with an `Err`, never a panic, a stack
//! overflow or a huge allocation. Covers empty and random buffers, truncations at every cut,
//! malformed message shapes, out-of-range ids, deep nesting, lying length headers, invalid
//! UTF-8, and a deterministic mutation "mini-fuzz" of valid encodings (50k per format).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

use common::{seed_messages, Rng};
use wamp_proto::codec::{decode_one, decode_value};
use wamp_proto::{Format, Message, ProtoError, Serializer, Value};

const FORMATS: [Format; 3] = [Format::Json, Format::MsgPack, Format::Cbor];

/// Records the largest single allocation of the current thread, to catch decoders that trust
/// a declared length.
struct Tracking;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

// Measuring allocations takes a global allocator, an unsafe trait.
#[allow(unsafe_code)]
// SAFETY: every method forwards to the system allocator with the caller's arguments unchanged
// (`note` only records a size and does not allocate), so `System`'s guarantees carry over.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded: `ptr` was allocated by `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: forwarded: `ptr` was allocated by `System` through this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

#[global_allocator]
static ALLOC: Tracking = Tracking;

/// Runs `f`, returning the largest allocation it made on this thread.
fn largest_alloc(f: impl FnOnce()) -> usize {
    LARGEST.with(|l| l.set(0));
    f();
    LARGEST.with(|l| l.get())
}

fn encode(format: Format, msg: &Message) -> Vec<u8> {
    Serializer {
        format,
        batched: false,
    }
    .encode(msg)
    .expect("encodes")
}

/// Decodes through every path that takes bytes; returns whether the plain decode succeeded.
fn decode_all_ways(format: Format, data: &[u8]) -> bool {
    let _ = decode_value(format, data);
    let _ = Serializer {
        format,
        batched: true,
    }
    .decode(data);
    decode_one(format, data).is_ok()
}

#[test]
fn empty_buffer_is_an_error() {
    for ser in Serializer::ALL {
        assert!(ser.decode(&[]).is_err(), "{}", ser.subprotocol());
    }
}

#[test]
fn random_buffers_are_rejected_without_panic() {
    let mut rng = Rng::new(0x5eed);
    for format in FORMATS {
        let mut accepted = 0;
        for _ in 0..10_000 {
            let len = rng.below(64);
            let data = rng.bytes(len);
            accepted += decode_all_ways(format, &data) as usize;
        }
        // random bytes are almost never a well-formed WAMP message
        assert!(
            accepted < 10,
            "{}: {accepted} random buffers decoded",
            format.name()
        );
    }
}

#[test]
fn truncation_at_every_cut_point_is_an_error() {
    for format in FORMATS {
        for msg in seed_messages() {
            let full = encode(format, &msg);
            for cut in 0..full.len() {
                let part = &full[..cut];
                // JSON "[1,2" prefixes are invalid; binary prefixes lack bytes
                assert!(
                    decode_one(format, part).is_err(),
                    "{} {} cut at {cut}",
                    format.name(),
                    msg.name()
                );
            }
        }
    }
}

#[test]
fn not_a_list_is_a_shape_error() {
    for text in [
        "{}",
        "1",
        "\"HELLO\"",
        "null",
        "true",
        "1.5",
        "\"\\u0000AA==\"",
    ] {
        let err = decode_one(Format::Json, text.as_bytes()).unwrap_err();
        assert!(matches!(err, ProtoError::Shape(_)), "{text}: {err}");
    }
    assert!(matches!(
        decode_one(Format::Json, b"[]"),
        Err(ProtoError::Shape(_))
    ));
}

#[test]
fn unknown_or_bad_type_codes() {
    for (text, code) in [
        ("[99]", 99),
        ("[0]", 0),
        ("[7,1]", 7),
        ("[18446744073709551615]", u64::MAX),
    ] {
        assert_eq!(
            decode_one(Format::Json, text.as_bytes()),
            Err(ProtoError::UnknownMessageType(code))
        );
    }
    for text in [
        "[-1]",
        "[48.0,1,{},\"p\"]",
        "[\"48\",1,{},\"p\"]",
        "[null]",
        "[[48]]",
    ] {
        assert!(
            matches!(
                decode_one(Format::Json, text.as_bytes()),
                Err(ProtoError::Shape(_))
            ),
            "{text}"
        );
    }
}

/// The JSON kind of a literal, where another literal of the same kind is equally valid.
fn kind(literal: &str) -> &str {
    match literal.as_bytes().first() {
        Some(b'[') => "list",
        Some(b'{') => "dict",
        Some(b'"') if literal.starts_with("\"\\u0000") => "bytes",
        Some(b'"') => "str",
        _ => literal,
    }
}

/// Replaces element `pos` of a JSON message with each wrongly typed value in turn.
fn wrong_types(base: &[&str], pos: usize) -> Vec<String> {
    let wrong = [
        "null",
        "true",
        "-1",
        "1.5",
        "\"s\"",
        "[]",
        "{}",
        "\"\\u0000AA==\"",
        "18446744073709551616",
    ];
    wrong
        .iter()
        .filter(|w| kind(w) != kind(base[pos]))
        .map(|w| {
            let mut els: Vec<&str> = base.to_vec();
            els[pos] = w;
            format!("[{}]", els.join(","))
        })
        .collect()
}

#[test]
fn wrong_element_types_are_rejected() {
    let call = ["48", "1", "{}", "\"p\"", "[1]", "{\"k\":1}"];
    let publish = ["16", "1", "{}", "\"t\"", "[1]", "{\"k\":1}"];
    let hello = ["1", "\"realm1\"", "{}"];
    for base in [&call[..], &publish[..], &hello[..]] {
        let good = format!("[{}]", base.join(","));
        assert!(decode_one(Format::Json, good.as_bytes()).is_ok(), "{good}");
        for pos in 1..base.len() {
            for text in wrong_types(base, pos) {
                // HELLO realm may be null; everything else has exactly one right type
                if base[0] == "1" && pos == 1 && text.starts_with("[1,null") {
                    continue;
                }
                let r = decode_one(Format::Json, text.as_bytes());
                assert!(r.is_err(), "{text} decoded as {r:?}");
            }
        }
    }
}

#[test]
fn too_few_and_too_many_elements() {
    for text in [
        "[48,1,{},\"p\",[],{},1]",
        "[48,1,{},\"p\",[],{},{}]",
        "[1,\"r\",{},{}]",
        "[17,1,2,3]",
        "[35,1,{},{}]",
        "[48,1,{}]",
        "[1,\"r\"]",
        "[2]",
        "[17,1]",
    ] {
        assert!(
            matches!(
                decode_one(Format::Json, text.as_bytes()),
                Err(ProtoError::Shape(_))
            ),
            "{text}"
        );
    }
}

#[test]
fn ids_out_of_range_are_rejected() {
    let max = 1u64 << 53;
    assert!(decode_one(Format::Json, format!("[17,{max},{max}]").as_bytes()).is_ok());
    for bad in [
        format!("{}", max + 1),
        u64::MAX.to_string(),
        "-1".into(),
        i64::MIN.to_string(),
        "1e3".into(),
    ] {
        for text in [
            format!("[17,{bad},1]"),
            format!("[17,1,{bad}]"),
            format!("[48,{bad},{{}},\"p\"]"),
        ] {
            assert!(decode_one(Format::Json, text.as_bytes()).is_err(), "{text}");
        }
    }
    // the same through the binary formats, where the integer widths differ
    let msg = Message::Published {
        request: 1,
        publication: max + 1,
    };
    for format in [Format::MsgPack, Format::Cbor] {
        assert!(
            decode_one(format, &encode(format, &msg)).is_err(),
            "{}",
            format.name()
        );
    }
}

fn nested_lists(format: Format, depth: usize) -> Vec<u8> {
    match format {
        Format::Json => format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes(),
        Format::MsgPack => [vec![0x91; depth - 1], vec![0x90]].concat(),
        Format::Cbor => [vec![0x81; depth - 1], vec![0x80]].concat(),
    }
}

fn nested_dicts(format: Format, depth: usize) -> Vec<u8> {
    match format {
        Format::Json => format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)).into_bytes(),
        Format::MsgPack => [[0x81, 0xa1, b'a'].repeat(depth), vec![1]].concat(),
        Format::Cbor => [[0xa1, 0x61, b'a'].repeat(depth), vec![1]].concat(),
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for format in FORMATS {
        for depth in [65, 100, 1000, 100_000] {
            assert!(
                decode_value(format, &nested_lists(format, depth)).is_err(),
                "{} lists {depth}",
                format.name()
            );
            assert!(
                decode_value(format, &nested_dicts(format, depth)).is_err(),
                "{} dicts {depth}",
                format.name()
            );
            let mut msg = b"[48,1,{},\"p\",".to_vec();
            if format == Format::Json {
                msg.extend_from_slice(&nested_lists(format, depth));
                msg.push(b']');
                assert!(decode_one(format, &msg).is_err());
            }
        }
        // the limit still leaves room for ordinary nesting
        assert!(
            decode_value(format, &nested_lists(format, 60)).is_ok(),
            "{}",
            format.name()
        );
        assert!(
            decode_value(format, &nested_dicts(format, 60)).is_ok(),
            "{}",
            format.name()
        );
    }
}

/// Byte strings whose headers announce far more data than they carry.
fn lying_headers() -> Vec<(Format, Vec<u8>)> {
    vec![
        (Format::Cbor, vec![0x9b, 0, 0, 0, 1, 0, 0, 0, 0]), // array of 2^32
        (
            Format::Cbor,
            vec![0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ),
        (Format::Cbor, vec![0xbb, 0, 0, 0, 1, 0, 0, 0, 0]), // map of 2^32
        (Format::Cbor, vec![0x5b, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2]), // bytes of 2^32
        (Format::Cbor, vec![0x7b, 0, 0, 0, 1, 0, 0, 0, 0, b'a']), // text of 2^32
        (
            Format::Cbor,
            vec![0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ),
        (Format::Cbor, vec![0x82, 0x01, 0x5a, 0xff, 0xff, 0xff, 0xff]),
        (Format::Cbor, vec![0x5f, 0x5b, 0, 0, 0, 1, 0, 0, 0, 0]), // indefinite bytes, huge chunk
        (Format::MsgPack, vec![0xdd, 0xff, 0xff, 0xff, 0xff]),    // array32
        (Format::MsgPack, vec![0xdf, 0xff, 0xff, 0xff, 0xff]),    // map32
        (Format::MsgPack, vec![0xc6, 0xff, 0xff, 0xff, 0xff, 1]), // bin32
        (Format::MsgPack, vec![0xdb, 0xff, 0xff, 0xff, 0xff, b'a']), // str32
        (Format::MsgPack, vec![0xc9, 0xff, 0xff, 0xff, 0xff, 1]), // ext32
        (
            Format::MsgPack,
            vec![0x92, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff],
        ),
    ]
}

#[test]
fn huge_declared_lengths_fail_fast_without_huge_allocations() {
    // control: the tracker does see a real 2 MiB byte string being decoded
    let real = [&[0x5a, 0, 0x20, 0, 0][..], &vec![7; 0x20_0000]].concat();
    let largest = largest_alloc(|| assert!(decode_value(Format::Cbor, &real).is_ok()));
    assert!(
        largest >= 0x20_0000,
        "allocation tracker is blind: {largest}"
    );
    for (format, data) in lying_headers() {
        let start = Instant::now();
        let mut result = Ok(Value::Null);
        let largest = largest_alloc(|| result = decode_value(format, &data));
        assert!(result.is_err(), "{} {data:02x?} decoded", format.name());
        assert!(
            largest < 1 << 20,
            "{} {data:02x?} allocated {largest} bytes",
            format.name()
        );
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{} {data:02x?} was slow",
            format.name()
        );
    }
}

#[test]
fn invalid_utf8_strings_are_rejected() {
    // a string in a position that must be a string: CALL procedure
    let bad = [0xff, 0xfe, b'x'];
    let cbor = [&[0x84, 0x18, 48, 1, 0xa0, 0x63][..], &bad].concat();
    assert!(decode_one(Format::Cbor, &cbor).is_err());
    let msgpack = [&[0x94, 48, 1, 0x80, 0xa3][..], &bad].concat();
    assert!(decode_one(Format::MsgPack, &msgpack).is_err());
    let json = [&b"[48,1,{},\""[..], &bad, b"\"]"].concat();
    assert!(decode_one(Format::Json, &json).is_err());
    // a string value inside the payload, and a dict key
    let cbor = [&[0x81, 0x63][..], &bad].concat();
    assert!(decode_value(Format::Cbor, &cbor).is_err());
    let cbor_key = [&[0xa1, 0x63][..], &bad, &[1]].concat();
    assert!(decode_value(Format::Cbor, &cbor_key).is_err());
    let json = [&b"[\""[..], &bad, b"\"]"].concat();
    assert!(decode_value(Format::Json, &json).is_err());
    let msgpack_key = [&[0x81, 0xa3][..], &bad, &[1]].concat();
    assert!(decode_value(Format::MsgPack, &msgpack_key).is_err());
}

/// Applies one random mutation: bit flip, byte insertion, deletion, overwrite or truncation.
fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    let pos = rng.below(data.len() + 1);
    match rng.below(5) {
        0 if pos < data.len() => data[pos] ^= 1 << rng.below(8),
        1 => data.insert(pos, rng.next_u64() as u8),
        2 if pos < data.len() => {
            data.remove(pos);
        }
        3 if pos < data.len() => data[pos] = [0, 0xff, 0x7f, 0x80, 0x18][rng.below(5)],
        _ => data.truncate(pos),
    }
}

/// A mutated message that still decodes must re-encode and decode to the same message.
fn check_round_trip(format: Format, data: &[u8]) {
    let Ok(msg) = decode_one(format, data) else {
        return;
    };
    let again = encode(format, &msg);
    let back = decode_one(format, &again)
        .unwrap_or_else(|e| panic!("{} re-decode of {data:02x?}: {e}", format.name()));
    // Debug text compares NaN payloads equal, unlike PartialEq
    assert_eq!(
        format!("{back:?}"),
        format!("{msg:?}"),
        "{} {data:02x?}",
        format.name()
    );
}

#[test]
fn mini_fuzz_mutated_encodings() {
    const ROUNDS: usize = 50_000;
    let seeds = seed_messages();
    for (i, format) in FORMATS.into_iter().enumerate() {
        let mut rng = Rng::new(0xf022 + i as u64);
        let encoded: Vec<Vec<u8>> = seeds.iter().map(|m| encode(format, m)).collect();
        let mut survived = 0;
        for _ in 0..ROUNDS {
            let mut data = encoded[rng.below(encoded.len())].clone();
            for _ in 0..1 + rng.below(4) {
                mutate(&mut rng, &mut data);
            }
            if decode_all_ways(format, &data) {
                survived += 1;
                check_round_trip(format, &data);
            }
        }
        // the mutations must actually reach both outcomes
        assert!(
            survived > 0 && survived < ROUNDS,
            "{}: {survived} of {ROUNDS} decoded",
            format.name()
        );
    }
}

#[test]
fn mini_fuzz_batched_framing() {
    let seeds = seed_messages();
    for (i, ser) in Serializer::ALL
        .into_iter()
        .filter(|s| s.batched)
        .enumerate()
    {
        let mut rng = Rng::new(0xba7c + i as u64);
        for _ in 0..10_000 {
            let mut buf = Vec::new();
            for _ in 0..1 + rng.below(3) {
                ser.encode_into(&seeds[rng.below(seeds.len())], &mut buf)
                    .unwrap();
            }
            mutate(&mut rng, &mut buf);
            if let Ok(msgs) = ser.decode(&buf) {
                let mut again = Vec::new();
                for m in &msgs {
                    ser.encode_into(m, &mut again).unwrap();
                }
                assert_eq!(
                    format!("{:?}", ser.decode(&again).unwrap()),
                    format!("{msgs:?}")
                );
            }
        }
    }
}
