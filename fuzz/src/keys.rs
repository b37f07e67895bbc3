//! Key files and cryptosign answers: Crossbar key file text ([`KeyFile::parse`]) and the hex a
//! client sends as its public key and AUTHENTICATE signature ([`cryptosign::verify`]).

use wamp_proto::cryptosign::{self, LEN};
use wamp_proto::keyfile::KeyFile;

/// Parses key file text; an accepted file has a public key and survives format + parse.
pub fn keyfile_round_trip(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(kf) = KeyFile::parse(text) else {
        return;
    };
    assert!(kf.public_key().is_ok(), "accepted without a public key");
    assert!(kf.private_key().is_ok(), "accepted with a bad private key");
    let again = KeyFile::parse(&kf.to_string());
    assert_eq!(again.as_ref(), Ok(&kf), "format + parse changed {text:?}");
}

/// The first byte picks a check: hostile hex, a hostile answer, or sign-then-verify.
pub fn cryptosign_checks(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    match pick % 3 {
        0 => hex_parse(rest),
        1 => hostile_answer(rest),
        _ => sign_verify(rest),
    }
}

/// `parse_hex` accepts exactly the hex of `N` bytes (around optional whitespace).
fn hex_parse(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(k) = cryptosign::parse_hex::<LEN>(s) {
        assert_eq!(hex::encode(k), s.trim().to_ascii_lowercase());
    }
    if let Ok(raw) = cryptosign::parse_hex::<96>(s) {
        assert_eq!(hex::encode(raw), s.trim().to_ascii_lowercase());
    }
}

/// A public key, the expected signed data and an arbitrary answer: never panics, and an
/// accepted answer carries exactly the expected data.
fn hostile_answer(data: &[u8]) {
    let (Some(pubkey), Some(expected)) = (take::<LEN>(data, 0), take::<LEN>(data, LEN)) else {
        return;
    };
    let answer = String::from_utf8_lossy(&data[2 * LEN..]);
    if cryptosign::verify(&pubkey, &expected, &answer).is_ok() {
        let raw: [u8; 96] = cryptosign::parse_hex(&answer).expect("verified answers are hex");
        assert_eq!(raw[64..], expected);
    }
}

/// A real signature verifies; the same signature with one hex digit changed does not.
fn sign_verify(data: &[u8]) {
    let (Some(secret), Some(msg)) = (take::<LEN>(data, 0), take::<LEN>(data, LEN)) else {
        return;
    };
    let pubkey = cryptosign::public_key(&secret);
    let sig = cryptosign::sign(&secret, &msg);
    assert_eq!(cryptosign::verify(&pubkey, &msg, &sig), Ok(()));
    let at = data.get(2 * LEN).map_or(0, |b| *b as usize % sig.len());
    let mut bytes = sig.into_bytes();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    let tampered = String::from_utf8_lossy(&bytes);
    assert!(cryptosign::verify(&pubkey, &msg, &tampered).is_err());
}

fn take<const N: usize>(data: &[u8], at: usize) -> Option<[u8; N]> {
    data.get(at..at + N)?.try_into().ok()
}
