//! TCP on the netpoller: echo round trips, many connections, split halves,
//! std conversions, `futures_io` traits, refused connects, peer resets,
//! and behaviour outside or after a runtime.

#![cfg(feature = "net")]

mod common;

use common::net::{self as util, rt};
use std::io::{self, ErrorKind};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use weft::net::{TcpListener, TcpStream};

/// Spawns a server that echoes every connection until the peer closes;
/// returns its address. It accepts `conns` connections and then stops.
async fn echo_server(conns: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    weft::spawn(async move {
        for _ in 0..conns {
            let (mut sock, _) = listener.accept().await.unwrap();
            weft::spawn(async move {
                let mut buf = [0u8; 4096];
                loop {
                    let n = sock.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    sock.write_all(&buf[..n]).await.unwrap();
                }
            });
        }
    });
    addr
}

fn echo_round_trips(workers: usize) {
    rt(workers).block_on(async {
        let addr = echo_server(1).await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        assert_eq!(client.peer_addr().unwrap(), addr);
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        for i in 0..100u32 {
            let msg = format!("message {i}");
            client.write_all(msg.as_bytes()).await.unwrap();
            let mut back = vec![0u8; msg.len()];
            client.read_exact(&mut back).await.unwrap();
            assert_eq!(back, msg.as_bytes());
        }
        client.shutdown(Shutdown::Write).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(client.read(&mut buf).await.unwrap(), 0, "server closes after our FIN");
    });
}

#[test]
fn echo_round_trip_one_worker() {
    echo_round_trips(1);
}

#[test]
fn echo_round_trip_two_workers() {
    echo_round_trips(2);
}

#[test]
fn many_concurrent_connections_each_counted_once() {
    const CLIENTS: usize = 200;
    const ROUNDS: usize = 100;
    rt(2).block_on(async {
        let addr = echo_server(CLIENTS).await;
        let done = Arc::new(AtomicUsize::new(0));
        let trips = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (done, trips) = (done.clone(), trips.clone());
                weft::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    for r in 0..ROUNDS {
                        let msg = ((c * ROUNDS + r) as u64).to_le_bytes();
                        s.write_all(&msg).await.unwrap();
                        let mut back = [0u8; 8];
                        s.read_exact(&mut back).await.unwrap();
                        assert_eq!(back, msg);
                        trips.fetch_add(1, SeqCst);
                    }
                    done.fetch_add(1, SeqCst);
                    c
                })
            })
            .collect();
        let mut seen = [false; CLIENTS];
        for h in handles {
            let c = h.await.unwrap();
            assert!(!seen[c], "client {c} finished twice");
            seen[c] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(done.load(SeqCst), CLIENTS);
        assert_eq!(trips.load(SeqCst), CLIENTS * ROUNDS);
    });
}

/// Pushes more than the socket buffers can hold through an echo server:
/// only works if the reader and the writer make progress at once.
#[test]
fn split_halves_read_and_write_concurrently() {
    const TOTAL: usize = 8 << 20;
    rt(2).block_on(async {
        let addr = echo_server(1).await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut rd, mut wr) = client.split();
        let writer = async move {
            let chunk: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
            let mut sent = 0;
            while sent < TOTAL {
                wr.write_all(&chunk).await.unwrap();
                sent += chunk.len();
            }
            // Borrowed halves do not shut down on drop; close explicitly.
            util::close(&mut wr).await.unwrap();
        };
        let reader = async move {
            let mut buf = vec![0u8; 64 * 1024];
            let mut got = 0usize;
            loop {
                let n = rd.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                for (k, b) in buf[..n].iter().enumerate() {
                    assert_eq!(*b, ((got + k) % (64 * 1024) % 251) as u8);
                }
                got += n;
            }
            got
        };
        let ((), got) = util::join(writer, reader).await;
        assert_eq!(got, TOTAL);
    });
}

#[test]
fn into_split_halves_on_two_tasks_then_reunite() {
    const TOTAL: usize = 4 << 20;
    rt(2).block_on(async {
        let addr = echo_server(2).await;
        let client = TcpStream::connect(addr).await.unwrap();
        let local = client.local_addr().unwrap();
        let (mut rd, mut wr) = client.into_split();
        let writer = weft::spawn(async move {
            let chunk = [7u8; 32 * 1024];
            for _ in 0..TOTAL / chunk.len() {
                wr.write_all(&chunk).await.unwrap();
            }
            wr
        });
        let reader = weft::spawn(async move {
            let mut buf = vec![0u8; 32 * 1024];
            let mut got = 0;
            while got < TOTAL {
                let n = rd.read(&mut buf).await.unwrap();
                assert!(n > 0, "unexpected end of stream");
                assert!(buf[..n].iter().all(|&b| b == 7));
                got += n;
            }
            rd
        });
        let wr = writer.await.unwrap();
        let rd = reader.await.unwrap();

        // Halves of different streams are refused and handed back.
        let other = TcpStream::connect(addr).await.unwrap();
        let (ord, owr) = other.into_split();
        let err = rd.reunite(owr).unwrap_err();
        let (rd, owr) = (err.0, err.1);
        drop((ord, owr));

        let mut stream = wr.reunite(rd).unwrap();
        assert_eq!(stream.local_addr().unwrap(), local);
        // Reuniting did not shut down the write side: the stream still echoes.
        stream.write_all(b"again").await.unwrap();
        let mut back = [0u8; 5];
        stream.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"again");
    });
}

#[test]
fn dropping_owned_write_half_shuts_down_write_side() {
    rt(1).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let (mut rd, wr) = client.into_split();
        drop(wr);
        let mut buf = [0u8; 4];
        assert_eq!(server.read(&mut buf).await.unwrap(), 0, "peer sees end of stream");
        // The read half still works.
        server.write_all(b"ping").await.unwrap();
        rd.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
    });
}

#[test]
fn from_std_and_into_std() {
    rt(1).block_on(async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let listener = TcpListener::from_std(std_listener).unwrap();
        let std_client = std::net::TcpStream::connect(addr).unwrap();
        let mut client = TcpStream::from_std(std_client).unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());

        client.write_all(b"hi").await.unwrap();
        let mut std_server = server.into_std().unwrap();
        std_server.set_nonblocking(false).unwrap();
        let mut buf = [0u8; 2];
        io::Read::read_exact(&mut std_server, &mut buf).unwrap();
        assert_eq!(&buf, b"hi");
        io::Write::write_all(&mut std_server, b"yo").unwrap();
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"yo");

        let std_listener = listener.into_std().unwrap();
        assert_eq!(std_listener.local_addr().unwrap(), addr);
    });
}

#[test]
fn futures_io_traits_round_trip_and_close() {
    rt(2).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = weft::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let got = util::read_to_end(&mut s).await.unwrap();
            // Through `&TcpStream` this time.
            util::write_all(&mut &s, &got).await.unwrap();
            util::close(&mut &s).await.unwrap();
            got.len()
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        let msg: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        util::write_all(&mut client, &msg).await.unwrap();
        util::close(&mut client).await.unwrap();
        let back = util::read_to_end(&mut client).await.unwrap();
        assert_eq!(back, msg);
        assert_eq!(server.await.unwrap(), msg.len());
    });
}

#[test]
fn read_exact_reports_unexpected_eof() {
    rt(1).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        server.write_all(b"abc").await.unwrap();
        drop(server);
        let mut buf = [0u8; 10];
        let err = client.read_exact(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
    });
}

#[test]
fn try_read_and_readable() {
    rt(1).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 16];
        server.write_all(b"data").await.unwrap();
        let n = loop {
            client.readable().await.unwrap();
            match client.try_read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => panic!("try_read: {e}"),
            }
        };
        assert_eq!(&buf[..n], b"data");
        assert_eq!(client.try_read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
        client.writable().await.unwrap();
        assert_eq!(client.try_write(b"x").unwrap(), 1);
        let mut one = [0u8; 1];
        server.read_exact(&mut one).await.unwrap();
        assert_eq!(&one, b"x");
    });
}

#[test]
fn connect_to_closed_port_is_refused() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for workers in [1, 2] {
        rt(workers).block_on(async move {
            let err = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err:?}");
        });
    }
}

#[test]
fn bind_and_connect_reject_bad_addresses() {
    rt(1).block_on(async {
        let err = TcpListener::bind("not an address").await.unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::InvalidInput | ErrorKind::Other), "{err:?}");
        let err = TcpStream::connect("127.0.0.1:not-a-port").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err:?}");
        let empty: &[SocketAddr] = &[];
        assert_eq!(TcpStream::connect(empty).await.unwrap_err().kind(), ErrorKind::InvalidInput);
    });
}

/// Sets SO_LINGER to zero, so closing sends RST instead of FIN.
#[cfg(unix)]
fn set_linger_zero(fd: std::os::fd::RawFd) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: `fd` is an open socket; the option value points to a live
    // `linger` of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt(SO_LINGER): {}", io::Error::last_os_error());
}

#[cfg(unix)]
#[test]
fn peer_reset_is_an_error_not_a_hang() {
    use std::os::fd::AsRawFd;
    rt(2).block_on(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().unwrap();
        client.write_all(b"unread data").await.unwrap();
        set_linger_zero(server.as_raw_fd());
        drop(server); // RST

        let mut buf = [0u8; 16];
        let err = client.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err:?}");
        // Writes fail too (the first may be accepted by the kernel before the
        // failure is known; a few are enough).
        let mut write_err = None;
        for _ in 0..100 {
            if let Err(e) = client.write_all(&[0u8; 1024]).await {
                write_err = Some(e);
                break;
            }
        }
        let err = write_err.expect("writes after a reset must fail");
        assert!(matches!(err.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset), "{err:?}");
    });
}

#[test]
fn creating_sockets_outside_a_runtime_is_an_error() {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let std_stream = std::net::TcpStream::connect(addr).unwrap();
    assert!(TcpListener::from_std(std_listener).is_err());
    assert!(TcpStream::from_std(std_stream).is_err());
    match util::poll_once(TcpListener::bind("127.0.0.1:0")) {
        std::task::Poll::Ready(r) => assert!(r.is_err()),
        std::task::Poll::Pending => panic!("bind must fail at once outside a runtime"),
    }
    match util::poll_once(TcpStream::connect(addr)) {
        std::task::Poll::Ready(r) => assert!(r.is_err()),
        std::task::Poll::Pending => panic!("connect must fail at once outside a runtime"),
    }
}

#[test]
fn io_after_runtime_drop_is_an_error() {
    let (mut client, server) = rt(1).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    });
    // The runtime is gone. A read that would have waited forever fails.
    rt(1).block_on(async {
        let mut buf = [0u8; 4];
        assert!(client.read(&mut buf).await.is_err());
        assert!(client.readable().await.is_err());
    });
    drop((client, server));
}

#[test]
fn empty_buffers_do_not_wait() {
    rt(1).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let _server = listener.accept().await.unwrap();
        // Nothing will ever arrive: an empty read must not wait for it.
        assert_eq!(client.read(&mut []).await.unwrap(), 0);
        assert_eq!(client.write(&[]).await.unwrap(), 0);
        client.read_exact(&mut []).await.unwrap();
    });
}
