//! Unix domain sockets on the netpoller: stream echo through a listener,
//! stream pairs (with `futures_io`), datagram pairs and named datagrams.

#![cfg(feature = "net")]
#![cfg(unix)]

mod common;

use common::net::{self as util, rt};
use std::path::PathBuf;
use weft::net::{UnixDatagram, UnixListener, UnixStream};

/// A fresh socket path in the temp directory, removed on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(tag: &str) -> TempPath {
        use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "weft-net-{}-{tag}-{}.sock",
            std::process::id(),
            N.fetch_add(1, Relaxed)
        ));
        let _ = std::fs::remove_file(&p);
        TempPath(p)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn stream_echo_through_listener() {
    let path = TempPath::new("echo");
    rt(2).block_on(async {
        let listener = UnixListener::bind(&path.0).unwrap();
        assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.0.as_path()));
        let server = weft::spawn(async move {
            for _ in 0..10 {
                let (mut s, _) = listener.accept().await.unwrap();
                weft::spawn(async move {
                    let mut buf = [0u8; 1024];
                    loop {
                        let n = s.read(&mut buf).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        s.write_all(&buf[..n]).await.unwrap();
                    }
                });
            }
        });
        let clients: Vec<_> = (0..10u8)
            .map(|c| {
                let p = path.0.clone();
                weft::spawn(async move {
                    let mut s = UnixStream::connect(&p).await.unwrap();
                    for r in 0..50u8 {
                        s.write_all(&[c, r]).await.unwrap();
                        let mut back = [0u8; 2];
                        s.read_exact(&mut back).await.unwrap();
                        assert_eq!(back, [c, r]);
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap();
    });
}

#[test]
fn connect_to_missing_path_is_an_error() {
    let path = TempPath::new("missing");
    rt(1).block_on(async {
        assert!(UnixStream::connect(&path.0).await.is_err());
    });
}

#[test]
fn stream_pair_with_futures_io() {
    rt(2).block_on(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let writer = weft::spawn(async move {
            let data: Vec<u8> = (0..300_000u32).map(|i| (i % 199) as u8).collect();
            util::write_all(&mut a, &data).await.unwrap();
            util::close(&mut a).await.unwrap();
            data
        });
        let got = util::read_to_end(&mut b).await.unwrap();
        assert_eq!(got, writer.await.unwrap());
    });
}

#[test]
fn stream_std_conversions() {
    rt(1).block_on(async {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut a = UnixStream::from_std(a).unwrap();
        let mut b = UnixStream::from_std(b).unwrap();
        a.write_all(b"abc").await.unwrap();
        let mut buf = [0u8; 3];
        b.read_exact(&mut buf).await.unwrap();
        let mut std_b = b.into_std().unwrap();
        std_b.set_nonblocking(false).unwrap();
        std::io::Write::write_all(&mut std_b, b"xyz").unwrap();
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"xyz");
    });
}

#[test]
fn datagram_pair_send_recv() {
    rt(2).block_on(async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let b = std::sync::Arc::new(b);
        let rx = {
            let b = b.clone();
            weft::spawn(async move {
                let mut buf = [0u8; 16];
                let mut got = Vec::new();
                for _ in 0..10 {
                    let n = b.recv(&mut buf).await.unwrap();
                    got.push(buf[..n].to_vec());
                }
                got
            })
        };
        for i in 0..10u8 {
            a.send(&[i; 3]).await.unwrap();
        }
        let got = rx.await.unwrap();
        assert_eq!(got, (0..10u8).map(|i| vec![i; 3]).collect::<Vec<_>>());
    });
}

#[test]
fn named_datagrams_send_to_recv_from() {
    let pa = TempPath::new("dga");
    let pb = TempPath::new("dgb");
    rt(1).block_on(async {
        let a = UnixDatagram::bind(&pa.0).unwrap();
        let b = UnixDatagram::bind(&pb.0).unwrap();
        a.send_to(b"hello", &pb.0).await.unwrap();
        let mut buf = [0u8; 8];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(from.as_pathname(), Some(pa.0.as_path()));
        let unbound = UnixDatagram::unbound().unwrap();
        unbound.send_to(b"anon", &pb.0).await.unwrap();
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"anon");
        assert!(from.is_unnamed());
    });
}

#[test]
fn outside_a_runtime_is_an_error() {
    assert!(UnixStream::pair().is_err());
    assert!(UnixDatagram::pair().is_err());
    let path = TempPath::new("outside");
    assert!(UnixListener::bind(&path.0).is_err());
    assert!(!path.0.exists(), "a failed bind leaves no socket file behind");
    assert!(UnixDatagram::bind(&path.0).is_err());
    assert!(!path.0.exists());
}

/// Each side writes more than the socket buffer holds while reading the
/// other side's data: only completes if reads and writes wait at once.
#[test]
fn stream_split_and_into_split_move_data_both_ways() {
    const TOTAL: usize = 2 << 20;
    rt(2).block_on(async {
        let (mut a, b) = UnixStream::pair().unwrap();
        let (mut brd, mut bwr) = b.into_split();
        let other = weft::spawn(async move {
            let writer = weft::spawn(async move {
                let chunk = [2u8; 16 * 1024];
                for _ in 0..TOTAL / chunk.len() {
                    bwr.write_all(&chunk).await.unwrap();
                }
                bwr
            });
            let mut buf = vec![0u8; 16 * 1024];
            let mut got = 0;
            while got < TOTAL {
                let n = brd.read(&mut buf).await.unwrap();
                assert!(n > 0 && buf[..n].iter().all(|&x| x == 1));
                got += n;
            }
            let bwr = writer.await.unwrap();
            brd.reunite(bwr).unwrap()
        });
        let (mut ard, mut awr) = a.split();
        let write = async move {
            let chunk = [1u8; 16 * 1024];
            for _ in 0..TOTAL / chunk.len() {
                awr.write_all(&chunk).await.unwrap();
            }
        };
        let read = async move {
            let mut buf = vec![0u8; 16 * 1024];
            let mut got = 0;
            while got < TOTAL {
                let n = ard.read(&mut buf).await.unwrap();
                assert!(n > 0 && buf[..n].iter().all(|&x| x == 2));
                got += n;
            }
        };
        util::join(write, read).await;
        let b = other.await.unwrap();
        // Dropping an owned write half sends end-of-stream.
        let (_brd, bwr) = b.into_split();
        drop(bwr);
        let mut buf = [0u8; 1];
        assert_eq!(a.read(&mut buf).await.unwrap(), 0);
    });
}
