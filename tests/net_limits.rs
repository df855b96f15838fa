//! Resource limits: `accept` under EMFILE returns an error and recovers,
//! and connection churn leaks no file descriptors. Both run in a child
//! process (this binary re-executed with only that test), so the fd limit
//! and fd counts are not disturbed by other tests running in parallel.

#![cfg(feature = "net")]

mod common;

use common::net::{fd_count, is_child, rt, run_child};
use std::io;
use weft::net::{TcpListener, TcpStream};

const OK_MARKER: &str = "WEFT-NET-CHILD-OK";

fn assert_child_ok(test_name: &str) {
    let (ok, stdout, stderr) = run_child(test_name);
    assert!(
        ok && stdout.contains(OK_MARKER),
        "child {test_name} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
}

fn set_fd_limit(soft: u64) {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid, writable rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur = soft as libc::rlim_t;
    // SAFETY: `lim` is a valid rlimit; lowering the soft limit is allowed.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    assert_eq!(rc, 0, "setrlimit: {}", io::Error::last_os_error());
}

#[test]
fn accept_under_emfile_errors_then_recovers() {
    const NAME: &str = "accept_under_emfile_errors_then_recovers";
    if !is_child(NAME) {
        return assert_child_ok(NAME);
    }
    rt(1).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Leave room for a handful of connections only. fd numbers are
        // allocated lowest-first, so the limit bounds the count of open fds.
        set_fd_limit(fd_count() as u64 + 16);

        // Fill every free fd with client sockets; their connections wait in
        // the listener's backlog.
        let mut clients = Vec::new();
        loop {
            match std::net::TcpStream::connect(addr) {
                Ok(c) => clients.push(c),
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "client connect: {e}");
                    break;
                }
            }
            assert!(clients.len() < 1000, "the fd limit had no effect");
        }
        assert!(!clients.is_empty());

        // Pending connections and no fd to accept them into: an error, twice.
        for _ in 0..2 {
            let err = listener.accept().await.expect_err("accept must fail with EMFILE");
            assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err:?}");
        }

        // Free some fds: the same listener accepts again.
        clients.truncate(clients.len() - 4);
        let (server, peer) = listener.accept().await.expect("accept after fds were freed");
        // The backlog is first-in first-out: this is our first client.
        assert_eq!(peer, clients[0].local_addr().unwrap());
        assert_eq!(server.peer_addr().unwrap(), peer);
        drop(server);
        let (_second, _) = listener.accept().await.expect("accept keeps working");
    });
    println!("{OK_MARKER}");
}

#[test]
fn connection_churn_leaks_no_fds() {
    const NAME: &str = "connection_churn_leaks_no_fds";
    const BATCHES: usize = 50;
    const PER_BATCH: usize = 200;
    if !is_child(NAME) {
        return assert_child_ok(NAME);
    }
    let rt = rt(2);
    // Warm up the runtime once so any lazily created fd exists already.
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _c = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let _s = listener.accept().await.unwrap();
    });
    let baseline = fd_count();
    let exchanged = rt.block_on(async {
        let listener = std::sync::Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let mut exchanged = 0usize;
        for _ in 0..BATCHES {
            let server = {
                let listener = listener.clone();
                weft::spawn(async move {
                    let mut conns = Vec::with_capacity(PER_BATCH);
                    for _ in 0..PER_BATCH {
                        let (mut s, _) = listener.accept().await.unwrap();
                        conns.push(weft::spawn(async move {
                            let mut b = [0u8; 4];
                            s.read_exact(&mut b).await.unwrap();
                            s.write_all(&b).await.unwrap();
                        }));
                    }
                    for c in conns {
                        c.await.unwrap();
                    }
                })
            };
            let clients: Vec<_> = (0..PER_BATCH as u32)
                .map(|i| {
                    weft::spawn(async move {
                        let mut c = TcpStream::connect(addr).await.unwrap();
                        c.write_all(&i.to_le_bytes()).await.unwrap();
                        let mut b = [0u8; 4];
                        c.read_exact(&mut b).await.unwrap();
                        assert_eq!(u32::from_le_bytes(b), i);
                    })
                })
                .collect();
            for c in clients {
                c.await.unwrap();
                exchanged += 1;
            }
            server.await.unwrap();
        }
        exchanged
    });
    assert_eq!(exchanged, BATCHES * PER_BATCH);
    assert_eq!(fd_count(), baseline, "file descriptors leaked");
    println!("{OK_MARKER}");
}
