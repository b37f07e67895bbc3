//! `mrealm router`: a standalone WAMP router with anonymous access.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio::net::TcpListener;
use wamp_router::auth::{RealmAuth, StaticAuth};
use wamp_router::{Permission, RealmConfig, Role, Router, RouterConfig, SessionLimits, TlsConfig};

#[derive(Debug, Args)]
pub struct RouterArgs {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// A realm to serve (repeat for several).
    #[arg(long = "realm", required = true)]
    pub realms: Vec<String>,
    /// WebSocket path.
    #[arg(long, default_value = "/ws")]
    pub path: String,
    /// Largest WebSocket message accepted, in bytes.
    #[arg(long, default_value_t = 1024 * 1024)]
    pub max_message_size: usize,
    /// Seconds between WebSocket pings (0 disables).
    #[arg(long, default_value_t = 10.0)]
    pub ping_interval: f64,
    /// Seconds a pong may take before the connection is dropped.
    #[arg(long, default_value_t = 5.0)]
    pub ping_timeout: f64,
    /// TLS certificate chain (PEM, leaf first): serve wss:// instead of ws://.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Refuse anonymous sessions (by default they join as role `anonymous`).
    #[arg(long)]
    pub no_anonymous: bool,
    // clap prints this as --help text (rustdoc is not what reads it): `[:ROLE]` is no link
    #[allow(rustdoc::broken_intra_doc_links)]
    /// A ticket principal, AUTHID:SECRET[:ROLE] (role default `user`); repeatable.
    #[arg(long = "ticket", value_name = "AUTHID:SECRET[:ROLE]")]
    pub tickets: Vec<String>,
    // clap prints this as --help text (rustdoc is not what reads it): `[:ROLE]` is no link
    #[allow(rustdoc::broken_intra_doc_links)]
    /// A cryptosign principal, KEY:AUTHID[:ROLE] where KEY is 64 hex characters or a key file
    /// (`key.pub`, `default.pub`); role default `user`; repeatable.
    #[arg(long = "cryptosign", value_name = "KEY:AUTHID[:ROLE]")]
    pub cryptosign: Vec<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Resource limits (see docs/hostile-inputs.md, "Limits").
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Connections held at once; more get HTTP 503 (wss: closed).
    #[arg(long, default_value_t = 10_000)]
    pub max_connections: usize,
    /// Connections at once that have not reached WELCOME yet; more get HTTP 503.
    #[arg(long, default_value_t = 1_000)]
    pub max_handshakes: usize,
    /// Seconds for the HTTP upgrade request, and again for HELLO ... WELCOME.
    #[arg(long, default_value_t = 5.0)]
    pub handshake_timeout: f64,
    /// Messages queued for one session before it counts as too slow and is disconnected.
    #[arg(long, default_value_t = 16 * 1024)]
    pub queue_len: usize,
    /// Calls one session may have in flight as caller.
    #[arg(long, default_value_t = 10_000)]
    pub max_pending_calls: usize,
    /// Invocations one callee may have in flight.
    #[arg(long, default_value_t = 10_000)]
    pub max_pending_invocations: usize,
    /// Registrations per session.
    #[arg(long, default_value_t = 10_000)]
    pub max_registrations: usize,
    /// Subscriptions per session.
    #[arg(long, default_value_t = 10_000)]
    pub max_subscriptions: usize,
    /// Of those, prefix and wildcard subscriptions.
    #[arg(long, default_value_t = 1_000)]
    pub max_pattern_subscriptions: usize,
    /// Bytes queued for one session before it counts as too slow and is disconnected.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub queue_bytes: usize,
    /// Bytes queued for all sessions together; past it, sessions holding more than their
    /// share are disconnected as too slow.
    #[arg(long, default_value_t = 256 * 1024 * 1024)]
    pub queue_bytes_total: usize,
    /// Longest URI (topic, procedure, realm) accepted, bytes.
    #[arg(long, default_value_t = 512)]
    pub max_uri_length: usize,
    /// Bytes a connection may send before its session is welcomed.
    #[arg(long, default_value_t = 64 * 1024)]
    pub max_handshake_message_size: usize,
    /// Connections held at once from one address (IPv6: one /64).
    #[arg(long, default_value_t = 10_000)]
    pub max_connections_per_ip: usize,
    /// Connections at once from one address that have not reached WELCOME yet.
    #[arg(long, default_value_t = 500)]
    pub max_handshakes_per_ip: usize,
}

impl LimitArgs {
    /// Applies the limits to a router configuration.
    fn apply(&self, c: &mut RouterConfig) {
        c.max_connections = self.max_connections;
        c.max_handshakes = self.max_handshakes;
        c.handshake_timeout = Duration::from_secs_f64(self.handshake_timeout.max(0.1));
        c.queue_len = self.queue_len.max(1);
        c.queue_bytes = self.queue_bytes;
        c.queue_bytes_total = self.queue_bytes_total;
        c.max_uri_length = self.max_uri_length;
        c.max_handshake_message_size = self.max_handshake_message_size;
        c.max_connections_per_ip = self.max_connections_per_ip;
        c.max_handshakes_per_ip = self.max_handshakes_per_ip;
        c.session_limits = SessionLimits {
            max_pending_calls: self.max_pending_calls,
            max_pending_invocations: self.max_pending_invocations,
            max_registrations: self.max_registrations,
            max_subscriptions: self.max_subscriptions,
            max_pattern_subscriptions: self.max_pattern_subscriptions,
        };
    }
}

/// Every role of the standalone router may do everything, and discloses the caller and
/// publisher (Autobahn clients cannot ask for disclosure, so a development router does).
fn allow_all_role(name: &str) -> Role {
    let all = Permission {
        disclose_caller: true,
        disclose_publisher: true,
        ..Permission::allow_all()
    };
    Role::new(name, vec![all])
}

/// The same principals on every realm; returns them and the set of role names used.
fn static_auth(args: &RouterArgs) -> anyhow::Result<(StaticAuth, BTreeSet<String>)> {
    let mut conf = RealmAuth::default();
    let mut roles = BTreeSet::new();
    if !args.no_anonymous {
        conf.anonymous = Some("anonymous".into());
        roles.insert("anonymous".to_owned());
    }
    for spec in &args.tickets {
        let (authid, rest) = spec
            .split_once(':')
            .context("--ticket wants AUTHID:SECRET[:ROLE]")?;
        let (secret, role) = rest.rsplit_once(':').unwrap_or((rest, "user"));
        roles.insert(role.to_owned());
        conf.tickets
            .insert(authid.to_owned(), (secret.to_owned(), role.to_owned()));
    }
    for spec in &args.cryptosign {
        let mut parts = spec.rsplitn(3, ':').collect::<Vec<_>>();
        parts.reverse();
        let (key, authid, role) = match parts.as_slice() {
            [k, a] => (*k, *a, "user"),
            [k, a, r] => (*k, *a, *r),
            _ => anyhow::bail!("--cryptosign wants KEY:AUTHID[:ROLE]"),
        };
        roles.insert(role.to_owned());
        conf.cryptosign
            .insert(public_key(key)?, (authid.to_owned(), role.to_owned()));
    }
    let mut auth = StaticAuth::default();
    for name in &args.realms {
        *auth.realm(name) = conf.clone();
    }
    Ok((auth, roles))
}

/// A public key given as hex or as the path of a key file.
fn public_key(spec: &str) -> anyhow::Result<[u8; 32]> {
    if let Ok(k) = wamp_proto::cryptosign::parse_hex::<32>(spec) {
        return Ok(k);
    }
    let kf = crate::cmd::keys::read_key_file(Path::new(spec))?;
    Ok(kf.public_key()?)
}

pub async fn run(args: RouterArgs) -> anyhow::Result<()> {
    let ping_interval = if args.ping_interval > 0.0 {
        args.ping_interval
    } else {
        365.0 * 86400.0
    };
    let mut config = RouterConfig {
        path: args.path.clone(),
        max_message_size: args.max_message_size,
        ping_interval: Duration::from_secs_f64(ping_interval),
        ping_timeout: Duration::from_secs_f64(args.ping_timeout.max(0.1)),
        ..RouterConfig::default()
    };
    args.limits.apply(&mut config);
    let router = Router::new(config);
    let (auth, roles) = static_auth(&args)?;
    for name in &args.realms {
        let roles = roles.iter().map(|r| allow_all_role(r)).collect();
        router.add_realm(RealmConfig::new(name.clone(), roles))?;
    }
    router.set_authenticator(Arc::new(auth));
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsConfig::from_pem_files(cert, key)?),
        _ => None,
    };
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("mrealm router listening on {scheme}://{addr}{}", args.path);
    std::io::stdout().flush()?;
    let shutdown = crate::signals::shutdown_on_signals()?;
    router.clone().serve_with(listener, tls, shutdown).await;
    // Let the connections' writers send their GOODBYEs before the runtime stops.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}
