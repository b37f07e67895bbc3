//! `wamp-router`: an embeddable WAMP v2 router.
//!
//! A [`Router`] holds realms (added and removed at run time), authenticates sessions through an
//! [`auth::Authenticator`], and serves them over WebSocket ([`Router::serve`]) or in-process
//! ([`Router::connect_local`]). Routing itself — broker, dealer, meta API — lives in the realm.

pub mod admission;
pub mod auth;
pub mod broker;
mod calls;
pub mod dealer;
pub mod driver;
pub mod error;
pub mod limits;
mod meta;
pub mod outgoing;
pub mod pattern;
mod ratelog;
pub mod realm;
pub mod role;
pub mod session;
pub mod transport;
pub mod util;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ratelog::warn_limited;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};
use wamp_proto::Message;

pub use auth::{Authenticator, Principal};
pub use error::{Abort, RouterError};
pub use limits::SessionLimits;
pub use realm::{Realm, RealmConfig};
pub use role::{Action, Permission, Role};
pub use transport::tls::TlsConfig;

/// Transport settings of a router.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// WebSocket path (`/ws`).
    pub path: String,
    /// Largest WebSocket message accepted.
    pub max_message_size: usize,
    /// Interval of WebSocket pings to each client.
    pub ping_interval: Duration,
    /// How long a pong may take before the connection is dropped.
    pub ping_timeout: Duration,
    /// Time allowed for the HTTP upgrade request.
    pub handshake_timeout: Duration,
    /// Largest WebSocket message (and most bytes in all) a connection may send before its
    /// session is welcomed.
    pub max_handshake_message_size: usize,
    /// Longest URI (topic, procedure, realm) accepted, in bytes.
    pub max_uri_length: usize,
    /// Messages queued per session before it counts as too slow and is dropped.
    pub queue_len: usize,
    /// Bytes queued per session before it counts as too slow and is dropped.
    pub queue_bytes: usize,
    /// Bytes queued for all sessions together; past it, the sessions holding more than their
    /// share are dropped as too slow.
    pub queue_bytes_total: usize,
    /// Connections held at once (listener-wide); more are refused (HTTP 503 / closed).
    pub max_connections: usize,
    /// Connections at once that have not reached WELCOME yet; more are refused like above.
    pub max_handshakes: usize,
    /// Connections held at once from one address (IPv6: one /64).
    pub max_connections_per_ip: usize,
    /// Connections at once from one address that have not reached WELCOME yet.
    pub max_handshakes_per_ip: usize,
    /// What one session may hold in a realm.
    pub session_limits: SessionLimits,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            path: "/ws".into(),
            max_message_size: 1024 * 1024,
            ping_interval: Duration::from_secs(10),
            ping_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(5),
            max_handshake_message_size: 64 * 1024,
            max_uri_length: 512,
            queue_len: 16 * 1024,
            queue_bytes: 16 * 1024 * 1024,
            queue_bytes_total: 256 * 1024 * 1024,
            max_connections: 10_000,
            max_handshakes: 1_000,
            max_connections_per_ip: 10_000,
            max_handshakes_per_ip: 500,
            session_limits: SessionLimits::default(),
        }
    }
}

/// The router: realms and the authenticator, shared by all connections.
pub struct Router {
    config: RouterConfig,
    realms: RwLock<HashMap<String, Arc<Realm>>>,
    authenticator: RwLock<Arc<dyn Authenticator>>,
    gauges: admission::Gauges,
    /// Bytes queued for all network sessions (`queue_bytes_total`).
    queued: Arc<outgoing::QueueBudget>,
}

impl Router {
    /// A router with no realms that lets anonymous sessions in as `anonymous`.
    pub fn new(config: RouterConfig) -> Arc<Router> {
        let auth: Arc<dyn Authenticator> = Arc::new(auth::AnonymousAuth {
            authrole: "anonymous".into(),
        });
        Arc::new(Router {
            realms: RwLock::new(HashMap::new()),
            authenticator: RwLock::new(auth),
            gauges: admission::Gauges::default(),
            queued: Arc::new(outgoing::QueueBudget::new(config.queue_bytes_total)),
            config,
        })
    }

    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    pub fn authenticator(&self) -> Arc<dyn Authenticator> {
        self.authenticator
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the authenticator for sessions that say HELLO from now on.
    pub fn set_authenticator(&self, auth: Arc<dyn Authenticator>) {
        *self
            .authenticator
            .write()
            .unwrap_or_else(|e| e.into_inner()) = auth;
    }

    /// Adds a realm.
    pub fn add_realm(&self, config: RealmConfig) -> Result<Arc<Realm>, RouterError> {
        let mut realms = self.realms.write().unwrap_or_else(|e| e.into_inner());
        if realms.contains_key(&config.name) {
            return Err(RouterError::RealmExists(config.name));
        }
        let realm = Realm::new(config);
        realm.set_limits(self.config.session_limits);
        realm.set_max_uri_length(self.config.max_uri_length);
        realms.insert(realm.name.clone(), realm.clone());
        info!(realm = %realm.name, "realm started");
        Ok(realm)
    }

    /// Removes a realm, closing its sessions with `wamp.close.close_realm`.
    pub fn remove_realm(&self, name: &str) -> bool {
        let removed = self
            .realms
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        match removed {
            Some(realm) => {
                realm.close_all(wamp_proto::wamp_errors::CLOSE_REALM, "realm removed");
                info!(realm = %name, "realm stopped");
                true
            }
            None => false,
        }
    }

    pub fn realm(&self, name: &str) -> Option<Arc<Realm>> {
        self.realms
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Names of all realms, sorted.
    pub fn realm_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .realms
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// How many realms there are.
    pub fn realm_count(&self) -> usize {
        self.realms.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Sessions joined on all realms.
    pub fn session_count(&self) -> usize {
        let realms: Vec<Arc<Realm>> = self
            .realms
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        realms.iter().map(|r| r.session_count()).sum()
    }

    /// Open WebSocket connections (all states) and those of them still in their handshake.
    pub fn connection_counts(&self) -> (usize, usize) {
        (self.gauges.connections.get(), self.gauges.handshakes.get())
    }

    /// Bytes queued for all network sessions now.
    pub fn queued_bytes(&self) -> usize {
        self.queued.total()
    }

    /// The byte budget shared by the outbound queues of network sessions.
    pub(crate) fn queue_budget(&self) -> &Arc<outgoing::QueueBudget> {
        &self.queued
    }

    /// A place for a new connection from `peer`, or the limit that refuses it.
    fn admit(&self, peer: SocketAddr) -> Result<admission::Admission, admission::Refused> {
        let c = &self.config;
        let bounds = admission::Bounds {
            connections: c.max_connections,
            handshakes: c.max_handshakes,
            connections_per_ip: c.max_connections_per_ip,
            handshakes_per_ip: c.max_handshakes_per_ip,
        };
        self.gauges.admit(peer.ip(), bounds)
    }

    /// Opens an in-process session transport (see [`transport::local::connect`]).
    pub fn connect_local(self: &Arc<Self>) -> (mpsc::Sender<Message>, mpsc::Receiver<Message>) {
        transport::local::connect(self.clone())
    }

    /// Accepts WebSocket connections on `listener` until `shutdown` turns true, then closes
    /// every session with GOODBYE `wamp.close.system_shutdown`.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: watch::Receiver<bool>) {
        self.serve_with(listener, None, shutdown).await
    }

    /// Like [`Router::serve`], with TLS (`wss://`) when `tls` is given.
    pub async fn serve_with(
        self: Arc<Self>,
        listener: TcpListener,
        tls: Option<TlsConfig>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => self.spawn_connection(stream, peer, tls.clone()),
                    Err(e) => {
                        warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                // The `Ref` that `wait_for` yields is not `Send`: drop it inside the branch
                // future so that `serve` can be `tokio::spawn`ed.
                _ = async { let _ = shutdown.wait_for(|s| *s).await; } => break,
            }
        }
        self.shutdown();
    }

    fn spawn_connection(
        self: &Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        tls: Option<TlsConfig>,
    ) {
        let _ = stream.set_nodelay(true);
        let admission = match self.admit(peer) {
            Ok(a) => a,
            Err(limit) => {
                let (conns, hs) = self.connection_counts();
                warn_limited!(%peer, connections = conns, handshakes = hs, limit = limit.as_str(),
                    "connection limit reached: connection refused");
                tokio::spawn(transport::http::refuse_busy(stream, tls.is_none()));
                return;
            }
        };
        debug!(%peer, "connection accepted");
        let router = self.clone();
        let Some(tls) = tls else {
            tokio::spawn(transport::websocket::serve_connection(
                router, stream, peer, None, admission,
            ));
            return;
        };
        tokio::spawn(async move {
            let handshake =
                tokio::time::timeout(router.config.handshake_timeout, tls.accept(stream));
            match handshake.await {
                Ok(Ok((tls_stream, finished))) => {
                    transport::websocket::serve_connection(
                        router,
                        tls_stream,
                        peer,
                        Some(finished),
                        admission,
                    )
                    .await
                }
                Ok(Err(e)) => debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => debug!(%peer, "TLS handshake timed out"),
            }
        });
    }

    /// Closes every session on every realm (GOODBYE `wamp.close.system_shutdown`).
    pub fn shutdown(&self) {
        let realms: Vec<Arc<Realm>> = self
            .realms
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for realm in realms {
            realm.close_all(
                wamp_proto::wamp_errors::SYSTEM_SHUTDOWN,
                "router shutting down",
            );
        }
    }
}
