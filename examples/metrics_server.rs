//! Serves the runtime's own metrics to Prometheus: `GET /metrics` over
//! HTTP/1.1 on a weft `TcpListener`, answered with
//! `RuntimeMetrics::to_prometheus()` (text format 0.0.4). A few background
//! tasks make load (timers, a loopback TCP ping-pong, short CPU bursts) so
//! the numbers move between scrapes.
//!
//! Run: `cargo run --example metrics_server -- [ADDR] [--once]`
//! (default `127.0.0.1:9100`), then `curl http://127.0.0.1:9100/metrics`,
//! or point a Prometheus scrape job at it.
//!
//! `--once` (or `WEFT_METRICS_ONCE=1`) serves a single request that the
//! program makes to itself with a weft `TcpStream` after letting the load
//! run for a moment, prints the response and exits; without an ADDR it
//! binds an ephemeral port, so it can run anywhere (CI, a smoke test).
//!
//! Every response closes its connection. Other paths get 404, other
//! methods 405, request heads over 8 KiB 431.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use weft::net::{TcpListener, TcpStream};

const MAX_HEAD: usize = 8 * 1024;

/// Reads a request head and answers it; then closes the connection.
async fn serve(mut stream: TcpStream) -> io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let response = loop {
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break respond(&head[..end]);
        }
        if head.len() > MAX_HEAD {
            break status("431 Request Header Fields Too Large");
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(()); // the client left before sending a whole head
        }
        head.extend_from_slice(&chunk[..n]);
    };
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown(std::net::Shutdown::Write)
}

/// The response to a request head (without its final blank line).
fn respond(head: &[u8]) -> String {
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return status("400 Bad Request");
    };
    if !version.starts_with("HTTP/1.") {
        return status("400 Bad Request");
    }
    let path = target.split('?').next().unwrap_or(target);
    match (method, path) {
        ("GET", "/metrics") => {
            let body = weft::Handle::current().metrics().to_prometheus();
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        (_, "/metrics") => status("405 Method Not Allowed"),
        _ => status("404 Not Found"),
    }
}

/// An empty response with `code` ("404 Not Found").
fn status(code: &str) -> String {
    format!("HTTP/1.1 {code}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}

/// Background load: a 10 ms ticker, short CPU bursts, and a TCP ping-pong
/// over loopback every 20 ms, so timers, polls and netpoll events grow.
async fn start_load() -> io::Result<()> {
    weft::spawn(async {
        loop {
            weft::time::sleep(Duration::from_millis(10)).await;
        }
    });
    weft::spawn(async {
        loop {
            let start = std::time::Instant::now();
            while start.elapsed() < Duration::from_micros(200) {
                std::hint::spin_loop();
            }
            weft::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let echo = TcpListener::bind("127.0.0.1:0").await?;
    let echo_addr = echo.local_addr()?;
    weft::spawn(async move {
        while let Ok((mut s, _)) = echo.accept().await {
            weft::spawn(async move {
                let mut buf = [0u8; 64];
                while let Ok(n @ 1..) = s.read(&mut buf).await {
                    if s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    weft::spawn(async move {
        let Ok(mut c) = TcpStream::connect(echo_addr).await else { return };
        let mut buf = [0u8; 4];
        loop {
            if c.write_all(b"ping").await.is_err() || c.read_exact(&mut buf).await.is_err() {
                return;
            }
            weft::time::sleep(Duration::from_millis(20)).await;
        }
    });
    Ok(())
}

/// `GET /metrics` from `addr`; returns the whole response.
async fn fetch(addr: SocketAddr) -> io::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk).await? {
            0 => break,
            n => response.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8(response).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn main() -> io::Result<()> {
    let mut addr = None;
    let mut once = std::env::var("WEFT_METRICS_ONCE").is_ok_and(|v| v == "1");
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--once" => once = true,
            _ if addr.is_none() => addr = Some(arg),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("unexpected argument {arg:?}"),
                ));
            }
        }
    }
    let default = if once { "127.0.0.1:0" } else { "127.0.0.1:9100" };
    let addr = addr.unwrap_or_else(|| default.to_string());
    let rt = weft::Runtime::new()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(addr.as_str()).await?;
        let local = listener.local_addr()?;
        println!("metrics on http://{local}/metrics");
        start_load().await?;
        let server = weft::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        weft::spawn(async move {
                            if let Err(e) = serve(stream).await {
                                eprintln!("metrics_server: connection failed: {e}");
                            }
                        });
                    }
                    Err(e) => {
                        // Out of fds, say: back off before retrying.
                        eprintln!("metrics_server: accept failed: {e}");
                        weft::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
        if !once {
            return server.await.map_err(|e| io::Error::other(e.to_string()));
        }
        // Let the load run so the numbers are not all zero.
        weft::time::sleep(Duration::from_millis(200)).await;
        print!("{}", fetch(local).await?);
        Ok(())
    })
}
