//! Estimated encoded sizes of messages, without encoding: what the router counts against its
//! byte-bounded outbound queues.

use super::{Message, Payload};
use crate::value::{Dict, Value};

impl Payload {
    /// About how many bytes the payload takes encoded ([`Value::size_hint`]).
    pub fn size_hint(&self) -> usize {
        let args: usize = self.args.iter().map(Value::size_hint).sum();
        args + dict_size(&self.kwargs)
    }
}

fn dict_size(d: &Dict) -> usize {
    d.iter()
        .map(|(k, v)| k.len() + 5 + v.size_hint())
        .sum::<usize>()
        + 5
}

impl Message {
    /// About how many bytes the message takes encoded: its dicts, strings and payload (see
    /// [`Value::size_hint`]) plus a fixed overhead for the type code and ids.
    pub fn size_hint(&self) -> usize {
        use Message::*;
        let strings_and_dicts = match self {
            Hello { realm, details } => realm.as_ref().map_or(0, String::len) + dict_size(details),
            Welcome { details, .. } => dict_size(details),
            Abort { details, reason } | Goodbye { details, reason } => {
                dict_size(details) + reason.len()
            }
            Challenge { authmethod, extra } => authmethod.len() + dict_size(extra),
            Authenticate { signature, extra } => signature.len() + dict_size(extra),
            Error {
                details,
                error,
                payload,
                ..
            } => dict_size(details) + error.len() + payload.size_hint(),
            Publish {
                options,
                topic: uri,
                payload,
                ..
            }
            | Call {
                options,
                procedure: uri,
                payload,
                ..
            } => dict_size(options) + uri.len() + payload.size_hint(),
            Subscribe {
                options,
                topic: uri,
                ..
            }
            | Register {
                options,
                procedure: uri,
                ..
            } => dict_size(options) + uri.len(),
            Event {
                details, payload, ..
            }
            | Result {
                details, payload, ..
            }
            | Invocation {
                details, payload, ..
            }
            | Yield {
                options: details,
                payload,
                ..
            } => dict_size(details) + payload.size_hint(),
            Cancel { options, .. } | Interrupt { options, .. } => dict_size(options),
            Unsubscribed { details, .. } | Unregistered { details, .. } => {
                details.as_ref().map_or(0, dict_size)
            }
            Published { .. }
            | Subscribed { .. }
            | Unsubscribe { .. }
            | Registered { .. }
            | Unregister { .. } => 0,
        };
        strings_and_dicts + 32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Serializer;

    /// The estimate follows the encoded size (within a small factor), whatever the shape.
    #[test]
    fn size_hint_follows_the_encoded_size() {
        let big = Value::Str("x".repeat(100_000));
        let many = Value::List((0..10_000).map(Value::from).collect());
        let deep = (0..50).fold(Value::Null, |v, _| Value::List(vec![v]));
        for v in [big, many, deep] {
            let m = Message::Event {
                subscription: 1,
                publication: 2,
                details: Dict::new(),
                payload: Payload::args(vec![v]),
            };
            let encoded = Serializer::JSON.encode(&m).expect("encodes").len();
            let hint = m.size_hint();
            assert!(
                hint * 4 >= encoded && hint <= encoded * 8,
                "{hint} vs {encoded}"
            );
        }
    }
}
