//! The WebSocket parts of service validation (Crossbar's `check_websocket_options`,
//! `parse_url`, `check_transport_auth`, `check_transport_cookie`,
//! `check_connecting_transport_websocket`): used by the `websocket` and
//! `websocket-reverseproxy` service types.

use serde_json::Value as Json;

use super::{dict_args, Key, T};
use crate::clusters::webcluster::settings::py_type;

type Check = std::result::Result<(), String>;

const WS_OPTIONS: &[Key] = &[
    ("allowed_origins", false, T::Sequence),
    ("allow_null_origin", false, T::Bool),
    ("external_port", false, T::Int),
    ("enable_hybi10", false, T::Bool),
    ("enable_rfc6455", false, T::Bool),
    ("open_handshake_timeout", false, T::Int),
    ("close_handshake_timeout", false, T::Int),
    ("enable_webstatus", false, T::Bool),
    ("validate_utf8", false, T::Bool),
    ("mask_server_frames", false, T::Bool),
    ("require_masked_client_frames", false, T::Bool),
    ("apply_mask", false, T::Bool),
    ("max_frame_size", false, T::Int),
    ("max_message_size", false, T::Int),
    ("auto_fragment_size", false, T::Int),
    ("fail_by_drop", false, T::Bool),
    ("echo_close_codereason", false, T::Bool),
    ("tcp_nodelay", false, T::Bool),
    ("auto_ping_interval", false, T::Int),
    ("auto_ping_timeout", false, T::Int),
    ("auto_ping_size", false, T::Int),
    ("auto_ping_restart_on_any_traffic", false, T::Bool),
    ("enable_flash_policy", false, T::Bool),
    ("flash_policy", false, T::Any),
    ("compression", false, T::Mapping),
    ("require_websocket_subprotocol", false, T::Bool),
    ("show_server_version", false, T::Bool),
];

const MILLISECONDS: &[&str] = &[
    "open_handshake_timeout",
    "close_handshake_timeout",
    "auto_ping_interval",
    "auto_ping_timeout",
];

/// WebSocket options: known keys and types, ping size 12..=125, intervals in milliseconds,
/// frame/message sizes 0..=64 MiB, compression `deflate` only.
pub(super) fn options(v: &Json) -> Check {
    let Some(o) = v.as_object() else {
        return Err(format!(
            "WebSocket options must be a dictionary ({} encountered)",
            py_type(v)
        ));
    };
    if let Some(k) = o
        .keys()
        .find(|k| !WS_OPTIONS.iter().any(|(n, _, _)| n == k))
    {
        return Err(format!(
            "encountered unknown attribute '{k}' in WebSocket options"
        ));
    }
    dict_args(WS_OPTIONS, v, "WebSocket options")?;
    let int = |k: &str| o.get(k).and_then(Json::as_i64);
    if let Some(n) = int("auto_ping_size") {
        if !(12..=125).contains(&n) {
            return Err("WebSocket option 'auto_ping_size' must be between 12 and 125".into());
        }
    }
    for k in MILLISECONDS {
        match int(k) {
            Some(n) if n < 0 => return Err(format!("'{k}' must be positive integer")),
            Some(n) if n != 0 && n < 1000 => {
                return Err(format!("'{k}' is in milliseconds; {n} is too small"))
            }
            _ => {}
        }
    }
    for k in ["max_frame_size", "max_message_size"] {
        if let Some(n) = int(k) {
            if !(0..=64 * 1024 * 1024).contains(&n) {
                return Err(format!(
                    "invalid value {n} for '{k}' attribute in transport"
                ));
            }
        }
    }
    match o.get("compression") {
        Some(c) => compression(c),
        None => Ok(()),
    }
}

fn compression(c: &Json) -> Check {
    let d = dict_args(
        &[("deflate", false, T::Mapping)],
        c,
        "WebSocket compression options",
    )?;
    if let Some(deflate) = d.get("deflate") {
        let keys = [
            ("request_no_context_takeover", false, T::Bool),
            ("request_max_window_bits", false, T::Int),
            ("no_context_takeover", false, T::Bool),
            ("max_window_bits", false, T::Int),
            ("memory_level", false, T::Int),
        ];
        dict_args(
            &keys,
            deflate,
            "WebSocket permessage-deflate compression options",
        )?;
    }
    Ok(())
}

/// A WebSocket URL: `ws://` or `wss://` with a host.
pub(super) fn url(u: &str) -> Check {
    let rest = u.strip_prefix("ws://").or_else(|| u.strip_prefix("wss://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') => Ok(()),
        _ => Err(format!(
            "invalid 'url' in WebSocket configuration : invalid WebSocket URL \"{u}\""
        )),
    }
}

const AUTH_METHODS: &[&str] = &[
    "anonymous",
    "ticket",
    "wampcra",
    "tls",
    "cookie",
    "cryptosign",
    "scram",
    "cryptosign-proxy",
    "anonymous-proxy",
];

/// A transport `auth` dict: known authentication methods, each configured by a dict;
/// `anonymous` checked fully (static/dynamic), the others' inner keys left to the node.
pub(super) fn auth(v: &Json) -> Check {
    let Some(a) = v.as_object() else {
        return Err(format!(
            "invalid type {} for authentication configuration item (dict expected)",
            py_type(v)
        ));
    };
    for (k, cfg) in a {
        if !AUTH_METHODS.contains(&k.as_str()) {
            return Err(format!(
                "invalid authentication method key '{k}' - must be one of {AUTH_METHODS:?}"
            ));
        }
        if !cfg.is_object() {
            return Err(format!(
                "invalid type {} for '{k}' authentication configuration (dict expected)",
                py_type(cfg)
            ));
        }
        if k == "anonymous" || k == "anonymous-proxy" {
            anonymous(cfg)?;
        }
    }
    Ok(())
}

fn anonymous(cfg: &Json) -> Check {
    match cfg.get("type").and_then(Json::as_str) {
        None => Err("missing mandatory attribute 'type' in WAMP-Anonymous configuration".into()),
        Some("static") => {
            let keys = [
                ("type", true, T::Str),
                ("realm", false, T::Str),
                ("role", false, T::Str),
                ("authid", false, T::Str),
            ];
            dict_args(&keys, cfg, "WAMP-Anonymous configuration").map(|_| ())
        }
        Some("dynamic") => match cfg.get("authenticator") {
            Some(Json::String(_)) => Ok(()),
            _ => Err(
                "missing mandatory attribute 'authenticator' in dynamic WAMP-Anonymous configuration"
                    .into(),
            ),
        },
        Some(t) => Err(format!(
            "invalid type '{t}' in WAMP-Anonymous configuration - must be one of 'static', 'dynamic', 'function'"
        )),
    }
}

/// A cookie tracking configuration.
pub(super) fn cookie(v: &Json) -> Check {
    let keys = [
        ("name", false, T::Str),
        ("length", false, T::Int),
        ("max_age", false, T::Int),
        ("store", false, T::Mapping),
        ("secure", false, T::Bool),
        ("http_strict", false, T::Bool),
        ("same_site", false, T::Str),
    ];
    let c = dict_args(&keys, v, "WebSocket cookie configuration")?;
    if let Some(n) = c.get("name").and_then(Json::as_str) {
        if !is_cookie_name(n) {
            return Err(format!(
                "invalid cookie name '{n}' - must match regular expression ^[a-z][a-z0-9_]+$"
            ));
        }
    }
    if let Some(n) = c.get("max_age").and_then(Json::as_i64) {
        if !(1..=86400 * 360 * 10).contains(&n) {
            return Err(format!(
                "invalid cookie max_age {n} - must be >0 seconds, and <= 10 years"
            ));
        }
    }
    if let Some(n) = c.get("length").and_then(Json::as_i64) {
        if !(6..=64).contains(&n) {
            return Err(format!("invalid cookie length {n} - must be >=6 and <= 64"));
        }
    }
    if let Some(s) = c.get("store") {
        cookie_store(s)?;
    }
    match c.get("same_site").and_then(Json::as_str) {
        Some(s) if !["Strict", "Lax", "None"].contains(&s) => Err(format!(
            "invalid attribute value '{s}' for attribute 'same_site' - must be one of 'Strict', 'Lax', 'None'"
        )),
        _ => Ok(()),
    }
}

fn is_cookie_name(n: &str) -> bool {
    let b = n.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_lowercase()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

fn cookie_store(s: &Json) -> Check {
    let keys: &[Key] = match s.get("type").and_then(Json::as_str) {
        Some("memory") => &[("type", true, T::Str)],
        Some("file") => &[
            ("type", true, T::Str),
            ("filename", true, T::Str),
            ("purge_on_startup", false, T::Bool),
        ],
        Some("database") => &[
            ("type", true, T::Str),
            ("path", true, T::Str),
            ("purge_on_startup", false, T::Bool),
            ("maxsize", false, T::Int),
            ("readonly", false, T::Bool),
            ("sync", false, T::Bool),
        ],
        None => {
            return Err("missing mandatory attribute 'type' in cookie store configuration".into())
        }
        Some(t) => {
            return Err(format!(
                "invalid attribute value '{t}' for attribute 'type' in cookie store item"
            ))
        }
    };
    dict_args(keys, s, "WebSocket cookie store configuration").map(|_| ())
}

/// The `backend` of a `websocket-reverseproxy`: a connecting WebSocket transport with an
/// `endpoint` dict and a `url`.
pub(super) fn backend(v: &Json) -> Check {
    let keys = [
        ("id", false, T::Str),
        ("type", false, T::Str),
        ("endpoint", true, T::Mapping),
        ("url", true, T::Str),
        ("serializers", false, T::Sequence),
        ("options", false, T::Mapping),
    ];
    let b = dict_args(&keys, v, "WebSocket transport configuration")?;
    if let Some(o) = b.get("options") {
        options(o)?;
    }
    match b.get("url").and_then(Json::as_str) {
        Some(u) => url(u),
        None => Ok(()),
    }
}
