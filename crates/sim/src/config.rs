//! The simulator's configuration ([`SimConfig`]) and humantime-like duration parsing
//! (`100ms`, `10s`, `1m`, `1h`, `1.5s`).

use std::path::PathBuf;
use std::time::Duration;

use crate::error::SimError;

/// Everything a simulated fleet needs to know.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Master URL (`ws://host:port/path`).
    pub url: String,
    /// How many nodes to simulate.
    pub nodes: usize,
    /// Management realm the nodes are paired to (created if missing).
    pub mrealm: String,
    /// Heartbeat period.
    pub period: Duration,
    /// Router workers per node (`router1`, ...); each node also has its `controller`.
    pub workers: usize,
    /// Churn rate: fraction of the nodes disconnected per minute (0.01 = 1 %/min).
    pub churn_per_min: f64,
    /// The superuser's private key file (Crossbar format).
    pub superuser_key: PathBuf,
    /// Where node keys (and the record of pairings) persist; `None`: keys live in memory only.
    pub keys_dir: Option<PathBuf>,
    /// Node authid prefix: nodes are `<prefix>-00000`, `<prefix>-00001`, ...
    pub prefix: String,
    /// Loopback source addresses to spread connections over (0 = as many as needed).
    pub source_addrs: usize,
    /// Most connection handshakes in flight at once.
    pub connect_concurrency: usize,
    /// Seed for keys, staggering, payload noise and churn choices.
    pub seed: u64,
}

impl SimConfig {
    /// A configuration with the defaults for everything but the essentials.
    pub fn new(url: impl Into<String>, nodes: usize, superuser_key: impl Into<PathBuf>) -> Self {
        SimConfig {
            url: url.into(),
            nodes,
            mrealm: "default".into(),
            period: Duration::from_secs(10),
            workers: 1,
            churn_per_min: 0.0,
            superuser_key: superuser_key.into(),
            keys_dir: None,
            prefix: "sim".into(),
            source_addrs: 0,
            connect_concurrency: 256,
            seed: 1,
        }
    }

    /// Refuses settings the simulator cannot honour.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: &str| Err(SimError::Config(m.to_owned()));
        if self.nodes == 0 {
            return bad("--nodes must be at least 1");
        }
        if self.period.is_zero() {
            return bad("--period must be positive");
        }
        if self.connect_concurrency == 0 {
            return bad("--connect-concurrency must be at least 1");
        }
        if !valid_prefix(&self.prefix) {
            return bad("--prefix must match [a-z0-9][a-z0-9_-]*");
        }
        if !(0.0..=60.0).contains(&self.churn_per_min) {
            return bad("--churn must be between 0 and 60 (fraction of nodes per minute)");
        }
        if !self.url.starts_with("ws://") {
            return bad("only ws:// URLs are supported by the simulator");
        }
        Ok(())
    }

    /// The authid of node `i`.
    pub fn authid(&self, i: usize) -> String {
        format!("{}-{i:05}", self.prefix)
    }
}

fn valid_prefix(p: &str) -> bool {
    let mut chars = p.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Parses a duration such as `100ms`, `10s`, `1.5s`, `2m`, `1h`, `500us`; a bare number is
/// seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration \"{s}\" (examples: 100ms, 10s, 1m)"))?;
    let scale = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "m" | "min" | "mins" => 60.0,
        "h" => 3600.0,
        u => {
            return Err(format!(
                "unknown unit \"{u}\" in \"{s}\" (use us, ms, s, m or h)"
            ))
        }
    };
    Duration::try_from_secs_f64(value * scale).map_err(|e| format!("invalid duration \"{s}\": {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sub_second_and_minute_periods() {
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("10parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn validates_prefix_and_url() {
        let mut c = SimConfig::new("ws://127.0.0.1:1/ws", 3, "k.priv");
        assert!(c.validate().is_ok());
        assert_eq!(c.authid(7), "sim-00007");
        c.prefix = "Bad".into();
        assert!(c.validate().is_err());
        c.prefix = "ok".into();
        c.url = "wss://x/ws".into();
        assert!(c.validate().is_err());
    }
}
