//! Structured inputs: turns the fuzzer's bytes into WAMP [`Value`]s and message lists, biased
//! toward the shapes the parsers care about (real message codes, ids at the 2^53 edge, the
//! dict keys of details and heartbeats), so that mutations reach past the first type check.

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use wamp_proto::message::code;
use wamp_proto::{Dict, Value, MAX_ID};

/// Deepest nesting generated (well below the decoders' limit of 64).
const MAX_GEN_DEPTH: usize = 6;

/// Every message code, plus a few that are not.
const CODES: [u64; 27] = [
    code::HELLO,
    code::WELCOME,
    code::ABORT,
    code::CHALLENGE,
    code::AUTHENTICATE,
    code::GOODBYE,
    code::ERROR,
    code::PUBLISH,
    code::PUBLISHED,
    code::SUBSCRIBE,
    code::SUBSCRIBED,
    code::UNSUBSCRIBE,
    code::UNSUBSCRIBED,
    code::EVENT,
    code::CALL,
    code::CANCEL,
    code::RESULT,
    code::REGISTER,
    code::REGISTERED,
    code::UNREGISTER,
    code::UNREGISTERED,
    code::INVOCATION,
    code::INTERRUPT,
    code::YIELD,
    0,
    7,
    u64::MAX,
];

/// Strings worth trying as dict keys and string values.
const WORDS: [&str; 24] = [
    "",
    "seq",
    "timestamp",
    "workers",
    "type",
    "process",
    "router",
    "controller",
    "system",
    "cpu",
    "memory",
    "network",
    "connection",
    "messages",
    "period",
    "state",
    "session",
    "roles",
    "authid",
    "com.example.a",
    "wamp.error.x",
    "\0AAEC",
    "\0!",
    "é中✓",
];

/// Integers at the edges the parsers check.
const INTS: [u64; 8] = [
    0,
    1,
    MAX_ID,
    MAX_ID + 1,
    i64::MAX as u64,
    i64::MAX as u64 + 1,
    u64::MAX,
    255,
];

/// A message list: a (mostly real) code followed by 0..=7 arbitrary elements.
pub fn message_list(u: &mut Unstructured) -> Result<Value> {
    let code = if u.ratio(7, 8)? {
        *u.choose(&CODES)?
    } else {
        u.arbitrary()?
    };
    let mut items = vec![Value::from(code)];
    for _ in 0..u.int_in_range(0..=7)? {
        items.push(value(u, 0)?);
    }
    Ok(Value::List(items))
}

/// An arbitrary value nested at most [`MAX_GEN_DEPTH`] deep. Integers are normalized as the
/// decoders produce them (`UInt` only above `i64::MAX`).
pub fn value(u: &mut Unstructured, depth: usize) -> Result<Value> {
    let leaf_only = depth >= MAX_GEN_DEPTH;
    let kind = u.int_in_range(0..=if leaf_only { 7 } else { 9 })?;
    Ok(match kind {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(*u.choose(&INTS)?),
        3 => int(u)?,
        4 => Value::Float(u.arbitrary()?),
        5 => Value::from(*u.choose(&WORDS)?),
        6 => Value::Str(u.arbitrary()?),
        7 => Value::Bytes(u.arbitrary()?),
        8 => Value::List(list(u, depth + 1)?),
        _ => Value::Dict(dict(u, depth + 1)?),
    })
}

fn int(u: &mut Unstructured) -> Result<Value> {
    Ok(if u.arbitrary()? {
        Value::Int(u.arbitrary()?)
    } else {
        Value::from(u.arbitrary::<u64>()?)
    })
}

fn list(u: &mut Unstructured, depth: usize) -> Result<Vec<Value>> {
    (0..u.int_in_range(0..=4)?)
        .map(|_| value(u, depth))
        .collect()
}

/// A dict whose keys come mostly from [`WORDS`].
pub fn dict(u: &mut Unstructured, depth: usize) -> Result<Dict> {
    let mut d = Dict::new();
    for _ in 0..u.int_in_range(0..=5)? {
        let key = if u.ratio(3, 4)? {
            (*u.choose(&WORDS)?).to_owned()
        } else {
            u.arbitrary()?
        };
        d.insert(key, value(u, depth)?);
    }
    Ok(d)
}
