//! tokio's I/O traits on weft's sockets (feature `tokio-io`): a tokio-util
//! codec over a `TcpStream`, tokio's `copy` and extension traits over
//! `UnixStream` halves, and `poll_shutdown`'s half-close.

#![cfg(feature = "tokio-io")]

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::{Framed, LinesCodec};
use weft::net::{TcpListener, TcpStream, UnixStream};

fn rt() -> weft::Runtime {
    weft::Runtime::builder().worker_threads(2).build().expect("build runtime")
}

#[test]
fn lines_codec_echo_over_tcp_stream() {
    rt().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = weft::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            let mut lines = Framed::new(sock, LinesCodec::new());
            while let Some(line) = lines.next().await {
                lines.send(line.unwrap().to_uppercase()).await.unwrap();
            }
        });
        let mut client = Framed::new(TcpStream::connect(addr).await.unwrap(), LinesCodec::new());
        // Long lines too, so a line spans several reads into fresh buffers.
        let long = "x".repeat(100_000);
        for msg in ["hello", "weft", long.as_str()] {
            client.send(msg).await.unwrap();
            assert_eq!(client.next().await.unwrap().unwrap(), msg.to_uppercase());
        }
        drop(client);
        server.await.unwrap();
    });
}

#[test]
fn tokio_copy_over_owned_unix_halves() {
    rt().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        // The echo side copies its read half into its write half until the
        // client half-closes, then shuts down its own write side.
        let echo = weft::spawn(async move {
            let (mut rd, mut wr) = b.into_split();
            let n = tokio::io::copy(&mut rd, &mut wr).await.unwrap();
            wr.shutdown().await.unwrap();
            n
        });
        let (mut rd, mut wr) = a.into_split();
        let payload: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let expect = payload.clone();
        let writer = weft::spawn(async move {
            wr.write_all(&payload).await.unwrap();
            wr.shutdown().await.unwrap();
            wr
        });
        let mut back = Vec::new();
        rd.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, expect);
        assert_eq!(echo.await.unwrap(), expect.len() as u64);
        let wr = writer.await.unwrap();
        rd.reunite(wr).unwrap();
    });
}

#[test]
fn tokio_ext_traits_over_borrowed_unix_halves() {
    rt().block_on(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let (mut rd, mut wr) = a.split();
        let (mut brd, mut bwr) = b.split();
        wr.write_u32(0xdead_beef).await.unwrap();
        wr.write_all(b"tail").await.unwrap();
        assert_eq!(brd.read_u32().await.unwrap(), 0xdead_beef);
        let mut tail = [0; 4];
        brd.read_exact(&mut tail).await.unwrap();
        assert_eq!(&tail, b"tail");
        bwr.write_all(b"back").await.unwrap();
        let mut got = [0; 4];
        rd.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"back");
    });
}

#[test]
fn poll_shutdown_half_closes_the_write_side_only() {
    rt().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        AsyncWriteExt::write_all(&mut client, b"request").await.unwrap();
        AsyncWriteExt::shutdown(&mut client).await.unwrap();
        // The server reads the data, then end-of-stream.
        let mut got = Vec::new();
        AsyncReadExt::read_to_end(&mut server, &mut got).await.unwrap();
        assert_eq!(got, b"request");
        // The client's read side is still open: the reply gets through.
        AsyncWriteExt::write_all(&mut server, b"reply").await.unwrap();
        AsyncWriteExt::shutdown(&mut server).await.unwrap();
        let mut reply = Vec::new();
        AsyncReadExt::read_to_end(&mut client, &mut reply).await.unwrap();
        assert_eq!(reply, b"reply");
        // Writing after shutdown fails instead of sending.
        let err = AsyncWriteExt::write_all(&mut client, b"late").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    });
}

/// Reads through `tokio::io::AsyncRead` go into uninitialized memory as it
/// is: the `ReadBuf` ends with exactly the bytes read marked initialized
/// (no zeroing of the rest), for a stream, a borrowed and an owned half,
/// and across a read that first finds nothing and waits.
#[test]
fn reads_fill_uninitialized_memory_without_zeroing_it() {
    use std::mem::MaybeUninit;
    use std::pin::Pin;
    use tokio::io::{AsyncRead, ReadBuf};

    async fn read_once<R: AsyncRead + Unpin>(r: &mut R) -> (Vec<u8>, usize) {
        let mut mem = [MaybeUninit::<u8>::uninit(); 4096];
        let mut buf = ReadBuf::uninit(&mut mem);
        std::future::poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, &mut buf)).await.unwrap();
        (buf.filled().to_vec(), buf.initialized().len())
    }

    rt().block_on(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        AsyncWriteExt::write_all(&mut a, b"one").await.unwrap();
        assert_eq!(read_once(&mut b).await, (b"one".to_vec(), 3));

        // The data may arrive after the read found nothing and waited.
        let writer = weft::spawn(async move {
            weft::task::yield_now().await;
            AsyncWriteExt::write_all(&mut a, b"two").await.unwrap();
            a
        });
        let (mut rd, _wr) = b.split();
        assert_eq!(read_once(&mut rd).await, (b"two".to_vec(), 3));
        let mut a = writer.await.unwrap();

        AsyncWriteExt::write_all(&mut a, b"three").await.unwrap();
        let (mut rd, _wr) = b.into_split();
        assert_eq!(read_once(&mut rd).await, (b"three".to_vec(), 5));

        // End of stream: nothing filled, nothing marked initialized.
        drop(a);
        assert_eq!(read_once(&mut rd).await, (Vec::new(), 0));
    });
}
