//! The WAMP v2 messages of the basic and advanced profiles, and their list form on the wire.
//!
//! Decoding is two steps: a serializer turns bytes into a [`Value`], then [`Message::from_value`]
//! checks the shape (message code, arity, element types, id ranges). Every malformed shape is a
//! [`ProtoError`], never a panic. Encoding serializes the message straight into its list form.

use crate::error::ProtoError;
use crate::id::{Id, MAX_ID};
use crate::value::{Dict, Value};

mod encode;
mod size;
pub use encode::{ser_value, MsgSer};

/// Message type codes.
pub mod code {
    pub const HELLO: u64 = 1;
    pub const WELCOME: u64 = 2;
    pub const ABORT: u64 = 3;
    pub const CHALLENGE: u64 = 4;
    pub const AUTHENTICATE: u64 = 5;
    pub const GOODBYE: u64 = 6;
    pub const ERROR: u64 = 8;
    pub const PUBLISH: u64 = 16;
    pub const PUBLISHED: u64 = 17;
    pub const SUBSCRIBE: u64 = 32;
    pub const SUBSCRIBED: u64 = 33;
    pub const UNSUBSCRIBE: u64 = 34;
    pub const UNSUBSCRIBED: u64 = 35;
    pub const EVENT: u64 = 36;
    pub const CALL: u64 = 48;
    pub const CANCEL: u64 = 49;
    pub const RESULT: u64 = 50;
    pub const REGISTER: u64 = 64;
    pub const REGISTERED: u64 = 65;
    pub const UNREGISTER: u64 = 66;
    pub const UNREGISTERED: u64 = 67;
    pub const INVOCATION: u64 = 68;
    pub const INTERRUPT: u64 = 69;
    pub const YIELD: u64 = 70;
}

/// Positional and keyword arguments of a message (absent on the wire when empty).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Payload {
    pub args: Vec<Value>,
    pub kwargs: Dict,
}

impl Payload {
    pub fn new(args: Vec<Value>, kwargs: Dict) -> Self {
        Payload { args, kwargs }
    }
    pub fn args(args: Vec<Value>) -> Self {
        Payload {
            args,
            kwargs: Dict::new(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.args.is_empty() && self.kwargs.is_empty()
    }
}

/// A WAMP v2 message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Hello {
        realm: Option<String>,
        details: Dict,
    },
    Welcome {
        session: Id,
        details: Dict,
    },
    Abort {
        details: Dict,
        reason: String,
    },
    Challenge {
        authmethod: String,
        extra: Dict,
    },
    Authenticate {
        signature: String,
        extra: Dict,
    },
    Goodbye {
        details: Dict,
        reason: String,
    },
    Error {
        request_type: u64,
        request: Id,
        details: Dict,
        error: String,
        payload: Payload,
    },
    Publish {
        request: Id,
        options: Dict,
        topic: String,
        payload: Payload,
    },
    Published {
        request: Id,
        publication: Id,
    },
    Subscribe {
        request: Id,
        options: Dict,
        topic: String,
    },
    Subscribed {
        request: Id,
        subscription: Id,
    },
    Unsubscribe {
        request: Id,
        subscription: Id,
    },
    Unsubscribed {
        request: Id,
        details: Option<Dict>,
    },
    Event {
        subscription: Id,
        publication: Id,
        details: Dict,
        payload: Payload,
    },
    Call {
        request: Id,
        options: Dict,
        procedure: String,
        payload: Payload,
    },
    Cancel {
        request: Id,
        options: Dict,
    },
    Result {
        request: Id,
        details: Dict,
        payload: Payload,
    },
    Register {
        request: Id,
        options: Dict,
        procedure: String,
    },
    Registered {
        request: Id,
        registration: Id,
    },
    Unregister {
        request: Id,
        registration: Id,
    },
    Unregistered {
        request: Id,
        details: Option<Dict>,
    },
    Invocation {
        request: Id,
        registration: Id,
        details: Dict,
        payload: Payload,
    },
    Interrupt {
        request: Id,
        options: Dict,
    },
    Yield {
        request: Id,
        options: Dict,
        payload: Payload,
    },
}

// === impl Message ===

impl Message {
    /// The message type code.
    pub fn code(&self) -> u64 {
        use Message::*;
        match self {
            Hello { .. } => code::HELLO,
            Welcome { .. } => code::WELCOME,
            Abort { .. } => code::ABORT,
            Challenge { .. } => code::CHALLENGE,
            Authenticate { .. } => code::AUTHENTICATE,
            Goodbye { .. } => code::GOODBYE,
            Error { .. } => code::ERROR,
            Publish { .. } => code::PUBLISH,
            Published { .. } => code::PUBLISHED,
            Subscribe { .. } => code::SUBSCRIBE,
            Subscribed { .. } => code::SUBSCRIBED,
            Unsubscribe { .. } => code::UNSUBSCRIBE,
            Unsubscribed { .. } => code::UNSUBSCRIBED,
            Event { .. } => code::EVENT,
            Call { .. } => code::CALL,
            Cancel { .. } => code::CANCEL,
            Result { .. } => code::RESULT,
            Register { .. } => code::REGISTER,
            Registered { .. } => code::REGISTERED,
            Unregister { .. } => code::UNREGISTER,
            Unregistered { .. } => code::UNREGISTERED,
            Invocation { .. } => code::INVOCATION,
            Interrupt { .. } => code::INTERRUPT,
            Yield { .. } => code::YIELD,
        }
    }

    /// The message's name as in the WAMP spec (`"CALL"`), for logs and errors.
    pub fn name(&self) -> &'static str {
        code_name(self.code())
    }

    /// Parses the list form of a message.
    pub fn from_value(v: Value) -> Result<Message, ProtoError> {
        let Value::List(items) = v else {
            return Err(ProtoError::shape(format!(
                "message must be a list, got {}",
                v.type_name()
            )));
        };
        let mut r = Reader::new(items)?;
        let msg = r.message()?;
        r.finish()?;
        Ok(msg)
    }

    /// A serializable view of the message's list form under a binary convention.
    pub fn ser(&self, json: bool) -> MsgSer<'_> {
        MsgSer { msg: self, json }
    }
}

/// The WAMP name of a message code, or `"UNKNOWN"`.
pub fn code_name(code: u64) -> &'static str {
    match code {
        code::HELLO => "HELLO",
        code::WELCOME => "WELCOME",
        code::ABORT => "ABORT",
        code::CHALLENGE => "CHALLENGE",
        code::AUTHENTICATE => "AUTHENTICATE",
        code::GOODBYE => "GOODBYE",
        code::ERROR => "ERROR",
        code::PUBLISH => "PUBLISH",
        code::PUBLISHED => "PUBLISHED",
        code::SUBSCRIBE => "SUBSCRIBE",
        code::SUBSCRIBED => "SUBSCRIBED",
        code::UNSUBSCRIBE => "UNSUBSCRIBE",
        code::UNSUBSCRIBED => "UNSUBSCRIBED",
        code::EVENT => "EVENT",
        code::CALL => "CALL",
        code::CANCEL => "CANCEL",
        code::RESULT => "RESULT",
        code::REGISTER => "REGISTER",
        code::REGISTERED => "REGISTERED",
        code::UNREGISTER => "UNREGISTER",
        code::UNREGISTERED => "UNREGISTERED",
        code::INVOCATION => "INVOCATION",
        code::INTERRUPT => "INTERRUPT",
        code::YIELD => "YIELD",
        _ => "UNKNOWN",
    }
}

// === decoding ===

/// Walks the elements of a message list, checking each one's type.
struct Reader {
    items: std::vec::IntoIter<Value>,
    code: u64,
    pos: usize,
}

impl Reader {
    fn new(items: Vec<Value>) -> Result<Self, ProtoError> {
        let mut items = items.into_iter();
        let code = match items.next() {
            Some(v) => v
                .as_u64()
                .ok_or_else(|| ProtoError::shape("message type must be an integer"))?,
            None => return Err(ProtoError::shape("empty message list")),
        };
        Ok(Reader {
            items,
            code,
            pos: 1,
        })
    }

    fn what(&self) -> String {
        format!("{} element {}", code_name(self.code), self.pos)
    }

    fn next(&mut self) -> Result<Value, ProtoError> {
        let v = self
            .items
            .next()
            .ok_or_else(|| ProtoError::shape(format!("{} is missing", self.what())))?;
        self.pos += 1;
        Ok(v)
    }

    fn bad(&self, want: &str, got: &Value) -> ProtoError {
        ProtoError::shape(format!(
            "{} must be {want}, got {}",
            format_args!("{} element {}", code_name(self.code), self.pos - 1),
            got.type_name()
        ))
    }

    fn id(&mut self) -> Result<Id, ProtoError> {
        let v = self.next()?;
        match v.as_u64() {
            Some(i) if i <= MAX_ID => Ok(i),
            _ => Err(self.bad("an id in [0, 2^53]", &v)),
        }
    }

    fn int(&mut self) -> Result<u64, ProtoError> {
        let v = self.next()?;
        v.as_u64()
            .ok_or_else(|| self.bad("a non-negative integer", &v))
    }

    fn string(&mut self) -> Result<String, ProtoError> {
        match self.next()? {
            Value::Str(s) => Ok(s),
            v => Err(self.bad("a string", &v)),
        }
    }

    fn opt_string(&mut self) -> Result<Option<String>, ProtoError> {
        match self.next()? {
            Value::Str(s) => Ok(Some(s)),
            Value::Null => Ok(None),
            v => Err(self.bad("a string or null", &v)),
        }
    }

    fn dict(&mut self) -> Result<Dict, ProtoError> {
        match self.next()? {
            Value::Dict(d) => Ok(d),
            v => Err(self.bad("a dict", &v)),
        }
    }

    fn opt_dict(&mut self) -> Result<Option<Dict>, ProtoError> {
        match self.items.next() {
            None => Ok(None),
            Some(Value::Dict(d)) => {
                self.pos += 1;
                Ok(Some(d))
            }
            Some(v) => {
                self.pos += 1;
                Err(self.bad("a dict", &v))
            }
        }
    }

    fn payload(&mut self) -> Result<Payload, ProtoError> {
        let args = match self.items.next() {
            None => return Ok(Payload::default()),
            Some(Value::List(l)) => l,
            Some(v) => {
                self.pos += 1;
                return Err(self.bad("a list (Arguments)", &v));
            }
        };
        self.pos += 1;
        let kwargs = match self.items.next() {
            None => Dict::new(),
            Some(Value::Dict(d)) => d,
            Some(v) => {
                self.pos += 1;
                return Err(self.bad("a dict (ArgumentsKw)", &v));
            }
        };
        self.pos += 1;
        Ok(Payload { args, kwargs })
    }

    fn finish(mut self) -> Result<(), ProtoError> {
        match self.items.next() {
            None => Ok(()),
            Some(_) => Err(ProtoError::shape(format!(
                "{} has too many elements",
                code_name(self.code)
            ))),
        }
    }

    fn message(&mut self) -> Result<Message, ProtoError> {
        use Message as M;
        Ok(match self.code {
            code::HELLO => M::Hello {
                realm: self.opt_string()?,
                details: self.dict()?,
            },
            code::WELCOME => M::Welcome {
                session: self.id()?,
                details: self.dict()?,
            },
            code::ABORT => M::Abort {
                details: self.dict()?,
                reason: self.string()?,
            },
            code::CHALLENGE => M::Challenge {
                authmethod: self.string()?,
                extra: self.dict()?,
            },
            code::AUTHENTICATE => M::Authenticate {
                signature: self.string()?,
                extra: self.dict()?,
            },
            code::GOODBYE => M::Goodbye {
                details: self.dict()?,
                reason: self.string()?,
            },
            code::ERROR => M::Error {
                request_type: self.int()?,
                request: self.id()?,
                details: self.dict()?,
                error: self.string()?,
                payload: self.payload()?,
            },
            code::PUBLISH => M::Publish {
                request: self.id()?,
                options: self.dict()?,
                topic: self.string()?,
                payload: self.payload()?,
            },
            code::PUBLISHED => M::Published {
                request: self.id()?,
                publication: self.id()?,
            },
            code::SUBSCRIBE => M::Subscribe {
                request: self.id()?,
                options: self.dict()?,
                topic: self.string()?,
            },
            code::SUBSCRIBED => M::Subscribed {
                request: self.id()?,
                subscription: self.id()?,
            },
            code::UNSUBSCRIBE => M::Unsubscribe {
                request: self.id()?,
                subscription: self.id()?,
            },
            code::UNSUBSCRIBED => M::Unsubscribed {
                request: self.id()?,
                details: self.opt_dict()?,
            },
            code::EVENT => M::Event {
                subscription: self.id()?,
                publication: self.id()?,
                details: self.dict()?,
                payload: self.payload()?,
            },
            code::CALL => M::Call {
                request: self.id()?,
                options: self.dict()?,
                procedure: self.string()?,
                payload: self.payload()?,
            },
            code::CANCEL => M::Cancel {
                request: self.id()?,
                options: self.dict()?,
            },
            code::RESULT => M::Result {
                request: self.id()?,
                details: self.dict()?,
                payload: self.payload()?,
            },
            code::REGISTER => M::Register {
                request: self.id()?,
                options: self.dict()?,
                procedure: self.string()?,
            },
            code::REGISTERED => M::Registered {
                request: self.id()?,
                registration: self.id()?,
            },
            code::UNREGISTER => M::Unregister {
                request: self.id()?,
                registration: self.id()?,
            },
            code::UNREGISTERED => M::Unregistered {
                request: self.id()?,
                details: self.opt_dict()?,
            },
            code::INVOCATION => M::Invocation {
                request: self.id()?,
                registration: self.id()?,
                details: self.dict()?,
                payload: self.payload()?,
            },
            code::INTERRUPT => M::Interrupt {
                request: self.id()?,
                options: self.dict()?,
            },
            code::YIELD => M::Yield {
                request: self.id()?,
                options: self.dict()?,
                payload: self.payload()?,
            },
            other => return Err(ProtoError::UnknownMessageType(other)),
        })
    }
}
