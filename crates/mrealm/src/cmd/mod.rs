//! One module per subcommand.

pub mod bench;
pub mod call;
pub mod cluster;
pub mod cluster_rc;
pub mod cluster_wc;
pub mod fabric;
pub mod fleet;
pub mod init;
pub mod keys;
pub mod logs;
pub mod master;
pub mod node;
pub mod router;
pub mod sim;
pub mod trace;
pub mod watch;
