//! `mrealm-sim`: a simulator of Crossbar.io edge nodes. It pairs N node keys through a
//! master's global API and connects N simulated nodes that behave like real edge nodes on the
//! wire (WIRE.md §2.1, §3, §7): cryptosign as `node` without a realm over
//! `wamp.2.cbor.batched`, 52 node + 58 per-worker registrations, the uplink `get_status`
//! check, staggered node and worker heartbeats, answers to the status, worker and tracing
//! procedures, and churn. Each node is one small task owning its socket, so one process on
//! one runtime holds thousands of them.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mrealm_sim::SimError> {
//! use mrealm_sim::{Fleet, SimConfig};
//! let cfg = SimConfig::new("ws://127.0.0.1:9000/ws", 100, "/home/me/.crossbar/default.priv");
//! let fleet = Fleet::prepare(cfg).await?;
//! fleet.connect_all(&|_online| {}).await?;
//! println!("{}", fleet.shutdown().await.render());
//! # Ok(()) }
//! ```

mod cbor;
pub mod churn;
pub mod config;
mod conn;
pub mod error;
pub mod fleet;
pub mod invoke;
pub mod keys;
pub mod net;
mod node;
pub mod pairing;
pub mod payload;
pub mod procedures;
pub mod stats;

pub use config::{parse_duration, SimConfig};
pub use error::SimError;
pub use fleet::Fleet;
pub use node::Disconnect;
pub use stats::{FleetStats, Summary};
