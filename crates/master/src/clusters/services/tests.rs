//! Per type: a valid config passes; a missing required key, an unknown key and a wrong type
//! fail with Crossbar's text.

use super::*;
use serde_json::json;

fn run(v: Json) -> Check {
    let o = v.as_object().expect("object");
    let t = o.get("type").and_then(Json::as_str).expect("type");
    check(t, o)
}

fn ok(v: Json) {
    if let Err(e) = run(v.clone()) {
        panic!("{v} refused: {e}");
    }
}

fn err(v: Json) -> String {
    match run(v.clone()) {
        Err(e) => e,
        Ok(()) => panic!("{v} accepted"),
    }
}

fn missing(v: Json, key: &str) {
    let e = err(v);
    assert!(
        e.ends_with(&format!("missing mandatory attribute '{key}'")),
        "{e}"
    );
}

fn unknown(v: Json, key: &str) {
    let e = err(v);
    assert!(
        e.ends_with(&format!("encountered unknown attribute '{key}'")),
        "{e}"
    );
}

fn wrong_type(v: Json, key: &str) {
    let e = err(v);
    assert!(
        e.contains(&format!("encountered for attribute '{key}'")),
        "{e}"
    );
}

#[test]
fn json_service() {
    ok(json!({"type": "json", "value": [1, 2, 3]}));
    ok(json!({"type": "json", "value": null, "options": {"prettify": true}}));
    let e = err(json!({"type": "json"}));
    assert_eq!(
        e,
        "Web transport 'json' path service - missing mandatory attribute 'value'"
    );
    unknown(json!({"type": "json", "value": 1, "bogus": 1}), "bogus");
    wrong_type(
        json!({"type": "json", "value": 1, "options": []}),
        "options",
    );
    unknown(
        json!({"type": "json", "value": 1, "options": {"x": 1}}),
        "x",
    );
    wrong_type(
        json!({"type": "json", "value": 1, "options": {"prettify": 1}}),
        "prettify",
    );
}

#[test]
fn static_service() {
    ok(json!({"type": "static", "directory": "/tmp"}));
    ok(json!({"type": "static", "package": "p", "resource": "r",
        "options": {"enable_directory_listing": true, "cache_timeout": null}}));
    let e = err(json!({"type": "static"}));
    assert!(
        e.contains("either 'directory' OR 'package' + 'resource'"),
        "{e}"
    );
    assert!(err(json!({"type": "static", "directory": "/", "package": "p"})).contains("not both"));
    assert!(err(json!({"type": "static", "package": "p"})).contains("either"));
    unknown(json!({"type": "static", "directory": "/", "x": 1}), "x");
    wrong_type(json!({"type": "static", "directory": 1}), "directory");
    unknown(
        json!({"type": "static", "directory": "/", "options": {"y": 1}}),
        "y",
    );
}

#[test]
fn nodeinfo_and_redirect() {
    ok(json!({"type": "nodeinfo"}));
    ok(json!({"type": "nodeinfo", "id": "x"}));
    unknown(json!({"type": "nodeinfo", "value": 1}), "value");
    wrong_type(json!({"type": "nodeinfo", "id": 1}), "id");
    ok(json!({"type": "redirect", "url": "http://x/"}));
    missing(json!({"type": "redirect"}), "url");
    wrong_type(json!({"type": "redirect", "url": 1}), "url");
    unknown(json!({"type": "redirect", "url": "u", "to": 1}), "to");
}

#[test]
fn reverseproxy_service() {
    ok(json!({"type": "reverseproxy", "host": "h", "port": 80, "path": "/x"}));
    missing(json!({"type": "reverseproxy", "port": 80}), "host");
    missing(json!({"type": "reverseproxy", "host": "h"}), "port");
    wrong_type(
        json!({"type": "reverseproxy", "host": "h", "port": "80"}),
        "port",
    );
    unknown(
        json!({"type": "reverseproxy", "host": "h", "port": 80, "q": 1}),
        "q",
    );
    let e = err(json!({"type": "reverseproxy", "host": "h", "port": 0}));
    assert!(e.starts_with("invalid value 0 for 'port'"), "{e}");
    let e = err(json!({"type": "reverseproxy", "host": "h", "port": 1, "forwarded_proto": "ftp"}));
    assert!(e.ends_with("invalid protocol \"ftp\""), "{e}");
}

#[test]
fn websocket_service() {
    ok(json!({"type": "websocket"}));
    ok(
        json!({"type": "websocket", "serializers": ["json", "cbor"], "url": "ws://localhost/ws",
        "options": {"auto_ping_interval": 10000, "compression": {"deflate": {}}},
        "auth": {"anonymous": {"type": "static", "role": "public"}},
        "cookie": {"name": "cbtid", "store": {"type": "memory"}}}),
    );
    unknown(json!({"type": "websocket", "foo": 1}), "foo");
    wrong_type(
        json!({"type": "websocket", "serializers": "json"}),
        "serializers",
    );
    assert!(
        err(json!({"type": "websocket", "serializers": ["xml"]})).contains("invalid serializer")
    );
    let e = err(json!({"type": "websocket", "options": {"nope": 1}}));
    assert_eq!(
        e,
        "encountered unknown attribute 'nope' in WebSocket options"
    );
    assert!(
        err(json!({"type": "websocket", "options": {"auto_ping_size": 5}})).contains("between 12")
    );
    assert!(
        err(json!({"type": "websocket", "options": {"auto_ping_timeout": 10}}))
            .contains("too small")
    );
    assert!(err(json!({"type": "websocket", "url": "http://x"})).contains("invalid 'url'"));
    let e = err(json!({"type": "websocket", "auth": {"magic": {}}}));
    assert!(
        e.starts_with("invalid authentication method key 'magic'"),
        "{e}"
    );
    let e = err(json!({"type": "websocket", "auth": {"anonymous": {"type": "x"}}}));
    assert!(e.starts_with("invalid type 'x' in WAMP-Anonymous"), "{e}");
    unknown(
        json!({"type": "websocket", "cookie": {"colour": 1}}),
        "colour",
    );
    assert!(
        err(json!({"type": "websocket", "cookie": {"name": "X"}})).contains("invalid cookie name")
    );
}

#[test]
fn websocket_reverseproxy_service() {
    let backend = json!({"type": "websocket", "endpoint": {"type": "tcp", "host": "h", "port": 1},
        "url": "ws://h:1/"});
    ok(json!({"type": "websocket-reverseproxy", "backend": backend}));
    missing(json!({"type": "websocket-reverseproxy"}), "backend");
    missing(
        json!({"type": "websocket-reverseproxy", "backend": {"url": "ws://h/"}}),
        "endpoint",
    );
    unknown(
        json!({"type": "websocket-reverseproxy", "backend": backend, "z": 1}),
        "z",
    );
}

#[test]
fn path_service() {
    ok(
        json!({"type": "path", "paths": {"/": {"type": "static", "directory": "."},
        "info": {"type": "nodeinfo"}}}),
    );
    missing(json!({"type": "path"}), "paths");
    wrong_type(json!({"type": "path", "paths": []}), "paths");
    let e = err(json!({"type": "path", "paths": {"a/b": {"type": "nodeinfo"}}}));
    assert!(e.starts_with("invalid value 'a/b' for path"), "{e}");
    let e = err(json!({"type": "path", "paths": {"x": {"type": "bogus"}}}));
    assert_eq!(e, "invalid Web service type \"bogus\" on URL path \"x\"");
    let e = err(json!({"type": "path", "paths": {"x": {}}}));
    assert!(e.starts_with("missing mandatory attribute \"type\""), "{e}");
    unknown(
        json!({"type": "path", "paths": {"x": {"type": "json", "value": 1, "k": 2}}}),
        "k",
    );
}

#[test]
fn caller_publisher() {
    for t in ["caller", "publisher"] {
        ok(json!({"type": t, "realm": "r", "role": "x", "options": {"post_body_limit": 1024}}));
        missing(json!({"type": t, "realm": "r"}), "role");
        missing(json!({"type": t, "role": "r"}), "realm");
        unknown(json!({"type": t, "realm": "r", "role": "x", "e": 1}), "e");
        wrong_type(json!({"type": t, "realm": 1, "role": "x"}), "realm");
        let e =
            err(json!({"type": t, "realm": "r", "role": "x", "options": {"post_body_limit": -1}}));
        assert!(
            e.starts_with("invalid value -1 for 'post_body_limit'"),
            "{e}"
        );
    }
}

#[test]
fn cgi_wsgi() {
    ok(json!({"type": "cgi", "directory": "d", "processor": "p"}));
    missing(json!({"type": "cgi", "directory": "d"}), "processor");
    unknown(
        json!({"type": "cgi", "directory": "d", "processor": "p", "x": 1}),
        "x",
    );
    ok(json!({"type": "wsgi", "module": "m", "object": "o", "maxthreads": 4}));
    missing(json!({"type": "wsgi", "module": "m"}), "object");
    wrong_type(
        json!({"type": "wsgi", "module": "m", "object": "o", "minthreads": "1"}),
        "minthreads",
    );
}

#[test]
fn archive_wap() {
    ok(json!({"type": "archive", "archive": "a.zip", "cache": true, "hashes": ["ab"]}));
    missing(json!({"type": "archive"}), "archive");
    unknown(json!({"type": "archive", "archive": "a", "u": 1}), "u");
    wrong_type(
        json!({"type": "archive", "archive": "a", "cache": "yes"}),
        "cache",
    );
    let wap = json!({"type": "wap", "templates": {"package": "p", "resource": "r"},
        "routes": [], "wamp": {}});
    ok(wap);
    ok(json!({"type": "wap", "templates": "dir", "routes": [], "wamp": {}}));
    missing(
        json!({"type": "wap", "templates": "dir", "wamp": {}}),
        "routes",
    );
    missing(
        json!({"type": "wap", "templates": {"package": "p"}, "routes": [], "wamp": {}}),
        "resource",
    );
    wrong_type(
        json!({"type": "wap", "templates": 1, "routes": [], "wamp": {}}),
        "templates",
    );
}

#[test]
fn every_type_has_a_checker() {
    for t in SERVICE_TYPES {
        let r = check(t, &Map::new());
        assert!(
            !r.is_err_and(|e| e.starts_with("invalid Web service type")),
            "{t}"
        );
    }
}
