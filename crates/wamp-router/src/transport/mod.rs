//! Transports that carry sessions to the router: WebSocket (plain or TLS-wrapped streams) with
//! a hand-rolled HTTP/1.1 upgrade so that a plain GET gets a status page, and an in-process
//! channel transport with no encoding.

pub mod http;
pub mod local;
mod meter;
pub mod tls;
pub mod websocket;
mod writer;
