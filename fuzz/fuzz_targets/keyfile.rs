//! Parses Crossbar key file text: no panics; accepted files keep their keys and survive format + parse.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wamp_proto_fuzz::keys::keyfile_round_trip(data);
});
