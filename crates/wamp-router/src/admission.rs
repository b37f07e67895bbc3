//! Which connections the listener takes: at most `max_connections` at once and
//! `max_handshakes` not yet welcomed, and of each at most a per-address share
//! (`max_connections_per_ip`, `max_handshakes_per_ip`), so that idle sockets from one host
//! cannot lock everyone else out (issue 19: ~1,100 of them made 35 of 38 joins fail).
//!
//! The counts are kept by [`Gauge`]s (listener-wide) and an [`AddrGauge`] (per address; IPv6
//! addresses count per /64, the block one host usually has). A connection holds an
//! [`Admission`] whose permits are released when it is dropped.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A counter with an upper bound, shared by the connections it counts.
#[derive(Debug, Default)]
pub struct Gauge {
    count: AtomicUsize,
}

impl Gauge {
    /// Counts one more unless `max` are already counted.
    pub fn try_acquire(self: &Arc<Self>, max: usize) -> Option<Permit> {
        let mut now = self.count.load(Ordering::Relaxed);
        loop {
            if now >= max {
                return None;
            }
            match self.count.compare_exchange_weak(
                now,
                now + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(Permit(self.clone())),
                Err(seen) => now = seen,
            }
        }
    }

    /// How many are counted now.
    pub fn get(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}

/// One counted unit of a [`Gauge`]; released on drop.
#[derive(Debug)]
pub struct Permit(Arc<Gauge>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Counts per source address, each with the same upper bound.
#[derive(Debug, Default)]
pub struct AddrGauge {
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// The key an address is counted under: IPv4 (also IPv4-mapped IPv6) as is, IPv6 by its /64.
fn addr_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

impl AddrGauge {
    /// Counts one more for `ip` unless `max` are already counted for it.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<AddrPermit> {
        let key = addr_key(ip);
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(key).or_default();
        if *n >= max {
            if *n == 0 {
                counts.remove(&key);
            }
            return None;
        }
        *n += 1;
        Some(AddrPermit(self.clone(), key))
    }

    /// How many are counted for `ip`.
    pub fn get(&self, ip: IpAddr) -> usize {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.get(&addr_key(ip)).copied().unwrap_or(0)
    }
}

/// One counted unit of an [`AddrGauge`]; released on drop.
#[derive(Debug)]
pub struct AddrPermit(Arc<AddrGauge>, IpAddr);

impl Drop for AddrPermit {
    fn drop(&mut self) {
        let mut counts = self.0.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.1) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.1);
            }
        }
    }
}

/// A place among the listener's connections and among its address's.
#[derive(Debug)]
pub struct Slot {
    _all: Permit,
    _addr: AddrPermit,
}

impl Slot {
    pub fn new(all: Permit, addr: AddrPermit) -> Self {
        Slot {
            _all: all,
            _addr: addr,
        }
    }
}

/// What an accepted connection holds: its place among the connections and, until its session
/// is welcomed, among the connections in their opening handshake.
#[derive(Debug)]
pub struct Admission {
    _connection: Slot,
    handshake: Option<Slot>,
}

impl Admission {
    pub fn new(connection: Slot, handshake: Slot) -> Self {
        Admission {
            _connection: connection,
            handshake: Some(handshake),
        }
    }

    /// The opening handshake is over (WELCOME sent): free the handshake slot.
    pub fn handshake_done(&mut self) {
        self.handshake = None;
    }

    /// Whether the connection still counts as in its opening handshake.
    pub fn in_handshake(&self) -> bool {
        self.handshake.is_some()
    }
}

/// The gauges of a listener.
#[derive(Debug, Default)]
pub struct Gauges {
    pub connections: Arc<Gauge>,
    pub handshakes: Arc<Gauge>,
    pub connections_by_addr: Arc<AddrGauge>,
    pub handshakes_by_addr: Arc<AddrGauge>,
}

/// The limits an [`Admission`] is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub connections: usize,
    pub handshakes: usize,
    pub connections_per_ip: usize,
    pub handshakes_per_ip: usize,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Connections,
    Handshakes,
    AddrConnections,
    AddrHandshakes,
}

impl Refused {
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::Connections => "max_connections",
            Refused::Handshakes => "max_handshakes",
            Refused::AddrConnections => "max_connections_per_ip",
            Refused::AddrHandshakes => "max_handshakes_per_ip",
        }
    }
}

impl Gauges {
    /// A place for a new connection from `ip`, or which limit refused it.
    pub fn admit(&self, ip: IpAddr, b: Bounds) -> Result<Admission, Refused> {
        use Refused::*;
        let by_addr = |g: &Arc<AddrGauge>, max, why| g.try_acquire(ip, max).ok_or(why);
        let addr_conn = by_addr(
            &self.connections_by_addr,
            b.connections_per_ip,
            AddrConnections,
        )?;
        let addr_hs = by_addr(
            &self.handshakes_by_addr,
            b.handshakes_per_ip,
            AddrHandshakes,
        )?;
        let conn = self
            .connections
            .try_acquire(b.connections)
            .ok_or(Connections)?;
        let hs = self
            .handshakes
            .try_acquire(b.handshakes)
            .ok_or(Handshakes)?;
        Ok(Admission::new(
            Slot::new(conn, addr_conn),
            Slot::new(hs, addr_hs),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_bounds_and_releases() {
        let g = Arc::new(Gauge::default());
        let a = g.try_acquire(2).expect("first");
        let _b = g.try_acquire(2).expect("second");
        assert!(g.try_acquire(2).is_none());
        drop(a);
        assert_eq!(g.get(), 1);
        assert!(g.try_acquire(2).is_some());
    }

    #[test]
    fn addresses_are_counted_apart_and_ipv6_per_64() {
        let g = Arc::new(AddrGauge::default());
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        let p = g.try_acquire(a, 1).expect("a");
        assert!(g.try_acquire(a, 1).is_none());
        assert!(g.try_acquire(b, 1).is_some());
        drop(p);
        assert_eq!(g.get(a), 0);
        let v6a: IpAddr = "2001:db8::1".parse().expect("ip");
        let v6b: IpAddr = "2001:db8::ffff:1".parse().expect("ip");
        let v6c: IpAddr = "2001:db8:0:1::1".parse().expect("ip");
        let _q = g.try_acquire(v6a, 1).expect("v6a");
        assert!(g.try_acquire(v6b, 1).is_none(), "same /64");
        assert!(g.try_acquire(v6c, 1).is_some(), "another /64");
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().expect("ip");
        let _r = g.try_acquire(mapped, 1).expect("mapped");
        assert!(g.try_acquire(a, 1).is_none(), "mapped counts as IPv4");
    }

    #[test]
    fn a_refusal_releases_what_it_took() {
        let g = Gauges::default();
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let bounds = Bounds {
            connections: 1,
            handshakes: 5,
            connections_per_ip: 5,
            handshakes_per_ip: 5,
        };
        let first = g.admit(ip, bounds).expect("first");
        assert_eq!(g.admit(ip, bounds).err(), Some(Refused::Connections));
        assert_eq!(g.connections_by_addr.get(ip), 1);
        assert_eq!(g.handshakes_by_addr.get(ip), 1);
        drop(first);
        assert_eq!(g.connections.get(), 0);
        assert!(g.admit(ip, bounds).is_ok());
    }
}
