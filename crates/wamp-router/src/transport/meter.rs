//! The byte bound of a connection before its session is welcomed
//! (`max_handshake_message_size`, 64 KiB by default): the WebSocket codec's own limit is the
//! message size after WELCOME (1 MiB), so without this an anonymous connection could make the
//! router buffer a 1 MiB partial message (issue 19). [`Metered`] wraps the socket below the
//! codec and fails reading once more bytes than the bound arrived before WELCOME.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What a connection has read before WELCOME, shared by the socket wrapper and the reader.
#[derive(Debug)]
pub struct HandshakeBytes {
    read: AtomicUsize,
    limit: usize,
    welcomed: AtomicBool,
    exceeded: AtomicBool,
}

impl HandshakeBytes {
    /// A bound of `limit` bytes, `already` of which were read (with the HTTP request head).
    pub fn new(limit: usize, already: usize) -> Arc<Self> {
        Arc::new(HandshakeBytes {
            read: AtomicUsize::new(already),
            limit,
            welcomed: AtomicBool::new(false),
            exceeded: AtomicBool::new(already > limit),
        })
    }

    /// The session was welcomed: no bound from now on (the codec's message size applies).
    pub fn welcomed(&self) {
        self.welcomed.store(true, Ordering::Relaxed);
    }

    /// Whether reading failed because of the bound.
    pub fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::Relaxed)
    }

    /// The bound, bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Counts `n` bytes read; `false` once past the bound before WELCOME.
    fn count(&self, n: usize) -> bool {
        if self.welcomed.load(Ordering::Relaxed) {
            return true;
        }
        if self.read.fetch_add(n, Ordering::Relaxed) + n > self.limit {
            self.exceeded.store(true, Ordering::Relaxed);
        }
        !self.exceeded()
    }
}

/// A socket whose reads count against a [`HandshakeBytes`] bound.
#[derive(Debug)]
pub struct Metered<S> {
    inner: S,
    bytes: Arc<HandshakeBytes>,
}

impl<S> Metered<S> {
    pub fn new(inner: S, bytes: Arc<HandshakeBytes>) -> Self {
        Metered { inner, bytes }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.bytes.exceeded() {
            return Poll::Ready(Err(too_many()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let n = buf.filled().len() - before;
        if self.bytes.count(n) {
            Poll::Ready(Ok(()))
        } else {
            Poll::Ready(Err(too_many()))
        }
    }
}

fn too_many() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "too many bytes before WELCOME")
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn reading_fails_past_the_bound_until_welcomed() {
        let bytes = HandshakeBytes::new(10, 4);
        let mut m = Metered::new(&[0u8; 32][..], bytes.clone());
        let mut buf = [0u8; 6];
        m.read_exact(&mut buf).await.expect("within the bound");
        assert!(m.read(&mut buf).await.is_err());
        assert!(bytes.exceeded());
        let fresh = HandshakeBytes::new(10, 0);
        fresh.welcomed();
        let mut m = Metered::new(&[0u8; 32][..], fresh.clone());
        let mut all = Vec::new();
        m.read_to_end(&mut all)
            .await
            .expect("no bound once welcomed");
        assert_eq!(all.len(), 32);
    }
}
