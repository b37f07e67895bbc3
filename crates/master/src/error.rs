//! Errors of the master layer and how they reach WAMP callers.

use crate::wire::errors;
use wamp_client::WampError;
use wamp_proto::wamp_errors as err;

/// What a master operation can fail with; each maps to one WAMP error URI.
#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NoSuchObject(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    DependentObjects(String),
    #[error("{0}")]
    InvalidRealm(String),
    #[error("{0}")]
    NoSuchRealm(String),
    #[error("{0}")]
    NodeAlreadyPaired(String),
    #[error("{0}")]
    NodeNotPaired(String),
    #[error("{0}")]
    NotAuthorized(String),
    #[error("database: {0}")]
    Store(#[from] store::StoreError),
    #[error("router: {0}")]
    Router(#[from] wamp_router::RouterError),
    #[error("{0}")]
    Internal(String),
}

impl MasterError {
    /// The WAMP error URI for this error.
    pub fn uri(&self) -> &'static str {
        match self {
            MasterError::InvalidArgument(_) => err::INVALID_ARGUMENT,
            MasterError::NoSuchObject(_) => errors::NO_SUCH_OBJECT,
            MasterError::AlreadyExists(_) => errors::ALREADY_EXISTS,
            MasterError::DependentObjects(_) => errors::DEPENDENT_OBJECTS,
            MasterError::InvalidRealm(_) => errors::INVALID_REALM,
            MasterError::NoSuchRealm(_) => errors::NO_SUCH_REALM,
            MasterError::NodeAlreadyPaired(_) => errors::NODE_ALREADY_PAIRED,
            MasterError::NodeNotPaired(_) => errors::NODE_NOT_PAIRED,
            MasterError::NotAuthorized(_) => err::NOT_AUTHORIZED,
            MasterError::Store(_) | MasterError::Router(_) | MasterError::Internal(_) => {
                err::RUNTIME_ERROR
            }
        }
    }
}

impl From<MasterError> for WampError {
    fn from(e: MasterError) -> WampError {
        WampError::with_message(e.uri(), e.to_string())
    }
}

pub type Result<T, E = MasterError> = std::result::Result<T, E>;
