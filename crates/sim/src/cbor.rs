//! A minimal CBOR writer for the hot path: heartbeats are written straight into the outgoing
//! buffer instead of being built as [`wamp_proto::Value`] trees and serialized, which keeps
//! 100k heartbeats/s within reach of one simulator process. Only what heartbeats need: maps
//! with text keys, arrays, text, unsigned integers, floats and booleans.

/// Appends CBOR items to a byte buffer.
pub struct Cbor<'a>(pub &'a mut Vec<u8>);

impl Cbor<'_> {
    fn head(&mut self, major: u8, n: u64) {
        let m = major << 5;
        match n {
            0..=23 => self.0.push(m | n as u8),
            24..=0xff => self.0.extend_from_slice(&[m | 24, n as u8]),
            0x100..=0xffff => {
                self.0.push(m | 25);
                self.0.extend_from_slice(&(n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                self.0.push(m | 26);
                self.0.extend_from_slice(&(n as u32).to_be_bytes());
            }
            _ => {
                self.0.push(m | 27);
                self.0.extend_from_slice(&n.to_be_bytes());
            }
        }
    }

    pub fn uint(&mut self, n: u64) -> &mut Self {
        self.head(0, n);
        self
    }

    pub fn float(&mut self, f: f64) -> &mut Self {
        self.0.push(0xfb);
        self.0.extend_from_slice(&f.to_bits().to_be_bytes());
        self
    }

    pub fn text(&mut self, s: &str) -> &mut Self {
        self.head(3, s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.0.push(if b { 0xf5 } else { 0xf4 });
        self
    }

    pub fn array(&mut self, n: usize) -> &mut Self {
        self.head(4, n as u64);
        self
    }

    pub fn map(&mut self, n: usize) -> &mut Self {
        self.head(5, n as u64);
        self
    }

    /// A key followed by an unsigned integer value.
    pub fn kv_u(&mut self, k: &str, v: u64) -> &mut Self {
        self.text(k).uint(v)
    }

    /// A key followed by a float value.
    pub fn kv_f(&mut self, k: &str, v: f64) -> &mut Self {
        self.text(k).float(v)
    }

    /// A key followed by a text value.
    pub fn kv_s(&mut self, k: &str, v: &str) -> &mut Self {
        self.text(k).text(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wamp_proto::codec::decode_value;
    use wamp_proto::{Format, Value};

    #[test]
    fn round_trips_through_the_real_decoder() {
        let mut buf = Vec::new();
        let mut c = Cbor(&mut buf);
        c.array(5).uint(300).float(1.5).text("hé").bool(true);
        c.map(1).kv_u("big", u64::MAX);
        let v = decode_value(Format::Cbor, &buf).unwrap();
        let list = v.as_list().unwrap();
        assert_eq!(list[0], Value::Int(300));
        assert_eq!(list[1], Value::Float(1.5));
        assert_eq!(list[2], Value::Str("hé".into()));
        assert_eq!(list[3], Value::Bool(true));
        assert_eq!(list[4].get("big"), Some(&Value::UInt(u64::MAX)));
    }
}
