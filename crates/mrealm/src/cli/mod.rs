//! Shared machinery of the operator commands (`status`, `mrealm …`, `node …`): connection
//! options, a cryptosign session as the operator, calls with bounded waits, and one-line
//! error messages (what failed, the WAMP error URI, a hint).

pub mod output;
pub mod profile;

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use wamp_client::{
    AuthenticateResponse, CallOptions, Challenge, Client, ConnectOptions, Dict, Error, JoinOptions,
    Session, Value,
};
use wamp_proto::cryptosign;

use profile::Identity;

/// How long connecting and joining may take.
const JOIN_WAIT: Duration = Duration::from_secs(10);
/// How long one call may take.
const CALL_WAIT: Duration = Duration::from_secs(30);

/// Connection options shared by all operator commands.
#[derive(Debug, Clone, Args)]
pub struct ConnArgs {
    /// Master URL [default: the profile's `url`, else ws://127.0.0.1:9000/ws].
    #[arg(long, env = "CROSSBAR_FABRIC_URL", global = true)]
    pub url: Option<String>,
    /// Crossbar private key file (e.g. default.priv) [default: the profile's `privkey`].
    #[arg(long, value_name = "FILE", global = true)]
    pub key: Option<PathBuf>,
    /// Management realm to join (none: the global realm).
    #[arg(long, value_name = "NAME", global = true)]
    pub realm: Option<String>,
    /// Print the exact results as JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

/// An open session to the master.
pub struct Conn {
    session: Session,
}

impl Conn {
    /// Joins `realm` (`None`: the global realm) as the operator.
    pub async fn open(args: &ConnArgs, realm: Option<&str>) -> anyhow::Result<Conn> {
        let url = profile::resolve_url(args.url.as_deref());
        let id = profile::load_identity(&profile::resolve_key_path(args.key.as_deref()))?;
        let opts = join_options(&id, realm);
        let joined = tokio::time::timeout(
            JOIN_WAIT,
            Client::connect_and_join(&url, ConnectOptions::default(), opts),
        )
        .await;
        match joined {
            Ok(Ok(session)) => Ok(Conn { session }),
            Ok(Err(e)) => Err(join_error(&url, realm, &id, e)),
            Err(_) => Err(anyhow::anyhow!(
                "cannot connect to {url}: no answer within {} s — is the master running?",
                JOIN_WAIT.as_secs()
            )),
        }
    }

    /// Calls `uri`; `what` names the action for the error line (`cannot <what>: …`).
    pub async fn call(
        &self,
        what: &str,
        uri: &str,
        args: Vec<Value>,
        kwargs: Dict,
    ) -> Result<Value, CallFailure> {
        let opts = CallOptions::timeout(CALL_WAIT);
        match self.session.call(uri, args, kwargs, opts).await {
            Ok(r) => Ok(r.args.into_iter().next().unwrap_or(Value::Null)),
            Err(error) => Err(CallFailure {
                what: what.to_owned(),
                error,
            }),
        }
    }

    /// The underlying session (for subscriptions).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Leaves the session (bounded; a failure to say goodbye is not an error).
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.session.leave()).await;
    }
}

fn join_options(id: &Identity, realm: Option<&str>) -> JoinOptions {
    let secret = id.secret;
    let mut extra = Dict::new();
    extra.insert("pubkey".into(), Value::Str(id.pubkey.clone()));
    let mut opts = JoinOptions::default()
        .authmethods(["cryptosign"])
        .authid(id.authid.clone())
        .authextra(extra)
        .on_challenge_sync(move |c: Challenge| sign_challenge(&secret, &c));
    opts.realm = realm.map(str::to_owned);
    opts
}

fn sign_challenge(
    secret: &[u8; cryptosign::LEN],
    c: &Challenge,
) -> Result<AuthenticateResponse, Error> {
    let hex = c.extra.get("challenge").and_then(Value::as_str);
    let bytes: [u8; cryptosign::LEN] = hex
        .and_then(|h| cryptosign::parse_hex(h).ok())
        .ok_or_else(|| Error::Auth("the master sent no valid cryptosign challenge".into()))?;
    Ok(AuthenticateResponse::new(cryptosign::sign(secret, &bytes)))
}

fn join_error(url: &str, realm: Option<&str>, id: &Identity, e: Error) -> anyhow::Error {
    let realm = realm.unwrap_or("the global realm");
    match e {
        Error::Aborted {
            reason, message, ..
        } => {
            let msg = message.map(|m| format!(" ({m})")).unwrap_or_default();
            if reason.contains("no_such_realm") || reason.contains("no_such_role") {
                return anyhow::anyhow!(
                    "cannot join {realm} at {url}: {reason}{msg} — check the name with `mrealm mrealm list`"
                );
            }
            anyhow::anyhow!(
                "cannot join {realm} at {url} as \"{}\": authentication failed: {reason}{msg} — is {} \
                 the master's superuser key (CROSSBAR_FABRIC_SUPERUSER) or a user key?",
                id.authid,
                id.path.display()
            )
        }
        other => anyhow::anyhow!("cannot connect to {url}: is the master running? ({other})"),
    }
}

/// A failed call, rendered as one line with a hint.
#[derive(Debug)]
pub struct CallFailure {
    pub what: String,
    pub error: Error,
}

impl CallFailure {
    /// The WAMP error URI, if the master answered with an error.
    pub fn uri(&self) -> Option<&str> {
        match &self.error {
            Error::Wamp { uri, .. } => Some(uri),
            _ => None,
        }
    }

    /// The error line, with `hint` or the generic hint for the URI.
    pub fn with_hint(self, hint: Option<String>) -> anyhow::Error {
        let Error::Wamp { uri, args, .. } = &self.error else {
            return anyhow::anyhow!("cannot {}: {}", self.what, self.error);
        };
        let msg = args
            .first()
            .map(|a| format!(" ({})", output::cell(a)))
            .unwrap_or_default();
        let hint = hint.or_else(|| generic_hint(uri).map(str::to_owned));
        let hint = hint.map(|h| format!(" — {h}")).unwrap_or_default();
        anyhow::anyhow!("cannot {}: {uri}{msg}{hint}", self.what)
    }
}

impl From<CallFailure> for anyhow::Error {
    fn from(f: CallFailure) -> Self {
        f.with_hint(None)
    }
}

fn generic_hint(uri: &str) -> Option<&'static str> {
    Some(match uri {
        "crossbar.error.no_such_object" => {
            "check the name with `mrealm mrealm list` or `mrealm node list --realm R`"
        }
        "crossbar.error.already_exists" => "choose another name",
        "crossbar.error.dependent_objects" => "add --cascade to unpair its nodes first",
        "fabric.invalid-realm" => {
            "names have 3 to 255 letters, digits or _-@. and start with a letter"
        }
        "fabric.node-already-paired" => "try `mrealm node unpair KEY` first",
        "fabric.node-not-paired" => "the node is not paired to any management realm",
        "fabric.not-authorized" | "wamp.error.not_authorized" => {
            "the key's user lacks the role for this"
        }
        "wamp.error.no_such_procedure" => "management realm commands need --realm NAME",
        "wamp.error.invalid_argument" => "check the arguments with --help",
        _ => return None,
    })
}

/// Whether `s` looks like a UUID (8-4-4-4-12 hex digits).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A keyword-argument dict from pairs.
pub fn kwargs<const N: usize>(pairs: [(&str, Value); N]) -> Dict {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_uuids() {
        assert!(is_uuid("6f1d2c3a-0000-4abc-8def-0123456789ab"));
        assert!(!is_uuid("default"));
        assert!(!is_uuid("6f1d2c3a-0000-4abc-8def-0123456789ag"));
    }
}
