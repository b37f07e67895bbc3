//! Fuzzes URI validation and matching: no panics, and the policies keep their invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wamp_proto_fuzz::uri_invariants(data);
});
