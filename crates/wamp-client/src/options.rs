//! Options of every client operation, and how each turns into the WAMP `Options` dict.
//!
//! Every options struct has public fields, a `Default`, and an `other` dict for options this
//! crate does not model; typed fields win over `other` on a clash.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use wamp_proto::{Dict, Id, MatchPolicy, Serializer, Value};

use crate::error::Error;
use crate::types::{AuthenticateResponse, Challenge};

/// How to open a WebSocket transport.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The WAMP subprotocol to offer (the only one; the server must accept it).
    pub serializer: Serializer,
    /// Largest WebSocket message accepted from the server, and largest batch built for it.
    pub max_message_size: usize,
    /// Time allowed for TCP connect plus the WebSocket opening handshake.
    pub connect_timeout: Duration,
    /// Capacity of the outgoing message queue (senders wait when it is full).
    pub queue_size: usize,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            serializer: Serializer::CBOR,
            max_message_size: 16 * 1024 * 1024,
            connect_timeout: Duration::from_secs(10),
            queue_size: 1024,
        }
    }
}

impl ConnectOptions {
    /// Default options with another serializer.
    pub fn with_serializer(serializer: Serializer) -> Self {
        ConnectOptions {
            serializer,
            ..Default::default()
        }
    }
}

/// Answers a CHALLENGE during the opening handshake.
pub type ChallengeHandler =
    Arc<dyn Fn(Challenge) -> BoxFuture<'static, Result<AuthenticateResponse, Error>> + Send + Sync>;

/// How to join a realm (the HELLO message).
#[derive(Clone, Default)]
pub struct JoinOptions {
    /// Realm to join; `None` lets the router assign one.
    pub realm: Option<String>,
    pub authid: Option<String>,
    pub authrole: Option<String>,
    /// Authentication methods offered, e.g. `["cryptosign"]`; empty means anonymous.
    pub authmethods: Vec<String>,
    pub authextra: Dict,
    /// Answers a CHALLENGE; without one, a CHALLENGE fails the join.
    pub on_challenge: Option<ChallengeHandler>,
    /// Time allowed for the whole handshake (default 10 s).
    pub timeout: Option<Duration>,
}

impl std::fmt::Debug for JoinOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinOptions")
            .field("realm", &self.realm)
            .field("authid", &self.authid)
            .field("authrole", &self.authrole)
            .field("authmethods", &self.authmethods)
            .field("authextra", &self.authextra)
            .field("on_challenge", &self.on_challenge.is_some())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl JoinOptions {
    /// Anonymous join of `realm`.
    pub fn realm(realm: impl Into<String>) -> Self {
        JoinOptions {
            realm: Some(realm.into()),
            ..Default::default()
        }
    }

    pub fn authid(mut self, authid: impl Into<String>) -> Self {
        self.authid = Some(authid.into());
        self
    }

    pub fn authrole(mut self, authrole: impl Into<String>) -> Self {
        self.authrole = Some(authrole.into());
        self
    }

    pub fn authmethods<S: Into<String>>(mut self, methods: impl IntoIterator<Item = S>) -> Self {
        self.authmethods = methods.into_iter().map(Into::into).collect();
        self
    }

    pub fn authextra(mut self, authextra: Dict) -> Self {
        self.authextra = authextra;
        self
    }

    /// Sets an async challenge handler.
    pub fn on_challenge<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Challenge) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<AuthenticateResponse, Error>> + Send + 'static,
    {
        self.on_challenge = Some(Arc::new(move |c| Box::pin(f(c))));
        self
    }

    /// Sets a synchronous challenge handler.
    pub fn on_challenge_sync<F>(mut self, f: F) -> Self
    where
        F: Fn(Challenge) -> Result<AuthenticateResponse, Error> + Send + Sync + 'static,
    {
        self.on_challenge = Some(Arc::new(move |c| {
            let r = f(c);
            Box::pin(async move { r })
        }));
        self
    }
}

/// How to cancel a call (the CANCEL `mode` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CancelMode {
    /// The router answers the caller at once and does not tell the callee.
    Skip,
    /// The router interrupts the callee and answers once the callee has answered.
    #[default]
    Kill,
    /// The router interrupts the callee and answers the caller at once.
    KillNoWait,
}

impl CancelMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CancelMode::Skip => "skip",
            CancelMode::Kill => "kill",
            CancelMode::KillNoWait => "killnowait",
        }
    }
}

/// Options of a CALL.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// Enforced by the client: when it expires the call fails with [`Error::Timeout`] and a
    /// CANCEL (`killnowait`) is sent. Not sent to the router: Crossbar reads the `timeout`
    /// option as seconds while the spec says milliseconds (put it in `other` if you want it).
    pub timeout: Option<Duration>,
    /// Ask for progressive results (use [`crate::Session::call_progressive`] to see them).
    pub receive_progress: bool,
    /// Ask the router to disclose this caller's identity to the callee.
    pub disclose_me: Option<bool>,
    pub other: Dict,
}

impl CallOptions {
    pub fn timeout(timeout: Duration) -> Self {
        CallOptions {
            timeout: Some(timeout),
            ..Default::default()
        }
    }

    pub(crate) fn to_dict(&self) -> Dict {
        let mut d = self.other.clone();
        if self.receive_progress {
            d.insert("receive_progress".into(), true.into());
        }
        put_opt(&mut d, "disclose_me", self.disclose_me);
        d
    }
}

/// How the dealer picks among several callees of a shared registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvokePolicy {
    Single,
    RoundRobin,
    Random,
    First,
    Last,
}

impl InvokePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            InvokePolicy::Single => "single",
            InvokePolicy::RoundRobin => "roundrobin",
            InvokePolicy::Random => "random",
            InvokePolicy::First => "first",
            InvokePolicy::Last => "last",
        }
    }
}

/// Options of a REGISTER.
#[derive(Debug, Clone)]
pub struct RegisterOptions {
    pub match_policy: MatchPolicy,
    pub invoke: Option<InvokePolicy>,
    /// Most invocations the router may have outstanding on this registration.
    pub concurrency: Option<u32>,
    pub force_reregister: Option<bool>,
    pub other: Dict,
}

impl Default for RegisterOptions {
    fn default() -> Self {
        RegisterOptions {
            match_policy: MatchPolicy::Exact,
            invoke: None,
            concurrency: None,
            force_reregister: None,
            other: Dict::new(),
        }
    }
}

impl RegisterOptions {
    pub fn with_match(match_policy: MatchPolicy) -> Self {
        RegisterOptions {
            match_policy,
            ..Default::default()
        }
    }

    pub(crate) fn to_dict(&self) -> Dict {
        let mut d = self.other.clone();
        put_match(&mut d, self.match_policy);
        if let Some(invoke) = self.invoke {
            d.insert("invoke".into(), invoke.as_str().into());
        }
        put_opt(&mut d, "concurrency", self.concurrency);
        put_opt(&mut d, "force_reregister", self.force_reregister);
        d
    }
}

/// Options of a SUBSCRIBE.
#[derive(Debug, Clone)]
pub struct SubscribeOptions {
    pub match_policy: MatchPolicy,
    /// Ask for the retained event of the topic, if any.
    pub get_retained: Option<bool>,
    pub other: Dict,
}

impl Default for SubscribeOptions {
    fn default() -> Self {
        SubscribeOptions {
            match_policy: MatchPolicy::Exact,
            get_retained: None,
            other: Dict::new(),
        }
    }
}

impl SubscribeOptions {
    pub fn with_match(match_policy: MatchPolicy) -> Self {
        SubscribeOptions {
            match_policy,
            ..Default::default()
        }
    }

    pub(crate) fn to_dict(&self) -> Dict {
        let mut d = self.other.clone();
        put_match(&mut d, self.match_policy);
        put_opt(&mut d, "get_retained", self.get_retained);
        d
    }
}

/// Options of a PUBLISH.
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    /// Wait for PUBLISHED and return the publication id.
    pub acknowledge: bool,
    /// `Some(false)` lets this session receive its own event (routers default to excluding it).
    pub exclude_me: Option<bool>,
    pub eligible: Vec<Id>,
    pub exclude: Vec<Id>,
    pub eligible_authid: Vec<String>,
    pub exclude_authid: Vec<String>,
    pub eligible_authrole: Vec<String>,
    pub exclude_authrole: Vec<String>,
    pub disclose_me: Option<bool>,
    pub retain: Option<bool>,
    pub other: Dict,
}

impl PublishOptions {
    /// Options of an acknowledged publish.
    pub fn acknowledged() -> Self {
        PublishOptions {
            acknowledge: true,
            ..Default::default()
        }
    }

    pub(crate) fn to_dict(&self) -> Dict {
        let mut d = self.other.clone();
        if self.acknowledge {
            d.insert("acknowledge".into(), true.into());
        }
        put_opt(&mut d, "exclude_me", self.exclude_me);
        put_list(&mut d, "eligible", &self.eligible);
        put_list(&mut d, "exclude", &self.exclude);
        put_list(&mut d, "eligible_authid", &self.eligible_authid);
        put_list(&mut d, "exclude_authid", &self.exclude_authid);
        put_list(&mut d, "eligible_authrole", &self.eligible_authrole);
        put_list(&mut d, "exclude_authrole", &self.exclude_authrole);
        put_opt(&mut d, "disclose_me", self.disclose_me);
        put_opt(&mut d, "retain", self.retain);
        d
    }
}

fn put_opt<T: Into<Value>>(d: &mut Dict, key: &str, v: Option<T>) {
    if let Some(v) = v {
        d.insert(key.into(), v.into());
    }
}

fn put_list<T: Clone + Into<Value>>(d: &mut Dict, key: &str, items: &[T]) {
    if !items.is_empty() {
        let list = items
            .iter()
            .cloned()
            .map(Into::into)
            .collect::<Vec<Value>>();
        d.insert(key.into(), Value::List(list));
    }
}

fn put_match(d: &mut Dict, policy: MatchPolicy) {
    if policy != MatchPolicy::Exact {
        d.insert("match".into(), policy.as_str().into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_options_omit_defaults() {
        assert!(PublishOptions::default().to_dict().is_empty());
        let o = PublishOptions {
            acknowledge: true,
            exclude_me: Some(false),
            eligible: vec![7],
            exclude_authrole: vec!["node".into()],
            ..Default::default()
        };
        let d = o.to_dict();
        assert_eq!(d.get("acknowledge"), Some(&Value::Bool(true)));
        assert_eq!(d.get("exclude_me"), Some(&Value::Bool(false)));
        assert_eq!(d.get("eligible"), Some(&Value::List(vec![Value::Int(7)])));
        assert_eq!(
            d.get("exclude_authrole"),
            Some(&Value::List(vec!["node".into()]))
        );
        assert_eq!(d.len(), 4);
    }

    #[test]
    fn match_policy_is_sent_only_when_not_exact() {
        assert!(SubscribeOptions::default().to_dict().is_empty());
        let d = RegisterOptions::with_match(MatchPolicy::Wildcard).to_dict();
        assert_eq!(d.get("match"), Some(&Value::from("wildcard")));
    }

    #[test]
    fn call_options_typed_fields_win_over_other() {
        let mut other = Dict::new();
        other.insert("receive_progress".into(), false.into());
        let o = CallOptions {
            receive_progress: true,
            other,
            ..Default::default()
        };
        assert_eq!(
            o.to_dict().get("receive_progress"),
            Some(&Value::Bool(true))
        );
    }
}
