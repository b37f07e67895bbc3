//! The simulator's one error type.

use std::path::PathBuf;

/// What can go wrong while preparing or running a simulated fleet.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("key file {path}: {reason}")]
    Keys { path: PathBuf, reason: String },
    #[error("cannot join the master at {url} as the superuser: {reason}")]
    Superuser { url: String, reason: String },
    #[error("{what}: {uri} {message}")]
    Call {
        what: String,
        uri: String,
        message: String,
    },
    #[error("management realm \"{0}\" did not come up in time")]
    MrealmNotRunning(String),
    #[error("{failed} of {total} nodes failed to pair; first: {first}")]
    Pairing {
        failed: usize,
        total: usize,
        first: String,
    },
    #[error("{failed} of {total} nodes failed to come online; first: {first}")]
    Connect {
        failed: usize,
        total: usize,
        first: String,
    },
    #[error("{0}")]
    Node(String),
    #[error(
        "{nodes} nodes need about {needed} file descriptors, but the limit is {limit} \
         (raise `ulimit -n` or simulate fewer nodes)"
    )]
    FdLimit {
        nodes: usize,
        needed: u64,
        limit: u64,
    },
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}
