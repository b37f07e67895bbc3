//! A CBOR decoder straight into [`Value`] (RFC 8949): the router's and the clients' hot path.
//!
//! Written for this job instead of going through serde (ciborium's generic deserializer was a
//! quarter of the client's CPU in the RPC benchmark). Definite and indefinite lengths, tags
//! (ignored: the tagged value is decoded), half/single/double floats. Every length is checked
//! against the bytes that are left before anything is allocated, and nesting is limited to
//! [`MAX_DEPTH`], so hostile input fails fast with an error and never panics.

use crate::value::{Dict, Value, MAX_DEPTH};

/// Why CBOR bytes were refused.
pub type DecodeError = String;

/// Decodes exactly one CBOR data item; trailing bytes are an error.
pub fn decode(data: &[u8]) -> Result<Value, DecodeError> {
    let mut d = Decoder { data, pos: 0 };
    let v = d.item(MAX_DEPTH)?;
    if d.pos != data.len() {
        return Err(format!(
            "{} trailing bytes after the CBOR item",
            data.len() - d.pos
        ));
    }
    Ok(v)
}

struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
}

/// An item's header: major type and argument (`None` = indefinite length / break).
struct Head {
    major: u8,
    info: u8,
    arg: Option<u64>,
}

impl<'a> Decoder<'a> {
    fn left(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.left() {
            return Err(format!("CBOR item needs {n} bytes, {} left", self.left()));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn head(&mut self) -> Result<Head, DecodeError> {
        let b = self.take(1)?[0];
        let (major, info) = (b >> 5, b & 0x1f);
        let arg = match info {
            0..=23 => Some(u64::from(info)),
            24 => Some(self.be(1)?),
            25 => Some(self.be(2)?),
            26 => Some(self.be(4)?),
            27 => Some(self.be(8)?),
            31 => None,
            _ => return Err(format!("reserved CBOR additional information {info}")),
        };
        Ok(Head { major, info, arg })
    }

    /// A definite length that cannot exceed the remaining bytes (each element ≥ `min` bytes).
    fn length(&self, n: u64, min: usize) -> Result<usize, DecodeError> {
        let n = usize::try_from(n).map_err(|_| "CBOR length overflows".to_owned())?;
        if n.saturating_mul(min) > self.left() {
            return Err(format!("CBOR length {n} runs past the end of the data"));
        }
        Ok(n)
    }

    fn item(&mut self, depth: usize) -> Result<Value, DecodeError> {
        let h = self.head()?;
        match (h.major, h.arg) {
            (0, Some(n)) => Ok(Value::from(n)),
            (1, Some(n)) => i64::try_from(n)
                .map(|n| Value::Int(-1 - n))
                .map_err(|_| "CBOR negative integer below i64::MIN".to_owned()),
            (2, _) => self.bytes(h.arg, 2).map(Value::Bytes),
            (3, _) => {
                let raw = self.bytes(h.arg, 3)?;
                String::from_utf8(raw)
                    .map(Value::Str)
                    .map_err(|_| "CBOR text is not UTF-8".to_owned())
            }
            (4, arg) => self.array(arg, depth),
            (5, arg) => self.map(arg, depth),
            (6, Some(_)) => {
                let inner = depth.checked_sub(1).ok_or("CBOR nested too deeply")?;
                self.item(inner)
            }
            (7, _) => self.simple(h),
            _ => Err(format!(
                "invalid CBOR item (major type {}, indefinite)",
                h.major
            )),
        }
    }

    /// A byte or text string (definite, or indefinite as a sequence of definite chunks).
    fn bytes(&mut self, arg: Option<u64>, major: u8) -> Result<Vec<u8>, DecodeError> {
        if let Some(n) = arg {
            let n = self.length(n, 1)?;
            return Ok(self.take(n)?.to_vec());
        }
        let mut out = Vec::new();
        loop {
            let h = self.head()?;
            match (h.major, h.arg) {
                (7, None) => return Ok(out),
                (m, Some(n)) if m == major => {
                    let n = self.length(n, 1)?;
                    out.extend_from_slice(self.take(n)?);
                }
                _ => return Err("invalid chunk in an indefinite-length CBOR string".into()),
            }
        }
    }

    fn at_break(&mut self) -> Result<bool, DecodeError> {
        match self.data.get(self.pos) {
            Some(0xff) => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Err("CBOR data ends inside an indefinite-length item".into()),
        }
    }

    fn array(&mut self, arg: Option<u64>, depth: usize) -> Result<Value, DecodeError> {
        let depth = depth.checked_sub(1).ok_or("CBOR nested too deeply")?;
        let mut out = Vec::new();
        match arg {
            Some(n) => {
                let n = self.length(n, 1)?;
                out.reserve(n);
                for _ in 0..n {
                    out.push(self.item(depth)?);
                }
            }
            None => {
                while !self.at_break()? {
                    out.push(self.item(depth)?);
                }
            }
        }
        Ok(Value::List(out))
    }

    fn map(&mut self, arg: Option<u64>, depth: usize) -> Result<Value, DecodeError> {
        let depth = depth.checked_sub(1).ok_or("CBOR nested too deeply")?;
        let mut out = Dict::new();
        match arg {
            Some(n) => {
                let n = self.length(n, 2)?;
                for _ in 0..n {
                    let k = self.key()?;
                    out.insert(k, self.item(depth)?);
                }
            }
            None => {
                while !self.at_break()? {
                    let k = self.key()?;
                    out.insert(k, self.item(depth)?);
                }
            }
        }
        Ok(Value::Dict(out))
    }

    /// A dict key: text (integer keys become their decimal string).
    fn key(&mut self) -> Result<String, DecodeError> {
        match self.item(1)? {
            Value::Str(s) => Ok(s),
            Value::Int(i) => Ok(i.to_string()),
            Value::UInt(u) => Ok(u.to_string()),
            Value::Bytes(b) => {
                String::from_utf8(b).map_err(|_| "CBOR map key is not UTF-8".to_owned())
            }
            other => Err(format!(
                "CBOR map key must be a string, got {}",
                other.type_name()
            )),
        }
    }

    fn simple(&mut self, h: Head) -> Result<Value, DecodeError> {
        match (h.info, h.arg) {
            (20, _) => Ok(Value::Bool(false)),
            (21, _) => Ok(Value::Bool(true)),
            (22, _) | (23, _) => Ok(Value::Null),
            (25, Some(bits)) => Ok(Value::Float(half(bits as u16))),
            (26, Some(bits)) => Ok(Value::Float(f64::from(f32::from_bits(bits as u32)))),
            (27, Some(bits)) => Ok(Value::Float(f64::from_bits(bits))),
            (31, None) => Err("unexpected CBOR break".into()),
            (info, _) => Err(format!(
                "unsupported CBOR simple value (additional information {info})"
            )),
        }
    }
}

/// An IEEE 754 half-precision float.
fn half(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let frac = f64::from(bits & 0x3ff);
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_and_containers() {
        assert_eq!(decode(&[0x18, 0x64]), Ok(Value::Int(100)));
        assert_eq!(decode(&[0x38, 0x63]), Ok(Value::Int(-100)));
        assert_eq!(decode(&[0xf9, 0x3c, 0x00]), Ok(Value::Float(1.0)));
        assert_eq!(decode(&[0xf9, 0xc4, 0x00]), Ok(Value::Float(-4.0)));
        assert_eq!(decode(&[0x62, b'h', b'i']), Ok(Value::Str("hi".into())));
        assert_eq!(
            decode(&[0x9f, 0x01, 0x02, 0xff]),
            Ok(Value::List(vec![1.into(), 2.into()]))
        );
        assert_eq!(
            decode(&[0x5f, 0x41, 1, 0x41, 2, 0xff]),
            Ok(Value::Bytes(vec![1, 2]))
        );
        assert_eq!(decode(&[0xc2, 0x41, 7]), Ok(Value::Bytes(vec![7])));
        let m = decode(&[0xa1, 0x61, b'a', 0xf5]).expect("map");
        assert_eq!(m.get("a"), Some(&Value::Bool(true)));
    }

    #[test]
    fn hostile_input_is_an_error() {
        assert!(decode(&[0x9b, 0, 0, 0, 1, 0, 0, 0, 0]).is_err()); // 2^32 elements, no data
        assert!(decode(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode(&[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode(&[0x81; 200]).is_err()); // nesting
        assert!(decode(&[0x62, 0xff, 0xfe]).is_err()); // not UTF-8
        assert!(decode(&[0x01, 0x02]).is_err()); // trailing
        assert!(decode(&[0xff]).is_err());
        assert!(decode(&[0x9f, 0x01]).is_err());
        assert!(decode(&[0x1c]).is_err());
        assert!(decode(&[]).is_err());
    }
}
