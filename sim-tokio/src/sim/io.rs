//! `tokio::io`'s traits under simulation: [`AsyncRead`], [`AsyncWrite`],
//! [`AsyncBufRead`], [`AsyncSeek`] and [`ReadBuf`], with tokio's signatures and their
//! implementations for in-memory types (`&[u8]`, `Vec<u8>`, `std::io::Cursor`, and
//! through `Box`, `&mut` and `Pin`).
//!
//! They are here so that crates written against tokio's traits (tokio-util's
//! `Either`, codecs over an in-memory stream, a user's own mock connection) compile
//! and run under the simulator. Real I/O is not simulated: there are no sockets,
//! files, pipes or `AsyncReadExt` helpers under `--cfg lockstep`.
//!
//! [`ReadBuf`] has tokio's safe methods; its `unsafe fn`s (`inner_mut`,
//! `unfilled_mut`, `assume_init`) are missing, as this crate forbids unsafe code.

use std::fmt;
use std::io::{self, IoSlice, Read, Seek, Write};
use std::mem::MaybeUninit;
use std::ops::DerefMut;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use std::io::{Error, ErrorKind, Result, SeekFrom};

/// A buffer that an [`AsyncRead`] fills: a slice, how much of it is filled, and how
/// much is initialized.
///
/// Over uninitialized memory ([`ReadBuf::uninit`]) it works on a zeroed copy and writes
/// what it holds through to the caller's memory (with the safe `MaybeUninit::write`)
/// whenever bytes are filled or initialized through it: [`put_slice`](ReadBuf::put_slice),
/// [`advance`](ReadBuf::advance), [`set_filled`](ReadBuf::set_filled),
/// [`initialize_unfilled`](ReadBuf::initialize_unfilled). Bytes written into a slice it
/// handed out reach the caller's memory at the next of those calls, which is how every
/// reader reports what it read. tokio's `unsafe fn`s (`inner_mut`, `unfilled_mut`,
/// `assume_init`) are not provided: this crate forbids unsafe code.
pub struct ReadBuf<'a> {
    storage: Storage<'a>,
    filled: usize,
    initialized: usize,
}

enum Storage<'a> {
    Init(&'a mut [u8]),
    Uninit { out: &'a mut [MaybeUninit<u8>], copy: Vec<u8> },
}

impl<'a> ReadBuf<'a> {
    /// A buffer over `buf`, nothing filled yet, all of it initialized.
    pub fn new(buf: &'a mut [u8]) -> ReadBuf<'a> {
        let initialized = buf.len();
        ReadBuf { storage: Storage::Init(buf), filled: 0, initialized }
    }

    /// A buffer over uninitialized memory, nothing filled or initialized yet.
    pub fn uninit(buf: &'a mut [MaybeUninit<u8>]) -> ReadBuf<'a> {
        let copy = vec![0; buf.len()];
        ReadBuf { storage: Storage::Uninit { out: buf, copy }, filled: 0, initialized: 0 }
    }

    fn bytes(&self) -> &[u8] {
        match &self.storage {
            Storage::Init(buf) => buf,
            Storage::Uninit { copy, .. } => copy,
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        match &mut self.storage {
            Storage::Init(buf) => buf,
            Storage::Uninit { copy, .. } => copy,
        }
    }

    /// Writes the initialized bytes through to uninitialized memory.
    fn write_through(&mut self) {
        if let Storage::Uninit { out, copy } = &mut self.storage {
            for (slot, byte) in out.iter_mut().zip(&copy[..self.initialized]) {
                slot.write(*byte);
            }
        }
    }

    /// The buffer's total size.
    pub fn capacity(&self) -> usize {
        self.bytes().len()
    }

    /// The filled part.
    pub fn filled(&self) -> &[u8] {
        &self.bytes()[..self.filled]
    }

    /// The filled part, mutably.
    pub fn filled_mut(&mut self) -> &mut [u8] {
        let filled = self.filled;
        &mut self.bytes_mut()[..filled]
    }

    /// A new buffer over at most `n` bytes of the unfilled part, nothing filled; its
    /// bytes count as initialized here once filled through this buffer.
    pub fn take(&mut self, n: usize) -> ReadBuf<'_> {
        let (start, end) = (self.filled, self.filled + n.min(self.remaining()));
        let initialized = self.initialized.clamp(start, end) - start;
        let mut sub = ReadBuf::new(&mut self.bytes_mut()[start..end]);
        sub.initialized = initialized;
        sub
    }

    /// The initialized part.
    pub fn initialized(&self) -> &[u8] {
        &self.bytes()[..self.initialized]
    }

    /// The initialized part, mutably.
    pub fn initialized_mut(&mut self) -> &mut [u8] {
        let initialized = self.initialized;
        &mut self.bytes_mut()[..initialized]
    }

    /// The unfilled part, initialized (zeroed where it was not), to write into before
    /// [`advance`](ReadBuf::advance).
    pub fn initialize_unfilled(&mut self) -> &mut [u8] {
        self.initialize_unfilled_to(self.remaining())
    }

    /// The first `n` bytes of the unfilled part, initialized.
    ///
    /// # Panics
    /// When `n` is more than [`remaining`](ReadBuf::remaining).
    #[track_caller]
    pub fn initialize_unfilled_to(&mut self, n: usize) -> &mut [u8] {
        assert!(self.remaining() >= n, "n overflows remaining");
        let (start, end) = (self.filled, self.filled + n);
        if end > self.initialized {
            self.initialized = end;
            self.write_through();
        }
        &mut self.bytes_mut()[start..end]
    }

    /// How many bytes are unfilled.
    pub fn remaining(&self) -> usize {
        self.capacity() - self.filled
    }

    /// Marks nothing filled (the bytes stay, initialized).
    pub fn clear(&mut self) {
        self.filled = 0;
    }

    /// Marks `n` more bytes filled (and initialized).
    ///
    /// # Panics
    /// When that is more than the initialized part.
    #[track_caller]
    pub fn advance(&mut self, n: usize) {
        let new = self.filled.checked_add(n).expect("filled overflow");
        self.set_filled(new);
    }

    /// Sets how many bytes are filled.
    ///
    /// # Panics
    /// When `n` is more than the initialized part.
    #[track_caller]
    pub fn set_filled(&mut self, n: usize) {
        assert!(n <= self.initialized, "filled must not become larger than initialized");
        self.filled = n;
        self.write_through();
    }

    /// Copies `buf` into the unfilled part and marks it filled.
    ///
    /// # Panics
    /// When `buf` is longer than [`remaining`](ReadBuf::remaining).
    #[track_caller]
    pub fn put_slice(&mut self, buf: &[u8]) {
        assert!(self.remaining() >= buf.len(), "buf.len() must fit in remaining()");
        let start = self.filled;
        self.bytes_mut()[start..start + buf.len()].copy_from_slice(buf);
        self.filled += buf.len();
        self.initialized = self.initialized.max(self.filled);
        self.write_through();
    }
}

impl fmt::Debug for ReadBuf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadBuf")
            .field("filled", &self.filled)
            .field("initialized", &self.initialized)
            .field("capacity", &self.capacity())
            .finish()
    }
}

/// Reads bytes asynchronously (tokio's trait, tokio's signature).
pub trait AsyncRead {
    /// Reads into `buf`'s unfilled part; `Ready(Ok(()))` with nothing added means
    /// end of stream.
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>>;
}

/// Writes bytes asynchronously (tokio's trait, tokio's signature).
pub trait AsyncWrite {
    /// Writes some of `buf`, returning how many bytes were written.
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;

    /// Flushes buffered data.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Shuts the writer down.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Writes from several buffers; by default the first non-empty one.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let buf = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &**b);
        self.poll_write(cx, buf)
    }

    /// Whether [`poll_write_vectored`](AsyncWrite::poll_write_vectored) is better
    /// than one [`poll_write`](AsyncWrite::poll_write) per buffer; `false` by default.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

/// Reads bytes through an internal buffer (tokio's trait, tokio's signature).
pub trait AsyncBufRead: AsyncRead {
    /// The buffered bytes, filling the buffer if it is empty; empty at end of stream.
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>>;

    /// Marks `amt` buffered bytes read.
    fn consume(self: Pin<&mut Self>, amt: usize);
}

/// Seeks asynchronously (tokio's trait, tokio's signature).
pub trait AsyncSeek {
    /// Starts a seek to `position`.
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()>;

    /// Completes the seek, returning the new position.
    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>>;
}

// ---- through pointers: Box<T>, &mut T (T: Unpin), Pin<P> ----

macro_rules! through_deref {
    ($($ptr:ty),*) => {$(
        impl<T: ?Sized + AsyncRead + Unpin> AsyncRead for $ptr {
            fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut **self).poll_read(cx, buf)
            }
        }

        impl<T: ?Sized + AsyncWrite + Unpin> AsyncWrite for $ptr {
            fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                Pin::new(&mut **self).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut **self).poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                (**self).is_write_vectored()
            }

            fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut **self).poll_flush(cx)
            }

            fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut **self).poll_shutdown(cx)
            }
        }

        impl<T: ?Sized + AsyncBufRead + Unpin> AsyncBufRead for $ptr {
            fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
                Pin::new(&mut **self.get_mut()).poll_fill_buf(cx)
            }

            fn consume(mut self: Pin<&mut Self>, amt: usize) {
                Pin::new(&mut **self).consume(amt)
            }
        }

        impl<T: ?Sized + AsyncSeek + Unpin> AsyncSeek for $ptr {
            fn start_seek(mut self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
                Pin::new(&mut **self).start_seek(position)
            }

            fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
                Pin::new(&mut **self).poll_complete(cx)
            }
        }
    )*};
}

through_deref!(Box<T>, &mut T);

impl<P> AsyncRead for Pin<P>
where
    P: DerefMut + Unpin,
    P::Target: AsyncRead,
{
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.get_mut().as_mut().poll_read(cx, buf)
    }
}

impl<P> AsyncWrite for Pin<P>
where
    P: DerefMut + Unpin,
    P::Target: AsyncWrite,
{
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().as_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().as_mut().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        (**self).is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().as_mut().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().as_mut().poll_shutdown(cx)
    }
}

impl<P> AsyncBufRead for Pin<P>
where
    P: DerefMut + Unpin,
    P::Target: AsyncBufRead,
{
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().as_mut().poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().as_mut().consume(amt)
    }
}

impl<P> AsyncSeek for Pin<P>
where
    P: DerefMut + Unpin,
    P::Target: AsyncSeek,
{
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        self.get_mut().as_mut().start_seek(position)
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        self.get_mut().as_mut().poll_complete(cx)
    }
}

// ---- in memory: always ready ----

impl AsyncRead for &[u8] {
    fn poll_read(mut self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let n = self.len().min(buf.remaining());
        let (head, tail) = self.split_at(n);
        buf.put_slice(head);
        *self = tail;
        Poll::Ready(Ok(()))
    }
}

impl AsyncBufRead for &[u8] {
    fn poll_fill_buf(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Poll::Ready(Ok(*self.get_mut()))
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        *self = &self[amt.min(self.len())..];
    }
}

impl<T: AsRef<[u8]> + Unpin> AsyncRead for io::Cursor<T> {
    fn poll_read(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let cursor = self.get_mut();
        let n = cursor.read(buf.initialize_unfilled())?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsRef<[u8]> + Unpin> AsyncBufRead for io::Cursor<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Poll::Ready(io::BufRead::fill_buf(self.get_mut()))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        io::BufRead::consume(self.get_mut(), amt);
    }
}

impl<T: AsRef<[u8]> + Unpin> AsyncSeek for io::Cursor<T> {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        self.get_mut().seek(position).map(drop)
    }

    fn poll_complete(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        Poll::Ready(Ok(self.get_mut().position()))
    }
}

/// `AsyncWrite` for in-memory writers that implement `std::io::Write` and never block.
macro_rules! write_in_memory {
    ($($ty:ty),*) => {$(
        impl AsyncWrite for $ty {
            fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                Poll::Ready(self.get_mut().write(buf))
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                _cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                Poll::Ready(self.get_mut().write_vectored(bufs))
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.get_mut().flush())
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.poll_flush(cx)
            }
        }
    )*};
}

write_in_memory!(Vec<u8>, io::Cursor<&mut [u8]>, io::Cursor<&mut Vec<u8>>, io::Cursor<Vec<u8>>, io::Cursor<Box<[u8]>>);

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn ready<T>(poll: Poll<T>) -> T {
        match poll {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("in-memory I/O returned Pending"),
        }
    }

    /// Reads `reader` to its end through `AsyncRead`, `chunk` bytes at a time.
    fn read_all<R: AsyncRead + Unpin>(mut reader: R, chunk: usize) -> Vec<u8> {
        let mut cx = Context::from_waker(Waker::noop());
        let mut out = Vec::new();
        loop {
            let mut storage = vec![0; chunk];
            let mut buf = ReadBuf::new(&mut storage);
            ready(Pin::new(&mut reader).poll_read(&mut cx, &mut buf)).unwrap();
            if buf.filled().is_empty() {
                return out;
            }
            out.extend_from_slice(buf.filled());
        }
    }

    #[test]
    fn read_buf_tracks_what_is_filled() {
        let mut storage = [0u8; 8];
        let mut buf = ReadBuf::new(&mut storage);
        assert_eq!((buf.capacity(), buf.remaining(), buf.filled()), (8, 8, &[][..]));
        buf.put_slice(b"abc");
        assert_eq!((buf.filled(), buf.remaining()), (&b"abc"[..], 5));
        buf.initialize_unfilled_to(2).copy_from_slice(b"de");
        buf.advance(2);
        assert_eq!(buf.filled(), b"abcde");
        {
            let mut sub = buf.take(10);
            assert_eq!(sub.capacity(), 3);
            sub.put_slice(b"xy");
        }
        assert_eq!(buf.filled(), b"abcde", "take's buffer fills the parent's memory, not its count");
        assert_eq!(&buf.initialized()[5..7], b"xy");
        buf.set_filled(1);
        assert_eq!(buf.filled(), b"a");
        buf.clear();
        assert_eq!(buf.remaining(), 8);
        assert_eq!(format!("{buf:?}"), "ReadBuf { filled: 0, initialized: 8, capacity: 8 }");
    }

    #[test]
    fn an_uninit_buffer_counts_what_is_filled_and_initialized() {
        let mut memory = [MaybeUninit::<u8>::uninit(); 6];
        let mut buf = ReadBuf::uninit(&mut memory);
        assert_eq!((buf.capacity(), buf.initialized().len(), buf.filled().len()), (6, 0, 0));
        let mut reader: &[u8] = b"d";
        let mut cx = Context::from_waker(Waker::noop());
        ready(Pin::new(&mut reader).poll_read(&mut cx, &mut buf)).unwrap();
        assert_eq!((buf.filled(), buf.initialized().len()), (&b"d"[..], 1));
        buf.initialize_unfilled_to(2).copy_from_slice(b"xy");
        buf.advance(2);
        assert_eq!(buf.filled(), b"dxy");
        assert_eq!(format!("{buf:?}"), "ReadBuf { filled: 3, initialized: 3, capacity: 6 }");
        // That the caller's memory holds them cannot be read back without unsafe code: the
        // example workspace's codec test (tokio-util's FramedRead over ReadBuf::uninit) does.
    }

    #[test]
    #[should_panic(expected = "buf.len() must fit in remaining()")]
    fn put_slice_past_the_end_panics() {
        let mut storage = [0u8; 2];
        ReadBuf::new(&mut storage).put_slice(b"abc");
    }

    #[test]
    #[should_panic(expected = "filled must not become larger than initialized")]
    fn advance_past_the_end_panics() {
        let mut storage = [0u8; 2];
        ReadBuf::new(&mut storage).advance(3);
    }

    #[test]
    fn slices_and_cursors_read_through_every_pointer() {
        let data: &[u8] = b"hello, world";
        assert_eq!(read_all(data, 5), data);
        assert_eq!(read_all(io::Cursor::new(data.to_vec()), 4), data);
        assert_eq!(read_all(Box::new(data), 3), data);
        let mut inner = data;
        let by_ref: &mut &[u8] = &mut inner;
        assert_eq!(read_all(by_ref, 7), data);
        assert!(inner.is_empty(), "reading through &mut consumes the slice");
        assert_eq!(read_all(Box::pin(io::Cursor::new(data)), 2), data);
    }

    #[test]
    fn buffered_reads_and_seeks_on_a_cursor() {
        let mut cx = Context::from_waker(Waker::noop());
        let mut cursor = io::Cursor::new(b"abcdef".to_vec());
        assert_eq!(ready(Pin::new(&mut cursor).poll_fill_buf(&mut cx)).unwrap(), b"abcdef");
        Pin::new(&mut cursor).consume(2);
        Pin::new(&mut cursor).start_seek(SeekFrom::Current(1)).unwrap();
        assert_eq!(ready(Pin::new(&mut cursor).poll_complete(&mut cx)).unwrap(), 3);
        assert_eq!(read_all(&mut cursor, 8), b"def");
        let mut slice: &[u8] = b"xyz";
        Pin::new(&mut slice).consume(5);
        assert!(slice.is_empty(), "consuming more than is left empties the slice");
    }

    #[test]
    fn writers_in_memory() {
        let mut cx = Context::from_waker(Waker::noop());
        let mut vec = Vec::new();
        assert_eq!(ready(Pin::new(&mut vec).poll_write(&mut cx, b"ab")).unwrap(), 2);
        let bufs = [IoSlice::new(b""), IoSlice::new(b"cd"), IoSlice::new(b"e")];
        assert_eq!(ready(Pin::new(&mut vec).poll_write_vectored(&mut cx, &bufs)).unwrap(), 3);
        ready(Pin::new(&mut vec).poll_shutdown(&mut cx)).unwrap();
        assert_eq!(vec, b"abcde");

        let mut storage = [0u8; 3];
        let mut cursor = io::Cursor::new(&mut storage[..]);
        assert_eq!(ready(Pin::new(&mut cursor).poll_write(&mut cx, b"wxyz")).unwrap(), 3, "a full cursor takes part");
        assert_eq!(storage, *b"wxy");

        // The default vectored write: the first non-empty buffer, through a Box.
        struct One(Vec<u8>);
        impl AsyncWrite for One {
            fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                self.get_mut().0.extend_from_slice(buf);
                Poll::Ready(Ok(buf.len()))
            }
            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
        }
        let mut one = Box::new(One(Vec::new()));
        assert!(!one.is_write_vectored());
        assert_eq!(ready(Pin::new(&mut one).poll_write_vectored(&mut cx, &bufs)).unwrap(), 2);
        assert_eq!(one.0, b"cd");
    }
}
