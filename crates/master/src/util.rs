//! Time helpers in the forms Crossbar's master puts on the wire.

pub use wamp_router::util::{iso8601, now_ns, utcnow};
