//! Node and worker heartbeat payloads (the master's pure checks): no panics, consistent verdicts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wamp_proto_fuzz::master::heartbeat_checks(data);
});
