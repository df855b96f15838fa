//! A minimal HTTP/1.1 keep-alive responder ("Hello, world!" to every
//! request), good enough for a load tool such as wrk:
//! `wrk -t2 -c64 -d10s http://127.0.0.1:8080/`.
//!
//! Run: `cargo run --release --example http_hello -- [ADDR] [WORKERS]`
//! (default `127.0.0.1:8080`).
//!
//! It handles pipelined requests, `Connection: close` and HEAD (the
//! response head alone), and refuses request heads over 8 KiB (431) or
//! without a request line (400). Request bodies are not supported (a
//! request with `Content-Length` other than 0 gets 411-style treatment:
//! 400 and close) — it is a benchmark target, not a server. The
//! connection handling is in `http_hello/conn.rs`.

#[path = "http_hello/conn.rs"]
mod conn;

use std::io;
use weft::net::TcpListener;

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
                        let _ = conn::serve(stream).await;
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
