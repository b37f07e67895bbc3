//! Fuzzes the plain `wamp.2.msgpack` decoder: no panics; decoded messages round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wamp_proto::Serializer;

fuzz_target!(|data: &[u8]| {
    wamp_proto_fuzz::decode_round_trip(Serializer::MSGPACK, data);
});
