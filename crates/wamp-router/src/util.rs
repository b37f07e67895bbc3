//! Small helpers: random ids and timestamps in the forms Crossbar puts on the wire.

use std::time::{SystemTime, UNIX_EPOCH};

use wamp_proto::{id::global_id, Id};

/// Ids by (URI, match policy), looked up by `&str` without allocating.
#[derive(Debug, Default)]
pub struct UriIndex([std::collections::HashMap<String, Id>; 3]);

impl UriIndex {
    fn slot(policy: wamp_proto::MatchPolicy) -> usize {
        policy as usize
    }
    pub fn get(&self, uri: &str, policy: wamp_proto::MatchPolicy) -> Option<Id> {
        self.0[Self::slot(policy)].get(uri).copied()
    }
    pub fn insert(&mut self, uri: String, policy: wamp_proto::MatchPolicy, id: Id) {
        self.0[Self::slot(policy)].insert(uri, id);
    }
    pub fn remove(&mut self, uri: &str, policy: wamp_proto::MatchPolicy) {
        self.0[Self::slot(policy)].remove(uri);
    }
}

/// Removes `item` from `owner`'s list in a session → ids index, dropping empty lists.
pub(crate) fn unlink(index: &mut std::collections::HashMap<Id, Vec<Id>>, owner: Id, item: Id) {
    if let Some(list) = index.get_mut(&owner) {
        list.retain(|x| *x != item);
        if list.is_empty() {
            index.remove(&owner);
        }
    }
}

/// A fresh random id in the global scope.
pub fn random_id() -> Id {
    global_id(rand::random::<u64>())
}

/// Nanoseconds since the Unix epoch.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Now as ISO-8601 UTC with milliseconds and `Z`, e.g. `2026-11-24T19:02:13.578Z`.
pub fn utcnow() -> String {
    iso8601(now_ns())
}

/// Formats nanoseconds since the epoch as ISO-8601 UTC with milliseconds.
pub fn iso8601(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let millis = (ns / 1_000_000) % 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Gregorian date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso() {
        assert_eq!(super::iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            super::iso8601(1_795_548_448_822_515_087),
            "2026-11-24T19:27:28.822Z"
        );
        assert_eq!(
            super::iso8601(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
