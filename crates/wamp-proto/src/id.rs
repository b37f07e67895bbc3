//! WAMP ids: global scope (random), router scope and session scope (sequential), all in [1, 2^53].

use std::sync::atomic::{AtomicU64, Ordering};

/// A WAMP id.
pub type Id = u64;

/// The largest id WAMP allows (2^53), so ids survive a trip through a JavaScript number.
pub const MAX_ID: u64 = 1 << 53;

/// A random id in the global scope, from a caller-supplied 64-bit random number.
pub fn global_id(random: u64) -> Id {
    (random % MAX_ID) + 1
}

/// Sequential ids (router or session scope): 1, 2, 3, ... wrapping back to 1 after 2^53.
#[derive(Debug, Default)]
pub struct IdSeq(AtomicU64);

impl IdSeq {
    pub const fn new() -> Self {
        IdSeq(AtomicU64::new(0))
    }
    pub fn next(&self) -> Id {
        let v = self.0.fetch_add(1, Ordering::Relaxed) % MAX_ID;
        v + 1
    }
}
