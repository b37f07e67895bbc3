//! The store on a real file: persistence across reopen, schema version checks, mrealm and node
//! pairing rules, unique indices, cascade delete, user roles.

use store::nodes::Pairing;
use store::{MrealmRecord, MrealmRoles, Store, StoreError, UserRecord, SCHEMA_VERSION};
use uuid::Uuid;

fn mrealm(name: &str) -> MrealmRecord {
    MrealmRecord {
        oid: Uuid::new_v4(),
        name: name.into(),
        label: None,
        description: None,
        tags: None,
        created: 1,
        owner: Uuid::nil(),
        cf_router_worker: None,
        cf_container_worker: None,
    }
}

fn pairing(pubkey: &str, mrealm: Uuid, authid: &str) -> Pairing {
    Pairing {
        oid: None,
        pubkey: pubkey.into(),
        mrealm_oid: mrealm,
        authid: authid.into(),
        authextra: None,
        owner_oid: None,
        cluster_ip: None,
    }
}

#[test]
fn data_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let m = mrealm("default");
    let node = {
        let s = Store::open(&path).expect("open");
        s.create_mrealm(&m).expect("create");
        s.pair_node(&pairing("aa", m.oid, "node1")).expect("pair")
    };
    let s = Store::open(&path).expect("reopen");
    assert_eq!(s.schema_version().expect("version"), SCHEMA_VERSION);
    assert_eq!(
        s.get_mrealm_by_name("default").expect("get"),
        Some(m.clone())
    );
    assert_eq!(s.node_by_pubkey("aa").expect("get"), Some(node.clone()));
    assert_eq!(s.node_by_authid(m.oid, "node1").expect("get"), Some(node));
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let db = redb::Database::create(&path).expect("db");
        let txn = db.begin_write().expect("txn");
        {
            let def: redb::TableDefinition<'_, &str, &[u8]> = redb::TableDefinition::new("meta");
            let mut t = txn.open_table(def).expect("table");
            t.insert("schema_version", 99u32.to_le_bytes().as_slice())
                .expect("insert");
        }
        txn.commit().expect("commit");
    }
    match Store::open(&path) {
        Err(StoreError::NewerSchema { found: 99, .. }) => {}
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("a newer schema was accepted"),
    }
}

#[test]
fn pairing_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(&dir.path().join("db")).expect("open");
    let m = mrealm("m1");
    s.create_mrealm(&m).expect("create");
    assert!(matches!(
        s.create_mrealm(&mrealm("m1")),
        Err(StoreError::MrealmExists(_))
    ));
    let n1 = s.pair_node(&pairing("k1", m.oid, "n1")).expect("pair");
    assert!(matches!(
        s.pair_node(&pairing("k1", m.oid, "other")),
        Err(StoreError::NodeAlreadyPaired { .. })
    ));
    assert!(matches!(
        s.pair_node(&pairing("k2", m.oid, "n1")),
        Err(StoreError::AuthidTaken { .. })
    ));
    assert!(matches!(
        s.pair_node(&pairing("k2", Uuid::new_v4(), "x")),
        Err(StoreError::NoSuchMrealm(_))
    ));
    let (before, after) = s.unpair_node(n1.oid).expect("unpair");
    assert_eq!(before.authid.as_deref(), Some("n1"));
    assert_eq!((after.authid, after.mrealm_oid), (None, None));
    assert!(matches!(
        s.unpair_node(n1.oid),
        Err(StoreError::NodeNotPaired(_))
    ));
    assert!(matches!(
        s.unpair_node(Uuid::new_v4()),
        Err(StoreError::NoSuchNode(_))
    ));
    assert_eq!(s.node_by_authid(m.oid, "n1").expect("lookup"), None);
    // re-pairing the same key keeps the node's oid; the authid is free again
    let again = s.pair_node(&pairing("k1", m.oid, "n1")).expect("re-pair");
    assert_eq!(again.oid, n1.oid);
}

#[test]
fn delete_mrealm_refuses_with_nodes_unless_cascade() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(&dir.path().join("db")).expect("open");
    let m = mrealm("m1");
    s.create_mrealm(&m).expect("create");
    s.pair_node(&pairing("k1", m.oid, "b")).expect("pair");
    s.pair_node(&pairing("k2", m.oid, "a")).expect("pair");
    let listed: Vec<_> = s
        .list_nodes_by_mrealm(m.oid)
        .expect("list")
        .into_iter()
        .filter_map(|n| n.authid)
        .collect();
    assert_eq!(listed, ["a", "b"]);
    assert!(matches!(
        s.delete_mrealm(m.oid, false),
        Err(StoreError::MrealmHasNodes { nodes: 2, .. })
    ));
    assert!(s.get_mrealm(m.oid).expect("get").is_some());
    let (_, unpaired) = s.delete_mrealm(m.oid, true).expect("cascade");
    assert_eq!(unpaired.len(), 2);
    assert_eq!(s.get_mrealm_by_name("m1").expect("get"), None);
    assert!(s
        .list_nodes()
        .expect("nodes")
        .iter()
        .all(|n| !n.is_paired()));
    s.create_mrealm(&mrealm("m1"))
        .expect("the name is free again");
}

#[test]
fn users_and_roles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(&dir.path().join("db")).expect("open");
    let u = UserRecord {
        oid: Uuid::new_v4(),
        authid: "alice".into(),
        email: None,
        pubkey: "ab".into(),
        created: 0,
    };
    s.put_user(&u).expect("put");
    assert_eq!(s.user_by_pubkey("ab").expect("get"), Some(u.clone()));
    let m = Uuid::new_v4();
    assert!(s.user_roles(u.oid, m).expect("roles").is_empty());
    s.set_user_roles(&MrealmRoles {
        user_oid: u.oid,
        mrealm_oid: m,
        roles: vec!["admin".into()],
    })
    .expect("set");
    assert_eq!(s.user_roles(u.oid, m).expect("roles"), ["admin"]);
    assert_eq!(s.authids_with_roles_on(m).expect("members"), ["alice"]);
    assert!(s
        .authids_with_roles_on(Uuid::new_v4())
        .expect("none")
        .is_empty());
    s.set_user_roles(&MrealmRoles {
        user_oid: u.oid,
        mrealm_oid: m,
        roles: Vec::new(),
    })
    .expect("unset");
    assert!(s.authids_with_roles_on(m).expect("members").is_empty());
}

#[test]
fn an_mrealm_and_its_owner_roles_are_created_together_or_not_at_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(&dir.path().join("db")).expect("open");
    let owner = Uuid::new_v4();
    let m = mrealm("m1");
    let roles = MrealmRoles {
        user_oid: owner,
        mrealm_oid: m.oid,
        roles: vec!["owner".into()],
    };
    s.create_mrealm_with_roles(&m, Some(&roles))
        .expect("create");
    assert_eq!(s.user_roles(owner, m.oid).expect("roles"), vec!["owner"]);
    // a clash on the name writes neither the mrealm nor the grant
    let clash = mrealm("m1");
    let other = MrealmRoles {
        user_oid: Uuid::new_v4(),
        mrealm_oid: clash.oid,
        roles: vec!["owner".into()],
    };
    assert!(matches!(
        s.create_mrealm_with_roles(&clash, Some(&other)),
        Err(StoreError::MrealmExists(_))
    ));
    assert!(s
        .user_roles(other.user_oid, clash.oid)
        .expect("roles")
        .is_empty());
    assert!(s.get_mrealm(clash.oid).expect("get").is_none());
}

#[test]
fn an_online_backup_is_a_consistent_copy_of_one_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(&dir.path().join("db")).expect("open");
    let m = mrealm("m1");
    s.create_mrealm(&m).expect("create");
    let node = s.pair_node(&pairing("aa", m.oid, "node1")).expect("pair");
    let log = store::NodeLog {
        mrealm: m.oid,
        node: node.oid,
        timestamp: 1_795_548_000_000_000_000,
        metrics: store::Metrics::default(),
        doc: serde_json::json!({"seq": 1}),
    };
    s.append_node_logs(&[log]).expect("log");

    let to = dir.path().join("backup.db");
    let stats = s.backup_to(&to).expect("backup");
    assert!(stats.rows >= 6, "{stats:?}");
    // the store stays writable, and later writes are not in the backup
    s.create_mrealm(&mrealm("m2")).expect("create after backup");
    assert!(matches!(s.backup_to(&to), Err(StoreError::Backup(_))));

    let b = Store::open(&to).expect("open backup");
    let names: Vec<String> = b
        .list_mrealms()
        .expect("list")
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, vec!["m1"]);
    assert_eq!(b.node_by_pubkey("aa").expect("get"), Some(node.clone()));
    let w = store::Window {
        from: 0,
        until: u64::MAX,
        limit: 10,
    };
    assert_eq!(b.node_logs(m.oid, node.oid, w).expect("logs").len(), 1);
}
