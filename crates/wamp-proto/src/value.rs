//! The dynamic payload value of WAMP: what arguments, keyword arguments and details are made of.
//!
//! One type for every serializer. Binary values are a first-class variant; how they travel is up
//! to the serializer (native bytes in MsgPack and CBOR, `"\0" + base64` strings in JSON). Decoding
//! goes through [`ValueSeed`], which carries the serializer's convention and a nesting limit so that
//! hostile input cannot overflow the stack.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A WAMP dictionary: string keys, ordered for stable output.
pub type Dict = BTreeMap<String, Value>;

/// Deepest nesting of lists and dicts accepted from the network.
pub const MAX_DEPTH: usize = 64;

/// A dynamically typed WAMP value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    /// Any integer that fits `i64`.
    Int(i64),
    /// Integers above `i64::MAX`.
    UInt(u64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    Dict(Dict),
}

// === impl Value ===

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// The value as an unsigned integer, if it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Int(i) if *i >= 0 => Some(*i as u64),
            Value::UInt(u) => Some(*u),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            Value::UInt(u) => Some(*u as f64),
            _ => None,
        }
    }
    pub fn as_list(&self) -> Option<&Vec<Value>> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }
    /// Looks up `key` if this is a dict.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_dict().and_then(|d| d.get(key))
    }
    /// About how many bytes the value takes encoded (strings and bytes at their length plus a
    /// small header, scalars at 9): for bounding queues by size without encoding. Iterative, so
    /// any nesting is safe.
    pub fn size_hint(&self) -> usize {
        let mut total = 0;
        let mut stack = vec![self];
        while let Some(v) = stack.pop() {
            total += match v {
                Value::Null | Value::Bool(_) => 1,
                Value::Int(_) | Value::UInt(_) | Value::Float(_) => 9,
                Value::Str(s) => s.len() + 5,
                Value::Bytes(b) => b.len() + 5,
                Value::List(l) => {
                    stack.extend(l);
                    5
                }
                Value::Dict(d) => {
                    stack.extend(d.values());
                    5 + d.keys().map(|k| k.len() + 5).sum::<usize>()
                }
            };
        }
        total
    }

    /// A short name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::UInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
        }
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self { Value::Int(v as i64) }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        i64::try_from(v).map(Value::Int).unwrap_or(Value::UInt(v))
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::from(v as u64)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(v)
    }
}
impl From<Dict> for Value {
    fn from(v: Dict) -> Self {
        Value::Dict(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Value::Null)
    }
}

/// Builds a [`Dict`] from `key => value` pairs: `dict! { "a" => 1, "b" => "x" }`.
#[macro_export]
macro_rules! dict {
    () => { $crate::Dict::new() };
    ($($k:expr => $v:expr),+ $(,)?) => {{
        let mut d = $crate::Dict::new();
        $( d.insert(::std::string::String::from($k), $crate::Value::from($v)); )+
        d
    }};
}

// === conversion to and from serde_json (for tools and tests, not the hot path) ===

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Value::UInt(u)
                } else {
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => Value::Str(s),
            serde_json::Value::Array(a) => Value::List(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::Dict(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl From<&Value> for serde_json::Value {
    fn from(v: &Value) -> Self {
        match v {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => (*i).into(),
            Value::UInt(u) => (*u).into(),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::Bytes(b) => serde_json::Value::String(json_bytes(b)),
            Value::List(l) => serde_json::Value::Array(l.iter().map(Into::into).collect()),
            Value::Dict(d) => {
                serde_json::Value::Object(d.iter().map(|(k, v)| (k.clone(), v.into())).collect())
            }
        }
    }
}

/// The JSON form of a binary value: `"\0"` followed by standard base64.
pub fn json_bytes(b: &[u8]) -> String {
    let mut s = String::with_capacity(1 + b.len().div_ceil(3) * 4);
    s.push('\0');
    base64::engine::general_purpose::STANDARD.encode_string(b, &mut s);
    s
}

// === serialization ===

/// Serializes a [`Value`] under a serializer's binary convention.
pub struct Ser<'a> {
    pub value: &'a Value,
    /// JSON: binary as `"\0"+base64`; otherwise native bytes.
    pub json: bool,
}

impl Serialize for Ser<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::UInt(u) => s.serialize_u64(*u),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(v) => s.serialize_str(v),
            Value::Bytes(b) if self.json => s.serialize_str(&json_bytes(b)),
            Value::Bytes(b) => s.serialize_bytes(b),
            Value::List(l) => SerList {
                list: l,
                json: self.json,
            }
            .serialize(s),
            Value::Dict(d) => SerDict {
                dict: d,
                json: self.json,
            }
            .serialize(s),
        }
    }
}

/// Serializes a list of values under a serializer's binary convention.
pub struct SerList<'a> {
    pub list: &'a [Value],
    pub json: bool,
}

impl Serialize for SerList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.list.len()))?;
        for v in self.list {
            seq.serialize_element(&Ser {
                value: v,
                json: self.json,
            })?;
        }
        seq.end()
    }
}

/// Serializes a dict under a serializer's binary convention.
pub struct SerDict<'a> {
    pub dict: &'a Dict,
    pub json: bool,
}

impl Serialize for SerDict<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.dict.len()))?;
        for (k, v) in self.dict {
            map.serialize_entry(
                k,
                &Ser {
                    value: v,
                    json: self.json,
                },
            )?;
        }
        map.end()
    }
}

// === deserialization ===

/// Deserializes a [`Value`] under a serializer's binary convention with a nesting limit.
#[derive(Clone, Copy)]
pub struct ValueSeed {
    /// JSON: a string starting with `"\0"` is base64 binary.
    pub json: bool,
    /// Levels of nesting still allowed below this value.
    pub depth: usize,
}

impl ValueSeed {
    pub fn new(json: bool) -> Self {
        ValueSeed {
            json,
            depth: MAX_DEPTH,
        }
    }
    fn child<E: de::Error>(self) -> Result<Self, E> {
        if self.depth == 0 {
            return Err(E::custom("value nested too deeply"));
        }
        Ok(ValueSeed {
            depth: self.depth - 1,
            ..self
        })
    }
    fn string<E: de::Error>(self, v: &str) -> Result<Value, E> {
        match v.strip_prefix('\0') {
            Some(b64) if self.json => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map(Value::Bytes)
                .map_err(|e| E::custom(format!("invalid base64 in binary string: {e}"))),
            _ => Ok(Value::Str(v.to_owned())),
        }
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a WAMP value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Int)
            .or_else(|_| u64::try_from(v).map(Value::UInt))
            .map_err(|_| E::custom("integer out of range"))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        u64::try_from(v)
            .map(Value::from)
            .map_err(|_| E::custom("integer out of range"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.string(v)
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        if self.json && v.starts_with('\0') {
            return self.string(&v);
        }
        Ok(Value::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let child = self.child()?;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(v) = seq.next_element_seed(child)? {
            out.push(v);
        }
        Ok(Value::List(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let child = self.child()?;
        let mut out = Dict::new();
        while let Some(k) = map.next_key_seed(KeySeed)? {
            let v = map.next_value_seed(child)?;
            out.insert(k, v);
        }
        Ok(Value::Dict(out))
    }
}

/// Dict keys: strings only (integer keys are turned into their decimal string).
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = String;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string dict key")
    }
    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_i64<E>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<String, E> {
        String::from_utf8(v.to_vec()).map_err(|_| E::custom("dict key is not UTF-8"))
    }
}
