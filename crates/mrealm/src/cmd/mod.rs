//! One module per subcommand.

pub mod bench;
pub mod keys;
pub mod master;
pub mod router;
