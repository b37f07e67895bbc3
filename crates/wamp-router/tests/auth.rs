//! Authentication over real WebSockets: WAMP-cryptosign (signatures computed with
//! `wamp_proto::cryptosign::sign` in the wamp-client's challenge handler), WAMP-ticket and
//! anonymous, each refusal with its exact ABORT reason and no session left behind, a Crossbar
//! key file, and TLS — a `wss://` session whose cryptosign signature is bound to the TLS
//! channel (`tls-unique`), and a plain `ws://` client refused on the TLS port.
//!
//! The TLS test makes its certificate with the `openssl` CLI and is skipped (with a message)
//! when that binary is missing.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use openssl::ssl::{SslConnector, SslMethod, SslSession, SslVerifyMode, SslVersion};
use serde_json::{json, Value as Json};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_openssl::SslStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use wamp_client::{
    AuthenticateResponse, CallOptions, Challenge, Client, ConnectOptions, Dict, Error, JoinOptions,
    RegisterOptions, Serializer, Session, Value, WampError,
};
use wamp_proto::cryptosign::{self, LEN};
use wamp_proto::dict;
use wamp_proto::keyfile::KeyFile;
use wamp_router::auth::StaticAuth;
use wamp_router::{Permission, Realm, RealmConfig, Role, Router, RouterConfig, TlsConfig};

const ALICE: [u8; LEN] = [1; LEN];
const MALLORY: [u8; LEN] = [2; LEN];
const NODE9_PUB: &str = include_str!("../../../tests/interop/fixtures/crossbar_node9/key.pub");
const NODE9_PRIV: &str = include_str!("../../../tests/interop/fixtures/crossbar_node9/key.priv");

/// The public key of the committed Crossbar key file `key.pub`.
fn node9_public() -> [u8; LEN] {
    let kf = KeyFile::parse(NODE9_PUB).expect("fixture key.pub parses");
    kf.public_key().expect("public key")
}

struct TestRouter {
    addr: SocketAddr,
    realm: Arc<Realm>,
    _stop: watch::Sender<bool>,
}

/// A router with realm `realm1` (role `user`, may do everything): alice by cryptosign, bob by
/// ticket, node9 by the committed Crossbar key file; anonymous as `anonymous` if `anonymous`.
async fn start(anonymous: bool, tls: Option<TlsConfig>) -> TestRouter {
    let router = Router::new(RouterConfig::default());
    let all = |name: &str| Role::new(name, vec![Permission::allow_all()]);
    let realm = router
        .add_realm(RealmConfig::new(
            "realm1",
            vec![all("user"), all("anonymous")],
        ))
        .expect("add realm");
    let mut auth = StaticAuth::default();
    let conf = auth.realm("realm1");
    conf.anonymous = anonymous.then(|| "anonymous".to_owned());
    conf.tickets
        .insert("bob".into(), ("s3cret".into(), "user".into()));
    conf.cryptosign.insert(
        cryptosign::public_key(&ALICE),
        ("alice".into(), "user".into()),
    );
    conf.cryptosign
        .insert(node9_public(), ("node9".into(), "user".into()));
    router.set_authenticator(Arc::new(auth));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stop_rx) = watch::channel(false);
    tokio::spawn(router.serve_with(listener, tls, stop_rx));
    TestRouter {
        addr,
        realm,
        _stop: stop,
    }
}

impl TestRouter {
    fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    async fn join(&self, realm: &str, opts: JoinOptions) -> Result<Session, Error> {
        let opts = JoinOptions {
            realm: Some(realm.into()),
            timeout: Some(Duration::from_secs(3)),
            ..opts
        };
        let copts = ConnectOptions {
            connect_timeout: Duration::from_secs(3),
            ..ConnectOptions::with_serializer(Serializer::JSON)
        };
        Client::connect_and_join(&self.url(), copts, opts).await
    }

    /// Expects ABORT `reason` with a non-empty message containing `needle`.
    async fn refused(&self, realm: &str, opts: JoinOptions, reason: &str, needle: &str) {
        match self.join(realm, opts).await {
            Err(Error::Aborted {
                reason: got,
                message,
                ..
            }) => {
                let message = message.unwrap_or_default();
                assert_eq!(got, reason, "message: {message}");
                assert!(message.contains(needle), "{message:?} lacks {needle:?}");
            }
            Err(other) => panic!("expected ABORT {reason}, got {other}"),
            Ok(s) => panic!("expected ABORT {reason}, joined as {:?}", s.welcome()),
        }
    }
}

/// The challenge bytes of a cryptosign CHALLENGE.
fn challenge_bytes(c: &Challenge) -> [u8; LEN] {
    assert_eq!(c.authmethod, "cryptosign");
    let hex = c.extra.get("challenge").and_then(Value::as_str);
    cryptosign::parse_hex(hex.expect("challenge hex")).expect("32 bytes")
}

/// HELLO for cryptosign with `key`'s public key; `sign` answers the challenge.
fn cryptosign_opts<F>(authid: &str, key: &[u8; LEN], sign: F) -> JoinOptions
where
    F: Fn(&Challenge) -> String + Send + Sync + 'static,
{
    JoinOptions::default()
        .authid(authid)
        .authmethods(["cryptosign"])
        .authextra(dict! { "pubkey" => hex::encode(cryptosign::public_key(key)) })
        .on_challenge_sync(move |c| Ok(AuthenticateResponse::new(sign(&c))))
}

/// Signs the challenge with `key` (no channel binding).
fn signer(key: [u8; LEN]) -> impl Fn(&Challenge) -> String + Send + Sync + 'static {
    move |c| cryptosign::sign(&key, &challenge_bytes(c))
}

fn ticket_opts(authid: &str, secret: &str) -> JoinOptions {
    let secret = secret.to_owned();
    JoinOptions::default()
        .authid(authid)
        .authmethods(["ticket"])
        .on_challenge_sync(move |_| Ok(AuthenticateResponse::new(secret.clone())))
}

fn assert_welcome(s: &Session, authid: &str, authrole: &str, authmethod: &str) {
    let w = s.welcome();
    assert_eq!(w.authid.as_deref(), Some(authid));
    assert_eq!(w.authrole.as_deref(), Some(authrole));
    assert_eq!(w.authmethod.as_deref(), Some(authmethod));
    assert_eq!(
        w.details.get("authprovider").and_then(Value::as_str),
        Some("static")
    );
}

async fn assert_can_call(s: &Session) {
    let name = format!("com.auth.echo.{}", s.id());
    let _reg = s
        .register(&name, RegisterOptions::default(), |inv| async move {
            Ok::<_, WampError>((inv.args, Dict::new()))
        })
        .await
        .expect("register");
    let args = vec![Value::from(7u64)];
    let opts = CallOptions::default();
    let r = s.call(&name, args.clone(), Dict::new(), opts).await;
    assert_eq!(r.expect("call").args, args);
}

#[tokio::test]
async fn cryptosign_welcome() {
    let r = start(false, None).await;
    let s = r
        .join("realm1", cryptosign_opts("alice", &ALICE, signer(ALICE)))
        .await
        .expect("alice joins");
    assert_welcome(&s, "alice", "user", "cryptosign");
    assert_can_call(&s).await;
    // the key identifies the principal: no authid needed
    let opts = JoinOptions {
        authid: None,
        ..cryptosign_opts("x", &ALICE, signer(ALICE))
    };
    let s2 = r.join("realm1", opts).await.expect("joins without authid");
    assert_welcome(&s2, "alice", "user", "cryptosign");
    assert_eq!(r.realm.session_count(), 2);
}

#[tokio::test]
async fn crossbar_key_file_authenticates() {
    let r = start(false, None).await;
    let kf = KeyFile::parse(NODE9_PRIV).expect("fixture key.priv parses");
    let secret = kf.private_key().expect("valid").expect("has a private key");
    assert_eq!(cryptosign::public_key(&secret), node9_public());
    assert_eq!(kf.get("node-authid"), Some("node9"));
    let s = r
        .join("realm1", cryptosign_opts("node9", &secret, signer(secret)))
        .await
        .expect("node9 joins");
    assert_welcome(&s, "node9", "user", "cryptosign");
}

#[tokio::test]
async fn cryptosign_refusals() {
    let r = start(false, None).await;
    const FAILED: &str = "wamp.error.authentication_failed";

    // another key signs than the one announced
    r.refused(
        "realm1",
        cryptosign_opts("alice", &ALICE, signer(MALLORY)),
        FAILED,
        "signature",
    )
    .await;
    // a valid signature over other data than the challenge
    let other = |_: &Challenge| cryptosign::sign(&ALICE, &rand::random::<[u8; LEN]>());
    r.refused(
        "realm1",
        cryptosign_opts("alice", &ALICE, other),
        FAILED,
        "challenge",
    )
    .await;
    // a replay: the signature from one session's challenge, sent in the next session
    let captured = Arc::new(Mutex::new(None::<String>));
    let cap = captured.clone();
    let capture = move |c: &Challenge| {
        let sig = cryptosign::sign(&ALICE, &challenge_bytes(c));
        *cap.lock().expect("lock") = Some(sig.clone());
        sig
    };
    let first = r
        .join("realm1", cryptosign_opts("alice", &ALICE, capture))
        .await
        .expect("first session joins");
    first.leave().await.expect("leave");
    let old = captured.lock().expect("lock").clone().expect("captured");
    r.refused(
        "realm1",
        cryptosign_opts("alice", &ALICE, move |_| old.clone()),
        FAILED,
        "challenge",
    )
    .await;
    // not hex, wrong length
    r.refused(
        "realm1",
        cryptosign_opts("alice", &ALICE, |_| "zz".into()),
        FAILED,
        "hex",
    )
    .await;
    r.refused(
        "realm1",
        cryptosign_opts("alice", &ALICE, |_| "00".into()),
        FAILED,
        "bytes",
    )
    .await;
    // unknown key
    let mallory_hex = hex::encode(cryptosign::public_key(&MALLORY));
    let unknown = cryptosign_opts("mallory", &MALLORY, signer(MALLORY));
    r.refused(
        "realm1",
        unknown,
        "wamp.error.no_such_principal",
        &mallory_hex,
    )
    .await;
    // no or bad pubkey
    let no_key = cryptosign_opts("alice", &ALICE, signer(ALICE)).authextra(Dict::new());
    r.refused("realm1", no_key, "wamp.error.invalid_argument", "pubkey")
        .await;
    let bad_key =
        cryptosign_opts("alice", &ALICE, signer(ALICE)).authextra(dict! { "pubkey" => "abcd" });
    r.refused("realm1", bad_key, "wamp.error.invalid_argument", "pubkey")
        .await;
    // a TLS channel binding over a plain TCP transport
    let tls_unique = cryptosign_opts("alice", &ALICE, signer(ALICE)).authextra(dict! {
        "pubkey" => hex::encode(cryptosign::public_key(&ALICE)),
        "channel_binding" => "tls-unique",
    });
    r.refused(
        "realm1",
        tls_unique,
        "wamp.error.invalid_argument",
        "not TLS",
    )
    .await;
    // method not offered, role or realm that does not exist
    let cra = JoinOptions::default()
        .authid("alice")
        .authmethods(["wampcra"]);
    r.refused("realm1", cra, "wamp.error.no_auth_method", "wampcra")
        .await;
    let admin = cryptosign_opts("alice", &ALICE, signer(ALICE)).authrole("admin");
    r.refused("realm1", admin, "wamp.error.no_such_role", "admin")
        .await;
    let nowhere = cryptosign_opts("alice", &ALICE, signer(ALICE));
    r.refused("realm9", nowhere, "wamp.error.no_such_realm", "realm9")
        .await;

    // nothing joined, and the router goes on
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(r.realm.session_count(), 0);
    let s = r
        .join("realm1", cryptosign_opts("alice", &ALICE, signer(ALICE)))
        .await
        .expect("a well-behaved session still joins");
    assert_welcome(&s, "alice", "user", "cryptosign");
    assert_eq!(r.realm.session_count(), 1);
}

#[tokio::test]
async fn ticket() {
    let r = start(false, None).await;
    let s = r
        .join("realm1", ticket_opts("bob", "s3cret"))
        .await
        .expect("bob joins");
    assert_welcome(&s, "bob", "user", "ticket");
    assert_can_call(&s).await;
    r.refused(
        "realm1",
        ticket_opts("bob", "s3cret "),
        "wamp.error.authentication_failed",
        "bob",
    )
    .await;
    r.refused(
        "realm1",
        ticket_opts("eve", "s3cret"),
        "wamp.error.no_such_principal",
        "eve",
    )
    .await;
    let no_authid = JoinOptions {
        authid: None,
        ..ticket_opts("bob", "s3cret")
    };
    r.refused("realm1", no_authid, "wamp.error.invalid_argument", "authid")
        .await;
    assert_eq!(r.realm.session_count(), 1);
}

#[tokio::test]
async fn anonymous() {
    let open = start(true, None).await;
    let s = open
        .join("realm1", JoinOptions::default())
        .await
        .expect("anonymous joins");
    let w = s.welcome();
    assert_eq!(w.authrole.as_deref(), Some("anonymous"));
    assert_eq!(w.authmethod.as_deref(), Some("anonymous"));
    let authid = w.authid.clone().unwrap_or_default();
    let groups: Vec<&str> = authid.split('-').collect();
    assert!(
        groups.len() == 6 && groups.iter().all(|g| g.len() == 4),
        "{authid}"
    );
    // offering ticket first still authenticates by ticket
    let t = open
        .join("realm1", ticket_opts("bob", "s3cret"))
        .await
        .expect("bob joins");
    assert_welcome(&t, "bob", "user", "ticket");

    let closed = start(false, None).await;
    closed
        .refused(
            "realm1",
            JoinOptions::default(),
            "wamp.error.no_auth_method",
            "anonymous",
        )
        .await;
    assert_eq!(closed.realm.session_count(), 0);
}

// === TLS ===

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A self-signed certificate for 127.0.0.1, or `None` when the `openssl` CLI is missing.
fn make_cert() -> Option<(TempDir, PathBuf, PathBuf)> {
    let dir = std::env::temp_dir().join(format!(
        "wamp-router-auth-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let dir = TempDir(dir);
    let (cert, key) = (dir.0.join("cert.pem"), dir.0.join("key.pem"));
    let args = "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2";
    let out = std::process::Command::new("openssl")
        .args(args.split(' '))
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .args([OsStr::new("-keyout"), key.as_os_str()])
        .args([OsStr::new("-out"), cert.as_os_str()])
        .output();
    let Ok(o) = out else {
        eprintln!("SKIPPED: no `openssl` binary to make a test certificate");
        return None;
    };
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "openssl: {err}");
    Some((dir, cert, key))
}

type Wss = tokio_tungstenite::WebSocketStream<SslStream<TcpStream>>;

/// A TLS client trusting only `cert`, optionally limited to TLS 1.2.
fn tls_client(cert: &Path, tls12: bool) -> SslConnector {
    let mut b = SslConnector::builder(SslMethod::tls_client()).expect("connector");
    b.set_ca_file(cert).expect("trust the test certificate");
    b.set_verify(SslVerifyMode::PEER);
    if tls12 {
        b.set_max_proto_version(Some(SslVersion::TLS1_2))
            .expect("max version");
    }
    b.build()
}

/// TLS then a `wamp.2.json` WebSocket, resuming `resume` if given. Returns the stream, the
/// `tls-unique` binding as the client sees it (RFC 5929: the first Finished message of the
/// latest handshake — the client's in a full one, the server's in a resumed one) and whether
/// the TLS session was resumed.
async fn wss_connect(
    addr: SocketAddr,
    tls: &SslConnector,
    resume: Option<&SslSession>,
) -> (Wss, [u8; LEN], bool) {
    let mut cfg = tls.configure().expect("configure");
    cfg.set_verify_hostname(false); // the certificate names the IP; the CA pin is the check
    let mut ssl = cfg.into_ssl("127.0.0.1").expect("ssl");
    if let Some(session) = resume {
        // openssl marks resuming a session unsafe (it must come from the same context)
        #[allow(unsafe_code)]
        // SAFETY: the session was made by a connection of the same SslConnector (context).
        let resumed = unsafe { ssl.set_session(session) };
        resumed.expect("set session");
    }
    let tcp = TcpStream::connect(addr).await.expect("tcp");
    let mut stream = SslStream::new(ssl, tcp).expect("ssl stream");
    Pin::new(&mut stream)
        .connect()
        .await
        .expect("TLS handshake");
    let reused = stream.ssl().session_reused();
    let mut finished = [0u8; 64];
    let n = if reused {
        stream.ssl().peer_finished(&mut finished)
    } else {
        stream.ssl().finished(&mut finished)
    };
    assert!(n > 0, "no Finished message");
    let binding = cryptosign::tls_unique_binding(&finished[..n]);
    let mut req = format!("wss://{addr}/ws")
        .into_client_request()
        .expect("request");
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("wamp.2.json"),
    );
    let (ws, _) = tokio_tungstenite::client_async(req, stream)
        .await
        .expect("WebSocket handshake over TLS");
    (ws, binding, reused)
}

async fn send(ws: &mut Wss, j: Json) {
    ws.send(WsMessage::Text(j.to_string().into()))
        .await
        .expect("send");
}

async fn recv(ws: &mut Wss) -> Json {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(3), ws.next())
            .await
            .expect("message in time")
            .expect("stream open")
            .expect("websocket ok");
        if let WsMessage::Text(t) = m {
            return serde_json::from_str(&t).expect("JSON");
        }
    }
}

/// HELLO asking for tls-unique, then AUTHENTICATE signed over the challenge XOR `binding`
/// (or over the bare challenge): the router's reply (WELCOME or ABORT).
async fn wss_cryptosign(ws: &mut Wss, binding: Option<&[u8; LEN]>) -> Json {
    let pubkey = hex::encode(cryptosign::public_key(&ALICE));
    let details = json!({"roles": {"caller": {}}, "authmethods": ["cryptosign"], "authid": "alice",
        "authextra": {"pubkey": pubkey, "channel_binding": "tls-unique"}});
    send(ws, json!([1, "realm1", details])).await;
    let challenge = recv(ws).await;
    assert_eq!(challenge[0], 4, "{challenge}");
    assert_eq!(challenge[1], "cryptosign");
    assert_eq!(challenge[2]["channel_binding"], "tls-unique");
    let c: [u8; LEN] = cryptosign::parse_hex(challenge[2]["challenge"].as_str().unwrap_or(""))
        .expect("challenge hex");
    let data = cryptosign::signed_data(&c, binding);
    send(ws, json!([5, cryptosign::sign(&ALICE, &data), {}])).await;
    recv(ws).await
}

fn assert_alice_welcome(reply: &Json) {
    assert_eq!(reply[0], 2, "{reply}");
    assert_eq!(reply[2]["authid"], "alice");
    assert_eq!(reply[2]["authmethod"], "cryptosign");
}

async fn tls_router() -> Option<(TempDir, PathBuf, TestRouter)> {
    let (dir, cert, key) = make_cert()?;
    let tls = TlsConfig::from_pem_files(&cert, &key).expect("TLS config");
    Some((dir, cert, start(false, Some(tls)).await))
}

#[tokio::test]
async fn tls_cryptosign_channel_binding() {
    let Some((_dir, cert, r)) = tls_router().await else {
        return;
    };
    for tls12 in [false, true] {
        let client = tls_client(&cert, tls12);
        let (mut ws, binding, _) = wss_connect(r.addr, &client, None).await;
        let version = ws.get_ref().ssl().version_str();
        assert_eq!(version, if tls12 { "TLSv1.2" } else { "TLSv1.3" });
        assert_alice_welcome(&wss_cryptosign(&mut ws, Some(&binding)).await);

        // signed without the binding it asked for
        let (mut ws, _, _) = wss_connect(r.addr, &client, None).await;
        let abort = wss_cryptosign(&mut ws, None).await;
        assert_eq!(abort[0], 3, "{abort}");
        assert_eq!(abort[2], "wamp.error.authentication_failed");
        // signed over the binding of another TLS connection
        let (mut ws, _, _) = wss_connect(r.addr, &client, None).await;
        let abort = wss_cryptosign(&mut ws, Some(&binding)).await;
        assert_eq!(abort[2], "wamp.error.authentication_failed", "{abort}");
    }
    // a plain ws:// client gets no session on the TLS port
    let plain = r
        .join("realm1", cryptosign_opts("alice", &ALICE, signer(ALICE)))
        .await;
    assert!(plain.is_err(), "plain ws:// joined a TLS listener");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        r.realm.session_count(),
        0,
        "the TLS clients are gone and nothing else joined"
    );
}

/// In a resumed TLS session the first Finished message is the server's: the router must bind
/// to that one, as Python's `ssl` (autobahn on asyncio) does.
#[tokio::test]
async fn tls_unique_on_resumed_session() {
    let Some((_dir, cert, r)) = tls_router().await else {
        return;
    };
    for tls12 in [false, true] {
        let client = tls_client(&cert, tls12);
        let (mut ws, binding, reused) = wss_connect(r.addr, &client, None).await;
        assert!(!reused);
        assert_alice_welcome(&wss_cryptosign(&mut ws, Some(&binding)).await);
        // TLS 1.3 tickets arrive after the handshake; the WELCOME read above has taken them in
        let session = ws.get_ref().ssl().session().expect("a session").to_owned();
        let (mut ws2, binding2, reused) = wss_connect(r.addr, &client, Some(&session)).await;
        assert!(
            reused,
            "the router did not resume the TLS session (tls12: {tls12})"
        );
        assert_ne!(binding, binding2);
        assert_alice_welcome(&wss_cryptosign(&mut ws2, Some(&binding2)).await);
    }
}
