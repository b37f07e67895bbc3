//! WAMP-cryptosign maths (Ed25519), as autobahn and Crossbar compute it.
//!
//! The router sends a 32-byte random challenge as hex. The client signs the challenge — or, when
//! it asked for the `tls-unique` channel binding, the challenge XORed with SHA-256 of the TLS
//! Finished message that opened the connection — and answers with
//! `hex(signature (64 bytes) ‖ signed data (32 bytes))`, 192 hex characters. The router checks
//! that the signed data is exactly what it expected and that the signature verifies under the
//! client's public key. Pure functions: the caller supplies every random byte.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Length of a challenge, a public key, a secret key seed and a channel binding.
pub const LEN: usize = 32;

/// Why a cryptosign answer or key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptosignError {
    #[error("invalid hex: {0}")]
    Hex(String),
    #[error("expected {expected} bytes, got {got}")]
    Length { expected: usize, got: usize },
    #[error("invalid Ed25519 public key")]
    PublicKey,
    #[error("the signed data is not the challenge this session was sent")]
    WrongChallenge,
    #[error("signature verification failed")]
    BadSignature,
}

/// Decodes hex of exactly `N` bytes.
pub fn parse_hex<const N: usize>(s: &str) -> Result<[u8; N], CryptosignError> {
    let bytes = hex::decode(s.trim()).map_err(|e| CryptosignError::Hex(e.to_string()))?;
    let got = bytes.len();
    bytes
        .try_into()
        .map_err(|_| CryptosignError::Length { expected: N, got })
}

/// The `tls-unique` channel binding value: SHA-256 of the first TLS Finished message.
pub fn tls_unique_binding(finished: &[u8]) -> [u8; LEN] {
    Sha256::digest(finished).into()
}

/// What the client signs: the challenge, XORed with the channel binding when there is one.
pub fn signed_data(challenge: &[u8; LEN], channel_binding: Option<&[u8; LEN]>) -> [u8; LEN] {
    let mut data = *challenge;
    if let Some(cb) = channel_binding {
        data.iter_mut().zip(cb).for_each(|(d, c)| *d ^= c);
    }
    data
}

/// The public key of a secret key seed.
pub fn public_key(secret: &[u8; LEN]) -> [u8; LEN] {
    SigningKey::from_bytes(secret).verifying_key().to_bytes()
}

/// Signs `data` and formats the AUTHENTICATE signature: 192 hex characters.
pub fn sign(secret: &[u8; LEN], data: &[u8; LEN]) -> String {
    let sig = SigningKey::from_bytes(secret).sign(data);
    let mut out = hex::encode(sig.to_bytes());
    out.push_str(&hex::encode(data));
    out
}

/// Checks an AUTHENTICATE signature against the public key and the data that had to be signed.
pub fn verify(
    pubkey: &[u8; LEN],
    expected: &[u8; LEN],
    response_hex: &str,
) -> Result<(), CryptosignError> {
    let raw: [u8; 96] = parse_hex(response_hex)?;
    let (sig, data) = raw.split_at(64);
    if data != expected {
        return Err(CryptosignError::WrongChallenge);
    }
    let key = VerifyingKey::from_bytes(pubkey).map_err(|_| CryptosignError::PublicKey)?;
    let sig_bytes: [u8; 64] = sig.try_into().map_err(|_| CryptosignError::BadSignature)?;
    key.verify_strict(data, &Signature::from_bytes(&sig_bytes))
        .map_err(|_| CryptosignError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: [u8; 32] = [7; 32];

    #[test]
    fn sign_then_verify() {
        let pubkey = public_key(&SECRET);
        let challenge = [0x5a; 32];
        let sig = sign(&SECRET, &challenge);
        assert_eq!(sig.len(), 192);
        assert_eq!(verify(&pubkey, &challenge, &sig), Ok(()));
    }

    #[test]
    fn channel_binding_xors() {
        let challenge = [0xff; 32];
        let cb = [0x0f; 32];
        assert_eq!(signed_data(&challenge, Some(&cb)), [0xf0; 32]);
        assert_eq!(signed_data(&challenge, None), challenge);
    }

    #[test]
    fn rejects_other_challenge_and_tampering() {
        let pubkey = public_key(&SECRET);
        let sig = sign(&SECRET, &[1; 32]);
        assert_eq!(
            verify(&pubkey, &[2; 32], &sig),
            Err(CryptosignError::WrongChallenge)
        );
        let mut tampered = sig.clone().into_bytes();
        tampered[0] = if tampered[0] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(tampered).unwrap_or_default();
        assert_eq!(
            verify(&pubkey, &[1; 32], &tampered),
            Err(CryptosignError::BadSignature)
        );
        let other = public_key(&[9; 32]);
        assert_eq!(
            verify(&other, &[1; 32], &sig),
            Err(CryptosignError::BadSignature)
        );
        assert!(matches!(
            verify(&pubkey, &[1; 32], "zz"),
            Err(CryptosignError::Hex(_))
        ));
        assert!(matches!(
            verify(&pubkey, &[1; 32], "00"),
            Err(CryptosignError::Length { .. })
        ));
    }

    /// A vector made with PyNaCl (autobahn's signer): seed 32×0x07, challenge 32×0x5a.
    #[test]
    fn matches_pynacl_signature() {
        let sig = sign(&SECRET, &[0x5a; 32]);
        assert_eq!(hex::encode(public_key(&SECRET)), PYNACL_PUBKEY);
        assert_eq!(sig, PYNACL_SIG);
    }

    const PYNACL_PUBKEY: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";
    const PYNACL_SIG: &str = "bc89ad4fb4e28c4657542ecf400fd635b6a098823d32ee3c401d6c6f65f37913071fd40efdbe12fb6c391b2a69b5ee0b6037ccff3dda56b61880d092d9403c065a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
}
