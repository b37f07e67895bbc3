//! `master`: mrealm's domain layer — the Crossbar.io master's job.
//!
//! [`Master::start`] opens the store, builds the embedded router with the global realm
//! `com.crossbario.fabric` and one router realm per management realm, installs the
//! authenticator, and starts the in-process controllers: the domain controller (global realm API,
//! `domain`) and one management realm controller per management realm (`mrealm`). Serving
//! sockets is the binary's job (`Router::serve_with`). Nothing here opens a socket.

mod args;
mod auth;
pub mod authz;
pub mod backup;
mod clusters;
pub mod config;
mod domain;
pub mod error;
mod mrealm;
mod ratelimit;
pub mod reconcile;
pub mod roles;
mod util;
mod watch;
pub mod wire;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use store::{MrealmRecord, Store, UserRecord};
use tracing::{info, warn};
use uuid::Uuid;
use wamp_client::{JoinOptions, Session, Transport};
use wamp_router::{RealmConfig, Router, RouterConfig};

pub use config::MasterConfig;
pub use error::{MasterError, Result};
/// Pure heartbeat payload checks (for fuzzing and tests).
pub use mrealm::heartbeat::accept as hbcheck;
use roles::{global_roles, mrealm_roles, MrealmAuthorizer, GLOBAL_REALM};

/// The database file inside the cbdir.
pub const DB_FILE: &str = "mrealm.db";

/// A running master.
pub struct Master {
    config: MasterConfig,
    store: Arc<Store>,
    router: Arc<Router>,
    /// The superuser's user oid (owner of the management realms it creates).
    superuser_oid: Uuid,
    /// When the master started (ns since the epoch).
    started: u64,
    controllers: Mutex<HashMap<String, mrealm::Controller>>,
    domain: Mutex<Option<Session>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Master {
    /// Opens the store and starts the router realms and the controllers.
    pub async fn start(config: MasterConfig) -> Result<Arc<Master>> {
        std::fs::create_dir_all(&config.cbdir).map_err(|e| {
            MasterError::Internal(format!("cannot create {}: {e}", config.cbdir.display()))
        })?;
        let store = Arc::new(Store::open_with_cache(
            &config.cbdir.join(DB_FILE),
            config.db_cache_mb << 20,
        )?);
        let router = Router::new(router_config(&config));
        router.add_realm(RealmConfig::new(GLOBAL_REALM, global_roles()))?;
        let superuser = read_superuser(config.superuser.as_deref())?;
        let superuser_oid = ensure_superuser(&store, superuser)?;
        router.set_authenticator(Arc::new(auth::MasterAuth {
            store: store.clone(),
            router: Arc::downgrade(&router),
            superuser,
            allow_anonymous: config.allow_anonymous,
        }));
        let master = Arc::new(Master {
            started: util::now_ns(),
            config,
            store,
            router,
            superuser_oid,
            controllers: Mutex::new(HashMap::new()),
            domain: Mutex::new(None),
            tasks: Mutex::new(Vec::new()),
        });
        let session = domain::start(&master).await?;
        *lock(&master.domain) = Some(session);
        for rec in master.store.list_mrealms()? {
            master.activate_mrealm(&rec).await?;
        }
        if let Some(dir) = master.config.watch_to_pair.clone() {
            master.ensure_default_mrealm().await?;
            let task = watch::spawn(master.clone(), dir);
            lock(&master.tasks).push(task);
        }
        info!(cbdir = %master.config.cbdir.display(), mrealms = lock(&master.controllers).len(), "master started");
        Ok(master)
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &MasterConfig {
        &self.config
    }

    /// The database.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The embedded router (the binary serves it).
    pub fn router(&self) -> &Arc<Router> {
        &self.router
    }

    /// The superuser's user oid (owner of the management realms it creates).
    pub fn superuser_oid(&self) -> Uuid {
        self.superuser_oid
    }

    /// An in-process session on `realm` as `trusted`.
    pub(crate) async fn local_session(&self, realm: &str, authid: &str) -> Result<Session> {
        let (tx, rx) = self.router.connect_local();
        let opts = JoinOptions::realm(realm).authid(authid);
        Session::join(Transport::local(tx, rx), opts)
            .await
            .map_err(|e| MasterError::Internal(format!("in-process session on {realm}: {e}")))
    }

    /// Starts the router realm and the controller of a management realm.
    pub(crate) async fn activate_mrealm(self: &Arc<Self>, rec: &MrealmRecord) -> Result<()> {
        if lock(&self.controllers).contains_key(&rec.name) {
            return Ok(());
        }
        let realm = self
            .router
            .add_realm(RealmConfig::new(rec.name.clone(), mrealm_roles()))?;
        realm.set_authorizer(Arc::new(MrealmAuthorizer {
            heartbeats: ratelimit::HeartbeatLimiter::new(self.config.max_heartbeat_rate),
        }));
        let acks = self.config.durable_heartbeats.then(|| {
            let gate = Arc::new(mrealm::heartbeat::AckRegistry::default());
            realm.set_publish_ack_gate(Some(gate.clone()));
            gate
        });
        let authid = format!("mrealm-controller-{}", rec.name);
        let deps = mrealm::Deps {
            store: self.store.clone(),
            mrealm: mrealm::ctx::MrealmId {
                oid: rec.oid,
                name: rec.name.clone(),
            },
            config: (&self.config).into(),
            superuser_oid: self.superuser_oid,
            session: self.local_session(&rec.name, &authid).await?,
            // events arrive on their own session: a heartbeat burst never delays a procedure
            ingest: self
                .local_session(&rec.name, &format!("{authid}-ingest"))
                .await?,
            // the nodes' uplink check never waits behind other calls
            status: self
                .local_session(&rec.name, &format!("{authid}-status"))
                .await?,
            global: self.domain_session(),
            acks,
        };
        let controller = mrealm::Controller::start(deps).await?;
        lock(&self.controllers).insert(rec.name.clone(), controller);
        info!(mrealm = %rec.name, oid = %rec.oid, "management realm started");
        Ok(())
    }

    /// Stops the controller and the router realm of a management realm (its sessions are closed).
    pub(crate) async fn deactivate_mrealm(&self, name: &str) {
        let controller = lock(&self.controllers).remove(name);
        if let Some(c) = controller {
            c.stop().await;
        }
        self.router.remove_realm(name);
        info!(mrealm = %name, "management realm stopped");
    }

    /// Creates mrealm `default` (owned by the superuser) if it does not exist.
    async fn ensure_default_mrealm(self: &Arc<Self>) -> Result<()> {
        if self.store.get_mrealm_by_name("default")?.is_some() {
            return Ok(());
        }
        let rec = MrealmRecord {
            oid: Uuid::new_v4(),
            name: "default".into(),
            label: Some("default mrealm".into()),
            description: Some("Default management realm (automatically pre-created)".into()),
            tags: Some(Vec::new()),
            created: util::now_ns() / 1000,
            owner: self.superuser_oid,
            cf_router_worker: None,
            cf_container_worker: None,
        };
        self.store.create_mrealm(&rec)?;
        self.activate_mrealm(&rec).await
    }

    /// Closes every session with GOODBYE and stops the controllers (each writes its queued
    /// heartbeats first) and background tasks.
    pub async fn shutdown(&self) {
        if let Err(left) = self.shutdown_within(Duration::MAX).await {
            warn!(abandoned = %left, "shutdown incomplete");
        }
    }

    /// [`Master::shutdown`] within `grace`; `Err` names what was abandoned when it ran out.
    /// The controllers stop concurrently.
    pub async fn shutdown_within(&self, grace: Duration) -> std::result::Result<(), String> {
        let pending: Arc<Mutex<BTreeSet<String>>> = Arc::default();
        match tokio::time::timeout(grace, self.shutdown_tracked(pending.clone())).await {
            Ok(()) => Ok(()),
            Err(_) => Err(lock(&pending)
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")),
        }
    }

    async fn shutdown_tracked(&self, pending: Arc<Mutex<BTreeSet<String>>>) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
        let controllers: Vec<_> = lock(&self.controllers).drain().collect();
        let what = |name: &str| format!("controller of mrealm {name} (heartbeat flush)");
        lock(&pending).extend(controllers.iter().map(|(n, _)| what(n)));
        let stops = controllers.into_iter().map(|(name, c)| {
            let pending = pending.clone();
            async move {
                c.stop().await;
                lock(&pending).remove(&what(&name));
            }
        });
        futures_util::future::join_all(stops).await;
        lock(&pending).insert("domain controller session".into());
        let domain = lock(&self.domain).take();
        if let Some(s) = domain {
            let _ = tokio::time::timeout(Duration::from_secs(1), s.leave()).await;
        }
        self.router.shutdown();
        lock(&pending).clear();
    }

    /// Node `oid` of management realm `mrealm` was unpaired: its controller forgets it.
    pub(crate) fn node_unpaired(&self, mrealm: &str, oid: Uuid) {
        if let Some(c) = lock(&self.controllers).get(mrealm) {
            c.unpaired(oid);
        }
    }

    /// The domain controller's session (for publishing global events).
    pub(crate) fn domain_session(&self) -> Option<Session> {
        lock(&self.domain).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn router_config(c: &MasterConfig) -> RouterConfig {
    RouterConfig {
        path: c.path.clone(),
        max_message_size: c.max_message_size,
        max_handshake_message_size: c.max_handshake_message_size,
        max_uri_length: c.max_uri_length,
        ping_interval: c.ping_interval,
        ping_timeout: c.ping_timeout,
        handshake_timeout: c.handshake_timeout,
        queue_len: c.queue_len.max(1),
        queue_bytes: c.queue_bytes,
        queue_bytes_total: c.queue_bytes_total,
        max_connections: c.max_connections,
        max_handshakes: c.max_handshakes,
        max_connections_per_ip: c.max_connections_per_ip,
        max_handshakes_per_ip: c.max_handshakes_per_ip,
        session_limits: wamp_router::SessionLimits {
            max_pending_calls: c.max_pending_calls,
            max_pending_invocations: c.max_pending_invocations,
            max_registrations: c.max_registrations,
            max_subscriptions: c.max_subscriptions,
            max_pattern_subscriptions: c.max_pattern_subscriptions,
        },
    }
}

/// Reads the superuser's public key file (Crossbar's `default.pub` or any key file).
fn read_superuser(path: Option<&Path>) -> Result<Option<[u8; 32]>> {
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read_to_string(path).map_err(|e| {
        MasterError::InvalidArgument(format!("superuser key {}: {e}", path.display()))
    })?;
    let kf = wamp_proto::keyfile::KeyFile::parse(&text).map_err(|e| {
        MasterError::InvalidArgument(format!("superuser key {}: {e}", path.display()))
    })?;
    let key = kf
        .public_key()
        .map_err(|e| MasterError::InvalidArgument(format!("superuser key: {e}")))?;
    Ok(Some(key))
}

/// The `superuser` user record: created on first start, its key updated when it changes.
fn ensure_superuser(store: &Store, key: Option<[u8; 32]>) -> Result<Uuid> {
    let pubkey = key.map(hex::encode).unwrap_or_default();
    let existing = store.user_by_authid("superuser")?;
    if let Some(u) = existing.as_ref().filter(|u| u.pubkey == pubkey) {
        return Ok(u.oid);
    }
    let rec = UserRecord {
        oid: existing.map(|u| u.oid).unwrap_or_else(Uuid::new_v4),
        authid: "superuser".into(),
        email: Some("superuser".into()),
        pubkey,
        created: util::now_ns() / 1000,
    };
    store.put_user(&rec)?;
    if key.is_none() {
        warn!("no superuser key configured (CROSSBAR_FABRIC_SUPERUSER): only nodes and anonymous can join");
    }
    Ok(rec.oid)
}
