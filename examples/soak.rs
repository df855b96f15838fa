//! A soak: an echo server and many clients on one weft runtime for a while,
//! connections opening and closing all the time, then a verdict on whether
//! memory, fds and tasks stayed flat.
//!
//! Run: `cargo run --release --example soak -- [--minutes N | --seconds N]
//! [--interval-secs N] [--clients N] [--workers N]` (default 1 minute, a
//! row every 10 s, 64 concurrent clients).
//!
//! Each client connects, echoes a random number of random-sized messages
//! and checks every byte, then closes. Some give up mid-stream (they drop
//! the connection with an echo half read), some reset it (closing with
//! unread data makes the kernel send an RST), and some are cancelled at a
//! random point by a timeout. Every interval prints: elapsed time, RSS, open
//! fds, live tasks, connections completed, echo errors. At the end the
//! clients stop, the server's connection tasks finish, and the run passes
//! if fds and live tasks are back to where they were before the first
//! connection, RSS grew by less than `RSS_BOUND` after warm-up (the first
//! row), and no echo failed; otherwise it exits with status 1.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft::net::{TcpListener, TcpStream};

/// Allowed RSS growth from the warm-up row to the last row.
const RSS_BOUND: u64 = 16 << 20;

/// Counters shared by the clients and the server (Relaxed: tallies).
#[derive(Default)]
struct Stats {
    completed: AtomicU64,
    abandoned: AtomicU64,
    echo_errors: AtomicU64,
}

/// A tiny PRNG (xorshift64*) for sizes and payloads.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

async fn serve(listener: TcpListener, stats: Arc<Stats>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            // Out of fds, say: back off on a timer and retry.
            weft::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let stats = stats.clone();
        weft::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match stream.read(&mut buf).await {
                    Ok(0) => return,
                    Ok(n) => n,
                    Err(e) => return count_server_error(&stats, e),
                };
                if let Err(e) = stream.write_all(&buf[..n]).await {
                    return count_server_error(&stats, e);
                }
            }
        });
    }
}

/// A reset or a peer gone mid-write is what the misbehaving clients do;
/// anything else is an error.
fn count_server_error(stats: &Stats, e: io::Error) {
    if !matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe) {
        stats.echo_errors.fetch_add(1, Relaxed);
    }
}

/// One connection. `Ok(false)`: the client misbehaved on purpose.
async fn client(addr: std::net::SocketAddr, rng: &mut Rng) -> io::Result<bool> {
    let mut stream = TcpStream::connect(addr).await?;
    let kind = rng.below(10);
    for _ in 0..1 + rng.below(20) {
        let len = 1 + rng.below(32 * 1024);
        let sent: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        stream.write_all(&sent).await?;
        match kind {
            // Reset: close with the echo unread, so the kernel sends an RST.
            0 => {
                stream.readable().await?;
                return Ok(false);
            }
            // Give up mid-stream: read part of the echo, then drop.
            1 => {
                let mut part = vec![0u8; 1 + len / 2];
                let _ = stream.read(&mut part).await?;
                return Ok(false);
            }
            _ => {}
        }
        let mut got = vec![0u8; len];
        stream.read_exact(&mut got).await?;
        if got != sent {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "echo differs from what was sent"));
        }
    }
    Ok(true)
}

/// One of the concurrent clients: connections back to back until `stop`.
async fn client_loop(addr: std::net::SocketAddr, seed: u64, stats: Arc<Stats>, stop: Arc<AtomicBool>) {
    let mut rng = Rng(seed | 1);
    while !stop.load(Relaxed) {
        // One in ten is cancelled by a short timeout wherever it is.
        let outcome = if rng.below(10) == 0 {
            let limit = Duration::from_micros(rng.below(2000) as u64);
            weft::time::timeout(limit, client(addr, &mut rng)).await.unwrap_or(Ok(false))
        } else {
            client(addr, &mut rng).await
        };
        match outcome {
            Ok(true) => drop(stats.completed.fetch_add(1, Relaxed)),
            Ok(false) => drop(stats.abandoned.fetch_add(1, Relaxed)),
            Err(e) => {
                eprintln!("echo error: {e}");
                stats.echo_errors.fetch_add(1, Relaxed);
            }
        }
    }
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
    kb.unwrap_or(0) * 1024
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

struct Row {
    rss: u64,
    fds: usize,
    tasks: usize,
}

fn row(rt: &weft::Runtime, start: Instant, stats: &Stats) -> Row {
    let r = Row { rss: rss_bytes(), fds: open_fds(), tasks: rt.metrics().num_alive_tasks() };
    println!(
        "{:>8.0} {:>9.1} {:>6} {:>6} {:>10} {:>9} {:>6}",
        start.elapsed().as_secs_f64(),
        r.rss as f64 / (1 << 20) as f64,
        r.fds,
        r.tasks,
        stats.completed.load(Relaxed),
        stats.abandoned.load(Relaxed),
        stats.echo_errors.load(Relaxed),
    );
    r
}

fn arg(args: &[String], name: &str) -> Option<f64> {
    let i = args.iter().position(|a| a == name)?;
    match args.get(i + 1).map(|v| v.parse()) {
        Some(Ok(v)) => Some(v),
        _ => {
            eprintln!("{name} needs a number");
            std::process::exit(2);
        }
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds = arg(&args, "--seconds").or(arg(&args, "--minutes").map(|m| m * 60.0)).unwrap_or(60.0);
    let interval = Duration::from_secs_f64(arg(&args, "--interval-secs").unwrap_or(10.0).max(0.1));
    let clients = arg(&args, "--clients").unwrap_or(64.0) as u64;
    let mut builder = weft::Runtime::builder();
    if let Some(n) = arg(&args, "--workers") {
        builder.worker_threads(n as usize);
    }
    let rt = builder.build()?;
    let stats = Arc::new(Stats::default());
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    rt.spawn(serve(listener, stats.clone()));
    let start = Instant::now();
    println!(
        "soak: {seconds} s, {clients} clients, {} workers, echo server on {addr}",
        rt.metrics().num_workers()
    );
    println!(
        "{:>8} {:>9} {:>6} {:>6} {:>10} {:>9} {:>6}",
        "elapsed", "rss_mib", "fds", "tasks", "completed", "abandoned", "errors"
    );
    let idle = row(&rt, start, &stats);

    let stop = Arc::new(AtomicBool::new(false));
    let loops: Vec<_> = (0..clients)
        .map(|i| rt.spawn(client_loop(addr, 0x9e37_79b9 * (i + 1), stats.clone(), stop.clone())))
        .collect();
    let (mut rows, mut next) = (Vec::new(), start + interval);
    while next <= start + Duration::from_secs_f64(seconds) {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        rows.push(row(&rt, start, &stats));
        next += interval;
    }
    stop.store(true, Relaxed);
    for l in loops {
        let _ = rt.block_on(l);
    }
    // The server's side of the last connections ends once it reads their
    // EOF or reset: wait for the task count (at most 10 s).
    let quiet = Instant::now();
    while rt.metrics().num_alive_tasks() > idle.tasks && quiet.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let end = row(&rt, start, &stats);

    let mut failures = Vec::new();
    if end.fds != idle.fds {
        failures.push(format!("open fds {} at the end, {} before the first connection", end.fds, idle.fds));
    }
    if end.tasks != idle.tasks {
        failures
            .push(format!("live tasks {} at the end, {} before the first connection", end.tasks, idle.tasks));
    }
    if let (Some(warm), Some(last)) = (rows.first(), rows.last()) {
        if last.rss > warm.rss + RSS_BOUND {
            failures.push(format!(
                "RSS grew {} KiB after warm-up (bound {} KiB)",
                (last.rss - warm.rss) >> 10,
                RSS_BOUND >> 10
            ));
        }
    }
    let errors = stats.echo_errors.load(Relaxed);
    if errors != 0 {
        failures.push(format!("{errors} echo errors"));
    }
    if stats.completed.load(Relaxed) == 0 {
        failures.push("no connection completed".into());
    }
    if failures.is_empty() {
        println!("soak: flat after warm-up");
        Ok(())
    } else {
        println!("soak: NOT flat: {}", failures.join("; "));
        std::process::exit(1);
    }
}
