//! Fuzzes the three batched decoders (the first input byte picks one): no panics; decoded
//! batches re-encode and decode to the same messages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wamp_proto::{Format, Serializer};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let format = [Format::Json, Format::MsgPack, Format::Cbor][pick as usize % 3];
    wamp_proto_fuzz::decode_round_trip(
        Serializer {
            format,
            batched: true,
        },
        rest,
    );
});
