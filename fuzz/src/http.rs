//! The WebSocket listener's HTTP side: [`read_head`] parses the untrusted request head, then
//! the subprotocol choice and the 101 answer. (WebSocket frames after the upgrade are parsed by
//! tungstenite, not by us.)

use std::sync::OnceLock;

use tokio::io::BufReader;
use tokio::runtime::Runtime;
use wamp_router::transport::http::{accept_upgrade, read_head};

/// Bytes a head read may consume: the head limit plus one `BufReader` buffer of read-ahead.
const MAX_CONSUMED: usize = 16 * 1024 + 1 + 8 * 1024;

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    })
}

/// Reads a request head from `data`: never panics, never reads far past the head limit, and
/// an upgrade it accepts is answered with `101` and the chosen subprotocol.
pub fn upgrade_checks(data: &[u8]) {
    runtime().block_on(async {
        let mut r = BufReader::new(data);
        let head = read_head(&mut r).await;
        let consumed = data.len() - r.get_ref().len();
        assert!(
            consumed <= MAX_CONSUMED,
            "read {consumed} bytes for one head"
        );
        let Ok(Some(head)) = head else { return };
        let _ = head.path.split('?').next();
        let _ = head.is_upgrade();
        let Some(ser) = head.choose_serializer() else {
            return;
        };
        let mut out = Vec::new();
        let accepted = accept_upgrade(&mut out, &head, ser).await;
        let text = String::from_utf8_lossy(&out);
        match accepted {
            Ok(true) => {
                assert!(text.starts_with("HTTP/1.1 101 "), "{text}");
                assert!(text.contains(ser.subprotocol()));
                assert!(text.ends_with("\r\n\r\n"));
            }
            Ok(false) => assert!(text.starts_with("HTTP/1.1 400 ")),
            Err(e) => panic!("writing to a Vec failed: {e}"),
        }
    });
}
