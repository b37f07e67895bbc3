//! Time helpers in the forms Crossbar's master puts on the wire (the clock and ISO-8601 from
//! [`wamp_proto::time`]; durations in words are in [`crate::wire::naturaldelta`]).

pub use wamp_proto::time::{iso8601, now_ns, utcnow};
