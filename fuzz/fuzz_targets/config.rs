//! The master's mrealm.toml: no panics; accepted values convert to every Duration the master builds.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wamp_proto_fuzz::master::config_checks(data);
});
