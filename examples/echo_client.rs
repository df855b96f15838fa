//! A load generator for an echo server: N connections, each doing M round
//! trips of a fixed-size message; prints throughput and latency
//! percentiles.
//!
//! Run: `cargo run --release --example echo_client -- [ADDR] [CONNS] [ROUNDS] [SIZE] [WORKERS]`
//! (defaults `127.0.0.1:7878 64 1000 64`, one worker per CPU).

use std::io;
use std::time::{Duration, Instant};
use weft::net::TcpStream;

fn arg<T: std::str::FromStr>(v: Option<String>, name: &str, default: T) -> io::Result<T>
where
    T::Err: std::fmt::Display,
{
    match v {
        None => Ok(default),
        Some(s) => {
            s.parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{name} {s:?}: {e}")))
        }
    }
}

async fn client(addr: String, rounds: usize, size: usize) -> io::Result<Vec<u32>> {
    let mut stream = TcpStream::connect(addr.as_str()).await?;
    stream.set_nodelay(true)?;
    let msg: Vec<u8> = (0..size).map(|i| i as u8).collect();
    let mut back = vec![0u8; size];
    let mut lat = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        stream.write_all(&msg).await?;
        stream.read_exact(&mut back).await?;
        lat.push(t.elapsed().as_nanos().min(u32::MAX as u128) as u32);
        if back != msg {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "echo mismatch"));
        }
    }
    Ok(lat)
}

fn pct(sorted: &[u32], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Duration::from_nanos(sorted[i] as u64)
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr: String = arg(args.next(), "ADDR", "127.0.0.1:7878".to_string())?;
    let conns: usize = arg(args.next(), "CONNS", 64)?;
    let rounds: usize = arg(args.next(), "ROUNDS", 1000)?;
    let size: usize = arg(args.next(), "SIZE", 64)?;
    let workers: usize = arg(args.next(), "WORKERS", 0)?;
    if conns == 0 || size == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "CONNS and SIZE must be at least 1"));
    }
    let mut builder = weft::Runtime::builder();
    if workers > 0 {
        builder.worker_threads(workers);
    }
    let rt = builder.build()?;
    let start = Instant::now();
    let mut all = rt.block_on(async {
        let handles: Vec<_> = (0..conns).map(|_| weft::spawn(client(addr.clone(), rounds, size))).collect();
        let mut all = Vec::with_capacity(conns * rounds);
        for h in handles {
            let lat = h.await.map_err(|e| io::Error::other(e.to_string()))??;
            all.extend(lat);
        }
        Ok::<_, io::Error>(all)
    })?;
    let elapsed = start.elapsed();
    all.sort_unstable();
    let n = all.len() as f64;
    println!("{conns} connections x {rounds} round trips of {size} bytes to {addr} in {elapsed:.2?}");
    println!(
        "throughput: {:.0} round trips/s, {:.1} MiB/s each way",
        n / elapsed.as_secs_f64(),
        n * size as f64 / elapsed.as_secs_f64() / (1024.0 * 1024.0)
    );
    println!(
        "latency: p50 {:?}  p90 {:?}  p99 {:?}  p99.9 {:?}  max {:?}",
        pct(&all, 0.50),
        pct(&all, 0.90),
        pct(&all, 0.99),
        pct(&all, 0.999),
        pct(&all, 1.0)
    );
    Ok(())
}
