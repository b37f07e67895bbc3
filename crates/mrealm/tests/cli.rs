//! The operator commands, run as the real `mrealm` binary against a master the test starts
//! (`mrealm master start`) with a superuser key made by `mrealm init`.

mod common;

use std::path::Path;

use common::{expect_failure, keys, node_key, path_str, run_in, text, Master};
use serde_json::Value;

#[test]
fn init_writes_a_profile_and_keeps_existing_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = path_str(dir.path());
    let out = run_in(dir.path(), "", &["init", "--dir", &d, "--yes"]);
    assert!(out.status.success());
    let priv_text = std::fs::read_to_string(dir.path().join("default.priv")).expect("priv");
    assert!(priv_text.contains("user-id: unknown"), "{priv_text}");
    assert!(priv_text.contains("created-at: "), "{priv_text}");
    let ini = std::fs::read_to_string(dir.path().join("config.ini")).expect("ini");
    assert!(
        ini.contains("[default]") && ini.contains("privkey=default.priv"),
        "{ini}"
    );
    let again = run_in(dir.path(), "", &["init", "--dir", &d, "--yes"]);
    assert!(again.status.success());
    let after = std::fs::read_to_string(dir.path().join("default.priv")).expect("priv");
    assert_eq!(priv_text, after, "init must not overwrite keys");
}

#[test]
fn status_and_mrealm_commands() {
    let m = Master::start();
    let table = m.ok(&["status"]);
    assert!(
        table.contains("com.crossbario.fabric") && table.contains("uptime"),
        "{table}"
    );
    let s = m.json(&["status"]);
    assert_eq!(
        keys(&s),
        ["now", "realm", "started", "store", "tick", "type", "uptime"]
    );
    assert_eq!(s["type"], "domain");
    assert_eq!(s["store"]["healthy"], true);

    let created = m.json(&["mrealm", "create", "mr1"]);
    assert_eq!(created["name"], "mr1");
    let mkeys = [
        "cf_container_worker",
        "cf_router_worker",
        "created",
        "description",
        "label",
        "name",
        "oid",
        "owner",
        "tags",
    ];
    assert_eq!(keys(&created), mkeys);
    let oid = created["oid"].as_str().expect("oid").to_owned();
    assert_eq!(m.json(&["mrealm", "show", &oid])["name"], "mr1");
    let show = m.ok(&["mrealm", "show", "mr1"]);
    assert!(show.contains(&oid) && show.contains("s ago"), "{show}");
    let list = m.ok(&["mrealm", "list"]);
    assert!(
        list.contains("NAME") && list.contains("mr1") && list.contains(&oid),
        "{list}"
    );
    assert_eq!(
        m.json(&["mrealm", "list", "--names"]),
        serde_json::json!(["mr1"])
    );
    assert_eq!(m.json(&["mrealm", "list"])[0]["oid"], oid.as_str());

    let rs = m.json(&["status", "--realm", "mr1"]);
    assert_eq!(
        (rs["type"].as_str(), rs["realm"].as_str()),
        (Some("management"), Some("mr1"))
    );

    let err = m.fails(&["mrealm", "create", "mr1"]);
    assert!(err.contains("crossbar.error.already_exists"), "{err}");
    let deleted = m.json(&["mrealm", "delete", "mr1"]);
    assert_eq!(deleted["name"], "mr1");
    let err = m.fails(&["mrealm", "show", "mr1"]);
    assert!(err.contains("crossbar.error.no_such_object"), "{err}");
}

#[test]
fn node_commands() {
    let m = Master::start();
    m.ok(&["mrealm", "create", "mr1"]);
    let key = node_key(&m, "node1");
    let paired = m.json(&["node", "pair", &key, "mr1", "node1"]);
    assert_eq!(paired["authid"], "node1");
    let err = m.fails(&["node", "pair", &key, "mr1", "node1"]);
    assert!(err.contains("fabric.node-already-paired"), "{err}");
    assert!(err.contains("mrealm node unpair"), "{err}");

    let table = m.ok(&["node", "list", "--realm", "mr1"]);
    assert!(
        table.contains("node1") && table.contains("offline"),
        "{table}"
    );
    let names = m.json(&["node", "list", "--realm", "mr1", "--offline", "--names"]);
    assert_eq!(names, serde_json::json!(["node1"]));
    let online = m.json(&["node", "list", "--realm", "mr1", "--online", "--names"]);
    assert_eq!(online, serde_json::json!([]));
    let node = m.json(&["node", "show", "--realm", "mr1", "node1"]);
    assert_eq!(node["oid"], paired["oid"]);
    for k in [
        "authid",
        "heartbeat",
        "oid",
        "pubkey",
        "status",
        "timestamp",
    ] {
        assert!(node.get(k).is_some(), "{k} missing: {node}");
    }
    let oid = paired["oid"].as_str().expect("oid");
    assert!(m
        .ok(&["node", "show", "--realm", "mr1", oid])
        .contains("node1"));

    let err = m.fails(&["node", "show", "--realm", "mr1", "nosuch"]);
    assert!(err.contains("crossbar.error.no_such_object"), "{err}");
    let unpaired = m.json(&["node", "unpair", &key]);
    assert_eq!(unpaired["authid"], Value::Null);
    let err = m.fails(&["node", "unpair", &key]);
    assert!(err.contains("fabric.node-not-paired"), "{err}");
}

#[test]
fn connection_and_authentication_errors() {
    let m = Master::start();
    let err = m.fails(&["node", "list"]);
    assert!(err.contains("--realm"), "{err}");
    let other = node_key(&m, "stranger").replace("key.pub", "key.priv");
    let err = m.fails(&["status", "--key", &other]);
    assert!(
        err.contains("authentication failed") && err.contains("not_authorized"),
        "{err}"
    );
    let err = m.fails(&["status", "--realm", "nosuch"]);
    assert!(err.contains("no_such_realm"), "{err}");
    assert!(m.superuser_key().exists());
    let dead = run_in(m.dir.path(), "ws://127.0.0.1:1/ws", &["status"]);
    let err = expect_failure(dead, &["status"]);
    assert!(
        err.contains("cannot connect to ws://127.0.0.1:1/ws") && err.contains("master running"),
        "{err}"
    );
}

#[test]
fn every_operator_command_has_an_example() {
    for cmd in [
        vec!["init"],
        vec!["status"],
        vec!["mrealm", "list"],
        vec!["mrealm", "show"],
        vec!["mrealm", "create"],
        vec!["mrealm", "delete"],
        vec!["node", "list"],
        vec!["node", "show"],
        vec!["node", "pair"],
        vec!["node", "unpair"],
    ] {
        let out = run_in(
            Path::new("/nonexistent"),
            "",
            &[cmd.clone(), vec!["--help"]].concat(),
        );
        let help = text(&out.stdout);
        assert!(help.contains("Example"), "{cmd:?}: {help}");
        assert!(help.contains("mrealm "), "{cmd:?}: {help}");
    }
}
