//! The WebSocket listener's HTTP request head parser and upgrade answer: no panics, bounded reads.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wamp_proto_fuzz::http::upgrade_checks(data);
});
