//! Wall-clock timestamps, the one home of the workspace's time helpers: nanoseconds since the
//! Unix epoch ([`now_ns`]) and the form Crossbar prints them in, ISO-8601 UTC with milliseconds
//! and `Z`, e.g. `2026-11-24T19:02:13.578Z` ([`iso8601`], [`utcnow`]). Pure std: the clock is
//! read through [`SystemTime`], no I/O.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch, now; 0 if the clock is set before 1970 (and `u64::MAX`
/// past the year 2554).
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
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
    use super::{iso8601, now_ns, utcnow};

    #[test]
    fn formats_crossbar_times() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso8601(1_795_548_448_822_515_087),
            "2026-11-24T19:27:28.822Z"
        );
        assert_eq!(iso8601(951_782_400_000_000_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            iso8601(1_795_546_926_957_033_973),
            "2026-11-24T19:02:06.957Z"
        );
    }

    #[test]
    fn reads_the_clock() {
        let (before, now, after) = (now_ns(), utcnow(), now_ns());
        assert!(before > 1_700_000_000_000_000_000 && before <= after);
        assert_eq!(now.len(), "2026-11-24T19:02:13.578Z".len());
        assert!(now.ends_with('Z'));
    }
}
