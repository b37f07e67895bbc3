//! Remote calls into edge nodes for reconcilers: [`NodeCaller`] carries its timeout, so a
//! reconciler cannot make a call without one, and [`CallError`] tells apart "no answer",
//! "the node said no" and "the session is broken", which call for different error policies.

use std::time::Duration;

use wamp_client::{CallOptions, CallResult, Error as ClientError, Session};
use wamp_proto::{wamp_errors, Dict, Value};

/// Beyond the call timeout, how long sending the CALL itself may take (a full outgoing queue)
/// before the whole call is given up.
const SEND_GRACE: Duration = Duration::from_secs(1);

/// `crossbarfabriccenter.node.<authid>.<procedure>`: a procedure of an edge node.
pub fn node_uri(authid: &str, procedure: &str) -> String {
    crate::wire::node::uri(authid, procedure)
}

/// Why a remote call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No answer in time; the call was cancelled (`killnowait`).
    #[error("{procedure}: no answer within {after:?}")]
    Timeout { procedure: String, after: Duration },
    /// The callee (or the router on its behalf, e.g. `wamp.error.no_such_procedure` when the
    /// node is not connected) answered with an ERROR.
    #[error("{procedure}: {error}{}", message_suffix(args))]
    Remote {
        procedure: String,
        /// The ERROR's URI.
        error: String,
        args: Vec<Value>,
        kwargs: Dict,
    },
    /// The session could not carry the call (closed, protocol or codec failure).
    #[error("{procedure}: {source}")]
    Transport {
        procedure: String,
        source: ClientError,
    },
}

impl CallError {
    /// The procedure that was called.
    pub fn procedure(&self) -> &str {
        match self {
            CallError::Timeout { procedure, .. }
            | CallError::Remote { procedure, .. }
            | CallError::Transport { procedure, .. } => procedure,
        }
    }

    /// The ERROR's URI, for [`CallError::Remote`].
    pub fn error_uri(&self) -> Option<&str> {
        match self {
            CallError::Remote { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The ERROR's message (its first argument, if a string), for [`CallError::Remote`].
    pub fn message(&self) -> Option<&str> {
        match self {
            CallError::Remote { args, .. } => args.first().and_then(Value::as_str),
            _ => None,
        }
    }

    /// Whether nobody serves the procedure (for a node's procedure: the node is offline).
    pub fn is_no_such_procedure(&self) -> bool {
        self.error_uri() == Some(wamp_errors::NO_SUCH_PROCEDURE)
    }

    fn from_client(procedure: &str, after: Duration, e: ClientError) -> CallError {
        let procedure = procedure.to_owned();
        match e {
            ClientError::Timeout(_) => CallError::Timeout { procedure, after },
            ClientError::Wamp { uri, args, kwargs } => CallError::Remote {
                procedure,
                error: uri,
                args,
                kwargs,
            },
            source => CallError::Transport { procedure, source },
        }
    }
}

fn message_suffix(args: &[Value]) -> String {
    match args.first().and_then(Value::as_str) {
        Some(m) => format!(": {m}"),
        None => String::new(),
    }
}

/// Makes calls over one session, each bounded by the same timeout.
#[derive(Debug, Clone)]
pub struct NodeCaller {
    session: Session,
    timeout: Duration,
}

impl NodeCaller {
    /// Calls over `session`, each given up after `timeout`.
    pub fn new(session: Session, timeout: Duration) -> Self {
        NodeCaller { session, timeout }
    }

    /// The timeout of each call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The same caller with another timeout (for an operation known to be slow).
    pub fn with_timeout(&self, timeout: Duration) -> NodeCaller {
        NodeCaller {
            session: self.session.clone(),
            timeout,
        }
    }

    /// Calls `procedure` and waits for its final result, at most the timeout (plus up to
    /// one second if sending the CALL itself is held up).
    pub async fn call(
        &self,
        procedure: &str,
        args: Vec<Value>,
        kwargs: Dict,
    ) -> Result<CallResult, CallError> {
        let after = self.timeout;
        // The client enforces the timeout once the CALL is sent (and then cancels the call);
        // the outer bound also covers the send, whose queue may be full.
        let call = self
            .session
            .call(procedure, args, kwargs, CallOptions::timeout(after));
        let bound = after.saturating_add(SEND_GRACE);
        match tokio::time::timeout(bound, call).await {
            Ok(result) => result.map_err(|e| CallError::from_client(procedure, after, e)),
            Err(_) => Err(CallError::Timeout {
                procedure: procedure.to_owned(),
                after,
            }),
        }
    }

    /// Calls `procedure` of the node `authid` ([`node_uri`]).
    pub async fn call_node(
        &self,
        authid: &str,
        procedure: &str,
        args: Vec<Value>,
        kwargs: Dict,
    ) -> Result<CallResult, CallError> {
        self.call(&node_uri(authid, procedure), args, kwargs).await
    }
}

#[cfg(test)]
mod tests {
    //! Against an in-process router: a callee that answers, one that errors, one that never
    //! answers, a procedure nobody serves, and a closed session.

    use std::sync::Arc;

    use tokio::time::Instant;
    use wamp_client::{JoinOptions, RegisterOptions, Transport, WampError};
    use wamp_proto::dict;
    use wamp_router::{Permission, RealmConfig, Role, Router, RouterConfig};

    use super::*;

    async fn join(router: &Arc<Router>) -> Session {
        let (tx, rx) = router.connect_local();
        Session::join(Transport::local(tx, rx), JoinOptions::realm("realm1"))
            .await
            .expect("join")
    }

    /// A router with a node session serving `get_status` (answers), `fail` (errors) and
    /// `hang` (never answers) as `crossbarfabriccenter.node.n1.*`; returns a caller session.
    async fn setup() -> (Arc<Router>, Session, Session) {
        let router = Router::new(RouterConfig::default());
        let role = Role::new("anonymous", vec![Permission::allow_all()]);
        router
            .add_realm(RealmConfig::new("realm1", vec![role]))
            .expect("realm");
        let node = join(&router).await;
        let opts = RegisterOptions::default;
        node.register(&node_uri("n1", "get_status"), opts(), |inv| async move {
            let status = dict! { "status" => "running", "echo" => inv.args.len() };
            Ok((vec![status.into()], Dict::new()))
        })
        .await
        .expect("register");
        node.register(&node_uri("n1", "fail"), opts(), |_| async {
            let kwargs = dict! { "worker" => "rw1" };
            Err(
                WampError::with_message("crossbar.error.no_such_worker", "no worker rw1")
                    .kwargs(kwargs),
            )
        })
        .await
        .expect("register");
        node.register(&node_uri("n1", "hang"), opts(), |_| async {
            std::future::pending::<()>().await;
            Ok((Vec::new(), Dict::new()))
        })
        .await
        .expect("register");
        let caller = join(&router).await;
        (router, node, caller)
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_is_returned_as_is() {
        let (_router, _node, session) = setup().await;
        let caller = NodeCaller::new(session, Duration::from_secs(5));
        let r = caller
            .call_node("n1", "get_status", vec![1.into(), 2.into()], Dict::new())
            .await
            .expect("answer");
        let status = r.args.first().and_then(Value::as_dict).expect("dict");
        assert_eq!(
            status.get("status").and_then(Value::as_str),
            Some("running")
        );
        assert_eq!(status.get("echo").and_then(Value::as_u64), Some(2));
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_from_the_node_keeps_its_uri_and_payload() {
        let (_router, _node, session) = setup().await;
        let caller = NodeCaller::new(session, Duration::from_secs(5));
        let e = caller
            .call_node("n1", "fail", Vec::new(), Dict::new())
            .await
            .expect_err("error");
        let CallError::Remote {
            procedure,
            error,
            kwargs,
            ..
        } = &e
        else {
            panic!("expected Remote, got {e:?}");
        };
        assert_eq!(procedure, "crossbarfabriccenter.node.n1.fail");
        assert_eq!(error, "crossbar.error.no_such_worker");
        assert_eq!(e.message(), Some("no worker rw1"));
        assert_eq!(kwargs.get("worker").and_then(Value::as_str), Some("rw1"));
        assert!(!e.is_no_such_procedure());
        assert_eq!(
            e.to_string(),
            "crossbarfabriccenter.node.n1.fail: crossbar.error.no_such_worker: no worker rw1"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_node_that_never_answers_times_out_at_the_callers_timeout() {
        let (_router, _node, session) = setup().await;
        let caller =
            NodeCaller::new(session, Duration::from_secs(30)).with_timeout(Duration::from_secs(7));
        let started = Instant::now();
        let e = caller
            .call_node("n1", "hang", Vec::new(), Dict::new())
            .await
            .expect_err("timeout");
        assert_eq!(started.elapsed(), Duration::from_secs(7));
        assert!(
            matches!(&e, CallError::Timeout { after, .. } if *after == Duration::from_secs(7)),
            "{e:?}"
        );
        // the session is still usable afterwards
        caller
            .call_node("n1", "get_status", Vec::new(), Dict::new())
            .await
            .expect("answer after a timeout");
    }

    #[tokio::test(start_paused = true)]
    async fn an_unserved_procedure_is_no_such_procedure() {
        let (_router, _node, session) = setup().await;
        let caller = NodeCaller::new(session, Duration::from_secs(5));
        let e = caller
            .call_node("n2", "get_status", Vec::new(), Dict::new())
            .await
            .expect_err("no callee");
        assert!(e.is_no_such_procedure(), "{e:?}");
        assert_eq!(e.procedure(), "crossbarfabriccenter.node.n2.get_status");
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_session_is_a_transport_error() {
        let (_router, _node, session) = setup().await;
        session.leave().await.expect("leave");
        let caller = NodeCaller::new(session, Duration::from_secs(5));
        let started = Instant::now();
        let e = caller
            .call_node("n1", "get_status", Vec::new(), Dict::new())
            .await
            .expect_err("closed");
        assert!(matches!(e, CallError::Transport { .. }), "{e:?}");
        assert_eq!(started.elapsed(), Duration::ZERO, "failed at once");
    }
}
