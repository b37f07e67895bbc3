//! Cryptosign hex: public keys and AUTHENTICATE answers from the network never panic; real signatures verify, tampered ones do not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wamp_proto_fuzz::keys::cryptosign_checks(data);
});
