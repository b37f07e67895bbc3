//! Output for people and for programs: aligned tables (bold headers and coloured status only
//! when stdout is a terminal), human times ("3 s ago"), and `--json` for exact results.

use std::io::IsTerminal;

use wamp_proto::Value;

/// Prints a WAMP value as pretty JSON.
pub fn print_json(v: &Value) {
    let json = serde_json::Value::from(v);
    println!(
        "{}",
        serde_json::to_string_pretty(&json).unwrap_or_else(|_| json.to_string())
    );
}

/// Whether stdout is a terminal (colour allowed).
pub fn colour() -> bool {
    std::io::stdout().is_terminal()
}

/// Renders rows under headers, columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>], colour: bool) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let head: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    let mut out = line(&head, &widths, |s| paint(s, "1", colour));
    for row in rows {
        out.push_str(&line(row, &widths, |s| status_colour(s, colour)));
    }
    out
}

fn line(cells: &[String], widths: &[usize], style: impl Fn(&str) -> String) -> String {
    let mut parts = Vec::with_capacity(cells.len());
    for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
        let pad = if i + 1 == cells.len() {
            0
        } else {
            w - cell.chars().count()
        };
        parts.push(format!("{}{}", style(cell), " ".repeat(pad)));
    }
    format!("{}\n", parts.join("  ").trim_end())
}

fn paint(s: &str, code: &str, colour: bool) -> String {
    if colour {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_owned()
    }
}

fn status_colour(s: &str, colour: bool) -> String {
    match s {
        "online" => paint(s, "32", colour),
        "offline" => paint(s, "31", colour),
        _ => s.to_owned(),
    }
}

/// Key/value rows of a dict (in its order), for a two-column table.
pub fn dict_rows(v: &Value) -> Vec<Vec<String>> {
    let Some(d) = v.as_dict() else {
        return vec![vec!["value".into(), cell(v)]];
    };
    d.iter()
        .map(|(k, val)| vec![k.clone(), field(k, val)])
        .collect()
}

/// A field for people: times in known timestamp fields become "3 s ago (…)".
pub fn field(key: &str, v: &Value) -> String {
    let scale = match key {
        "created" | "registered" => Some(1_000_000),
        "timestamp" | "changed" | "since" => Some(1_000_000_000),
        _ => None,
    };
    match (scale, v.as_i64()) {
        (Some(per_s), Some(t)) if t > 0 => ago(t / per_s, now_secs()),
        _ => cell(v),
    }
}

/// A value as one table cell.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::Str(s) => s.clone(),
        other => serde_json::Value::from(other).to_string(),
    }
}

/// Whole seconds since the epoch, now (the scale [`ago`] compares).
pub fn now_secs() -> i64 {
    i64::try_from(wamp_proto::time::now_ns() / 1_000_000_000).unwrap_or(i64::MAX)
}

/// "3 s ago", "5 min ago", "2 h ago", "4 d ago" (or "in …" for the future).
pub fn ago(then: i64, now: i64) -> String {
    let d = now - then;
    let a = d.unsigned_abs();
    let span = match a {
        0..=59 => format!("{a} s"),
        60..=3599 => format!("{} min", a / 60),
        3600..=86_399 => format!("{} h", a / 3600),
        _ => format!("{} d", a / 86_400),
    };
    if d >= 0 {
        format!("{span} ago")
    } else {
        format!("in {span}")
    }
}

/// Parses a duration such as `30s`, `10m`, `1h`, `2d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("\"{text}\" is not a duration like 30s, 10m, 1h or 2d"))?;
    let per = match unit {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "unknown unit \"{unit}\" in \"{text}\" (use s, m, h or d)"
            ))
        }
    };
    Ok(std::time::Duration::from_secs(n.saturating_mul(per)))
}

/// A one-line sparkline of percentages (0 … 100), oldest first.
pub fn sparkline(values: &[f64]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    values
        .iter()
        .map(|v| {
            let i = (v.clamp(0.0, 100.0) / 100.0 * 7.0).round() as usize;
            BLOCKS[i.min(7)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").map(|d| d.as_secs()), Ok(30));
        assert_eq!(parse_duration("10m").map(|d| d.as_secs()), Ok(600));
        assert_eq!(parse_duration("1h").map(|d| d.as_secs()), Ok(3600));
        assert_eq!(parse_duration("2d").map(|d| d.as_secs()), Ok(172_800));
        assert_eq!(parse_duration("5").map(|d| d.as_secs()), Ok(5));
        assert!(parse_duration("1y").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn sparklines() {
        assert_eq!(sparkline(&[0.0, 50.0, 100.0, 150.0]), "▁▅██");
        assert_eq!(sparkline(&[]), "");
    }

    #[test]
    fn human_times() {
        assert_eq!(ago(97, 100), "3 s ago");
        assert_eq!(ago(0, 300), "5 min ago");
        assert_eq!(ago(0, 7200), "2 h ago");
        assert_eq!(ago(0, 4 * 86_400), "4 d ago");
        assert_eq!(ago(110, 100), "in 10 s");
    }

    #[test]
    fn columns_are_aligned() {
        let rows = vec![
            vec!["a".into(), "x".into()],
            vec!["long".into(), "y".into()],
        ];
        let t = table(&["K", "V"], &rows, false);
        assert_eq!(t, "K     V\na     x\nlong  y\n");
    }
}
