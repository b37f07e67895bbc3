//! Serializers of WAMP over WebSocket: JSON, MsgPack, CBOR and their batched variants.
//!
//! A [`Serializer`] turns one WebSocket message into the WAMP messages it carries and back.
//! Plain variants carry one message per WebSocket message. Batched variants carry several:
//! `wamp.2.cbor.batched` and `wamp.2.msgpack.batched` prefix each message with its length as a
//! 4-byte big-endian integer, `wamp.2.json.batched` ends each one with the `\x18` separator.

use serde::de::DeserializeSeed;

use crate::error::ProtoError;
use crate::message::Message;
use crate::value::{Value, ValueSeed};

mod cbor;

/// The JSON batch separator.
pub const JSON_BATCH_SEP: u8 = 0x18;

/// The payload format of a serializer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Json,
    MsgPack,
    Cbor,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::MsgPack => "msgpack",
            Format::Cbor => "cbor",
        }
    }
    /// Index 0..3, for per-format caches.
    pub fn index(self) -> usize {
        self as usize
    }
    /// Whether messages travel in text WebSocket frames.
    pub fn is_text(self) -> bool {
        self == Format::Json
    }
}

/// A negotiated WAMP WebSocket serializer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Serializer {
    pub format: Format,
    pub batched: bool,
}

impl Serializer {
    /// Every WebSocket subprotocol we speak, in the router's default preference order.
    pub const ALL: [Serializer; 6] = [
        Serializer {
            format: Format::Cbor,
            batched: true,
        },
        Serializer {
            format: Format::Cbor,
            batched: false,
        },
        Serializer {
            format: Format::MsgPack,
            batched: true,
        },
        Serializer {
            format: Format::MsgPack,
            batched: false,
        },
        Serializer {
            format: Format::Json,
            batched: true,
        },
        Serializer {
            format: Format::Json,
            batched: false,
        },
    ];

    pub const JSON: Serializer = Serializer {
        format: Format::Json,
        batched: false,
    };
    pub const MSGPACK: Serializer = Serializer {
        format: Format::MsgPack,
        batched: false,
    };
    pub const CBOR: Serializer = Serializer {
        format: Format::Cbor,
        batched: false,
    };

    /// The WebSocket subprotocol name, e.g. `wamp.2.cbor.batched`.
    pub fn subprotocol(self) -> &'static str {
        match (self.format, self.batched) {
            (Format::Json, false) => "wamp.2.json",
            (Format::Json, true) => "wamp.2.json.batched",
            (Format::MsgPack, false) => "wamp.2.msgpack",
            (Format::MsgPack, true) => "wamp.2.msgpack.batched",
            (Format::Cbor, false) => "wamp.2.cbor",
            (Format::Cbor, true) => "wamp.2.cbor.batched",
        }
    }

    /// Parses a WebSocket subprotocol name.
    pub fn from_subprotocol(s: &str) -> Option<Serializer> {
        Serializer::ALL
            .into_iter()
            .find(|ser| ser.subprotocol() == s)
    }

    /// Decodes one WebSocket message into the WAMP messages it carries.
    ///
    /// A batch with one bad message fails as a whole: the peer broke the protocol.
    pub fn decode(self, data: &[u8]) -> Result<Vec<Message>, ProtoError> {
        if !self.batched {
            return Ok(vec![decode_one(self.format, data)?]);
        }
        split_batch(self.format, data)?
            .into_iter()
            .map(|part| decode_one(self.format, part))
            .collect()
    }

    /// Encodes one message as a complete WebSocket message (batched: a batch of one).
    pub fn encode(self, msg: &Message) -> Result<Vec<u8>, ProtoError> {
        let mut out = Vec::with_capacity(128);
        self.encode_into(msg, &mut out)?;
        Ok(out)
    }

    /// Appends one message to `out` in this serializer's framing, so that several calls on
    /// the same buffer build one batch.
    pub fn encode_into(self, msg: &Message, out: &mut Vec<u8>) -> Result<(), ProtoError> {
        let start = out.len();
        if self.batched && self.format != Format::Json {
            out.extend_from_slice(&[0; 4]);
        }
        encode_body(self.format, msg, out)?;
        if self.batched {
            self.frame_tail(out, start)?;
        }
        Ok(())
    }

    /// Appends an already encoded message body (from [`encode_body`]) in this framing.
    pub fn frame_into(self, body: &[u8], out: &mut Vec<u8>) -> Result<(), ProtoError> {
        let start = out.len();
        if self.batched && self.format != Format::Json {
            out.extend_from_slice(&[0; 4]);
        }
        out.extend_from_slice(body);
        if self.batched {
            self.frame_tail(out, start)?;
        }
        Ok(())
    }

    fn frame_tail(self, out: &mut Vec<u8>, start: usize) -> Result<(), ProtoError> {
        if self.format == Format::Json {
            out.push(JSON_BATCH_SEP);
            return Ok(());
        }
        let len = u32::try_from(out.len() - start - 4)
            .map_err(|_| ProtoError::Encode("message larger than 4 GiB".into()))?;
        out[start..start + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }
}

/// Encodes a message body in `format`, without any batch framing.
pub fn encode_body(format: Format, msg: &Message, out: &mut Vec<u8>) -> Result<(), ProtoError> {
    let enc = |e: String| ProtoError::Encode(e);
    match format {
        Format::Json => {
            serde_json::to_writer(&mut *out, &msg.ser(true)).map_err(|e| enc(e.to_string()))
        }
        Format::MsgPack => {
            let mut ser = rmp_serde::Serializer::new(&mut *out);
            serde::Serialize::serialize(&msg.ser(false), &mut ser).map_err(|e| enc(e.to_string()))
        }
        Format::Cbor => {
            ciborium::into_writer(&msg.ser(false), &mut *out).map_err(|e| enc(e.to_string()))
        }
    }
}

/// Decodes one message body in `format`.
pub fn decode_one(format: Format, data: &[u8]) -> Result<Message, ProtoError> {
    Message::from_value(decode_value(format, data)?)
}

/// Decodes one value in `format`; trailing bytes are an error.
pub fn decode_value(format: Format, data: &[u8]) -> Result<Value, ProtoError> {
    let err = |reason: String| ProtoError::Decode {
        format: format.name(),
        reason,
    };
    match format {
        Format::Json => {
            let mut de = serde_json::Deserializer::from_slice(data);
            let v = ValueSeed::new(true)
                .deserialize(&mut de)
                .map_err(|e| err(e.to_string()))?;
            de.end().map_err(|e| err(e.to_string()))?;
            Ok(v)
        }
        Format::MsgPack => {
            let mut cursor = std::io::Cursor::new(data);
            let mut de = rmp_serde::Deserializer::new(&mut cursor);
            let v = ValueSeed::new(false)
                .deserialize(&mut de)
                .map_err(|e| err(e.to_string()))?;
            if (cursor.position() as usize) != data.len() {
                return Err(err("trailing bytes after message".into()));
            }
            Ok(v)
        }
        Format::Cbor => cbor::decode(data).map_err(err),
    }
}

/// Splits a batched WebSocket message into its message bodies.
pub fn split_batch(format: Format, data: &[u8]) -> Result<Vec<&[u8]>, ProtoError> {
    let mut parts = Vec::new();
    if format == Format::Json {
        let body = data
            .strip_suffix(&[JSON_BATCH_SEP])
            .ok_or_else(|| ProtoError::Framing("JSON batch must end with \\x18".into()))?;
        parts.extend(body.split(|b| *b == JSON_BATCH_SEP));
        return Ok(parts);
    }
    let mut rest = data;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(ProtoError::Framing(format!(
                "{} bytes left, need a 4-byte length",
                rest.len()
            )));
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let body = rest
            .get(4..4 + len)
            .ok_or_else(|| ProtoError::Framing(format!("length {len} runs past the end")))?;
        parts.push(body);
        rest = &rest[4 + len..];
    }
    if parts.is_empty() {
        return Err(ProtoError::Framing("empty batch".into()));
    }
    Ok(parts)
}
