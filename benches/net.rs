//! Network benchmarks: the same loopback workloads on weft and on tokio's
//! multi-thread runtime with the same worker count, side by side.
//!
//! Ids are `<workload>/<runtime>/<workers>`; `benches/compare.py` makes the
//! weft/tokio table. Server and clients run in the same runtime (both
//! sides of every connection are that runtime's tasks), over 127.0.0.1.
//!
//! - `tcp_echo_latency`: one connection, [`LAT_ROUNDS`] sequential round
//!   trips of 64 bytes (time per iteration / rounds = one round trip).
//! - `tcp_echo_throughput`: [`TP_CONNS`] connections x [`TP_ROUNDS`] round
//!   trips of 1 KiB each, all concurrent.
//! - `tcp_echo_small_256`, `tcp_echo_small_1024`: many connections
//!   exchanging small messages ([`SMALL_SHAPES`]), where the runtime's cost
//!   per readiness event weighs most beside the kernel's.
//!
//! Every echo shape also runs on `mio_floor`: no runtime, N plain threads
//! (N = the worker count), each with its own `mio::Poll`, listener and
//! share of the connections, driving both ends of each with the same
//! system calls a runtime's tasks make (see [`floor`]). It is the floor a
//! runtime's per-event overhead is measured against.
//! - `tcp_accept`: [`ACCEPTS`] connections accepted; the server writes one
//!   byte on each and drops it; [`ACCEPT_CONCURRENCY`] client tasks connect,
//!   read that byte (so a client never has more than one connection waiting
//!   in the accept queue: a connection the client reset before the server
//!   accepted it could overflow the queue, and with tokio's backlog of 128
//!   a dropped handshake then hung the run), set SO_LINGER 0 so closing
//!   sends a reset and leaves no TIME_WAIT behind, and drop.
//!
//! - `io_traits` (with `--features tokio-io`; weft only): the
//!   `tcp_echo_throughput` shape with the server reading through each of
//!   the I/O trait paths a weft socket offers: `futures_io` (futures'
//!   `AsyncReadExt::read` into a reused buffer), `tokio_io` (tokio's
//!   `AsyncReadExt::read`, same buffer), `tokio_io_read_buf` (tokio's
//!   `read_buf` into a cleared [`READ_BUF_CAPACITY`] `BytesMut`, which hands
//!   the socket uninitialized spare capacity on every read, as tokio-util
//!   codecs and hyper do).
//! - `tokio_context` (with `--features tokio-context`): the
//!   `tcp_echo_latency` and `tcp_echo_throughput` shapes written against
//!   tokio's sockets (the `on_tokio` code) but run as weft tasks on a
//!   runtime built with `tokio_context(true)`: what a tokio-bound crate's
//!   I/O costs through the bridge, beside the same shapes' weft and tokio
//!   rows.
//!
//! Worker counts from `WEFT_BENCH_WORKERS` (`support::worker_counts`),
//! default 2,4. Run: `cargo bench --bench net`; smoke test: `cargo bench
//! --bench net -- --test`.

mod support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::os::fd::AsRawFd;
use std::time::Duration;

const LAT_ROUNDS: usize = 1_000;
const TP_CONNS: usize = 64;
const TP_ROUNDS: usize = 100;
const TP_SIZE: usize = 1024;
const ACCEPTS: usize = 10_000;
const ACCEPT_CONCURRENCY: usize = 50;
const _: () = assert!(ACCEPTS % ACCEPT_CONCURRENCY == 0, "every accept needs a connect");
/// (group, connections, round trips, message size) of the many-connection,
/// small-message echoes. The 1,024-connection shape makes fewer round trips
/// so that one iteration stays short.
const SMALL_SHAPES: &[(&str, usize, usize, usize)] =
    &[("tcp_echo_small_256", 256, 100, 64), ("tcp_echo_small_1024", 1024, 25, 64)];
const DEFAULT_WORKERS: &[usize] = &[2, 4];
#[cfg(feature = "tokio-io")]
const READ_BUF_CAPACITY: usize = 8 * 1024;

/// SO_LINGER 0: close sends RST, no TIME_WAIT (so 10,000 connections per
/// iteration, or thousands of echo clients per second, do not exhaust
/// ephemeral ports). Same call on both runtimes and the floor: the accept
/// clients and every echo client make it before they close.
fn linger_zero(fd: &impl AsRawFd) {
    let l = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: a valid open socket fd, a correctly sized `linger` value.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt(SO_LINGER): {}", std::io::Error::last_os_error());
}

mod on_weft {
    use super::*;
    use weft::net::{TcpListener, TcpStream};

    async fn echo_server(listener: TcpListener, conns: usize, size: usize) {
        for _ in 0..conns {
            let (mut s, _) = listener.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            weft::spawn(async move {
                let mut buf = vec![0u8; size];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => s.write_all(&buf[..n]).await.unwrap(),
                    }
                }
            });
        }
    }

    pub(super) async fn client(addr: std::net::SocketAddr, rounds: usize, size: usize) {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        let msg = vec![7u8; size];
        let mut back = vec![0u8; size];
        for _ in 0..rounds {
            s.write_all(&msg).await.unwrap();
            s.read_exact(&mut back).await.unwrap();
        }
        linger_zero(&s);
    }

    pub(super) fn echo(rt: &weft::Runtime, conns: usize, rounds: usize, size: usize) {
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = weft::spawn(echo_server(listener, conns, size));
            let clients: Vec<_> = (0..conns).map(|_| weft::spawn(client(addr, rounds, size))).collect();
            for c in clients {
                c.await.unwrap();
            }
            server.await.unwrap();
        });
    }

    pub(super) fn accept(rt: &weft::Runtime) {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = weft::spawn(async move {
                for _ in 0..ACCEPTS {
                    let (mut s, _) = listener.accept().await.unwrap();
                    s.write_all(b"!").await.unwrap();
                }
            });
            let per = ACCEPTS / ACCEPT_CONCURRENCY;
            let clients: Vec<_> = (0..ACCEPT_CONCURRENCY)
                .map(|_| {
                    weft::spawn(async move {
                        let mut byte = [0u8; 1];
                        for _ in 0..per {
                            let mut s = TcpStream::connect(addr).await.unwrap();
                            s.read_exact(&mut byte).await.unwrap();
                            linger_zero(&s);
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
}

/// The `io_traits` server variants: how the echo server reads.
#[cfg(feature = "tokio-io")]
mod io_traits {
    use super::*;
    use weft::net::{TcpListener, TcpStream};

    #[derive(Clone, Copy)]
    pub(super) enum Path {
        FuturesIo,
        TokioIo,
        TokioIoReadBuf,
    }

    impl Path {
        pub(super) const ALL: [(Path, &'static str); 3] = [
            (Path::FuturesIo, "futures_io"),
            (Path::TokioIo, "tokio_io"),
            (Path::TokioIoReadBuf, "tokio_io_read_buf"),
        ];
    }

    async fn serve_futures_io(mut s: TcpStream, size: usize) {
        use futures::{AsyncReadExt, AsyncWriteExt};
        let mut buf = vec![0u8; size];
        loop {
            match AsyncReadExt::read(&mut s, &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => AsyncWriteExt::write_all(&mut s, &buf[..n]).await.unwrap(),
            }
        }
    }

    async fn serve_tokio_io(mut s: TcpStream, size: usize) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut buf = vec![0u8; size];
        loop {
            match AsyncReadExt::read(&mut s, &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => AsyncWriteExt::write_all(&mut s, &buf[..n]).await.unwrap(),
            }
        }
    }

    async fn serve_tokio_io_read_buf(mut s: TcpStream) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut buf = bytes::BytesMut::with_capacity(READ_BUF_CAPACITY);
        loop {
            buf.clear();
            match AsyncReadExt::read_buf(&mut s, &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => AsyncWriteExt::write_all(&mut s, &buf).await.unwrap(),
            }
        }
    }

    pub(super) fn echo(rt: &weft::Runtime, path: Path, conns: usize, rounds: usize, size: usize) {
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = weft::spawn(async move {
                for _ in 0..conns {
                    let (s, _) = listener.accept().await.unwrap();
                    s.set_nodelay(true).unwrap();
                    match path {
                        Path::FuturesIo => drop(weft::spawn(serve_futures_io(s, size))),
                        Path::TokioIo => drop(weft::spawn(serve_tokio_io(s, size))),
                        Path::TokioIoReadBuf => drop(weft::spawn(serve_tokio_io_read_buf(s))),
                    }
                }
            });
            let clients: Vec<_> =
                (0..conns).map(|_| weft::spawn(super::on_weft::client(addr, rounds, size))).collect();
            for c in clients {
                c.await.unwrap();
            }
            server.await.unwrap();
        });
    }
}

mod on_tokio {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// Echoes one connection until the peer closes it.
    async fn echo_conn(mut s: TcpStream, size: usize) {
        let mut buf = vec![0u8; size];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => s.write_all(&buf[..n]).await.unwrap(),
            }
        }
    }

    async fn echo_server(listener: TcpListener, conns: usize, size: usize) {
        for _ in 0..conns {
            let (s, _) = listener.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            tokio::spawn(echo_conn(s, size));
        }
    }

    async fn client(addr: std::net::SocketAddr, rounds: usize, size: usize) {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        let msg = vec![7u8; size];
        let mut back = vec![0u8; size];
        for _ in 0..rounds {
            s.write_all(&msg).await.unwrap();
            s.read_exact(&mut back).await.unwrap();
        }
        linger_zero(&s);
    }

    pub(super) fn echo(rt: &tokio::runtime::Runtime, conns: usize, rounds: usize, size: usize) {
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(echo_server(listener, conns, size));
            let clients: Vec<_> = (0..conns).map(|_| tokio::spawn(client(addr, rounds, size))).collect();
            for c in clients {
                c.await.unwrap();
            }
            server.await.unwrap();
        });
    }

    /// The same echo, tokio's sockets, but every task a weft task on a
    /// runtime with `tokio_context(true)` (the server spawns its
    /// connections with `weft::spawn` too).
    #[cfg(feature = "tokio-context")]
    pub(super) fn echo_on_weft(rt: &weft::Runtime, conns: usize, rounds: usize, size: usize) {
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = weft::spawn(async move {
                for _ in 0..conns {
                    let (s, _) = listener.accept().await.unwrap();
                    s.set_nodelay(true).unwrap();
                    weft::spawn(echo_conn(s, size));
                }
            });
            let clients: Vec<_> = (0..conns).map(|_| weft::spawn(client(addr, rounds, size))).collect();
            for c in clients {
                c.await.unwrap();
            }
            server.await.unwrap();
        });
    }

    pub(super) fn accept(rt: &tokio::runtime::Runtime) {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                for _ in 0..ACCEPTS {
                    let (mut s, _) = listener.accept().await.unwrap();
                    s.write_all(b"!").await.unwrap();
                }
            });
            let per = ACCEPTS / ACCEPT_CONCURRENCY;
            let clients: Vec<_> = (0..ACCEPT_CONCURRENCY)
                .map(|_| {
                    tokio::spawn(async move {
                        let mut byte = [0u8; 1];
                        for _ in 0..per {
                            let mut s = TcpStream::connect(addr).await.unwrap();
                            s.read_exact(&mut byte).await.unwrap();
                            linger_zero(&s);
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
}

/// The bare-mio floor: the echo with no runtime. A fixed pool of plain
/// threads (one per worker of the runtimes it is compared with), each
/// running one `mio::Poll` loop over its share of the connections, both
/// ends of each (as a runtime's workers run both the client and the server
/// tasks).
///
/// Each thread binds its own listener and connects and accepts its share
/// (blocking, one connection at a time, so the accept queue never holds
/// more than one), then drives them edge-triggered, registered for
/// reading and writing as the runtimes register their sockets. The system
/// calls per message are the ones a runtime's tasks make: the client
/// writes its message, reads the reply until it has all of it, writes the
/// next one and reads until `WouldBlock`; the server reads, echoes what it
/// read, and reads again until `WouldBlock`. A client closes after its
/// last reply, with SO_LINGER 0 like the runtimes' clients; the server
/// sees the reset or the end of stream and closes its end.
mod floor {
    use super::linger_zero;
    use mio::net::TcpStream;
    use mio::{Events, Interest, Poll, Token};
    use std::io::{self, ErrorKind, Read, Write};
    use std::sync::mpsc;

    /// One thread's part of an iteration: connections, round trips, size.
    type Job = (usize, usize, usize);

    /// The threads, waiting for jobs between iterations (so an iteration
    /// does not pay for starting threads, as a runtime's does not).
    pub(super) struct Floor {
        jobs: Vec<mpsc::Sender<Job>>,
        done: mpsc::Receiver<()>,
    }

    impl Floor {
        pub(super) fn new(threads: usize) -> Floor {
            let (done_tx, done) = mpsc::channel();
            let jobs = (0..threads)
                .map(|i| {
                    let (tx, rx) = mpsc::channel::<Job>();
                    let done = done_tx.clone();
                    std::thread::Builder::new()
                        .name(format!("mio-floor-{i}"))
                        .spawn(move || {
                            for (conns, rounds, size) in rx {
                                run(conns, rounds, size);
                                done.send(()).unwrap();
                            }
                        })
                        .expect("spawn a floor thread");
                    tx
                })
                .collect();
            Floor { jobs, done }
        }

        /// One iteration: `conns` connections, shared out as evenly as
        /// possible, each `rounds` round trips of `size` bytes.
        pub(super) fn echo(&self, conns: usize, rounds: usize, size: usize) {
            let n = self.jobs.len();
            for (i, job) in self.jobs.iter().enumerate() {
                job.send((conns / n + usize::from(i < conns % n), rounds, size)).unwrap();
            }
            for _ in 0..n {
                self.done.recv().unwrap();
            }
        }
    }

    struct Client {
        sock: TcpStream,
        left: usize,
        sent: usize,
        got: usize,
    }

    struct Server {
        sock: TcpStream,
        /// Bytes read and not yet echoed: `buf[from..to]`.
        from: usize,
        to: usize,
    }

    /// Connection `i`'s server end has token `2 * i`, its client end
    /// `2 * i + 1`.
    fn run(conns: usize, rounds: usize, size: usize) {
        if conns == 0 {
            return;
        }
        let mut poll = Poll::new().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut clients = Vec::with_capacity(conns);
        let mut servers = Vec::with_capacity(conns);
        for i in 0..conns {
            let c = std::net::TcpStream::connect(addr).unwrap();
            let (s, _) = listener.accept().unwrap();
            let mut ends = [c, s].map(|end| {
                end.set_nodelay(true).unwrap();
                end.set_nonblocking(true).unwrap();
                TcpStream::from_std(end)
            });
            let both = Interest::READABLE | Interest::WRITABLE;
            poll.registry().register(&mut ends[1], Token(2 * i), both).unwrap();
            poll.registry().register(&mut ends[0], Token(2 * i + 1), both).unwrap();
            let [c, s] = ends;
            clients.push(Some(Client { sock: c, left: rounds, sent: 0, got: 0 }));
            servers.push(Some(Server { sock: s, from: 0, to: 0 }));
        }
        let msg = vec![7u8; size];
        let mut back = vec![0u8; size];
        let mut bufs = vec![vec![0u8; size]; conns];
        let mut open = 2 * conns;
        for client in &mut clients {
            open -= drive_client(client, &msg, &mut back) as usize;
        }
        let mut events = Events::with_capacity(1024);
        while open > 0 {
            match poll.poll(&mut events, None) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => panic!("floor poll: {e}"),
            }
            for event in events.iter() {
                let (i, is_client) = (event.token().0 / 2, event.token().0 % 2 == 1);
                let closed = if is_client {
                    drive_client(&mut clients[i], &msg, &mut back)
                } else {
                    drive_server(&mut servers[i], &mut bufs[i])
                };
                open -= closed as usize;
            }
        }
    }

    /// Runs a client until it would block; true if it finished (and
    /// closed) now.
    fn drive_client(slot: &mut Option<Client>, msg: &[u8], back: &mut [u8]) -> bool {
        let Some(c) = slot else { return false };
        loop {
            if c.sent < msg.len() {
                match (&c.sock).write(&msg[c.sent..]) {
                    Ok(n) => c.sent += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                    Err(e) => panic!("floor client write: {e}"),
                }
                continue;
            }
            match (&c.sock).read(&mut back[c.got..]) {
                Ok(0) => panic!("floor client: server closed early"),
                Ok(n) => {
                    c.got += n;
                    if c.got == back.len() {
                        c.got = 0;
                        c.left -= 1;
                        if c.left == 0 {
                            linger_zero(&c.sock);
                            *slot = None;
                            return true;
                        }
                        c.sent = 0;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                Err(e) => panic!("floor client read: {e}"),
            }
        }
    }

    /// Runs a server end until it would block; true if its peer closed
    /// (and so did it) now.
    fn drive_server(slot: &mut Option<Server>, buf: &mut [u8]) -> bool {
        let Some(s) = slot else { return false };
        loop {
            if s.from < s.to {
                match (&s.sock).write(&buf[s.from..s.to]) {
                    Ok(n) => s.from += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                    Err(e) => panic!("floor server write: {e}"),
                }
                continue;
            }
            match (&s.sock).read(buf) {
                Ok(0) => break,
                Ok(n) => (s.from, s.to) = (0, n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                Err(e) if is_reset(&e) => break,
                Err(e) => panic!("floor server read: {e}"),
            }
        }
        *slot = None;
        true
    }

    fn is_reset(e: &io::Error) -> bool {
        matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted)
    }
}

fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = support::flat_group(c, name);
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    g
}

fn net(c: &mut Criterion) {
    let runtimes =
        support::Runtimes::build(&support::worker_counts(DEFAULT_WORKERS), support::TokioDrivers::All).pairs;
    let floors: Vec<floor::Floor> = runtimes.iter().map(|(n, _, _)| floor::Floor::new(*n)).collect();
    let shapes =
        [("tcp_echo_latency", 1, LAT_ROUNDS, 64), ("tcp_echo_throughput", TP_CONNS, TP_ROUNDS, TP_SIZE)];
    for &(name, conns, rounds, size) in shapes.iter().chain(SMALL_SHAPES) {
        let mut g = group(c, name);
        for ((n, w, t), f) in runtimes.iter().zip(&floors) {
            g.bench_function(BenchmarkId::new("weft", n), |b| {
                b.iter(|| on_weft::echo(w, conns, rounds, size))
            });
            g.bench_function(BenchmarkId::new("tokio", n), |b| {
                b.iter(|| on_tokio::echo(t, conns, rounds, size))
            });
            g.bench_function(BenchmarkId::new("mio_floor", n), |b| b.iter(|| f.echo(conns, rounds, size)));
        }
        g.finish();
    }
    let mut g = group(c, "tcp_accept");
    for (n, w, t) in &runtimes {
        g.bench_function(BenchmarkId::new("weft", n), |b| b.iter(|| on_weft::accept(w)));
        g.bench_function(BenchmarkId::new("tokio", n), |b| b.iter(|| on_tokio::accept(t)));
    }
    g.finish();
    #[cfg(feature = "tokio-context")]
    for (shape, conns, rounds, size) in
        [("tcp_echo_latency", 1, LAT_ROUNDS, 64), ("tcp_echo_throughput", TP_CONNS, TP_ROUNDS, TP_SIZE)]
    {
        let mut g = group(c, &format!("tokio_context/{shape}"));
        for (n, w, t) in &runtimes {
            let bridged = weft::Runtime::builder()
                .worker_threads(*n)
                .tokio_context(true)
                .build()
                .expect("weft runtime with tokio_context");
            g.bench_function(BenchmarkId::new("weft", n), |b| {
                b.iter(|| on_weft::echo(w, conns, rounds, size))
            });
            g.bench_function(BenchmarkId::new("tokio_sockets_on_weft", n), |b| {
                b.iter(|| on_tokio::echo_on_weft(&bridged, conns, rounds, size))
            });
            g.bench_function(BenchmarkId::new("tokio", n), |b| {
                b.iter(|| on_tokio::echo(t, conns, rounds, size))
            });
        }
        g.finish();
    }
    #[cfg(feature = "tokio-io")]
    {
        let mut g = group(c, "io_traits");
        for (n, w, _) in &runtimes {
            for (path, name) in io_traits::Path::ALL {
                g.bench_function(BenchmarkId::new(name, n), |b| {
                    b.iter(|| io_traits::echo(w, path, TP_CONNS, TP_ROUNDS, TP_SIZE))
                });
            }
        }
        g.finish();
    }
}

criterion_group!(benches, net);
criterion_main!(benches);
