//! Inputs kept from fuzzing (`fuzz/`, run by `scripts/fuzz`), replayed on stable: every file
//! under `tests/fuzz_regressions/<target>/` goes through the same check as its fuzz target (no
//! panic; decoded messages round-trip; accepted key files re-parse; ...). The `EXPECTED` file
//! of each directory lists every input with its outcome: `ok`, or `err <text of the error>`.

use std::path::Path;

use wamp_proto::codec::decode_value;
use wamp_proto::cryptosign::{self, LEN};
use wamp_proto::keyfile::KeyFile;
use wamp_proto::uri::{matches, validate};
use wamp_proto::{Format, MatchPolicy, Message, Serializer, Value};

type Outcome = Result<(), String>;

/// Runs `check` on every input of `target` and compares with `EXPECTED`.
fn replay(target: &str, check: fn(&[u8]) -> Outcome) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let expected = std::fs::read_to_string(dir.join("EXPECTED")).expect("EXPECTED file");
    let mut seen = 0;
    for line in expected.lines().filter(|l| !l.trim().is_empty()) {
        let (file, want) = line.split_once(' ').unwrap_or((line, ""));
        let data = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let got = check(&data);
        match (want.trim(), &got) {
            ("ok", Ok(())) => {}
            (w, Err(e)) if w.strip_prefix("err ").is_some_and(|t| e.contains(t)) => {}
            (w, _) => panic!("{target}/{file}: expected {w}, got {got:?}"),
        }
        seen += 1;
    }
    let files = std::fs::read_dir(&dir).expect("dir").count() - 1;
    assert_eq!(
        seen, files,
        "{target}: every input must be listed in EXPECTED"
    );
    assert!(seen >= 2, "{target}: keep at least two inputs");
}

/// Decodes; a decoded batch must re-encode to bytes that decode to the same messages.
fn decode(ser: Serializer, data: &[u8]) -> Outcome {
    let msgs = ser.decode(data).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for m in &msgs {
        ser.encode_into(m, &mut out)
            .expect("a decoded message encodes");
    }
    let back = ser.decode(&out).expect("our encoding decodes");
    assert!(msgs == back || format!("{msgs:?}") == format!("{back:?}"));
    Ok(())
}

#[test]
fn decode_json() {
    replay("decode_json", |d| decode(Serializer::JSON, d));
}

#[test]
fn decode_msgpack() {
    replay("decode_msgpack", |d| decode(Serializer::MSGPACK, d));
}

#[test]
fn decode_cbor() {
    replay("decode_cbor", |d| decode(Serializer::CBOR, d));
}

/// As the fuzz target: the first byte picks the format.
#[test]
fn decode_batched() {
    replay("decode_batched", |d| {
        let (&pick, rest) = d.split_first().ok_or("empty")?;
        let format = [Format::Json, Format::MsgPack, Format::Cbor][pick as usize % 3];
        decode(
            Serializer {
                format,
                batched: true,
            },
            rest,
        )
    });
}

/// The message list, stored as MsgPack; an accepted message round-trips through all six
/// serializers (JSON only when it has no non-finite float and no `"\0"` string).
#[test]
fn message_value() {
    replay("message_value", |d| {
        let v = decode_value(Format::MsgPack, d).map_err(|e| e.to_string())?;
        let json_safe = json_representable(&v);
        let msg = Message::from_value(v).map_err(|e| e.to_string())?;
        for ser in Serializer::ALL {
            if ser.format == Format::Json && !json_safe {
                continue;
            }
            let back = ser
                .decode(&ser.encode(&msg).expect("encodes"))
                .expect("decodes");
            assert!(back == [msg.clone()] || format!("{back:?}") == format!("{:?}", [&msg]));
        }
        Ok(())
    });
}

/// Whether JSON carries `v` unchanged: no non-finite float, no string starting with `"\0"`.
fn json_representable(v: &Value) -> bool {
    match v {
        Value::Float(f) => f.is_finite(),
        Value::Str(s) => !s.starts_with('\0'),
        Value::List(l) => l.iter().all(json_representable),
        Value::Dict(d) => d.values().all(json_representable),
        _ => true,
    }
}

#[test]
fn keyfile() {
    replay("keyfile", |d| {
        let text = std::str::from_utf8(d).map_err(|e| e.to_string())?;
        let kf = KeyFile::parse(text).map_err(|e| e.to_string())?;
        assert!(kf.public_key().is_ok());
        assert_eq!(KeyFile::parse(&kf.to_string()), Ok(kf));
        Ok(())
    });
}

/// As the fuzz target's "hostile answer" mode: public key, expected data, then the answer.
#[test]
fn cryptosign() {
    replay("cryptosign", |d| {
        let pubkey: [u8; LEN] = d
            .get(..LEN)
            .ok_or("short")?
            .try_into()
            .map_err(|_| "short")?;
        let expected: [u8; LEN] = d
            .get(LEN..2 * LEN)
            .ok_or("short")?
            .try_into()
            .map_err(|_| "short")?;
        let answer = String::from_utf8_lossy(&d[2 * LEN..]);
        cryptosign::verify(&pubkey, &expected, &answer).map_err(|e| e.to_string())
    });
}

/// As the fuzz target: policy byte, then `pattern\0uri`. Outcome: whether the pattern is valid.
#[test]
fn uri_match() {
    replay("uri_match", |d| {
        let (&first, rest) = d.split_first().ok_or("empty")?;
        let text = std::str::from_utf8(rest).map_err(|e| e.to_string())?;
        let (pattern, uri) = text.split_once('\0').unwrap_or((text, ""));
        let policy = [
            MatchPolicy::Exact,
            MatchPolicy::Prefix,
            MatchPolicy::Wildcard,
        ][first as usize % 3];
        let hit = matches(pattern, policy, uri);
        if policy == MatchPolicy::Exact {
            assert_eq!(hit, pattern == uri);
        }
        if validate(pattern, policy, first & 0x80 != 0) {
            Ok(())
        } else {
            Err("invalid pattern".into())
        }
    });
}
