//! `mrealm router`: a standalone WAMP router with anonymous access.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio::net::TcpListener;
use wamp_router::{Permission, RealmConfig, Role, Router, RouterConfig};

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
}

/// The role anonymous sessions get: everything allowed, caller and publisher disclosed (Autobahn
/// clients cannot ask for disclosure, so a development router discloses by default).
fn anonymous_role() -> Role {
    let all = Permission { disclose_caller: true, disclose_publisher: true, ..Permission::allow_all() };
    Role::new("anonymous", vec![all])
}

pub async fn run(args: RouterArgs) -> anyhow::Result<()> {
    let ping_interval = if args.ping_interval > 0.0 {
        args.ping_interval
    } else {
        365.0 * 86400.0
    };
    let config = RouterConfig {
        path: args.path.clone(),
        max_message_size: args.max_message_size,
        ping_interval: Duration::from_secs_f64(ping_interval),
        ping_timeout: Duration::from_secs_f64(args.ping_timeout.max(0.1)),
        ..RouterConfig::default()
    };
    let router = Router::new(config);
    for name in &args.realms {
        router.add_realm(RealmConfig::new(name.clone(), vec![anonymous_role()]))?;
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("mrealm router listening on ws://{addr}{}", args.path);
    std::io::stdout().flush()?;
    let shutdown = crate::signals::shutdown_on_signals()?;
    router.clone().serve(listener, shutdown).await;
    // Let the connections' writers send their GOODBYEs before the runtime stops.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}
