//! One connection of a simulated node: the cryptosign join as `node` without a realm
//! (WIRE.md §2.1), then the uplink state machine — REGISTER every procedure in one batch, the
//! `mrealm.get_status` uplink check (retried every 5 s on `no_such_procedure`), staggered
//! heartbeats, answers to INVOCATIONs, trace data, and leaving in one of three ways.

use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::WebSocketStream;
use wamp_proto::cryptosign;
use wamp_proto::message::code;
use wamp_proto::time::now_ns;
use wamp_proto::{dict, Dict, Format, Message, Payload, Serializer, Value};

use crate::invoke::{self, Ctx, Trace};
use crate::node::{Ctrl, Disconnect, Ident, Ready, Shared};
use crate::payload::{self, NodeFacts, Rng};
use crate::procedures;
use crate::stats::Counters;

const CBOR_BATCHED: Serializer = Serializer {
    format: Format::Cbor,
    batched: true,
};
const UPLINK_CHECK: &str = "crossbarfabriccenter.mrealm.get_status";
const UPLINK_RETRY: Duration = Duration::from_secs(5);
const GOODBYE_WAIT: Duration = Duration::from_secs(2);

type Socket = WebSocketStream<TcpStream>;

/// Why a join failed: worth retrying or not.
pub(crate) enum JoinError {
    Transient(String),
    Fatal(String),
}

/// A joined session.
pub(crate) struct Joined {
    ws: Socket,
    session: u64,
}

/// How a connection ended.
pub(crate) enum End {
    /// The master or the network ended it: reconnect.
    Lost(String),
    /// A disconnect command ended it: stay offline.
    Left,
    /// A connect command arrived while frozen: connect again now.
    Reconnect,
    /// Shut down.
    Shutdown,
}

fn encode(msgs: &[Message]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for m in msgs {
        CBOR_BATCHED
            .encode_into(m, &mut out)
            .map_err(|e| e.to_string())?;
    }
    Ok(out)
}

async fn send(ws: &mut Socket, msgs: &[Message]) -> Result<(), String> {
    let bytes = encode(msgs)?;
    ws.send(Ws::Binary(bytes.into()))
        .await
        .map_err(|e| e.to_string())
}

/// The next WAMP messages from the socket (`Err` when it closed).
async fn recv(ws: &mut Socket) -> Result<Vec<Message>, String> {
    loop {
        match ws.next().await {
            Some(Ok(Ws::Binary(b))) => return CBOR_BATCHED.decode(&b).map_err(|e| e.to_string()),
            Some(Ok(Ws::Close(_))) | None => return Err("connection closed".into()),
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(_)) => {}
        }
    }
}

fn hello(id: &Ident) -> Message {
    let features = |names: &[&str]| {
        let f: Dict = names
            .iter()
            .map(|n| ((*n).to_owned(), Value::Bool(true)))
            .collect();
        Value::Dict(dict! { "features" => f })
    };
    let roles = dict! {
        "caller" => features(&["caller_identification", "progressive_call_results", "call_canceling"]),
        "callee" => features(&["caller_identification", "pattern_based_registration",
            "shared_registration", "progressive_call_results", "registration_revocation"]),
        "publisher" => features(&["publisher_identification", "publisher_exclusion"]),
        "subscriber" => features(&["publisher_identification", "pattern_based_subscription"]),
    };
    let authextra = dict! {
        "pubkey" => id.key.pubkey_hex(),
        "trustroot" => Value::Null,
        "challenge" => Value::Null,
        "channel_binding" => Value::Null,
    };
    Message::Hello {
        realm: None,
        details: dict! {
            "authmethods" => vec![Value::from("cryptosign")],
            "authrole" => "node",
            "authextra" => authextra,
            "roles" => roles,
        },
    }
}

/// Connects from `source` and joins as node `id`.
pub(crate) async fn join(
    sh: &Shared,
    id: &Ident,
    source: Option<IpAddr>,
) -> Result<Joined, JoinError> {
    let t = JoinError::Transient;
    let tcp = crate::net::tcp(&sh.target, source)
        .await
        .map_err(|e| t(format!("connect to {}: {e}", sh.target.addr)))?;
    let mut ws = crate::net::websocket(&sh.target, tcp).await.map_err(t)?;
    send(&mut ws, &[hello(id)]).await.map_err(t)?;
    loop {
        for m in recv(&mut ws).await.map_err(t)? {
            match m {
                Message::Challenge { extra, .. } => {
                    let hex = extra.get("challenge").and_then(Value::as_str);
                    let bytes: [u8; cryptosign::LEN] = hex
                        .and_then(|h| cryptosign::parse_hex(h).ok())
                        .ok_or_else(|| JoinError::Fatal("invalid cryptosign challenge".into()))?;
                    let signature = cryptosign::sign(&id.key.secret, &bytes);
                    let auth = Message::Authenticate {
                        signature,
                        extra: Dict::new(),
                    };
                    send(&mut ws, &[auth]).await.map_err(t)?;
                }
                Message::Welcome { session, .. } => return Ok(Joined { ws, session }),
                Message::Abort { reason, details } => {
                    let msg = details.get("message").and_then(Value::as_str).unwrap_or("");
                    let text = format!("ABORT {reason} {msg}");
                    // refused credentials are final; overload aborts (handshake timeout, limits) are not
                    let fatal =
                        reason.starts_with("fabric.auth-failed") || reason.contains("no_such");
                    return Err(if fatal {
                        JoinError::Fatal(text)
                    } else {
                        t(text)
                    });
                }
                other => return Err(t(format!("unexpected {} during join", other.name()))),
            }
        }
    }
}

/// Where the uplink check stands.
enum Uplink {
    Waiting,
    Pending(u64),
    RetryAt(Instant),
    Done,
}

/// A joined connection being served.
pub(crate) struct Serve<'a> {
    sh: &'a Shared,
    id: &'a Ident,
    ws: Socket,
    session: u64,
    regs: Vec<u64>,
    pending_regs: usize,
    uplink: Uplink,
    req: u64,
    seq: u64,
    ready: bool,
    online_once: bool,
    reconnect: bool,
    t0: Instant,
    next_hb: Instant,
    traces: Vec<Trace>,
    rng: Rng,
    started_ns: u64,
}

impl<'a> Serve<'a> {
    pub(crate) fn new(
        sh: &'a Shared,
        id: &'a Ident,
        j: Joined,
        reconnect: bool,
        t0: Instant,
    ) -> Self {
        let count = procedures::count(sh.workers);
        Serve {
            sh,
            id,
            ws: j.ws,
            session: j.session,
            regs: vec![0; count],
            pending_regs: count,
            uplink: Uplink::Waiting,
            req: count as u64,
            seq: 0,
            ready: false,
            online_once: false,
            reconnect,
            t0,
            next_hb: t0,
            traces: Vec::new(),
            rng: Rng(j.session ^ id.index as u64),
            started_ns: now_ns(),
        }
    }

    pub(crate) fn was_ready(&self) -> bool {
        self.online_once
    }

    /// Serves until the connection ends; answers `waiter` once online.
    pub(crate) async fn run(
        &mut self,
        ctrl: &mut mpsc::Receiver<Ctrl>,
        waiter: &mut Option<oneshot::Sender<Ready>>,
    ) -> End {
        let end = self.serve(ctrl, waiter).await;
        if self.ready {
            self.sh.counters.online.fetch_sub(1, Relaxed);
        }
        end
    }

    async fn serve(
        &mut self,
        ctrl: &mut mpsc::Receiver<Ctrl>,
        waiter: &mut Option<oneshot::Sender<Ready>>,
    ) -> End {
        if let Err(e) = self.register().await {
            return End::Lost(e);
        }
        loop {
            let wake = self.next_wake();
            let step = tokio::select! {
                biased;
                c = ctrl.recv() => match c {
                    Some(c) => self.on_ctrl(c, ctrl, waiter).await,
                    None => Err(End::Shutdown),
                },
                m = recv(&mut self.ws) => match m {
                    Ok(msgs) => self.on_messages(msgs).await,
                    Err(e) => Err(End::Lost(e)),
                },
                _ = sleep_until(wake) => self.on_timers().await,
            };
            if let Err(end) = step {
                return end;
            }
            if !self.ready && self.pending_regs == 0 && matches!(self.uplink, Uplink::Done) {
                self.become_ready(waiter);
            }
        }
    }

    fn become_ready(&mut self, waiter: &mut Option<oneshot::Sender<Ready>>) {
        self.ready = true;
        self.online_once = true;
        let c = &self.sh.counters;
        c.online.fetch_add(1, Relaxed);
        Counters::add(&c.connects, 1);
        if self.reconnect {
            Counters::add(&c.reconnects, 1);
        }
        // stagger: nodes spread evenly over one period (golden-ratio sequence)
        let frac = (self.id.index as f64 * 0.618_033_988_75).fract();
        self.next_hb = Instant::now() + self.sh.period().mul_f64(frac);
        if let Some(tx) = waiter.take() {
            let _ = tx.send(Ok(self.t0.elapsed()));
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        let mut wake = self.ready.then_some(self.next_hb);
        if let Uplink::RetryAt(at) = self.uplink {
            wake = Some(wake.map_or(at, |w| w.min(at)));
        }
        if let Some(due) = invoke::next_due(&self.traces) {
            let at = Instant::now() + Duration::from_nanos(due.saturating_sub(now_ns()));
            wake = Some(wake.map_or(at, |w| w.min(at)));
        }
        wake
    }

    async fn register(&mut self) -> Result<(), String> {
        let msgs: Vec<Message> = (0..self.regs.len())
            .filter_map(|i| procedures::at(i, self.sh.workers).map(|p| (i, p)))
            .map(|(i, p)| Message::Register {
                request: i as u64 + 1,
                options: Dict::new(),
                procedure: procedures::uri(&self.id.authid, p),
            })
            .collect();
        send(&mut self.ws, &msgs).await
    }

    async fn call_uplink(&mut self) -> Result<(), End> {
        self.req += 1;
        self.uplink = Uplink::Pending(self.req);
        let call = Message::Call {
            request: self.req,
            options: Dict::new(),
            procedure: UPLINK_CHECK.into(),
            payload: Payload::default(),
        };
        send(&mut self.ws, &[call]).await.map_err(End::Lost)
    }

    async fn on_timers(&mut self) -> Result<(), End> {
        let now = Instant::now();
        if matches!(self.uplink, Uplink::RetryAt(at) if at <= now) {
            self.call_uplink().await?;
        }
        if self.ready && self.next_hb <= now {
            self.heartbeat().await?;
            let period = self.sh.period();
            self.next_hb += period;
            if self.next_hb < now {
                self.next_hb = now + period;
            }
        }
        self.trace_data().await
    }

    async fn heartbeat(&mut self) -> Result<(), End> {
        self.seq += 1;
        let period = self.sh.period();
        let beat = payload::Beat {
            authid: &self.id.authid,
            mrealm: &self.sh.mrealm,
            seq: self.seq,
            period_s: period.as_secs_f64().round().max(1.0) as u64,
            now_ns: now_ns(),
            uptime_ns: now_ns().saturating_sub(self.started_ns),
            workers: self.sh.workers,
            pid: self.pid(),
        };
        let mut out = Vec::with_capacity(1024 + 1024 * self.sh.workers);
        let n = payload::write_heartbeats(&mut out, &beat, &mut self.rng, &mut self.req);
        self.ws
            .send(Ws::Binary(out.into()))
            .await
            .map_err(|e| End::Lost(e.to_string()))?;
        Counters::add(&self.sh.counters.heartbeats_sent, n);
        Ok(())
    }

    fn pid(&self) -> u64 {
        10_000 + (self.id.index as u64 % 50_000) * 8
    }

    async fn trace_data(&mut self) -> Result<(), End> {
        let now = now_ns();
        let batches = invoke::due_batches(&mut self.traces, now, &mut self.rng, &self.id.authid);
        if batches.is_empty() {
            return Ok(());
        }
        let mut msgs = Vec::with_capacity(batches.len());
        for (w, args) in batches {
            self.req += 1;
            let wid = procedures::worker_id(w);
            msgs.push(Message::Publish {
                request: self.req,
                options: Dict::new(),
                topic: format!(
                    "crossbarfabriccenter.node.{}.worker.{wid}.on_trace_data",
                    self.id.authid
                ),
                payload: Payload::args(args),
            });
        }
        Counters::add(&self.sh.counters.trace_events, msgs.len() as u64);
        send(&mut self.ws, &msgs).await.map_err(End::Lost)
    }

    async fn on_messages(&mut self, msgs: Vec<Message>) -> Result<(), End> {
        let mut replies = Vec::new();
        for m in msgs {
            if let Some(r) = self.on_message(m).await? {
                replies.push(r);
            }
        }
        if replies.is_empty() {
            return Ok(());
        }
        send(&mut self.ws, &replies).await.map_err(End::Lost)
    }

    /// Handles one message; returns a reply to send, if any.
    async fn on_message(&mut self, m: Message) -> Result<Option<Message>, End> {
        let c = &self.sh.counters;
        match m {
            Message::Registered {
                request,
                registration,
            } => {
                self.on_registered(request, Some(registration)).await?;
            }
            Message::Published { .. } => Counters::add(&c.heartbeats_acked, 1),
            Message::Invocation {
                request,
                registration,
                payload,
                ..
            } => {
                return Ok(Some(self.invocation(request, registration, payload)));
            }
            Message::Result { request, .. } => {
                if matches!(self.uplink, Uplink::Pending(r) if r == request) {
                    self.uplink = Uplink::Done;
                }
            }
            Message::Error {
                request_type,
                request,
                error,
                ..
            } => {
                self.on_error(request_type, request, &error).await?;
            }
            Message::Goodbye { .. } => {
                let bye = Message::Goodbye {
                    details: Dict::new(),
                    reason: "wamp.close.goodbye_and_out".into(),
                };
                let _ = send(&mut self.ws, &[bye]).await;
                return Err(End::Lost("the master said GOODBYE".into()));
            }
            Message::Abort { reason, .. } => return Err(End::Lost(format!("ABORT {reason}"))),
            _ => {}
        }
        Ok(None)
    }

    async fn on_registered(&mut self, request: u64, reg: Option<u64>) -> Result<(), End> {
        let Some(slot) = request
            .checked_sub(1)
            .and_then(|i| self.regs.get_mut(i as usize))
        else {
            return Ok(());
        };
        if *slot == 0 && self.pending_regs > 0 {
            *slot = reg.unwrap_or(u64::MAX);
            self.pending_regs -= 1;
            if self.pending_regs == 0 {
                self.call_uplink().await?;
            }
        }
        Ok(())
    }

    async fn on_error(&mut self, request_type: u64, request: u64, error: &str) -> Result<(), End> {
        let c = &self.sh.counters;
        match request_type {
            code::REGISTER => {
                Counters::add(&c.errors, 1);
                tracing::debug!(node = %self.id.authid, %error, "REGISTER refused");
                self.on_registered(request, None).await?;
            }
            code::CALL if matches!(self.uplink, Uplink::Pending(r) if r == request) => {
                if error == "wamp.error.no_such_procedure" {
                    self.uplink = Uplink::RetryAt(Instant::now() + UPLINK_RETRY);
                } else {
                    Counters::add(&c.errors, 1);
                    self.uplink = Uplink::Done;
                }
            }
            _ => Counters::add(&c.errors, 1),
        }
        Ok(())
    }

    fn invocation(&mut self, request: u64, registration: u64, payload: Payload) -> Message {
        Counters::add(&self.sh.counters.invocations, 1);
        let proc = self
            .regs
            .iter()
            .position(|r| *r == registration)
            .and_then(|i| procedures::at(i, self.sh.workers));
        let pubkey = self.id.key.pubkey_hex();
        let mut ctx = Ctx {
            facts: NodeFacts {
                authid: &self.id.authid,
                pubkey: &pubkey,
                mrealm: &self.sh.mrealm,
                session: self.session,
                started_ns: self.started_ns,
                workers: self.sh.workers,
                pid: self.pid(),
            },
            traces: &mut self.traces,
            rng: &mut self.rng,
        };
        let answer = match proc {
            Some(p) => invoke::answer(p, &payload.args, &payload.kwargs, &mut ctx),
            None => Err((
                "wamp.error.no_such_registration",
                format!("unknown registration {registration}"),
            )),
        };
        match answer {
            Ok(payload) => Message::Yield {
                request,
                options: Dict::new(),
                payload,
            },
            Err((uri, msg)) => Message::Error {
                request_type: code::INVOCATION,
                request,
                details: Dict::new(),
                error: uri.into(),
                payload: Payload::args(vec![msg.into()]),
            },
        }
    }

    async fn on_ctrl(
        &mut self,
        c: Ctrl,
        ctrl: &mut mpsc::Receiver<Ctrl>,
        waiter: &mut Option<oneshot::Sender<Ready>>,
    ) -> Result<(), End> {
        match c {
            Ctrl::Connect(tx) if self.ready => {
                let _ = tx.send(Ok(Duration::ZERO));
            }
            Ctrl::Connect(tx) => *waiter = Some(tx),
            Ctrl::Shutdown(ack) => {
                self.goodbye().await;
                let _ = ack.send(());
                return Err(End::Shutdown);
            }
            Ctrl::Disconnect(how, ack) => {
                Counters::add(&self.sh.counters.disconnects, 1);
                return Err(self.leave(how, ack, ctrl, waiter).await);
            }
        }
        Ok(())
    }

    async fn leave(
        &mut self,
        how: Disconnect,
        ack: oneshot::Sender<()>,
        ctrl: &mut mpsc::Receiver<Ctrl>,
        waiter: &mut Option<oneshot::Sender<Ready>>,
    ) -> End {
        match how {
            Disconnect::Goodbye => self.goodbye().await,
            Disconnect::DropTcp => {
                // linger 0: dropping the socket sends RST instead of FIN; a zero linger
                // never blocks, which is what the deprecation warns about
                #[allow(deprecated)]
                let _ = self.ws.get_ref().set_linger(Some(Duration::ZERO));
            }
            Disconnect::Freeze => {
                if self.ready {
                    self.ready = false;
                    self.sh.counters.online.fetch_sub(1, Relaxed);
                }
                let _ = ack.send(());
                return frozen(ctrl, waiter).await;
            }
        }
        let _ = ack.send(());
        End::Left
    }

    /// GOODBYE `wamp.close.normal`, then waits (bounded) for the master's GOODBYE.
    async fn goodbye(&mut self) {
        let bye = Message::Goodbye {
            details: Dict::new(),
            reason: "wamp.close.normal".into(),
        };
        if send(&mut self.ws, &[bye]).await.is_err() {
            return;
        }
        let wait = async {
            while let Ok(msgs) = recv(&mut self.ws).await {
                if msgs.iter().any(|m| matches!(m, Message::Goodbye { .. })) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(GOODBYE_WAIT, wait).await;
        let _ = tokio::time::timeout(GOODBYE_WAIT, self.ws.close(None)).await;
    }
}

/// A frozen node: holds its socket without reading it until told to reconnect or stop.
async fn frozen(
    ctrl: &mut mpsc::Receiver<Ctrl>,
    waiter: &mut Option<oneshot::Sender<Ready>>,
) -> End {
    loop {
        match ctrl.recv().await {
            None => return End::Shutdown,
            Some(Ctrl::Shutdown(ack)) => {
                let _ = ack.send(());
                return End::Shutdown;
            }
            Some(Ctrl::Disconnect(_, ack)) => {
                let _ = ack.send(());
            }
            Some(Ctrl::Connect(tx)) => {
                *waiter = Some(tx);
                return End::Reconnect;
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
