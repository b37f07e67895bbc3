//! Shared fixture for the master's integration tests: an in-process [`Master`] on a temporary
//! cbdir with a Crossbar-format superuser key, served over WebSocket on 127.0.0.1:0, and client
//! helpers that join as the superuser, as an edge node or anonymously.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub mod raw;

use master::{Master, MasterConfig};
use tokio::sync::watch;
use wamp_client::{
    AuthenticateResponse, CallOptions, Challenge, Client, ConnectOptions, Error, Event,
    JoinOptions, Session, SubscribeOptions, Subscription,
};
use wamp_proto::cryptosign::{self, LEN};
use wamp_proto::keyfile::KeyFile;
use wamp_proto::{dict, Dict, Value};

/// The superuser's secret seed.
pub const SUPERUSER: [u8; LEN] = [0x5a; LEN];
/// How long any single wait may take.
pub const WAIT: Duration = Duration::from_secs(5);
/// The global realm.
pub const GLOBAL: &str = "com.crossbario.fabric";
/// Prefix of the global API.
pub const P: &str = "crossbarfabriccenter.mrealm.";

/// A running in-process master with its listener.
pub struct Fixture {
    pub dir: Arc<tempfile::TempDir>,
    pub master: Arc<Master>,
    pub url: String,
    stop: watch::Sender<bool>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        if let Some(t) = self.server.take() {
            t.abort();
        }
    }
}

/// The secret seed of test node `i` (distinct from the superuser's).
pub fn node_secret(i: u8) -> [u8; LEN] {
    let mut s = [i; LEN];
    s[0] = 0xee;
    s
}

/// The secret seed of test user `i` (distinct from the nodes' and the superuser's).
pub fn user_secret(i: u8) -> [u8; LEN] {
    let mut s = [i; LEN];
    s[0] = 0xdd;
    s
}

/// Hex public key of a secret seed.
pub fn pubkey(secret: &[u8; LEN]) -> String {
    hex::encode(cryptosign::public_key(secret))
}

/// Writes a Crossbar-format public key file (`default.pub`, `key.pub`) with extra tags.
pub fn write_pub(path: &Path, secret: &[u8; LEN], kind: &str, tags: &[(&str, String)]) {
    let (public, _) = KeyFile::pair(secret, kind, tags);
    std::fs::write(path, public.to_string()).expect("write key file");
}

impl Fixture {
    /// A fresh master with default test settings.
    pub async fn start() -> Fixture {
        Fixture::start_in(Arc::new(tempfile::tempdir().expect("tempdir")), |_| {}).await
    }

    /// A master on `dir` (cbdir `<dir>/cb`, superuser key `<dir>/default.pub`), with `tune`
    /// applied to the configuration; retries (bounded) while a shut-down master on the same
    /// cbdir still holds its database.
    pub async fn start_in(
        dir: Arc<tempfile::TempDir>,
        tune: impl FnOnce(&mut MasterConfig),
    ) -> Fixture {
        let key = dir.path().join("default.pub");
        if !key.exists() {
            write_pub(&key, &SUPERUSER, "user", &[("user-id", "unknown".into())]);
        }
        let mut config = MasterConfig {
            cbdir: dir.path().join("cb"),
            superuser: Some(key),
            tick_interval: Duration::from_secs(3600),
            check_interval: Duration::from_secs(3600),
            ..MasterConfig::default()
        };
        tune(&mut config);
        let master = start_master(config).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("ws://{}/ws", listener.local_addr().expect("addr"));
        let (stop, stop_rx) = watch::channel(false);
        let server = tokio::spawn(master.router().clone().serve_with(listener, None, stop_rx));
        Fixture {
            dir,
            master,
            url,
            stop,
            server: Some(server),
        }
    }

    /// Joins as edge node `secret` and asserts the granted authrole is `node`.
    pub async fn checked_node(&self, secret: [u8; LEN]) -> Session {
        let s = self.node(secret).await;
        assert_eq!(s.welcome().authrole.as_deref(), Some("node"));
        s
    }

    /// The cbdir.
    pub fn cbdir(&self) -> PathBuf {
        self.dir.path().join("cb")
    }

    /// Shuts the master down (GOODBYE to every session, listener stopped) and hands back the
    /// directory for a restart.
    pub async fn stop(mut self) -> Arc<tempfile::TempDir> {
        self.master.shutdown().await;
        self.stop.send_replace(true);
        if let Some(t) = self.server.take() {
            let _ = tokio::time::timeout(WAIT, t).await;
        }
        self.dir.clone()
    }

    /// Joins as the superuser (cryptosign) on `realm` (`None`: the global realm).
    pub async fn superuser(&self, realm: Option<&str>) -> Session {
        self.try_superuser(realm, None)
            .await
            .expect("superuser joins")
    }

    /// Tries to join as the superuser, optionally requesting an authrole.
    pub async fn try_superuser(
        &self,
        realm: Option<&str>,
        authrole: Option<&str>,
    ) -> Result<Session, Error> {
        self.try_user(SUPERUSER, realm, authrole).await
    }

    /// Joins as edge node `secret` (authrole `node`, no realm).
    pub async fn node(&self, secret: [u8; LEN]) -> Session {
        self.try_node(secret, None).await.expect("node joins")
    }

    /// Tries to join as an edge node, optionally (wrongly) requesting a realm.
    pub async fn try_node(&self, secret: [u8; LEN], realm: Option<&str>) -> Result<Session, Error> {
        let mut opts = cryptosign_opts(secret).authrole("node");
        opts.realm = realm.map(str::to_owned);
        join(&self.url, opts).await
    }

    /// Joins with key `secret` as a user (cryptosign, authid "unknown" like `crossbar shell`)
    /// on `realm` (`None`: the global realm), optionally requesting an authrole.
    pub async fn try_user(
        &self,
        secret: [u8; LEN],
        realm: Option<&str>,
        authrole: Option<&str>,
    ) -> Result<Session, Error> {
        let mut opts = cryptosign_opts(secret).authid("unknown");
        opts.realm = realm.map(str::to_owned);
        opts.authrole = authrole.map(str::to_owned);
        join(&self.url, opts).await
    }

    /// Joins the global realm as stored user `secret`.
    pub async fn user(&self, secret: [u8; LEN]) -> Session {
        self.try_user(secret, None, None).await.expect("user joins")
    }

    /// Tries to join anonymously.
    pub async fn anonymous(&self, realm: Option<&str>) -> Result<Session, Error> {
        let opts = JoinOptions {
            realm: realm.map(str::to_owned),
            authmethods: vec!["anonymous".into()],
            ..JoinOptions::default()
        };
        join(&self.url, opts).await
    }
}

/// Starts a master, once an earlier one on the same cbdir (shut down, its tasks aborted) has
/// released the database.
async fn start_master(config: MasterConfig) -> Arc<Master> {
    for _ in 0..100 {
        match Master::start(config.clone()).await {
            Ok(m) => return m,
            Err(e) if format!("{e:?}").contains("DatabaseAlreadyOpen") => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("master starts: {e:?}"),
        }
    }
    panic!("the old master never released its database");
}

/// Cryptosign join options for `secret` (authextra `pubkey`, signs the challenge).
pub fn cryptosign_opts(secret: [u8; LEN]) -> JoinOptions {
    JoinOptions::default()
        .authmethods(["cryptosign"])
        .authextra(dict! { "pubkey" => pubkey(&secret) })
        .on_challenge_sync(move |c: Challenge| {
            let hex = c.extra.get("challenge").and_then(Value::as_str);
            let bytes: [u8; LEN] = cryptosign::parse_hex(hex.expect("challenge")).expect("hex");
            Ok(AuthenticateResponse::new(cryptosign::sign(&secret, &bytes)))
        })
}

/// Connects and joins, bounded by [`WAIT`].
pub async fn join(url: &str, opts: JoinOptions) -> Result<Session, Error> {
    match tokio::time::timeout(
        WAIT,
        Client::connect_and_join(url, ConnectOptions::default(), opts),
    )
    .await
    {
        Ok(r) => r,
        Err(_) => Err(Error::Timeout("join".into())),
    }
}

/// Calls `uri` and returns the first result value.
pub async fn call(s: &Session, uri: &str, args: Vec<Value>) -> Result<Value, Error> {
    call_kw(s, uri, args, Dict::new()).await
}

/// Calls `uri` with keyword arguments and returns the first result value.
pub async fn call_kw(s: &Session, uri: &str, args: Vec<Value>, kw: Dict) -> Result<Value, Error> {
    let (args, _) = call_full(s, uri, args, kw).await?;
    Ok(args.into_iter().next().unwrap_or(Value::Null))
}

/// Calls `uri` with keyword arguments and returns the result's args and kwargs.
pub async fn call_full(
    s: &Session,
    uri: &str,
    args: Vec<Value>,
    kw: Dict,
) -> Result<(Vec<Value>, Dict), Error> {
    call_within(s, uri, args, kw, WAIT).await
}

/// [`call_full`] with a call timeout other than [`WAIT`].
pub async fn call_within(
    s: &Session,
    uri: &str,
    args: Vec<Value>,
    kw: Dict,
    timeout: Duration,
) -> Result<(Vec<Value>, Dict), Error> {
    let r = s.call(uri, args, kw, CallOptions::timeout(timeout)).await?;
    Ok((r.args, r.kwargs))
}

/// Calls a global API procedure (`crossbarfabriccenter.mrealm.<name>`) that must succeed.
pub async fn api(s: &Session, name: &str, args: Vec<Value>) -> Value {
    call(s, &format!("{P}{name}"), args)
        .await
        .unwrap_or_else(|e| panic!("{name} failed: {e}"))
}

/// Calls a global API procedure that must fail; returns the error URI and message.
pub async fn api_err(s: &Session, name: &str, args: Vec<Value>) -> (String, String) {
    wamp_err(call(s, &format!("{P}{name}"), args).await)
}

/// The URI and message of a WAMP error result; panics on anything else.
pub fn wamp_err(r: Result<Value, Error>) -> (String, String) {
    match r {
        Err(Error::Wamp { uri, args, .. }) => (uri, first_str(&args)),
        other => panic!("expected a WAMP error, got {other:?}"),
    }
}

/// The first of `args` if it is a string (an error's message), else empty.
pub fn first_str(args: &[Value]) -> String {
    args.first()
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The ABORT reason of a refused join; panics if the join succeeded or failed otherwise.
pub fn abort_reason(r: Result<Session, Error>) -> (String, String) {
    match r {
        Err(Error::Aborted {
            reason, message, ..
        }) => (reason, message.unwrap_or_default()),
        Ok(s) => panic!("expected ABORT, got WELCOME {:?}", s.welcome()),
        Err(e) => panic!("expected ABORT, got {e}"),
    }
}

/// Creates management realm `name`; returns its object.
pub async fn create_mrealm(s: &Session, name: &str) -> Value {
    api(s, "create_mrealm", vec![dict! { "name" => name }.into()]).await
}

/// Pairs node `secret` into `realm` as `authid`; returns the node object.
pub async fn pair(s: &Session, secret: &[u8; LEN], realm: &str, authid: &str) -> Value {
    let args = vec![pubkey(secret).into(), realm.into(), authid.into()];
    api(s, "pair_node", args).await
}

/// Pairs node `secret` into `realm` as `authid`; returns the node's oid.
pub async fn pair_oid(s: &Session, secret: &[u8; LEN], realm: &str, authid: &str) -> String {
    let node = pair(s, secret, realm, authid).await;
    self::s(&node, "oid").to_owned()
}

/// A string field of an object.
pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string '{key}' in {v:?}"))
}

/// The key set of a dict value.
pub fn keys(v: &Value) -> BTreeSet<String> {
    v.as_dict()
        .unwrap_or_else(|| panic!("not a dict: {v:?}"))
        .keys()
        .cloned()
        .collect()
}

/// A set of strings from a list value.
pub fn str_set(v: &Value) -> BTreeSet<String> {
    v.as_list()
        .unwrap_or_else(|| panic!("not a list: {v:?}"))
        .iter()
        .map(|x| x.as_str().expect("string item").to_owned())
        .collect()
}

/// A list of strings from a list value, in order.
pub fn str_list(v: &Value) -> Vec<String> {
    v.as_list()
        .unwrap_or_else(|| panic!("not a list: {v:?}"))
        .iter()
        .map(|x| x.as_str().expect("string item").to_owned())
        .collect()
}

/// Subscribes to `topic` (exact match).
pub async fn subscribe(s: &Session, topic: &str) -> Subscription {
    s.subscribe(topic, SubscribeOptions::default())
        .await
        .unwrap_or_else(|e| panic!("subscribe {topic}: {e}"))
}

/// The next event on `sub`, within [`WAIT`].
pub async fn next_event(sub: &mut Subscription) -> Event {
    tokio::time::timeout(WAIT, sub.recv())
        .await
        .expect("event in time")
        .expect("subscription open")
}

/// Asserts no event arrives on `sub` for a short while.
pub async fn no_event(sub: &mut Subscription) {
    let r = tokio::time::timeout(Duration::from_millis(300), sub.recv()).await;
    assert!(r.is_err(), "unexpected event: {r:?}");
}

/// The names of all management realms (sorted).
pub async fn mrealm_names(s: &Session) -> Vec<String> {
    str_list(&api(s, "list_mrealms", vec![true.into()]).await)
}

/// The key sets of the wire objects.
pub fn key_set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|k| k.to_string()).collect()
}

/// The 9 keys of a management realm object.
pub const MREALM_KEYS: &[&str] = &[
    "oid",
    "label",
    "description",
    "tags",
    "name",
    "created",
    "owner",
    "cf_router_worker",
    "cf_container_worker",
];

/// The 10 keys of a node object.
pub const NODE_KEYS: &[&str] = &[
    "oid",
    "label",
    "description",
    "tags",
    "owner_oid",
    "pubkey",
    "cluster_ip",
    "mrealm_oid",
    "authid",
    "authextra",
];

/// Creates user `email` with the key of `secret` (superuser session on the global realm);
/// returns the user's oid.
pub async fn create_user(su: &Session, email: &str, secret: &[u8; LEN]) -> String {
    let obj = dict! { "email" => email, "pubkey" => pubkey(secret) };
    let u = call(
        su,
        "crossbarfabriccenter.user.create_user",
        vec![obj.into()],
    )
    .await
    .unwrap_or_else(|e| panic!("create_user {email}: {e}"));
    s(&u, "oid").to_owned()
}

/// Sets `user_oid`'s roles on management realm `mrealm_oid` (superuser session).
pub async fn set_roles(su: &Session, mrealm_oid: &str, user_oid: &str, roles: &[&str]) {
    let roles = Value::List(roles.iter().map(|r| Value::from(*r)).collect());
    let args = vec![mrealm_oid.into(), user_oid.into(), roles];
    api(su, "set_roles_on_mrealm_for_user", args).await;
}
