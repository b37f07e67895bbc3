//! TLS for the WebSocket listener, through OpenSSL: a certificate chain and a private key in
//! PEM files. OpenSSL (not rustls) because WAMP-cryptosign's `tls-unique` channel binding needs
//! the TLS Finished message of the handshake, which only OpenSSL exposes.

use std::path::Path;
use std::pin::Pin;

use openssl::ssl::{Ssl, SslAcceptor, SslFiletype, SslMethod};
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

use crate::error::RouterError;

/// A configured TLS acceptor.
#[derive(Clone)]
pub struct TlsConfig {
    acceptor: SslAcceptor,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsConfig")
    }
}

impl TlsConfig {
    /// Loads the certificate chain (leaf first) and the private key from PEM files.
    pub fn from_pem_files(cert_chain: &Path, key: &Path) -> Result<TlsConfig, RouterError> {
        let tls = |what: &str, p: &Path, e: openssl::error::ErrorStack| {
            RouterError::Config(format!("TLS {what} {}: {e}", p.display()))
        };
        let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())
            .map_err(|e| RouterError::Config(format!("TLS setup: {e}")))?;
        b.set_certificate_chain_file(cert_chain)
            .map_err(|e| tls("certificate chain", cert_chain, e))?;
        b.set_private_key_file(key, SslFiletype::PEM)
            .map_err(|e| tls("private key", key, e))?;
        b.check_private_key()
            .map_err(|e| tls("key does not match certificate", key, e))?;
        Ok(TlsConfig {
            acceptor: b.build(),
        })
    }

    /// Runs the TLS handshake; returns the stream and the `tls-unique` value: the first Finished
    /// message of the handshake (RFC 5929) — the client's in a full handshake, ours (the
    /// server's) in an abbreviated one that resumed a session, as Python's `ssl` computes it.
    pub async fn accept(
        &self,
        tcp: TcpStream,
    ) -> Result<(SslStream<TcpStream>, Vec<u8>), RouterError> {
        let ssl = Ssl::new(self.acceptor.context())
            .map_err(|e| RouterError::Config(format!("TLS: {e}")))?;
        let mut stream =
            SslStream::new(ssl, tcp).map_err(|e| RouterError::Config(format!("TLS: {e}")))?;
        Pin::new(&mut stream).accept().await.map_err(|e| {
            RouterError::Io(std::io::Error::other(format!("TLS handshake failed: {e}")))
        })?;
        let mut finished = vec![0u8; 64];
        let n = if stream.ssl().session_reused() {
            stream.ssl().finished(&mut finished)
        } else {
            stream.ssl().peer_finished(&mut finished)
        };
        finished.truncate(n.min(64));
        Ok((stream, finished))
    }
}
