//! Inputs kept from fuzzing the WebSocket listener's HTTP side (`fuzz/` target `http_upgrade`,
//! run by `scripts/fuzz`), replayed on stable: every file under
//! `tests/fuzz_regressions/http_upgrade/` goes through the same check as the fuzz target (the
//! head read never panics and never reads far past its 16 KiB limit; an accepted upgrade is
//! answered with 101). `EXPECTED` lists every input with its outcome: `ok`, or `err <text>`.

use std::path::Path;

use tokio::io::BufReader;
use wamp_router::transport::http::{accept_upgrade, read_head};

/// Head limit plus one `BufReader` buffer of read-ahead.
const MAX_CONSUMED: usize = 16 * 1024 + 1 + 8 * 1024;

/// Reads one head from `data` and answers it as the listener does.
async fn upgrade(data: &[u8]) -> Result<(), String> {
    let mut r = BufReader::new(data);
    let head = read_head(&mut r).await;
    let consumed = data.len() - r.get_ref().len();
    assert!(
        consumed <= MAX_CONSUMED,
        "read {consumed} bytes for one head"
    );
    let head = head
        .map_err(|e| e.to_string())?
        .ok_or("closed before a head")?;
    let ser = head.choose_serializer().ok_or("no WAMP subprotocol")?;
    let mut out = Vec::new();
    let accepted = accept_upgrade(&mut out, &head, ser)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out);
    if !accepted {
        return Err(text.lines().next().unwrap_or("").to_owned());
    }
    assert!(text.starts_with("HTTP/1.1 101 ") && text.contains(ser.subprotocol()));
    Ok(())
}

#[tokio::test]
async fn http_upgrade() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/http_upgrade");
    let expected = std::fs::read_to_string(dir.join("EXPECTED")).expect("EXPECTED file");
    let mut seen = 0;
    for line in expected.lines().filter(|l| !l.trim().is_empty()) {
        let (file, want) = line.split_once(' ').unwrap_or((line, ""));
        let data = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let got = upgrade(&data).await;
        match (want.trim(), &got) {
            ("ok", Ok(())) => {}
            (w, Err(e)) if w.strip_prefix("err ").is_some_and(|t| e.contains(t)) => {}
            (w, _) => panic!("http_upgrade/{file}: expected {w}, got {got:?}"),
        }
        seen += 1;
    }
    let files = std::fs::read_dir(&dir).expect("dir").count() - 1;
    assert_eq!(seen, files, "every input must be listed in EXPECTED");
}

/// A request line that never ends: refused after the head limit, not buffered to the end
/// (before the fix `read_until` buffered the whole line, so a peer could fill the memory
/// within the handshake timeout).
#[tokio::test]
async fn endless_line_is_refused_early() {
    let mut data = b"GET /".to_vec();
    data.resize(4 << 20, b'a');
    assert_eq!(upgrade(&data).await, Err("request head too large".into()));
}
