//! The in-process transport: a session whose client lives in the same process (the master's
//! controllers, tests). Typed messages travel over channels; nothing is encoded.

use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::{info_span, Instrument};
use wamp_proto::{dict, Message};

use crate::driver::{Driver, Flow};
use crate::outgoing::{Closer, OutTx};
use crate::Router;

/// Messages queued to an in-process session before it counts as too slow (memory is only used
/// while they are queued).
const LOCAL_QUEUE: usize = 1 << 20;

/// Connects an in-process client: returns (client → router, router → client) channel ends.
///
/// The session ends when the client drops its sender, sends GOODBYE/ABORT, or the router
/// closes it (the receiver then yields `None` after any final message).
pub fn connect(router: Arc<Router>) -> (mpsc::Sender<Message>, mpsc::Receiver<Message>) {
    // In-process sessions are the router's own components (controllers): a burst must not make
    // them look like slow consumers, so their queue is far deeper than a network session's.
    let queue = router.config().queue_len.max(LOCAL_QUEUE);
    let (to_router, mut from_client) = mpsc::channel::<Message>(queue);
    let (to_client, from_router) = mpsc::channel::<Message>(queue);
    let closer = Arc::new(Closer::default());
    let out = OutTx::local(to_client, closer.clone());
    let transport = dict! { "type" => "function" };
    let mut driver = Driver::new(router, out, transport, None);
    tokio::spawn(
        async move {
            loop {
                tokio::select! {
                    msg = from_client.recv() => {
                        let Some(msg) = msg else { break };
                        if driver.handle(msg) == Flow::Close { break; }
                    }
                    _ = closer.notified() => break,
                }
            }
            driver.closed();
        }
        .instrument(info_span!("local")),
    );
    (to_router, from_router)
}
