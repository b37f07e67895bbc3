//! A scripted fake router for the in-process transport: the test plays the router's side.

use std::time::Duration;

use tokio::sync::mpsc;
use wamp_client::{dict, CallOptions, Dict, JoinOptions, Message, Session, Transport, Value};
use wamp_proto::Payload;

pub const WAIT: Duration = Duration::from_secs(5);

/// The router's end of an in-process transport.
pub struct Fake {
    tx: mpsc::Sender<Message>,
    rx: mpsc::Receiver<Message>,
}

impl Fake {
    pub fn new() -> (Fake, Transport) {
        let (c2r_tx, c2r_rx) = mpsc::channel(64);
        let (r2c_tx, r2c_rx) = mpsc::channel(64);
        (
            Fake {
                tx: r2c_tx,
                rx: c2r_rx,
            },
            Transport::local(c2r_tx, r2c_rx),
        )
    }

    pub async fn send(&self, msg: Message) {
        self.tx.send(msg).await.expect("client gone");
    }

    pub async fn recv(&mut self) -> Message {
        let next = tokio::time::timeout(WAIT, self.rx.recv()).await;
        next.expect("client sent nothing")
            .expect("client closed the transport")
    }

    /// Whether the client closes its side within `WAIT`.
    pub async fn sees_close(&mut self) -> bool {
        loop {
            match tokio::time::timeout(WAIT, self.rx.recv()).await {
                Ok(None) => return true,
                Ok(Some(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// Joins a session, with the fake answering HELLO with WELCOME.
pub async fn joined() -> (Fake, Session) {
    let (mut fake, transport) = Fake::new();
    let join = tokio::spawn(Session::join(transport, JoinOptions::realm("realm1")));
    let Message::Hello { realm, .. } = fake.recv().await else {
        panic!("expected HELLO")
    };
    assert_eq!(realm.as_deref(), Some("realm1"));
    let details = dict! { "realm" => "realm1", "authid" => "A", "authrole" => "anonymous" };
    fake.send(Message::Welcome {
        session: 42,
        details,
    })
    .await;
    let session = join.await.expect("join task").expect("join failed");
    (fake, session)
}

pub fn result(request: u64, args: Vec<Value>) -> Message {
    Message::Result {
        request,
        details: Dict::new(),
        payload: Payload::args(args),
    }
}

pub fn progress(request: u64, n: i64) -> Message {
    Message::Result {
        request,
        details: dict! { "progress" => true },
        payload: Payload::args(vec![n.into()]),
    }
}

pub fn call(
    session: &Session,
    procedure: &str,
) -> tokio::task::JoinHandle<wamp_client::Result<wamp_client::CallResult>> {
    let (s, p) = (session.clone(), procedure.to_owned());
    tokio::spawn(async move {
        s.call(&p, vec![], Dict::new(), CallOptions::default())
            .await
    })
}
