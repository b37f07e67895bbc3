//! Pairing through the global realm `com.crossbario.fabric` as the superuser (WIRE.md §6):
//! create the management realm if missing and wait until it serves, then `pair_node` every
//! node that is not yet paired, many calls in flight at once.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use wamp_client::{
    AuthenticateResponse, CallOptions, Challenge, Client, ConnectOptions, Error, JoinOptions,
    Session,
};
use wamp_proto::cryptosign::{self, LEN};
use wamp_proto::keyfile::KeyFile;
use wamp_proto::{dict, Dict, Value};

use crate::error::SimError;
use crate::keys::NodeKey;

const P: &str = "crossbarfabriccenter.mrealm.";
const CALL_WAIT: Duration = Duration::from_secs(60);
const MREALM_WAIT: Duration = Duration::from_secs(120);
/// Pairing calls in flight at once.
const PIPELINE: usize = 256;

/// The superuser's identity from a Crossbar private key file.
pub struct Superuser {
    secret: [u8; LEN],
    pubkey: String,
    authid: String,
}

impl Superuser {
    pub fn load(path: &Path) -> Result<Superuser, SimError> {
        let bad = |reason: String| SimError::Keys {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let kf = KeyFile::parse(&text).map_err(|e| bad(e.to_string()))?;
        let secret = kf
            .private_key()
            .map_err(|e| bad(e.to_string()))?
            .ok_or_else(|| bad("holds no private key".into()))?;
        Ok(Superuser {
            secret,
            pubkey: hex::encode(cryptosign::public_key(&secret)),
            authid: kf.get("user-id").unwrap_or("unknown").to_owned(),
        })
    }

    /// Joins `realm` (`None`: the global realm).
    pub async fn join(&self, url: &str, realm: Option<&str>) -> Result<Session, SimError> {
        let secret = self.secret;
        let mut opts = JoinOptions::default()
            .authmethods(["cryptosign"])
            .authid(self.authid.clone())
            .authextra(dict! { "pubkey" => self.pubkey.clone() })
            .on_challenge_sync(move |c: Challenge| sign(&secret, &c));
        opts.realm = realm.map(str::to_owned);
        let joined = tokio::time::timeout(
            Duration::from_secs(15),
            Client::connect_and_join(url, ConnectOptions::default(), opts),
        )
        .await;
        let fail = |reason: String| SimError::Superuser {
            url: url.to_owned(),
            reason,
        };
        match joined {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => Err(fail(e.to_string())),
            Err(_) => Err(fail("no answer within 15 s".into())),
        }
    }
}

fn sign(secret: &[u8; LEN], c: &Challenge) -> Result<AuthenticateResponse, Error> {
    let hex = c.extra.get("challenge").and_then(Value::as_str);
    let bytes: [u8; LEN] = hex
        .and_then(|h| cryptosign::parse_hex(h).ok())
        .ok_or_else(|| Error::Auth("no valid cryptosign challenge".into()))?;
    Ok(AuthenticateResponse::new(cryptosign::sign(secret, &bytes)))
}

async fn call(s: &Session, what: &str, uri: &str, args: Vec<Value>) -> Result<Value, SimError> {
    let kwargs = if uri.ends_with("list_mrealms") {
        dict! { "return_names" => true }
    } else {
        Dict::new()
    };
    match s
        .call(uri, args, kwargs, CallOptions::timeout(CALL_WAIT))
        .await
    {
        Ok(r) => Ok(r.args.into_iter().next().unwrap_or(Value::Null)),
        Err(e) => Err(call_error(what, e)),
    }
}

fn call_error(what: &str, e: Error) -> SimError {
    match e {
        Error::Wamp { uri, args, .. } => SimError::Call {
            what: what.to_owned(),
            uri,
            message: args
                .first()
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        },
        other => SimError::Call {
            what: what.to_owned(),
            uri: String::new(),
            message: other.to_string(),
        },
    }
}

/// Creates management realm `name` if it does not exist, then waits until it serves.
pub async fn ensure_mrealm(
    su: &Superuser,
    s: &Session,
    url: &str,
    name: &str,
) -> Result<(), SimError> {
    let names = call(
        s,
        "list management realms",
        &format!("{P}list_mrealms"),
        vec![],
    )
    .await?;
    let exists = names
        .as_list()
        .is_some_and(|l| l.iter().any(|n| n.as_str() == Some(name)));
    if !exists {
        let obj = Value::Dict(dict! { "name" => name });
        let what = format!("create management realm \"{name}\"");
        call(s, &what, &format!("{P}create_mrealm"), vec![obj]).await?;
    }
    wait_running(su, url, name).await
}

/// Waits until the superuser can join `name` and its controller answers `get_status`.
async fn wait_running(su: &Superuser, url: &str, name: &str) -> Result<(), SimError> {
    let deadline = Instant::now() + MREALM_WAIT;
    while Instant::now() < deadline {
        if let Ok(s) = su.join(url, Some(name)).await {
            let ok = call(&s, "probe", &format!("{P}get_status"), vec![])
                .await
                .is_ok();
            let _ = tokio::time::timeout(Duration::from_secs(2), s.leave()).await;
            if ok {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(SimError::MrealmNotRunning(name.to_owned()))
}

/// Pairs `(authid, key)` nodes to `mrealm`, many at once; an already paired key counts as
/// paired. Returns the authids paired and the failures (one line each).
pub async fn pair_nodes(
    s: &Session,
    mrealm: &str,
    nodes: Vec<(String, NodeKey)>,
) -> (Vec<String>, Vec<String>) {
    let uri = format!("{P}pair_node");
    let results: Vec<(String, Result<(), SimError>)> = stream::iter(nodes)
        .map(|(authid, key)| {
            let uri = uri.clone();
            async move {
                let args = vec![
                    key.pubkey_hex().into(),
                    mrealm.into(),
                    authid.clone().into(),
                ];
                let r = call(s, &format!("pair node {authid}"), &uri, args).await;
                let r = match r {
                    Err(SimError::Call { uri, .. }) if uri == "fabric.node-already-paired" => {
                        Ok(())
                    }
                    other => other.map(|_| ()),
                };
                (authid, r)
            }
        })
        .buffer_unordered(PIPELINE)
        .collect()
        .await;
    let (mut paired, mut failed) = (Vec::new(), Vec::new());
    for (authid, r) in results {
        match r {
            Ok(()) => paired.push(authid),
            Err(e) => failed.push(e.to_string()),
        }
    }
    (paired, failed)
}
