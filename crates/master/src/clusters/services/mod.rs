//! Validation of web service configurations before they are stored (`add_webcluster_service`,
//! clusters spec §2.3 "Allowed types"): the rules of Crossbar's own checkers
//! (`crossbar/common/checkconfig.py` `check_web_path_service_*`, `webservice/archive.py`,
//! `webservice/wap.py`), re-implemented: known keys with their types, mandatory keys, and the
//! value checks of each type. An unknown key is refused, as the edge node would refuse it.
//!
//! [`check`] answers the reason only; the caller wraps it as
//! `invalid webservice configuration for type "<t>": <why>`.

use serde_json::{Map, Value as Json};

use super::webcluster::settings::py_type;

mod ws;

/// The service types a web cluster accepts (Crossbar's `_WEB_SERVICE_CHECKERS`).
pub(crate) const SERVICE_TYPES: &[&str] = &[
    "path",
    "redirect",
    "reverseproxy",
    "nodeinfo",
    "json",
    "cgi",
    "wsgi",
    "static",
    "websocket",
    "websocket-reverseproxy",
    "caller",
    "publisher",
    "archive",
    "wap",
];

/// The WAMP serializers a `websocket` service may list.
const SERIALIZERS: &[&str] = &["json", "msgpack", "cbor", "ubjson", "flatbuffers"];

/// Crossbar's web path pattern `^([a-z0-9A-Z_\-]+|/)$` (nested `paths` of a `path` service).
const WEB_PATH_PAT: &str = r"^([a-z0-9A-Z_\-]+|/)$";

/// Nested `path` services deeper than this are refused.
const MAX_NESTING: usize = 8;

type Check = std::result::Result<(), String>;

/// What a key's value may be (Python's `isinstance` classes of `check_dict_args`).
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum T {
    Str,
    Int,
    Bool,
    Mapping,
    /// A list (Crossbar: a `Sequence` that is not a string).
    Sequence,
    /// `int` or `None`.
    IntOrNull,
    /// `str` or a `Mapping`.
    StrOrMapping,
    /// Anything.
    Any,
}

impl T {
    fn accepts(self, v: &Json) -> bool {
        match self {
            T::Str => v.is_string(),
            T::Int => v.is_i64() || v.is_u64(),
            T::Bool => v.is_boolean(),
            T::Mapping => v.is_object(),
            T::Sequence => v.is_array(),
            T::IntOrNull => v.is_null() || v.is_i64() || v.is_u64(),
            T::StrOrMapping => v.is_string() || v.is_object(),
            T::Any => true,
        }
    }

    fn names(self) -> &'static str {
        match self {
            T::Str => "str",
            T::Int => "int",
            T::Bool => "bool",
            T::Mapping => "Mapping",
            T::Sequence => "Sequence",
            T::IntOrNull => "int, NoneType",
            T::StrOrMapping => "str, Mapping",
            T::Any => "any",
        }
    }
}

/// One key of a dict spec: name, mandatory, type.
pub(crate) type Key = (&'static str, bool, T);

/// Crossbar's `check_dict_args`: `v` must be a dict, every key known and of its type (in key
/// order), every mandatory key present.
pub(crate) fn dict_args<'a>(
    spec: &[Key],
    v: &'a Json,
    msg: &str,
) -> std::result::Result<&'a Map<String, Json>, String> {
    let Some(d) = v.as_object() else {
        return Err(format!(
            "{msg} - invalid type for configuration item - expected dict, got {}",
            py_type(v)
        ));
    };
    for (k, val) in d {
        let Some((_, _, t)) = spec.iter().find(|(n, _, _)| n == k) else {
            return Err(format!("{msg} - encountered unknown attribute '{k}'"));
        };
        if !t.accepts(val) {
            return Err(format!(
                "{msg} - invalid type {} encountered for attribute '{k}', must be one of ({})",
                py_type(val),
                t.names()
            ));
        }
    }
    for (k, mandatory, _) in spec {
        if *mandatory && !d.contains_key(*k) {
            return Err(format!("{msg} - missing mandatory attribute '{k}'"));
        }
    }
    Ok(d)
}

/// Checks the configuration of a service of type `service_type` (`config` holds `type` and the
/// type's keys; not `path`, `label`, `description`, `tags`).
pub(crate) fn check(service_type: &str, config: &Map<String, Json>) -> Check {
    check_at(service_type, &Json::Object(config.clone()), 0)
}

fn check_at(service_type: &str, v: &Json, depth: usize) -> Check {
    match service_type {
        "path" => path(v, depth),
        "redirect" => simple(v, "redirect", &[("url", true, T::Str)]),
        "reverseproxy" => reverseproxy(v),
        "nodeinfo" => simple(v, "nodeinfo", &[]),
        "json" => json(v),
        "cgi" => {
            let keys = [("directory", true, T::Str), ("processor", true, T::Str)];
            simple(v, "cgi", &keys)
        }
        "wsgi" => simple(v, "wsgi", &WSGI),
        "static" => static_(v),
        "websocket" => websocket(v),
        "websocket-reverseproxy" => websocket_reverseproxy(v),
        "caller" | "publisher" => longpoll_rest(v, service_type),
        "archive" => archive(v),
        "wap" => wap(v),
        other => Err(format!("invalid Web service type \"{other}\"")),
    }
}

const WSGI: [Key; 4] = [
    ("module", true, T::Str),
    ("object", true, T::Str),
    ("minthreads", false, T::Int),
    ("maxthreads", false, T::Int),
];

/// The spec of a path service: `id`, `type` and `keys`.
fn with_base(keys: &[Key]) -> Vec<Key> {
    let mut spec = vec![("id", false, T::Str), ("type", true, T::Str)];
    spec.extend_from_slice(keys);
    spec
}

fn msg(service_type: &str) -> String {
    format!("Web transport '{service_type}' path service")
}

fn simple(v: &Json, service_type: &str, keys: &[Key]) -> Check {
    dict_args(&with_base(keys), v, &msg(service_type)).map(|_| ())
}

fn json(v: &Json) -> Check {
    let spec = with_base(&[("value", true, T::Any), ("options", false, T::Mapping)]);
    let d = dict_args(&spec, v, &msg("json"))?;
    if let Some(o) = d.get("options") {
        let opts = [
            ("prettify", false, T::Bool),
            ("allow_cross_origin", false, T::Bool),
            ("discourage_caching", false, T::Bool),
        ];
        dict_args(&opts, o, &msg("json"))?;
    }
    Ok(())
}

fn static_(v: &Json) -> Check {
    let spec = with_base(&[
        ("directory", false, T::Str),
        ("package", false, T::Str),
        ("resource", false, T::Str),
        ("options", false, T::Mapping),
    ]);
    let d = dict_args(&spec, v, &msg("static"))?;
    let pkg = d.contains_key("package") || d.contains_key("resource");
    let both = d.contains_key("package") && d.contains_key("resource");
    if (d.contains_key("directory") && pkg) || (!d.contains_key("directory") && !both) {
        return Err(format!(
            "{}: either 'directory' OR 'package' + 'resource' must be given, not both",
            msg("static")
        ));
    }
    if let Some(o) = d.get("options") {
        let opts = [
            ("enable_directory_listing", false, T::Bool),
            ("mime_types", false, T::Mapping),
            ("cache_timeout", false, T::IntOrNull),
            ("default_file", false, T::Str),
        ];
        dict_args(&opts, o, "'options' in Web transport 'static' path service")?;
    }
    Ok(())
}

fn port(v: &Json, key: &str, m: &str) -> Check {
    match v.as_i64() {
        Some(p) if (1..=65535).contains(&p) => Ok(()),
        Some(p) => Err(format!("invalid value {p} for '{key}' attribute in {m}")),
        None => Err(format!(
            "'{key}' attribute in {m} must be integer ({} encountered)",
            py_type(v)
        )),
    }
}

fn reverseproxy(v: &Json) -> Check {
    let m = msg("reverseproxy");
    // Crossbar reads `port` unconditionally (a missing port fails its checker, and the node).
    let spec = with_base(&[
        ("host", true, T::Str),
        ("port", true, T::Int),
        ("path", false, T::Str),
        ("forwarded_port", false, T::Int),
        ("forwarded_proto", false, T::Str),
    ]);
    let d = dict_args(&spec, v, &m)?;
    for key in ["port", "forwarded_port"] {
        if let Some(p) = d.get(key) {
            port(p, key, &m)?;
        }
    }
    match d.get("forwarded_proto").and_then(Json::as_str) {
        Some(p) if p != "http" && p != "https" => Err(format!("{m}: invalid protocol \"{p}\"")),
        _ => Ok(()),
    }
}

fn longpoll_rest(v: &Json, service_type: &str) -> Check {
    let m = msg(service_type);
    let spec = with_base(&[
        ("realm", true, T::Str),
        ("role", true, T::Str),
        ("options", false, T::Mapping),
    ]);
    let d = dict_args(&spec, v, &m)?;
    let Some(o) = d.get("options") else {
        return Ok(());
    };
    let opts = [
        ("debug", false, T::Bool),
        ("key", false, T::Str),
        ("secret", false, T::Str),
        ("require_tls", false, T::Bool),
        ("require_ip", false, T::Sequence),
        ("post_body_limit", false, T::Int),
        ("timestamp_delta_limit", false, T::Int),
    ];
    let o = dict_args(&opts, o, &m)?;
    let limits = [
        ("post_body_limit", 1 << 20),
        ("timestamp_delta_limit", 86400),
    ];
    for (key, max) in limits {
        if let Some(n) = o.get(key).and_then(Json::as_i64) {
            if !(0..=max).contains(&n) {
                return Err(format!(
                    "invalid value {n} for '{key}' attribute in publisher/caller configuration"
                ));
            }
        }
    }
    Ok(())
}

fn path(v: &Json, depth: usize) -> Check {
    let d = dict_args(&with_base(&[("paths", true, T::Mapping)]), v, &msg("path"))?;
    let paths = d.get("paths").and_then(Json::as_object);
    for (p, sub) in paths.into_iter().flatten() {
        if !is_web_path(p) {
            return Err(format!(
                "invalid value '{p}' for path in Web transport / WebSocket subitem in Universal transport configuration - must match regular expression {WEB_PATH_PAT}"
            ));
        }
        nested(p, sub, depth + 1)?;
    }
    Ok(())
}

fn is_web_path(p: &str) -> bool {
    p == "/"
        || (!p.is_empty()
            && p.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-'))
}

/// Crossbar's `check_web_path_service` for a nested path.
fn nested(p: &str, sub: &Json, depth: usize) -> Check {
    if depth > MAX_NESTING {
        return Err(format!("Web service path \"{p}\" nested too deeply"));
    }
    let Some(t) = sub.get("type") else {
        return Err(format!(
            "missing mandatory attribute \"type\" in Web service path \"{p}\" configuration item"
        ));
    };
    match t.as_str() {
        Some(t) if SERVICE_TYPES.contains(&t) => check_at(t, sub, depth),
        _ => Err(format!(
            "invalid Web service type \"{}\" on URL path \"{p}\"",
            unquote(t)
        )),
    }
}

fn unquote(v: &Json) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

fn archive(v: &Json) -> Check {
    let spec = with_base(&[
        ("archive", true, T::Str),
        ("origin", false, T::Str),
        ("download", false, T::Bool),
        ("cache", false, T::Bool),
        ("default_object", false, T::Str),
        ("object_prefix", false, T::Str),
        ("mime_types", false, T::Mapping),
        ("hashes", false, T::Sequence),
        ("options", false, T::Mapping),
    ]);
    dict_args(&spec, v, "Static Web from Archive service configuration").map(|_| ())
}

fn wap(v: &Json) -> Check {
    let spec = with_base(&[
        ("path", false, T::Str),
        ("templates", true, T::StrOrMapping),
        ("sandbox", false, T::Bool),
        ("routes", true, T::Sequence),
        ("wamp", true, T::Mapping),
    ]);
    let d = dict_args(
        &spec,
        v,
        "WAMP Application Page (WAP) service configuration",
    )?;
    if let Some(t @ Json::Object(_)) = d.get("templates") {
        let keys = [("package", true, T::Str), ("resource", true, T::Str)];
        dict_args(&keys, t, "templates in WAP service configuration")?;
    }
    Ok(())
}

fn websocket(v: &Json) -> Check {
    let spec = with_base(&[
        ("url", false, T::Str),
        ("serializers", false, T::Sequence),
        ("cookie", false, T::Mapping),
        ("auth", false, T::Mapping),
        ("options", false, T::Mapping),
        ("debug", false, T::Bool),
    ]);
    let d = dict_args(&spec, v, &msg("websocket"))?;
    if let Some(o) = d.get("options") {
        ws::options(o)?;
    }
    if let Some(u) = d.get("url").and_then(Json::as_str) {
        ws::url(u)?;
    }
    if let Some(Json::Array(l)) = d.get("serializers") {
        for s in l {
            if !s.as_str().is_some_and(|s| SERIALIZERS.contains(&s)) {
                return Err(format!(
                    "invalid serializer {s} in 'serializers' (must be one of {})",
                    SERIALIZERS.join(", ")
                ));
            }
        }
    }
    if let Some(a) = d.get("auth") {
        ws::auth(a)?;
    }
    if let Some(c) = d.get("cookie") {
        ws::cookie(c)?;
    }
    Ok(())
}

fn websocket_reverseproxy(v: &Json) -> Check {
    let spec = with_base(&[
        ("url", false, T::Str),
        ("options", false, T::Mapping),
        ("backend", true, T::Mapping),
    ]);
    let d = dict_args(&spec, v, &msg("websocket-reverseproxy"))?;
    if let Some(u) = d.get("url").and_then(Json::as_str) {
        ws::url(u)?;
    }
    if let Some(o) = d.get("options") {
        ws::options(o)?;
    }
    match d.get("backend") {
        Some(b) => ws::backend(b),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
