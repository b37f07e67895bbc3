//! The master's configuration: `<cbdir>/mrealm.toml` (every field optional), overridden by the
//! environment variables Crossbar uses and by command-line flags (applied by the binary).
//!
//! ```toml
//! listen = "127.0.0.1:9000"       # host:port of the WebSocket listener
//! path = "/ws"                    # WebSocket path
//! tls_cert = "cert.pem"           # PEM chain; with tls_key the listener speaks wss://
//! tls_key = "key.pem"
//! superuser = "~/.crossbar/default.pub"   # or CROSSBAR_FABRIC_SUPERUSER
//! watch_to_pair = "/var/nodes"    # or CROSSBAR_WATCH_TO_PAIR: */key.pub auto-paired into "default"
//! watch_interval = 10             # seconds between scans of watch_to_pair
//! fabric_url = "ws://127.0.0.1:9000/ws"   # or CROSSBAR_FABRIC_URL: written into key.activate
//! ping_interval = 10              # WebSocket ping, seconds
//! ping_timeout = 5
//! max_message_size = 1048576
//! tick_interval = 5               # crossbarfabriccenter.mrealm.on_tick period, seconds
//! check_interval = 10             # check_and_apply period (node health checks), seconds
//! check_timeout = 5               # per-node get_status timeout in the check, seconds
//! log_retention = 604800          # raw heartbeat history kept, seconds (7 days)
//! aggregate_retention = 7776000   # 5-minute heartbeat aggregates kept, seconds (90 days)
//! durable_heartbeats = false      # PUBLISHED of an acknowledged heartbeat only once it is on disk
//! shutdown_grace = 10             # SIGTERM: seconds to drain and flush before giving up
//! # limits (docs/hostile-inputs.md, "Limits")
//! max_connections = 100000        # connections at once; more get HTTP 503 (wss: closed);
//!                                 # `master start` lowers it to the open-file limit minus 256
//! db_cache_mb = 64                # database page cache (redb), MiB
//! max_handshakes = 1000           # connections at once not yet welcomed; more get HTTP 503
//! handshake_timeout = 5           # seconds for the HTTP upgrade, and again for HELLO..WELCOME
//! queue_len = 16384               # messages queued per session before it is dropped as too slow
//! max_pending_calls = 256         # calls in flight per (non-trusted) caller session
//! allow_anonymous = true          # anonymous clients may join management realms as "public"
//! max_heartbeat_rate = 100        # node + worker heartbeats per second per node session (0: no limit)
//! max_pending_invocations = 10000 # invocations in flight per callee session
//! max_registrations = 10000       # per session
//! max_subscriptions = 10000       # per session
//! max_pattern_subscriptions = 1000 # of those, prefix/wildcard ones
//! queue_bytes = 16777216          # bytes queued per session before it is dropped as too slow
//! queue_bytes_total = 268435456   # bytes queued for all sessions; past it the biggest go first
//! max_uri_length = 512            # bytes; longer topics/procedures/realms: wamp.error.invalid_uri
//! max_handshake_message_size = 65536  # bytes a connection may send before WELCOME
//! max_connections_per_ip = 100000 # connections from one address (IPv6: one /64)
//! max_handshakes_per_ip = 500     # of those, not yet welcomed (production: see operations.md)
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::error::{MasterError, Result};

/// The largest database cache accepted, MiB (64 GiB).
const MAX_CACHE_MB: usize = 64 * 1024;

/// The file name of the configuration inside the cbdir.
pub const CONFIG_FILE: &str = "mrealm.toml";

/// Largest period, timeout or retention accepted, in seconds (100 years).
pub const MAX_SECONDS: f64 = 100.0 * 365.25 * 86_400.0;

/// Shortest period or timeout: a smaller configured value (0 included) means this one, so that no
/// loop spins.
pub const MIN_PERIOD: Duration = Duration::from_millis(50);

/// Smallest `max_uri_length` accepted: the master's own procedure URIs must fit.
pub const MIN_URI_LENGTH: usize = 128;

/// Largest `max_message_size` accepted (the batched framing's 32-bit length).
pub const MAX_MESSAGE_SIZE: usize = u32::MAX as usize;

/// Everything the master needs to start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MasterConfig {
    #[serde(skip)]
    pub cbdir: PathBuf,
    pub listen: String,
    pub path: String,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub superuser: Option<PathBuf>,
    pub watch_to_pair: Option<PathBuf>,
    #[serde(deserialize_with = "period")]
    pub watch_interval: Duration,
    pub fabric_url: Option<String>,
    #[serde(deserialize_with = "period")]
    pub ping_interval: Duration,
    #[serde(deserialize_with = "period")]
    pub ping_timeout: Duration,
    pub max_message_size: usize,
    #[serde(deserialize_with = "period")]
    pub tick_interval: Duration,
    #[serde(deserialize_with = "period")]
    pub check_interval: Duration,
    #[serde(deserialize_with = "period")]
    pub check_timeout: Duration,
    #[serde(deserialize_with = "seconds")]
    pub log_retention: Duration,
    #[serde(deserialize_with = "seconds")]
    pub aggregate_retention: Duration,
    /// Durable-acknowledge mode for heartbeats (docs/operations.md).
    pub durable_heartbeats: bool,
    /// Seconds a graceful shutdown may take before the rest is abandoned.
    #[serde(deserialize_with = "seconds")]
    pub shutdown_grace: Duration,
    /// Limits (docs/hostile-inputs.md): connections, handshakes, queue, per-session state.
    pub max_connections: usize,
    pub max_handshakes: usize,
    /// The database's page cache, MiB.
    pub db_cache_mb: usize,
    #[serde(deserialize_with = "period")]
    pub handshake_timeout: Duration,
    pub queue_len: usize,
    pub max_pending_calls: usize,
    pub max_pending_invocations: usize,
    pub max_registrations: usize,
    pub max_subscriptions: usize,
    /// Whether anonymous clients may join management realms (role `public`).
    pub allow_anonymous: bool,
    /// Node and worker heartbeats a node session may publish per second (burst: twice that,
    /// at least 64); 0: no limit.
    pub max_heartbeat_rate: f64,
    pub max_pattern_subscriptions: usize,
    pub queue_bytes: usize,
    pub queue_bytes_total: usize,
    pub max_uri_length: usize,
    pub max_handshake_message_size: usize,
    pub max_connections_per_ip: usize,
    pub max_handshakes_per_ip: usize,
}

impl Default for MasterConfig {
    fn default() -> Self {
        MasterConfig {
            cbdir: PathBuf::from(".mrealm"),
            listen: "127.0.0.1:9000".into(),
            path: "/ws".into(),
            tls_cert: None,
            tls_key: None,
            superuser: None,
            watch_to_pair: None,
            watch_interval: Duration::from_secs(10),
            fabric_url: None,
            ping_interval: Duration::from_secs(10),
            ping_timeout: Duration::from_secs(5),
            max_message_size: 1024 * 1024,
            tick_interval: Duration::from_secs(5),
            check_interval: Duration::from_secs(10),
            check_timeout: Duration::from_secs(5),
            log_retention: Duration::from_secs(7 * 86_400),
            aggregate_retention: Duration::from_secs(90 * 86_400),
            durable_heartbeats: false,
            shutdown_grace: Duration::from_secs(10),
            max_connections: 100_000,
            max_handshakes: 1_000,
            db_cache_mb: 64,
            handshake_timeout: Duration::from_secs(5),
            queue_len: 16 * 1024,
            // a burst of pipelined calls from one client must not starve the controller
            max_pending_calls: 256,
            max_pending_invocations: 10_000,
            max_registrations: 10_000,
            max_subscriptions: 10_000,
            allow_anonymous: true,
            max_heartbeat_rate: 100.0,
            max_pattern_subscriptions: 1_000,
            queue_bytes: 16 * 1024 * 1024,
            queue_bytes_total: 256 * 1024 * 1024,
            max_uri_length: 512,
            max_handshake_message_size: 64 * 1024,
            max_connections_per_ip: 100_000,
            // at most half the handshake places for one address, so idle sockets from one
            // host cannot lock everyone out (issue 19.10)
            max_handshakes_per_ip: 500,
        }
    }
}

impl MasterConfig {
    /// Reads `<cbdir>/mrealm.toml` if present, then applies the Crossbar environment variables.
    pub fn load(cbdir: &Path) -> Result<MasterConfig> {
        let file = cbdir.join(CONFIG_FILE);
        let mut cfg = match std::fs::read_to_string(&file) {
            Ok(text) => MasterConfig::from_toml(&text)
                .map_err(|e| MasterError::InvalidArgument(format!("{}: {e}", file.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => MasterConfig::default(),
            Err(e) => {
                return Err(MasterError::Internal(format!(
                    "cannot read {}: {e}",
                    file.display()
                )))
            }
        };
        cfg.cbdir = cbdir.to_path_buf();
        cfg.apply_env();
        cfg.resolve_paths();
        Ok(cfg)
    }

    /// Parses the text of `mrealm.toml` and checks its values ([`MasterConfig::validate`]).
    pub fn from_toml(text: &str) -> Result<MasterConfig> {
        let cfg = toml::from_str::<MasterConfig>(text)
            .map_err(|e| MasterError::InvalidArgument(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Refuses values the master cannot run with: `max_message_size` must be in
    /// `1..=MAX_MESSAGE_SIZE`, `db_cache_mb` in `1..=MAX_CACHE_MB`, `max_uri_length` at least
    /// [`MIN_URI_LENGTH`] (the master's own URIs). Durations are checked when they are read
    /// ([`seconds`], [`period`]).
    pub fn validate(&self) -> Result<()> {
        if self.max_uri_length < MIN_URI_LENGTH {
            return Err(MasterError::InvalidArgument(format!(
                "max_uri_length = {}: must be at least {MIN_URI_LENGTH}",
                self.max_uri_length
            )));
        }
        if !(1..=MAX_MESSAGE_SIZE).contains(&self.max_message_size) {
            return Err(MasterError::InvalidArgument(format!(
                "max_message_size = {}: must be in [1, {MAX_MESSAGE_SIZE}]",
                self.max_message_size
            )));
        }
        if !(self.max_heartbeat_rate >= 0.0 && self.max_heartbeat_rate.is_finite()) {
            return Err(MasterError::InvalidArgument(format!(
                "max_heartbeat_rate = {}: must be a finite rate >= 0 (0: no limit)",
                self.max_heartbeat_rate
            )));
        }
        if !(1..=MAX_CACHE_MB).contains(&self.db_cache_mb) {
            return Err(MasterError::InvalidArgument(format!(
                "db_cache_mb = {}: must be in [1, {MAX_CACHE_MB}]",
                self.db_cache_mb
            )));
        }
        Ok(())
    }

    fn apply_env(&mut self) {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(v) = var("CROSSBAR_FABRIC_SUPERUSER") {
            self.superuser = Some(v.into());
        }
        if let Some(v) = var("CROSSBAR_WATCH_TO_PAIR") {
            self.watch_to_pair = Some(v.into());
        }
        if let Some(v) = var("CROSSBAR_FABRIC_URL") {
            self.fabric_url = Some(v);
        }
    }

    /// Relative paths in the file are relative to the cbdir.
    fn resolve_paths(&mut self) {
        let base = self.cbdir.clone();
        for p in [&mut self.tls_cert, &mut self.tls_key] {
            if let Some(path) = p.as_mut().filter(|p| p.is_relative()) {
                *path = base.join(&*path);
            }
        }
    }

    /// The URL nodes are told to connect to (key.activate): the configured one, or the listener.
    pub fn management_url(&self) -> String {
        self.fabric_url.clone().unwrap_or_else(|| {
            let scheme = if self.tls_cert.is_some() { "wss" } else { "ws" };
            format!("{scheme}://{}{}", self.listen, self.path)
        })
    }
}

/// A duration in seconds (integer or float) in `[0, MAX_SECONDS]`: the one place where the
/// configuration's seconds become a [`Duration`].
pub fn seconds<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
    let v = f64::deserialize(d)?;
    if !(0.0..=MAX_SECONDS).contains(&v) {
        return Err(serde::de::Error::custom(format!(
            "{v}: must be seconds in [0, {MAX_SECONDS}]"
        )));
    }
    Ok(Duration::from_secs_f64(v))
}

/// Like [`seconds`], for periods and timeouts: at least [`MIN_PERIOD`].
pub fn period<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
    seconds(d).map(|v| v.max(MIN_PERIOD))
}
