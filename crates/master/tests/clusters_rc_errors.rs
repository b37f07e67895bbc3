//! The router cluster manager's refusals (clusters spec §2.2 check lists, §0 type checks, §1.3
//! callers): each error URI and message, in the spec's order, and that a refused call changed
//! nothing. Happy paths: `clusters_rc.rs`.

mod common;
mod rc_common;

use common::{abort_reason, create_user, set_roles, user_secret};
use rc_common::*;
use uuid::Uuid;
use wamp_proto::{dict, Value};

const IA: &str = "wamp.error.invalid_argument";
const IC: &str = "wamp.error.invalid_configuration";
const NSO: &str = "crossbar.error.no_such_object";
const BAD_UUID: &str = "badly formed hexadecimal UUID string";

fn err(uri: &str, msg: &str) -> (String, String) {
    (uri.to_owned(), msg.to_owned())
}

#[tokio::test]
async fn create_checks_config_then_name_then_duplicates() {
    let f = setup().await;
    let create_err = |cfg: Value| {
        let su = f.su.clone();
        async move { rc_err(&su, "create_routercluster", vec![cfg]).await }
    };
    let tce = "'routercluster' expected type=dict got=str";
    assert_eq!(
        create_err("x".into()).await,
        err("wamp.error.type_check_error", tce)
    );
    let (uri, msg) = create_err(dict! { "name" => "rc1", "label" => 5 }.into()).await;
    assert_eq!(
        (
            uri.as_str(),
            msg.starts_with("could not parse router cluster configuration (")
        ),
        (IC, true)
    );
    let tags = Value::List(vec!["a".into(), 1.into()]);
    let (uri, _) = create_err(dict! { "name" => "rc1", "tags" => tags }.into()).await;
    assert_eq!(uri, IC);
    let (uri, msg) = create_err(dict! { "name" => 123 }.into()).await;
    assert_eq!(uri, IC);
    assert!(
        msg.starts_with("could not parse router cluster configuration ("),
        "{msg}"
    );
    let missing = "missing \"name\" in router cluster configuration";
    assert_eq!(
        create_err(dict! { "label" => "x" }.into()).await,
        err(IC, missing)
    );
    for bad in ["bad name!", "ab", "Rc1", "1rc", "rc-1"] {
        let msg = format!(
            "invalid name \"{bad}\" in router cluster configuration (must match ^[a-z][a-z0-9_]{{2,63}}$)"
        );
        assert_eq!(
            create_err(dict! { "name" => bad }.into()).await,
            err(IC, &msg)
        );
    }
    assert!(
        clusters(&f.su).await.is_empty(),
        "refused creates store nothing"
    );
    create(&f.su, "rc1").await;
    let dup = "duplicate name \"rc1\" in router cluster configuration";
    let ae = "crossbar.error.already_exists";
    assert_eq!(
        create_err(dict! { "name" => "rc1" }.into()).await,
        err(ae, dup)
    );
    assert_eq!(clusters(&f.su).await.len(), 1);
}

#[tokio::test]
async fn bad_and_unknown_oids_and_arguments() {
    let f = setup().await;
    let c = create(&f.su, "rc1").await;
    let x = Uuid::new_v4().to_string();
    let one = |v: &str| vec![Value::from(v)];
    let msg = format!("invalid routercluster_oid: {BAD_UUID}");
    assert_eq!(
        rc_err(&f.su, "get_routercluster", one("nope")).await,
        err(IA, &msg)
    );
    let tce = "'routercluster_oid' expected type=str got=int";
    let r = rc_err(&f.su, "get_routercluster", vec![42.into()]).await;
    assert_eq!(r, err("wamp.error.type_check_error", tce));
    let quoted = format!("invalid oid \"{BAD_UUID}\"");
    for p in [
        "delete_routercluster",
        "start_routercluster",
        "stop_routercluster",
    ] {
        assert_eq!(rc_err(&f.su, p, one("nope")).await, err(IA, &quoted), "{p}");
    }
    let nso = |m: String| err(NSO, &m);
    let r = rc_err(&f.su, "get_routercluster", one(&x)).await;
    assert_eq!(r, nso(format!("no routercluster with oid {x}")));
    let r = rc_err(&f.su, "get_routercluster_by_name", one("nope")).await;
    assert_eq!(r, nso("no routercluster named nope".into()));
    let r = rc_err(&f.su, "delete_routercluster", one(&x)).await;
    assert_eq!(r, nso(format!("no object with oid {x} found")));
    for p in [
        "start_routercluster",
        "stop_routercluster",
        "stat_routercluster",
    ] {
        let r = rc_err(&f.su, p, one(&x)).await;
        assert_eq!(
            r,
            nso(format!("no routercluster with oid {x} found")),
            "{p}"
        );
    }
    let r = rc_err(&f.su, "list_routercluster_workergroups", one(&x)).await;
    assert_eq!(r, nso(format!("no object with oid {x} found")));
    let r = rc_err(
        &f.su,
        "get_routercluster_workergroup",
        vec![c.as_str().into(), x.as_str().into()],
    )
    .await;
    assert_eq!(r, nso(format!("no worker group with oid {x} found")));
    let r = rc_err(
        &f.su,
        "get_routercluster_workergroup_by_name",
        vec!["rc1".into(), "wg1".into()],
    )
    .await;
    assert_eq!(r, nso("no workergroup named wg1".into()));
    // Python's calling convention: missing, surplus and unknown arguments
    let rte = "wamp.error.runtime_error";
    assert_eq!(rc_err(&f.su, "get_routercluster", vec![]).await.0, rte);
    let two = vec![c.as_str().into(), c.as_str().into()];
    assert_eq!(rc_err(&f.su, "get_routercluster", two).await.0, rte);
    let uri = format!("{RC}list_routerclusters");
    let r = common::call_kw(&f.su, &uri, vec![], dict! { "bogus" => 1 }).await;
    assert_eq!(common::wamp_err(r).0, rte);
}

#[tokio::test]
async fn start_stop_delete_follow_the_state_machine() {
    let f = setup().await;
    let c = create(&f.su, "rc1").await;
    let arg = || vec![Value::from(c.as_str())];
    let msg = "cannot stop routercluster currently in state STOPPED";
    let r = rc_err(&f.su, "stop_routercluster", arg()).await;
    assert_eq!(
        r,
        err("crossbar.error.cannot_stop", msg),
        "⚠D30: cannot_stop"
    );
    rc(&f.su, "start_routercluster", arg()).await;
    // STARTING, or RUNNING if the reconciler (nothing to deploy) was quicker
    let (uri, msg) = rc_err(&f.su, "start_routercluster", arg()).await;
    assert_eq!(uri, "crossbar.error.cannot_start");
    let state = msg.strip_prefix("cannot start routercluster currently in state ");
    assert!(matches!(state, Some("STARTING" | "RUNNING")), "{msg}");
    let (uri, _) = rc_err(&f.su, "delete_routercluster", arg()).await;
    assert_eq!(uri, "crossbar.error.not_stopped");
    assert_eq!(clusters(&f.su).await, [c]);
}

#[tokio::test]
async fn memberships_refuse_unknown_foreign_and_bad_nodes() {
    let f = setup().await;
    let [n1, _, _, n4] = &f.nodes;
    let c = create(&f.su, "rc1").await;
    let x = Uuid::new_v4().to_string();
    let add = |node: &str, cfg: Value| {
        let args = vec![c.as_str().into(), node.into(), cfg];
        let su = f.su.clone();
        async move { rc_err(&su, "add_routercluster_node", args).await }
    };
    let quoted = format!("invalid oid \"{BAD_UUID}\"");
    assert_eq!(
        add("nope", Value::Null).await,
        err(IA, &quoted),
        "IA, not RTE"
    );
    assert_eq!(
        add(&x, Value::Null).await,
        err(NSO, &format!("no node with oid {x} found"))
    );
    let foreign = format!("no node with oid {n4} found");
    assert_eq!(
        add(n4, Value::Null).await,
        err(NSO, &foreign),
        "node of mr2"
    );
    for cfg in [
        dict! { "softlimit" => -1 },
        dict! { "hardlimit" => "8" },
        dict! { "softlimit" => 1.5 },
    ] {
        assert_eq!(add(n1, cfg.into()).await.0, IA);
    }
    let args = vec![x.as_str().into(), n1.as_str().into()];
    let r = rc_err(&f.su, "add_routercluster_node", args.clone()).await;
    assert_eq!(r, err(NSO, &format!("no routercluster with oid {x} found")));
    for p in ["get_routercluster_node", "remove_routercluster_node"] {
        let r = rc_err(&f.su, p, args.clone()).await;
        assert_eq!(r, err(NSO, &format!("no object with oid {x} found")), "{p}");
        let r = rc_err(&f.su, p, vec![c.as_str().into(), n4.as_str().into()]).await;
        assert_eq!(r, err(NSO, &foreign), "{p}");
        // the node oid is checked first
        let r = rc_err(&f.su, p, vec!["bad".into(), "worse".into()]).await;
        assert_eq!(r, err(IA, &quoted));
    }
    let nodes = rc(&f.su, "list_routercluster_nodes", vec![c.as_str().into()]).await;
    assert_eq!(nodes, Value::List(vec![]), "nothing was stored");
}

#[tokio::test]
async fn workergroups_refuse_bad_configs_and_store_nothing() {
    let f = setup().await;
    let c = create(&f.su, "rc1").await;
    let other = create(&f.su, "rc2").await;
    let add = |cfg: Value| {
        let args = vec![c.as_str().into(), cfg];
        let su = f.su.clone();
        async move { rc_err(&su, "add_routercluster_workergroup", args).await }
    };
    let empty = format!("router cluster {c} has no nodes: add nodes before worker groups");
    assert_eq!(add(dict! { "name" => "wg1" }.into()).await, err(IA, &empty));
    add_nodes(&f.su, &c, &[&f.nodes[0]]).await;
    add_nodes(&f.su, &other, &[&f.nodes[1]]).await;
    for scale in [
        Value::from(0),
        129.into(),
        "2".into(),
        1.5.into(),
        true.into(),
    ] {
        assert_eq!(
            add(dict! { "name" => "wg1", "scale" => scale }.into())
                .await
                .0,
            IA
        );
    }
    for cid in [Value::from(other.as_str()), "nope".into(), 7.into()] {
        assert_eq!(
            add(dict! { "cluster_oid" => cid }.into()).await.0,
            IA,
            "⚠D34"
        );
    }
    for name in [Value::from("Bad-Name"), "ab".into(), 5.into()] {
        assert_eq!(add(dict! { "name" => name }.into()).await.0, IC);
    }
    assert_eq!(add(dict! { "tags" => "t" }.into()).await.0, IC);
    assert!(group_names(&f.su, &c).await.is_empty(), "nothing stored");
    add_group(&f.su, &c, "wg1", 1).await;
    let (uri, msg) = add(dict! { "name" => "wg1" }.into()).await;
    assert_eq!(uri, "crossbar.error.already_exists");
    assert!(
        msg.starts_with("duplicate name \"wg1\" in worker group configuration"),
        "{msg}"
    );
    // edge worker ids come from the name: unique across the management realm's clusters
    let args = vec![other.as_str().into(), dict! { "name" => "wg1" }.into()];
    let (uri, _) = rc_err(&f.su, "add_routercluster_workergroup", args).await;
    assert_eq!(uri, "crossbar.error.already_exists");
    assert_eq!(group_names(&f.su, &c).await, ["wg1"]);
    assert!(group_names(&f.su, &other).await.is_empty());
    let g = oid(&rc(
        &f.su,
        "get_routercluster_workergroup_by_name",
        vec!["rc1".into(), "wg1".into()],
    )
    .await);
    // a group is found only through its own cluster
    let args = vec![other.as_str().into(), g.as_str().into()];
    let (uri, msg) = rc_err(&f.su, "get_routercluster_workergroup", args.clone()).await;
    let want =
        format!("worker group with oid {g} found, but not associated with given router cluster");
    assert_eq!((uri.as_str(), msg), (NSO, want));
    let (uri, msg) = rc_err(&f.su, "remove_routercluster_workergroup", args).await;
    assert_eq!(
        (uri.as_str(), msg),
        (NSO, format!("no workergroup with oid {g} found"))
    );
    let args = vec!["x".into(), g.as_str().into()];
    let msg = format!("invalid routercluster_oid \"{BAD_UUID}\"");
    assert_eq!(
        rc_err(&f.su, "remove_routercluster_workergroup", args).await,
        err(IA, &msg)
    );
    assert_eq!(group_names(&f.su, &c).await, ["wg1"]);
}

/// A user with `admin` on mr1 (may call, owns what it creates), the superuser's cluster, and
/// a user with `owner` on mr1 (may manage every cluster of it, mrealm's addition).
#[tokio::test]
async fn only_owners_delete_start_and_remove_groups() {
    let f = setup().await;
    let c = create(&f.su, "rc1").await;
    add_nodes(&f.su, &c, &[&f.nodes[0]]).await;
    let g = oid(&add_group(&f.su, &c, "wg1", 1).await);
    let admin = create_user(&f.global, "admin@example.com", &user_secret(1)).await;
    set_roles(&f.global, &f.mr1, &admin, &["admin"]).await;
    let a =
        f.fx.try_user(user_secret(1), Some("mr1"), None)
            .await
            .expect("admin joins");
    let na = "wamp.error.not_authorized";
    let arg = || vec![Value::from(c.as_str())];
    let r = rc_err(&a, "delete_routercluster", arg()).await;
    assert_eq!(r, err(na, "only owner is allowed to delete router cluster"));
    let r = rc_err(&a, "start_routercluster", arg()).await;
    assert_eq!(
        r,
        err(na, "only owner is allowed to start a router cluster")
    );
    let args = vec![c.as_str().into(), g.as_str().into()];
    let r = rc_err(&a, "remove_routercluster_workergroup", args.clone()).await;
    assert_eq!(r, err(na, "only owner is allowed to modify router cluster"));
    assert_eq!(group_names(&f.su, &c).await, ["wg1"]);

    // the admin owns what it creates
    let mine = rc(
        &a,
        "create_routercluster",
        vec![dict! { "name" => "mine" }.into()],
    )
    .await;
    assert_eq!(common::s(&mine, "owner_oid"), admin);
    rc(&a, "start_routercluster", vec![oid(&mine).into()]).await;

    let owner = create_user(&f.global, "owner@example.com", &user_secret(2)).await;
    set_roles(&f.global, &f.mr1, &owner, &["owner"]).await;
    let o =
        f.fx.try_user(user_secret(2), Some("mr1"), None)
            .await
            .expect("owner joins");
    rc(&o, "remove_routercluster_workergroup", args).await;
    rc(&o, "delete_routercluster", arg()).await;
}

#[tokio::test]
async fn guests_public_and_users_without_a_role_cannot_create() {
    let f = setup().await;
    let cfg = || vec![dict! { "name" => "rc1" }.into()];
    let guest =
        f.fx.try_superuser(Some("mr1"), Some("guest"))
            .await
            .expect("guest");
    assert_eq!(
        rc_err(&guest, "create_routercluster", cfg()).await.0,
        "wamp.error.not_authorized"
    );
    let public = f.fx.anonymous(Some("mr1")).await.expect("public");
    assert_eq!(
        rc_err(&public, "create_routercluster", cfg()).await.0,
        "wamp.error.not_authorized"
    );
    let node = f.fx.checked_node(common::node_secret(1)).await;
    assert_eq!(
        rc_err(&node, "create_routercluster", cfg()).await.0,
        "wamp.error.not_authorized"
    );
    create_user(&f.global, "nobody@example.com", &user_secret(3)).await;
    let r = f.fx.try_user(user_secret(3), Some("mr1"), None).await;
    assert!(
        !abort_reason(r).0.is_empty(),
        "a user without a role cannot join mr1"
    );
    assert!(clusters(&f.su).await.is_empty());
}
