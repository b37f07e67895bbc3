//! What the master keeps across a restart on the same cbdir (management realms, pairings, the
//! superuser user), and `watch_to_pair` auto-pairing of `*/key.pub` into mrealm `default` with
//! the `key.activate` file written beside each key.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use master::MasterConfig;
use wamp_proto::keyfile::KeyFile;
use wamp_proto::{dict, Value};

/// Restarts the master on the directory `f` used (bounded retry while the old store closes).
async fn restart(f: Fixture, tune: fn(&mut MasterConfig)) -> Fixture {
    let dir = f.stop().await;
    Fixture::start_in(dir, tune).await
}

#[tokio::test]
async fn restart_keeps_mrealms_pairings_and_the_superuser() {
    let f = Fixture::start().await;
    let su = f.superuser(None).await;
    let mr1 = create_mrealm(&su, "mr1").await;
    let delta = dict! { "label" => "kept", "tags" => Value::List(vec!["t".into()]) };
    let mr1 = api(
        &su,
        "modify_mrealm",
        vec![s(&mr1, "oid").into(), delta.into()],
    )
    .await;
    let mr2 = create_mrealm(&su, "mr2").await;
    let args = vec![
        pubkey(&node_secret(1)).into(),
        "mr1".into(),
        "node1".into(),
        dict! { "k" => "v" }.into(),
    ];
    let n1 = api(&su, "pair_node", args).await;
    let n2 = pair(&su, &node_secret(2), "mr2", "node2").await;
    let n3 = pair(&su, &node_secret(3), "mr2", "node3").await;
    let n3 = api(&su, "unpair_node", vec![s(&n3, "oid").into()]).await;
    let users = users_and_superuser(&su).await;
    assert_eq!(str_list(&users.0), [f.master.superuser_oid().to_string()]);
    assert_eq!(s(&users.1, "email"), "superuser");
    assert_eq!(s(&users.1, "oid"), f.master.superuser_oid().to_string());
    let su_oid = f.master.superuser_oid();
    let mrealm_list = api(&su, "list_mrealms", vec![]).await;
    drop(su);

    let f = restart(f, |_| {}).await;
    assert_eq!(f.master.superuser_oid(), su_oid, "superuser user recreated");
    let su = f.superuser(None).await;
    assert_eq!(
        users_and_superuser(&su).await,
        users.clone(),
        "users changed"
    );
    assert_eq!(api(&su, "list_mrealms", vec![]).await, mrealm_list);
    assert_eq!(mrealm_names(&su).await, ["mr1", "mr2"]);
    assert_eq!(
        api(&su, "get_mrealm", vec![s(&mr1, "oid").into()]).await,
        mr1
    );
    assert_eq!(
        api(&su, "get_mrealm_by_name", vec!["mr2".into()]).await,
        mr2
    );
    for n in [&n1, &n2] {
        assert_eq!(api(&su, "get_node", vec![s(n, "oid").into()]).await, *n);
    }
    let g3 = api(&su, "get_node", vec![s(&n3, "oid").into()]).await;
    assert!(g3.get("authid").expect("authid").is_null());
    let by_name = api(&su, "list_nodes_by_mrealm_name", vec!["mr2".into()]).await;
    assert_eq!(str_list(&by_name), [s(&n2, "oid")]);

    // the realms are live again: nodes join, the owner reaches the controller
    let node1 = f.node(node_secret(1)).await;
    assert_eq!(node1.welcome().realm.as_deref(), Some("mr1"));
    assert_eq!(node1.welcome().authid.as_deref(), Some("node1"));
    let extra = node1.welcome().details.get("authextra").expect("authextra");
    assert_eq!(s(extra, "k"), "v");
    let node2 = f.node(node_secret(2)).await;
    assert_eq!(node2.welcome().realm.as_deref(), Some("mr2"));
    let (reason, _) = abort_reason(f.try_node(node_secret(3), None).await);
    assert_eq!(reason, "fabric.auth-failed.node-unpaired");
    let owner = f.superuser(Some("mr2")).await;
    let st = call(&owner, &format!("{P}get_status"), vec![])
        .await
        .expect("get_status");
    assert_eq!(s(&st, "realm"), "mr2");
    // and the pairing rules still hold on the reopened store
    let (uri, _) = api_err(&su, "create_mrealm", vec![dict! { "name" => "mr1" }.into()]).await;
    assert_eq!(uri, "crossbar.error.already_exists");
    let (uri, _) = api_err(
        &su,
        "pair_node",
        vec![pubkey(&node_secret(1)).into(), "mr2".into(), "x".into()],
    )
    .await;
    assert_eq!(uri, "fabric.node-already-paired");
    let again = pair(&su, &node_secret(3), "mr1", "node3").await;
    assert_eq!(s(&again, "oid"), s(&n3, "oid"), "re-pair keeps the oid");
}

/// `user.list_users` and `user.get_user_by_email("superuser")`.
async fn users_and_superuser(su: &wamp_client::Session) -> (Value, Value) {
    let list = call(su, "crossbarfabriccenter.user.list_users", vec![]).await;
    let email = vec!["superuser".into()];
    let user = call(su, "crossbarfabriccenter.user.get_user_by_email", email).await;
    (list.expect("list_users"), user.expect("get_user_by_email"))
}

fn node_key(dir: &Path, secret: &[u8; 32], authid: Option<&str>) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let tags: Vec<(&str, String)> = authid
        .map(|a| vec![("node-authid", a.to_owned())])
        .unwrap_or_default();
    write_pub(&dir.join("key.pub"), secret, "node", &tags);
}

/// Waits (bounded) until `path` exists.
async fn wait_file(path: &Path) {
    for _ in 0..100 {
        if path.is_file() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} never appeared", path.display());
}

fn watch_config(c: &mut MasterConfig) {
    c.watch_interval = Duration::from_millis(200);
    c.fabric_url = Some("ws://master.example:9000/ws".into());
}

#[tokio::test]
async fn watch_to_pair_pairs_new_keys_into_default() {
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let watch = dir.path().join("watch");
    node_key(&watch.join("edge1"), &node_secret(1), Some("edge1"));
    node_key(&watch.join("deep/a/b"), &node_secret(2), None);
    // a key directly in the watch dir is ignored
    write_pub(&watch.join("key.pub"), &node_secret(3), "node", &[]);
    // an existing key.activate is left alone (the node is still paired)
    node_key(&watch.join("kept"), &node_secret(4), Some("kept"));
    std::fs::write(watch.join("kept/key.activate"), "garbage").expect("write");
    let w = watch.clone();
    let tune = move |c: &mut MasterConfig| {
        watch_config(c);
        c.watch_to_pair = Some(w);
    };
    let f = Fixture::start_in(dir.clone(), tune).await;
    let su = f.superuser(None).await;
    let activate = watch.join("edge1/key.activate");
    wait_file(&activate).await;
    wait_file(&watch.join("deep/a/b/key.activate")).await;

    let default = api(&su, "get_mrealm_by_name", vec!["default".into()]).await;
    assert_eq!(s(&default, "label"), "default mrealm");
    assert_eq!(
        s(&default, "description"),
        "Default management realm (automatically pre-created)"
    );
    assert_eq!(default.get("tags"), Some(&Value::List(vec![])));
    assert_eq!(s(&default, "owner"), f.master.superuser_oid().to_string());
    let n1 = api(
        &su,
        "get_node_by_name",
        vec!["default".into(), "edge1".into()],
    )
    .await;
    assert_eq!(s(&n1, "pubkey"), pubkey(&node_secret(1)));
    let oid1 = s(&n1, "oid").to_owned();
    let extra = n1.get("authextra").expect("authextra");
    assert_eq!(s(extra, "node_oid"), oid1);
    assert_eq!(s(extra, "mrealm_oid"), s(&default, "oid"));
    assert!(extra.get("cluster_ip").expect("cluster_ip").is_null());

    // key.activate: exact tags in order
    let text = std::fs::read_to_string(&activate).expect("read key.activate");
    assert!(
        text.starts_with("Crossbar.io node activation\n\n"),
        "{text}"
    );
    assert!(text.ends_with('\n'));
    let kf = KeyFile::parse(&text).expect("key.activate parses as a key file");
    let tags: Vec<&str> = kf.tags.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        tags,
        [
            "created-at",
            "management-url",
            "management-realm",
            "management-realm-oid",
            "node-oid",
            "node-cluster-ip",
            "node-authid",
            "activation-code",
            "public-key-ed25519"
        ]
    );
    assert_eq!(
        kf.get("management-url"),
        Some("ws://master.example:9000/ws")
    );
    assert_eq!(kf.get("management-realm"), Some("default"));
    assert_eq!(kf.get("management-realm-oid"), Some(s(&default, "oid")));
    assert_eq!(kf.get("node-oid"), Some(oid1.as_str()));
    assert_eq!(kf.get("node-cluster-ip"), Some("unknown"));
    assert_eq!(kf.get("node-authid"), Some("edge1"));
    assert_eq!(
        kf.get("public-key-ed25519"),
        Some(pubkey(&node_secret(1)).as_str())
    );
    let code = kf.get("activation-code").expect("code");
    let groups: Vec<&str> = code.split('-').collect();
    assert_eq!(groups.len(), 3, "{code}");
    assert!(groups.iter().all(|g| g.len() == 4
        && g.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())));
    assert!(kf.get("created-at").expect("created-at").ends_with('Z'));

    // the key without node-authid gets "node-" + 8 chars of its oid
    let deep = KeyFile::parse(
        &std::fs::read_to_string(watch.join("deep/a/b/key.activate")).expect("read"),
    )
    .expect("parse");
    let deep_oid = deep.get("node-oid").expect("node-oid");
    assert_eq!(
        deep.get("node-authid"),
        Some(format!("node-{}", &deep_oid[..8]).as_str())
    );
    // the garbage key.activate is untouched but its key is paired; the top-level key is not
    assert_eq!(
        std::fs::read_to_string(watch.join("kept/key.activate")).expect("read"),
        "garbage"
    );
    api(
        &su,
        "get_node_by_name",
        vec!["default".into(), "kept".into()],
    )
    .await;
    let (reason, _) = abort_reason(f.try_node(node_secret(3), None).await);
    assert_eq!(reason, "fabric.auth-failed.node-unpaired");
    assert_eq!(
        api(&su, "list_nodes_by_mrealm_name", vec!["default".into()])
            .await
            .as_list()
            .expect("list")
            .len(),
        3
    );

    // the auto-paired node joins default as edge1
    let node = f.node(node_secret(1)).await;
    assert_eq!(node.welcome().realm.as_deref(), Some("default"));
    assert_eq!(node.welcome().authid.as_deref(), Some("edge1"));

    // a later key is picked up by a later scan and announced
    let mut paired = subscribe(&su, &format!("{P}on_node_paired")).await;
    node_key(&watch.join("late"), &node_secret(5), Some("late"));
    let ev = next_event(&mut paired).await;
    assert_eq!(s(&ev.args[0], "authid"), "late");
    assert_eq!(s(&ev.args[0], "pubkey"), pubkey(&node_secret(5)));

    // a known key is never paired again, even when unpaired and its key.activate removed
    api(&su, "unpair_node", vec![oid1.clone().into()]).await;
    std::fs::remove_file(&activate).expect("rm key.activate");
    tokio::time::sleep(Duration::from_millis(800)).await;
    no_event(&mut paired).await;
    assert!(!activate.exists(), "key.activate written again");
    let g = api(&su, "get_node", vec![oid1.into()]).await;
    assert!(
        g.get("authid").expect("authid").is_null(),
        "re-paired: {g:?}"
    );

    // restart: default is not created twice, pairings survive
    drop(su);
    drop(node);
    let w = watch.clone();
    let f = Fixture::start_in(f.stop().await, move |c| {
        watch_config(c);
        c.watch_to_pair = Some(w);
    })
    .await;
    let su = f.superuser(None).await;
    assert_eq!(mrealm_names(&su).await, ["default"]);
    assert_eq!(
        api(&su, "get_mrealm_by_name", vec!["default".into()]).await,
        default
    );
    let late = f.node(node_secret(5)).await;
    assert_eq!(late.welcome().authid.as_deref(), Some("late"));
}

/// `crossbarfabriccenter.domain.backup_database`: the running master writes a consistent copy
/// of its database (superuser only, absolute new path); a master started on the copy has the
/// same mrealms and pairings, and nothing written after the backup.
#[tokio::test]
async fn online_backup_restores_into_a_fresh_master() {
    const BACKUP: &str = "crossbarfabriccenter.domain.backup_database";
    let f = Fixture::start().await;
    let su = f.superuser(None).await;
    create_mrealm(&su, "mr1").await;
    pair(&su, &node_secret(1), "mr1", "node1").await;
    let before = (
        api(&su, "list_mrealms", vec![]).await,
        api(&su, "list_nodes", vec![]).await,
    );
    let out = tempfile::tempdir().expect("tempdir");
    let to = out.path().join("backup.db");
    let path = to.display().to_string();

    let (uri, _) = wamp_err(call(&su, BACKUP, vec!["relative.db".into()]).await);
    assert_eq!(uri, "wamp.error.invalid_argument");
    let r = call(&su, BACKUP, vec![path.as_str().into()])
        .await
        .expect("backup");
    assert!(
        r.get("bytes").and_then(Value::as_u64).unwrap_or(0) > 0,
        "{r:?}"
    );
    let (uri, _) = wamp_err(call(&su, BACKUP, vec![path.as_str().into()]).await);
    assert_eq!(uri, "crossbar.error.already_exists");
    let owner = f.superuser(Some("mr1")).await;
    let (uri, _) = wamp_err(call(&owner, BACKUP, vec![path.clone().into()]).await);
    assert_eq!(
        uri, "wamp.error.no_such_procedure",
        "not offered on a management realm"
    );
    create_mrealm(&su, "after-backup").await;
    drop((su, owner));
    let _ = f.stop().await;

    let fresh = Arc::new(tempfile::tempdir().expect("tempdir"));
    std::fs::create_dir_all(fresh.path().join("cb")).expect("cbdir");
    std::fs::copy(&to, fresh.path().join("cb").join(master::DB_FILE)).expect("restore");
    let g = Fixture::start_in(fresh, |_| {}).await;
    let su = g.superuser(None).await;
    let after = (
        api(&su, "list_mrealms", vec![]).await,
        api(&su, "list_nodes", vec![]).await,
    );
    assert_eq!(after, before);
}

/// The authids of issue 19 item 4: none is one URI component of at most 255 bytes.
fn bad_authids() -> Vec<String> {
    vec![
        "node1.worker".into(),
        "..".into(),
        "a b".into(),
        "x".repeat(5000),
    ]
}

/// Watch-to-pair applies `pair_node`'s authid rule: a `node-authid` that is not one URI
/// component (or longer than 255 bytes) is not paired, and no `key.activate` is written.
#[tokio::test]
async fn watch_to_pair_refuses_authids_that_are_not_one_uri_component() {
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let watch = dir.path().join("watch");
    let bad = bad_authids();
    for (i, authid) in (10u8..).zip(&bad) {
        node_key(
            &watch.join(format!("bad{i}")),
            &node_secret(i),
            Some(authid),
        );
    }
    // scanned last (sorted): once it is paired, every bad key was looked at
    let longest = "g".repeat(255);
    node_key(&watch.join("zz-good"), &node_secret(20), Some(&longest));
    let w = watch.clone();
    let tune = move |c: &mut MasterConfig| {
        watch_config(c);
        c.watch_to_pair = Some(w);
    };
    let f = Fixture::start_in(dir.clone(), tune).await;
    wait_file(&watch.join("zz-good/key.activate")).await;
    let su = f.superuser(None).await;
    let nodes = api(&su, "list_nodes", vec![]).await;
    assert_eq!(str_list(&nodes).len(), 1, "only the good key is paired");
    let good = api(&su, "get_node", vec![str_list(&nodes)[0].clone().into()]).await;
    assert_eq!(s(&good, "authid"), longest);
    for i in (10u8..).take(bad.len()) {
        assert!(!watch.join(format!("bad{i}/key.activate")).exists());
        let (reason, _) = abort_reason(f.try_node(node_secret(i), None).await);
        assert_eq!(reason, "fabric.auth-failed.node-unpaired");
    }
    // pair_node refuses the same ones, and one byte more than 255
    for authid in bad.into_iter().chain(["g".repeat(256)]) {
        let args = vec![
            pubkey(&node_secret(30)).into(),
            "default".into(),
            authid.into(),
        ];
        assert_eq!(
            api_err(&su, "pair_node", args).await.0,
            "wamp.error.invalid_argument"
        );
    }
}

/// A node stored under an authid that is not one URI component (a database written before the
/// rule) joins, but gets no URI space: it cannot register or publish inside another node's.
#[tokio::test]
async fn a_stored_malformed_authid_cannot_join() {
    let f = Fixture::start().await;
    let su = f.superuser(None).await;
    let mr1 = create_mrealm(&su, "mr1").await;
    pair(&su, &node_secret(1), "mr1", "node1").await;
    let old = store::nodes::Pairing {
        oid: None,
        pubkey: pubkey(&node_secret(9)),
        mrealm_oid: s(&mr1, "oid").parse().expect("uuid"),
        authid: "node1.worker".into(),
        authextra: None,
        owner_oid: None,
        cluster_ip: None,
    };
    f.master
        .store()
        .pair_node(&old)
        .expect("stored as an old master would");
    // refused at WELCOME (and, were it joined, its authorizer would give it no URI space)
    let (reason, msg) = abort_reason(f.try_node(node_secret(9), None).await);
    assert_eq!(reason, "fabric.auth-failed.node-unpaired", "{msg}");
    assert!(msg.contains("paired again"), "{msg}");
    f.checked_node(node_secret(1)).await;
}
