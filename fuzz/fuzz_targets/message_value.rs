//! Parses message lists built from structured values: no panics; accepted messages round-trip through all six serializers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wamp_proto_fuzz::message::from_value_round_trip(data);
});
