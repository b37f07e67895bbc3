//! What `create_webcluster` accepts (clusters spec §2.3, §3.2 `<webcluster>`): the common
//! fields, the name (`^[a-z][a-z0-9_]{2,63}$`) and the `tcp_*`, `tls_*` and `http_*` settings,
//! each type- and range-checked; unknown keys are dropped (as Crossbar does).

use serde_json::{Map, Value as Json};

use crate::clusters::model::{Common, WEBCLUSTER_SETTINGS};
use crate::error::{MasterError, Result};

/// A parsed web cluster definition (before the caller and the name's uniqueness are checked).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Definition {
    pub common: Common,
    pub name: String,
    pub settings: Map<String, Json>,
}

/// The kind of value a setting takes.
#[derive(Clone, Copy)]
enum Kind {
    Port,
    Bool,
    Str,
    StrList,
    NonNegative,
    IpVersion,
}

fn kind(key: &str) -> Kind {
    match key {
        "tcp_port" => Kind::Port,
        "tcp_shared" | "http_hsts" | "http_access_log" | "http_display_tracebacks" => Kind::Bool,
        "tcp_backlog" | "http_client_timeout" | "http_hsts_max_age" => Kind::NonNegative,
        "tcp_version" => Kind::IpVersion,
        "tls_chain_certificates" | "tls_ca_certificates" => Kind::StrList,
        _ => Kind::Str,
    }
}

/// Whether `name` matches Crossbar's configuration item id pattern `^[a-z][a-z0-9_]{2,63}$`.
pub(crate) fn is_item_id(name: &str) -> bool {
    let b = name.as_bytes();
    (3..=64).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

/// Python's name of a JSON value's type (for error texts).
pub(crate) fn py_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

fn check_setting(key: &str, v: &Json) -> std::result::Result<(), String> {
    let ok = match kind(key) {
        Kind::Port => v.as_u64().is_some_and(|p| (1..=65535).contains(&p)),
        Kind::Bool => v.is_boolean(),
        Kind::Str => v.is_string(),
        Kind::StrList => v.as_array().is_some_and(|l| l.iter().all(Json::is_string)),
        Kind::NonNegative => v.as_u64().is_some(),
        Kind::IpVersion => matches!(v.as_u64(), Some(4 | 6)),
    };
    if ok {
        return Ok(());
    }
    let want = match kind(key) {
        Kind::Port => "an int from 1 to 65535",
        Kind::Bool => "a bool",
        Kind::Str => "a str",
        Kind::StrList => "a list of str",
        Kind::NonNegative => "an int >= 0",
        Kind::IpVersion => "4 or 6",
    };
    Err(format!("'{key}' must be {want}, got {}", describe(v)))
}

fn describe(v: &Json) -> String {
    match v {
        Json::Number(_) | Json::Bool(_) => format!("{} {v}", py_type(v)),
        _ => py_type(v).to_owned(),
    }
}

fn opt_str(d: &Map<String, Json>, key: &str) -> std::result::Result<Option<String>, String> {
    match d.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(format!("'{key}' must be a str, got {}", py_type(v))),
    }
}

/// The common fields (`label`, `description`, `tags`) of a configuration element.
pub(crate) fn parse_common(d: &Map<String, Json>) -> std::result::Result<Common, String> {
    let tags = match d.get("tags") {
        None | Some(Json::Null) => None,
        Some(Json::Array(l)) => Some(
            l.iter()
                .map(|t| t.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or("'tags' must be a list of str")?,
        ),
        Some(v) => return Err(format!("'tags' must be a list of str, got {}", py_type(v))),
    };
    Ok(Common {
        label: opt_str(d, "label")?,
        description: opt_str(d, "description")?,
        tags,
    })
}

fn invalid(msg: String) -> MasterError {
    MasterError::InvalidConfiguration(msg)
}

/// Parses `create_webcluster`'s argument, in the spec's order: parse (IC "could not parse web
/// cluster configuration (…)"), missing name, name pattern.
pub(crate) fn parse(d: &Map<String, Json>) -> Result<Definition> {
    let parse_err =
        |why: String| invalid(format!("could not parse web cluster configuration ({why})"));
    let common = parse_common(d).map_err(parse_err)?;
    let name = opt_str(d, "name").map_err(parse_err)?;
    let mut settings = Map::new();
    for key in WEBCLUSTER_SETTINGS {
        match d.get(*key) {
            None | Some(Json::Null) => {}
            Some(v) => {
                check_setting(key, v).map_err(parse_err)?;
                settings.insert((*key).to_owned(), v.clone());
            }
        }
    }
    let Some(name) = name else {
        return Err(invalid(
            "missing \"name\" in web cluster configuration".into(),
        ));
    };
    if !is_item_id(&name) {
        return Err(invalid(format!(
            "invalid name \"{name}\" in web cluster configuration (must match ^[a-z][a-z0-9_]{{2,63}}$)"
        )));
    }
    Ok(Definition {
        common,
        name,
        settings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: Json) -> Result<Definition> {
        parse(v.as_object().expect("object"))
    }

    fn ic(v: Json) -> String {
        match p(v) {
            Err(MasterError::InvalidConfiguration(m)) => m,
            other => panic!("expected IC, got {other:?}"),
        }
    }

    #[test]
    fn names() {
        assert!(is_item_id("abc"));
        assert!(is_item_id("web_1"));
        assert!(!is_item_id("ab"));
        assert!(!is_item_id("1ab"));
        assert!(!is_item_id("Abc"));
        assert!(!is_item_id("a-bc"));
        assert!(!is_item_id(&"a".repeat(65)));
        assert!(is_item_id(&"a".repeat(64)));
    }

    #[test]
    fn settings_are_kept_and_unknown_keys_dropped() {
        let d = p(json!({"name": "web1", "tcp_port": 8080, "tcp_shared": true,
            "tls_chain_certificates": ["a"], "bogus": 1, "label": "L", "tags": ["x"]}))
        .expect("parses");
        assert_eq!(d.name, "web1");
        assert_eq!(d.settings.len(), 3);
        assert!(!d.settings.contains_key("bogus"));
        assert_eq!(d.common.label.as_deref(), Some("L"));
    }

    #[test]
    fn bad_settings() {
        for (k, v) in [
            ("tcp_port", json!(0)),
            ("tcp_port", json!(65536)),
            ("tcp_port", json!("80")),
            ("tcp_shared", json!(1)),
            ("tcp_version", json!(5)),
            ("tcp_backlog", json!(-1)),
            ("http_hsts_max_age", json!(1.5)),
            ("tls_key", json!(1)),
            ("tls_ca_certificates", json!(["a", 1])),
            ("label", json!(1)),
            ("tags", json!("x")),
            ("name", json!(1)),
        ] {
            let mut o = json!({"name": "web1"});
            o[k] = v;
            let m = ic(o);
            assert!(
                m.starts_with("could not parse web cluster configuration ("),
                "{m}"
            );
        }
    }

    #[test]
    fn name_checks_follow_parse() {
        assert_eq!(
            ic(json!({})),
            "missing \"name\" in web cluster configuration"
        );
        assert!(ic(json!({"name": "A!"})).starts_with("invalid name \"A!\""));
        assert!(ic(json!({"name": "A!", "tcp_port": "x"})).starts_with("could not parse"));
    }
}
