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
    /// `wamp.error.no_such_principal`: the caller is not a user (clusters spec §1.3).
    #[error("{0}")]
    NoSuchPrincipal(String),
    /// `wamp.error.type_check_error`: an argument of the wrong type (clusters spec §0).
    #[error("{0}")]
    TypeCheck(String),
    /// `wamp.error.invalid_configuration`.
    #[error("{0}")]
    InvalidConfiguration(String),
    /// `crossbar.error.invalid_config`.
    #[error("{0}")]
    InvalidConfig(String),
    /// `crossbar.error.not_stopped`: the object must be STOPPED first.
    #[error("{0}")]
    NotStopped(String),
    /// `crossbar.error.cannot_start`.
    #[error("{0}")]
    CannotStart(String),
    /// `crossbar.error.cannot_stop`.
    #[error("{0}")]
    CannotStop(String),
    /// `wamp.error.runtime_error` for a bad request (a missing argument, a procedure that is
    /// not implemented): logged at DEBUG only, unlike [`MasterError::Internal`].
    #[error("{0}")]
    Runtime(String),
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
            MasterError::NoSuchPrincipal(_) => errors::NO_SUCH_PRINCIPAL,
            MasterError::TypeCheck(_) => errors::TYPE_CHECK_ERROR,
            MasterError::InvalidConfiguration(_) => errors::INVALID_CONFIGURATION,
            MasterError::InvalidConfig(_) => errors::INVALID_CONFIG,
            MasterError::NotStopped(_) => errors::NOT_STOPPED,
            MasterError::CannotStart(_) => errors::CANNOT_START,
            MasterError::CannotStop(_) => errors::CANNOT_STOP,
            MasterError::Runtime(_) => err::RUNTIME_ERROR,
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
