//! The buffer a [`File`](super::File) moves to a pool thread and back:
//! data read ahead of the caller, or data accepted from the caller and
//! not yet written.

use std::io::{self, Read, Write};

/// The most one operation moves: a read asks the OS for at most this
/// much, a write accepts at most this much per call.
pub(super) const MAX_BUF: usize = 2 * 1024 * 1024;

/// Bytes `buf[pos..end]`: unread read-ahead data, or unwritten write
/// data (a file's state machine never has both). `buf.len()` is how much
/// of the allocation is initialized; it only grows across reads, so a
/// file's reads zero their memory once, not on every read.
#[derive(Debug, Default)]
pub(super) struct Buf {
    buf: Vec<u8>,
    pos: usize,
    end: usize,
}

impl Buf {
    pub(super) fn len(&self) -> usize {
        self.end - self.pos
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn clear(&mut self) {
        self.pos = 0;
        self.end = 0;
    }

    /// The buffered bytes.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Marks `n` buffered bytes as handed out.
    pub(super) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.len());
        self.pos += n;
        if self.pos == self.end {
            self.clear();
        }
    }

    /// Moves buffered bytes into `dst`; returns how many.
    pub(super) fn copy_to(&mut self, dst: &mut [u8]) -> usize {
        let n = self.len().min(dst.len());
        dst[..n].copy_from_slice(&self.bytes()[..n]);
        self.consume(n);
        n
    }

    /// Takes up to `MAX_BUF` bytes of `src` to write; returns how many.
    /// The buffer must be empty.
    pub(super) fn copy_from(&mut self, src: &[u8]) -> usize {
        debug_assert!(self.is_empty(), "write data over unread data");
        let n = src.len().min(MAX_BUF);
        if self.buf.len() < n {
            self.buf.clear();
            self.buf.extend_from_slice(&src[..n]);
        } else {
            self.buf[..n].copy_from_slice(&src[..n]);
        }
        self.pos = 0;
        self.end = n;
        n
    }

    /// Drops read-ahead data; returns the offset to seek by so the file's
    /// position is where the caller believes it is (minus what was read
    /// ahead).
    pub(super) fn discard_read(&mut self) -> i64 {
        // A buffer holds at most MAX_BUF bytes, far below i64::MAX.
        let back = -(self.len() as i64);
        self.clear();
        back
    }

    /// Reads up to `want` bytes from `file` (on a pool thread), retrying
    /// on `Interrupted`.
    pub(super) fn read_from(&mut self, mut file: &std::fs::File, want: usize) -> io::Result<usize> {
        self.clear();
        let want = want.min(MAX_BUF);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        let res = loop {
            match file.read(&mut self.buf[..want]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                res => break res,
            }
        };
        self.end = *res.as_ref().unwrap_or(&0);
        res
    }

    /// Writes everything buffered to `file` (on a pool thread); the buffer
    /// is empty afterwards, also on error (the bytes are then lost, as
    /// with a failed `write_all`).
    pub(super) fn write_to(&mut self, mut file: &std::fs::File) -> io::Result<()> {
        let res = file.write_all(self.bytes());
        self.clear();
        res
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn copy_to_drains_in_parts_then_empties() {
        let mut b = Buf::default();
        assert_eq!(b.copy_from(b"hello"), 5);
        let mut out = [0u8; 3];
        assert_eq!(b.copy_to(&mut out), 3);
        assert_eq!(&out, b"hel");
        assert_eq!(b.len(), 2);
        assert_eq!(b.copy_to(&mut out), 2);
        assert!(b.is_empty());
    }

    #[test]
    fn discard_read_returns_the_negative_unread_length() {
        let mut b = Buf::default();
        b.copy_from(b"abcdef");
        let mut out = [0u8; 2];
        b.copy_to(&mut out);
        assert_eq!(b.discard_read(), -4);
        assert!(b.is_empty());
    }

    #[test]
    fn copy_from_takes_at_most_max_buf() {
        let mut b = Buf::default();
        let big = vec![7u8; MAX_BUF + 10];
        assert_eq!(b.copy_from(&big), MAX_BUF);
    }
}
