//! A TCP echo server: one task per connection, each echoing what it reads.
//!
//! Run: `cargo run --release --example echo_server -- [ADDR] [WORKERS]`
//! (default `127.0.0.1:7878`, one worker per CPU). Drive it with
//! `cargo run --release --example echo_client`.

use std::io;
use weft::net::{TcpListener, TcpStream};

async fn echo(mut stream: TcpStream) -> io::Result<u64> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0u64;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7878".to_string());
    let mut builder = weft::Runtime::builder();
    if let Some(workers) = args.next() {
        let n = workers.parse().map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("WORKERS must be a number: {e}"))
        })?;
        builder.worker_threads(n);
    }
    let rt = builder.build()?;
    let workers = rt.metrics().num_workers();
    rt.block_on(async move {
        let listener = TcpListener::bind(addr.as_str()).await?;
        println!("echo server listening on {} ({} workers)", listener.local_addr()?, workers);
        loop {
            match listener.accept().await {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    weft::spawn(async move {
                        if let Err(e) = echo(stream).await {
                            if e.kind() != io::ErrorKind::ConnectionReset {
                                eprintln!("connection error: {e}");
                            }
                        }
                    });
                }
                // Out of fds, say: the connection stays queued and an
                // immediate retry fails again, so back off a little (a timer,
                // not a blocked thread).
                Err(e) => {
                    eprintln!("accept failed: {e}");
                    weft::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    })
}
