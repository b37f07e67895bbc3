//! Time helpers in the forms Crossbar's master puts on the wire (the clock and ISO-8601 from
//! [`wamp_proto::time`], durations in words).

pub use wamp_proto::time::{iso8601, now_ns, utcnow};

/// A duration in words as Python's `humanize.naturaldelta` writes it ("47 seconds", "2 minutes").
pub fn naturaldelta(secs: u64) -> String {
    let plural = |n: u64, one: &str, unit: &str| {
        if n == 1 {
            one.to_owned()
        } else {
            format!("{n} {unit}")
        }
    };
    match secs {
        0 => "a moment".into(),
        1..=59 => plural(secs, "a second", "seconds"),
        60..=3599 => plural(secs / 60, "a minute", "minutes"),
        3600..=86_399 => plural(secs / 3600, "an hour", "hours"),
        _ => plural(secs / 86_400, "a day", "days"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn natural() {
        assert_eq!(super::naturaldelta(47), "47 seconds");
        assert_eq!(super::naturaldelta(130), "2 minutes");
        assert_eq!(super::naturaldelta(1), "a second");
        assert_eq!(super::naturaldelta(3600), "an hour");
    }
}
