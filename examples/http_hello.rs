//! A minimal HTTP/1.1 keep-alive responder ("Hello, world!" to every
//! request), good enough for a load tool such as wrk:
//! `wrk -t2 -c64 -d10s http://127.0.0.1:8080/`.
//!
//! Run: `cargo run --release --example http_hello -- [ADDR] [WORKERS]`
//! (default `127.0.0.1:8080`).
//!
//! It handles pipelined requests, `Connection: close`, and refuses request
//! heads over 8 KiB (431) or without a request line (400). Request bodies
//! are not supported (a request with `Content-Length` other than 0 gets
//! 411-style treatment: 400 and close) — it is a benchmark target, not a
//! server.

use std::io;
use weft::net::{TcpListener, TcpStream};

const MAX_HEAD: usize = 8 * 1024;
const HELLO: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!";

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// What a request head asks of us.
enum Head {
    Ok { close: bool },
    Bad,
}

fn parse(head: &[u8]) -> Head {
    let Ok(text) = std::str::from_utf8(head) else { return Head::Bad };
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(_path), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Head::Bad;
    };
    if method.is_empty() || !version.starts_with("HTTP/1.") {
        return Head::Bad;
    }
    let mut close = version == "HTTP/1.0";
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        } else if (name.eq_ignore_ascii_case("content-length") && value != "0")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            // Request bodies are not supported.
            return Head::Bad;
        }
    }
    Head::Ok { close }
}

async fn serve(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let mut out = Vec::with_capacity(4096);
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        // Answer every complete (possibly pipelined) request in the buffer.
        let mut close = false;
        while let Some(end) = find_head_end(&buf) {
            match parse(&buf[..end]) {
                Head::Ok { close: c } => {
                    out.extend_from_slice(HELLO);
                    close = c;
                }
                Head::Bad => {
                    out.extend_from_slice(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    close = true;
                }
            }
            buf.drain(..end);
            if close {
                break;
            }
        }
        if !close && buf.len() > MAX_HEAD {
            out.extend_from_slice(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            close = true;
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        if close {
            return stream.shutdown(std::net::Shutdown::Write);
        }
    }
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let mut builder = weft::Runtime::builder();
    if let Some(w) = args.next() {
        let n = w
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("WORKERS {w:?}: {e}")))?;
        builder.worker_threads(n);
    }
    let rt = builder.build()?;
    let workers = rt.metrics().num_workers();
    rt.block_on(async move {
        let listener = TcpListener::bind(addr.as_str()).await?;
        println!("http_hello on http://{}/ ({} workers)", listener.local_addr()?, workers);
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    weft::spawn(async move {
                        let _ = serve(stream).await;
                    });
                }
                Err(e) => {
                    // Out of fds, say: back off before retrying.
                    eprintln!("accept failed: {e}");
                    weft::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    })
}
