//! One module per subcommand.

pub mod bench;
pub mod fabric;
pub mod init;
pub mod keys;
pub mod master;
pub mod node;
pub mod router;
