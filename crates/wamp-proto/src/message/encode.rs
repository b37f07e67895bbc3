//! Encoding a [`Message`] as its WAMP list, straight into any serde serializer (the binary
//! convention of the serializer is applied to every value inside).

use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

use super::{Message, Payload};
use crate::value::{Dict, Ser, SerDict, SerList, Value};

/// Serializes a message as its WAMP list.
pub struct MsgSer<'a> {
    pub(super) msg: &'a Message,
    pub(super) json: bool,
}

/// One element of a message list.
enum El<'a> {
    Int(u64),
    Str(&'a str),
    Null,
    Dict(&'a Dict),
}

impl Serialize for El<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            El::Int(i) => s.serialize_u64(*i),
            El::Str(v) => s.serialize_str(v),
            El::Null => s.serialize_unit(),
            // binary convention is applied by the wrappers below
            El::Dict(d) => SerDict {
                dict: d,
                json: false,
            }
            .serialize(s),
        }
    }
}

impl MsgSer<'_> {
    fn elements(&self) -> (Vec<El<'_>>, Option<&Payload>) {
        use El::*;
        use Message as M;
        let c = Int(self.msg.code());
        match self.msg {
            M::Hello { realm, details } => (
                vec![c, realm.as_deref().map(Str).unwrap_or(Null), Dict(details)],
                None,
            ),
            M::Welcome { session, details } => (vec![c, Int(*session), Dict(details)], None),
            M::Abort { details, reason } => (vec![c, Dict(details), Str(reason)], None),
            M::Challenge { authmethod, extra } => (vec![c, Str(authmethod), Dict(extra)], None),
            M::Authenticate { signature, extra } => (vec![c, Str(signature), Dict(extra)], None),
            M::Goodbye { details, reason } => (vec![c, Dict(details), Str(reason)], None),
            M::Error {
                request_type,
                request,
                details,
                error,
                payload,
            } => (
                vec![
                    c,
                    Int(*request_type),
                    Int(*request),
                    Dict(details),
                    Str(error),
                ],
                Some(payload),
            ),
            M::Publish {
                request,
                options,
                topic,
                payload,
            } => (
                vec![c, Int(*request), Dict(options), Str(topic)],
                Some(payload),
            ),
            M::Published {
                request,
                publication,
            } => (vec![c, Int(*request), Int(*publication)], None),
            M::Subscribe {
                request,
                options,
                topic,
            } => (vec![c, Int(*request), Dict(options), Str(topic)], None),
            M::Subscribed {
                request,
                subscription,
            } => (vec![c, Int(*request), Int(*subscription)], None),
            M::Unsubscribe {
                request,
                subscription,
            } => (vec![c, Int(*request), Int(*subscription)], None),
            M::Unsubscribed { request, details } => match details {
                Some(d) => (vec![c, Int(*request), Dict(d)], None),
                None => (vec![c, Int(*request)], None),
            },
            M::Event {
                subscription,
                publication,
                details,
                payload,
            } => (
                vec![c, Int(*subscription), Int(*publication), Dict(details)],
                Some(payload),
            ),
            M::Call {
                request,
                options,
                procedure,
                payload,
            } => (
                vec![c, Int(*request), Dict(options), Str(procedure)],
                Some(payload),
            ),
            M::Cancel { request, options } => (vec![c, Int(*request), Dict(options)], None),
            M::Result {
                request,
                details,
                payload,
            } => (vec![c, Int(*request), Dict(details)], Some(payload)),
            M::Register {
                request,
                options,
                procedure,
            } => (vec![c, Int(*request), Dict(options), Str(procedure)], None),
            M::Registered {
                request,
                registration,
            } => (vec![c, Int(*request), Int(*registration)], None),
            M::Unregister {
                request,
                registration,
            } => (vec![c, Int(*request), Int(*registration)], None),
            M::Unregistered { request, details } => match details {
                Some(d) => (vec![c, Int(*request), Dict(d)], None),
                None => (vec![c, Int(*request)], None),
            },
            M::Invocation {
                request,
                registration,
                details,
                payload,
            } => (
                vec![c, Int(*request), Int(*registration), Dict(details)],
                Some(payload),
            ),
            M::Interrupt { request, options } => (vec![c, Int(*request), Dict(options)], None),
            M::Yield {
                request,
                options,
                payload,
            } => (vec![c, Int(*request), Dict(options)], Some(payload)),
        }
    }
}

impl Serialize for MsgSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (els, payload) = self.elements();
        let (with_args, with_kwargs) = match payload {
            Some(p) if !p.kwargs.is_empty() => (true, true),
            Some(p) if !p.args.is_empty() => (true, false),
            _ => (false, false),
        };
        let len = els.len() + with_args as usize + with_kwargs as usize;
        let mut seq = s.serialize_seq(Some(len))?;
        let json = self.json;
        for el in &els {
            match el {
                El::Dict(d) => seq.serialize_element(&SerDict { dict: d, json })?,
                other => seq.serialize_element(other)?,
            }
        }
        if let Some(p) = payload {
            if with_args {
                seq.serialize_element(&SerList {
                    list: &p.args,
                    json,
                })?;
            }
            if with_kwargs {
                seq.serialize_element(&SerDict {
                    dict: &p.kwargs,
                    json,
                })?;
            }
        }
        seq.end()
    }
}

/// Serializes one standalone value (used by tests and tools).
pub fn ser_value(v: &Value, json: bool) -> Ser<'_> {
    Ser { value: v, json }
}
