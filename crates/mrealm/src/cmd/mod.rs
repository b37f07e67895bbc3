//! One module per subcommand.

pub mod bench;
pub mod keys;
pub mod router;
