//! `wamp-client`: an async WAMP v2 client session for tokio, over WebSocket or in-process
//! channels.
//!
//! ```no_run
//! # async fn demo() -> wamp_client::Result<()> {
//! use wamp_client::{Client, ConnectOptions, JoinOptions, CallOptions, Dict};
//! let transport = Client::connect("ws://127.0.0.1:8080/ws", ConnectOptions::default()).await?;
//! let session = wamp_client::Session::join(transport, JoinOptions::realm("realm1")).await?;
//! let result = session.call("com.example.add2", vec![1.into(), 2.into()], Dict::new(),
//!     CallOptions::default()).await?;
//! println!("{:?}", result.args);
//! session.leave().await?;
//! # Ok(()) }
//! ```
//!
//! Layout: [`transport`] (WebSocket and in-process, the writer task), `join` (handshake),
//! `dispatch` (the reader task), `state` (pending requests, subscriptions, registrations),
//! `session` (the API), `call`, `register`, `subscribe` (per-role handles), [`options`];
//! [`sys`]: the process's open-file limit, for programs holding many connections.

mod call;
mod dispatch;
mod error;
mod join;
pub mod options;
mod queue;
mod register;
mod session;
mod state;
mod subscribe;
pub mod sys;
pub mod transport;
mod types;

pub use call::CallHandle;
pub use error::{Error, Result, WampError};
pub use options::{
    CallOptions, CancelMode, ChallengeHandler, ConnectOptions, InvokePolicy, JoinOptions,
    PublishOptions, RegisterOptions, SubscribeOptions,
};
pub use queue::EventQueue;
pub use register::{Invocation, Registration};
pub use session::Session;
pub use subscribe::Subscription;
pub use transport::Transport;
pub use types::{AuthenticateResponse, CallResult, Challenge, Event, Welcome};
pub use wamp_proto::{dict, Dict, Id, MatchPolicy, Message, Serializer, Value};

/// Entry points that open transports.
#[derive(Debug, Clone, Copy)]
pub struct Client;

impl Client {
    /// Opens a WebSocket transport (see [`Transport::connect`]).
    pub async fn connect(url: &str, opts: ConnectOptions) -> Result<Transport> {
        Transport::connect(url, &opts).await
    }

    /// Opens a WebSocket transport and joins a realm over it.
    pub async fn connect_and_join(
        url: &str,
        copts: ConnectOptions,
        jopts: JoinOptions,
    ) -> Result<Session> {
        Session::join(Transport::connect(url, &copts).await?, jopts).await
    }
}
