//! Serves the runtime's own metrics to Prometheus: `GET /metrics` answered
//! with `RuntimeMetrics::to_prometheus()` (text format 0.0.4) by a plain
//! hyper service on `weft::hyper::serve` (HTTP/1.1 with keep-alive, and
//! HTTP/2). A few background tasks make load (timers, a loopback TCP
//! ping-pong, short CPU bursts) so the numbers move between scrapes.
//! Needs the `hyper` feature.
//!
//! Run: `cargo run --example metrics_server --features hyper -- [ADDR] [--once]`
//! (default `127.0.0.1:9100`), then `curl http://127.0.0.1:9100/metrics`,
//! or point a Prometheus scrape job at it.
//!
//! `--once` (or `WEFT_METRICS_ONCE=1`) makes a single request to itself
//! with a hyper client on weft after letting the load run for a moment,
//! prints the response (status line, headers, body), shuts the server
//! down gracefully and exits; without an ADDR it binds an ephemeral port,
//! so it can run anywhere (CI, a smoke test).
//!
//! Other paths get 404, other methods than GET and HEAD on `/metrics` 405;
//! malformed or oversized requests get hyper's answers (400, 431).

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::future::IntoFuture;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use weft::net::{TcpListener, TcpStream};

/// The response to one request.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut res = Response::new(Full::new(Bytes::new()));
    match (req.method(), req.uri().path()) {
        // hyper leaves the body out of the answer to HEAD.
        (&Method::GET | &Method::HEAD, "/metrics") => {
            let body = weft::Handle::current().metrics().to_prometheus();
            *res.body_mut() = Full::new(Bytes::from(body));
            res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
        }
        (_, "/metrics") => {
            *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            res.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        }
        _ => *res.status_mut() = StatusCode::NOT_FOUND,
    }
    Ok(res)
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

/// `GET /metrics` from `addr` with a hyper client; returns the response
/// as text: status line, headers, blank line, body.
async fn fetch(addr: SocketAddr) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(addr).await?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(stream).await?;
    weft::spawn(conn);
    let req = Request::get("/metrics").header("host", addr.to_string()).body(Empty::<Bytes>::new())?;
    let res = send.send_request(req).await?;
    let mut text = format!("{:?} {}\r\n", res.version(), res.status());
    for (name, value) in res.headers() {
        text.push_str(&format!("{name}: {}\r\n", String::from_utf8_lossy(value.as_bytes())));
    }
    text.push_str("\r\n");
    let body = res.into_body().collect().await?.to_bytes();
    text.push_str(&String::from_utf8_lossy(&body));
    Ok(text)
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
        let service = hyper::service::service_fn(handle);
        if !once {
            return weft::hyper::serve(listener, service).await;
        }
        let (stop, stopped) = weft::sync::oneshot::channel::<()>();
        let server = weft::spawn(
            weft::hyper::serve(listener, service)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .into_future(),
        );
        // Let the load run so the numbers are not all zero.
        weft::time::sleep(Duration::from_millis(200)).await;
        let fetched = fetch(local).await;
        let _ = stop.send(());
        server.await.map_err(|e| io::Error::other(e.to_string()))??;
        print!("{}", fetched.map_err(io::Error::other)?);
        Ok(())
    })
}
