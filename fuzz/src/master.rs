//! The master's untrusted inputs: node and worker heartbeat payloads (as a node publishes
//! them, read here from JSON) and the `mrealm.toml` configuration text.

use std::time::Duration;

use master::config::MAX_SECONDS;
use master::hbcheck::{check_node_heartbeat, check_worker_heartbeat, validate_heartbeat};
use master::MasterConfig;
use wamp_proto::codec::decode_value;
use wamp_proto::{Format, Value};

/// The first byte picks a node or a worker heartbeat; the rest is its `args` list as JSON.
/// The checks never panic, and an accepted node heartbeat reports its own authid.
pub fn heartbeat_checks(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(Value::List(args)) = decode_value(Format::Json, rest) else {
        return;
    };
    if pick % 2 == 1 {
        let _ = check_worker_heartbeat(&args);
        return;
    }
    let full = check_node_heartbeat(&args);
    let fields = validate_heartbeat(&args);
    if let Ok(hb) = &full {
        assert_eq!(
            fields.as_ref(),
            Ok(hb),
            "the record check changed the fields"
        );
        assert_eq!(
            args.first().and_then(Value::as_str),
            Some(hb.authid.as_str())
        );
    }
    if fields.is_err() {
        assert!(
            full.is_err(),
            "record accepted what the field check refused"
        );
    }
}

/// Parses `mrealm.toml` text: never panics; an accepted configuration converts to every
/// `Duration` the master builds from it.
pub fn config_checks(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cfg) = MasterConfig::from_toml(text) else {
        return;
    };
    for v in [
        cfg.watch_interval,
        cfg.ping_interval,
        cfg.ping_timeout,
        cfg.tick_interval,
        cfg.check_interval,
        cfg.check_timeout,
        cfg.log_retention,
        cfg.aggregate_retention,
    ] {
        // durations are converted (and range-checked) once, when the text is read
        assert!(v <= Duration::from_secs_f64(MAX_SECONDS), "accepted {v:?}");
    }
    assert!(cfg.max_message_size >= 1);
    let _ = cfg.management_url();
}
