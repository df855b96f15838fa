//! An axum app on weft: a `Router` with shared state and JSON, served by
//! `weft::hyper::serve` (HTTP/1 and HTTP/2 on one port) with graceful
//! shutdown. Needs the `hyper` feature.
//!
//! Run: `cargo run --release --example axum_hello --features hyper -- [ADDR] [--seconds N] [--once]`
//! (default `127.0.0.1:3000`), then:
//!
//! ```text
//! curl http://127.0.0.1:3000/
//! curl -d '{"name":"you"}' -H 'content-type: application/json' http://127.0.0.1:3000/greet
//! curl -X POST http://127.0.0.1:3000/shutdown
//! ```
//!
//! Shutting down. The server stops gracefully on `POST /shutdown`, or
//! after `--seconds N`: it stops accepting, lets the requests in flight
//! finish (cancelling what is left after 10 s) and returns. weft has no
//! signal handling yet, so Ctrl-C ends the process at once instead. The
//! shutdown signal `with_graceful_shutdown` takes is any future; here it
//! waits on a `Notify` kept in the app's state, which a handler, a timer
//! or the self-check below can fire. That is the part to copy: when your
//! process catches SIGTERM (a signal crate, an orchestrator's hook), fire
//! the same `Notify`. A shutdown route is for demos and local tools; a
//! real service keeps it off its public port.
//!
//! `--once` is a self-check (CI runs it): it binds an ephemeral port,
//! sends `POST /greet` to itself with a hyper client on weft and prints
//! the response, then shuts the server down through `POST /shutdown`, and
//! exits 0 only if both answered with success and the server returned.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::error::Error;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use weft::hyper::{serve, TowerToHyperService};
use weft::net::{TcpListener, TcpStream};
use weft::sync::Notify;

type BoxError = Box<dyn Error + Send + Sync>;

/// What every handler shares (axum clones it per request).
#[derive(Clone, Default)]
struct AppState {
    /// How many greetings were sent.
    greeted: Arc<AtomicU64>,
    /// Fired to start the graceful shutdown.
    shutdown: Arc<Notify>,
}

#[derive(serde::Deserialize)]
struct GreetRequest {
    name: String,
}

#[derive(serde::Serialize)]
struct Greeting {
    greeting: String,
    /// Greetings sent so far, this one included.
    greeted: u64,
}

async fn greet(State(state): State<AppState>, Json(req): Json<GreetRequest>) -> Json<Greeting> {
    // Relaxed: a counter alone, nothing else is published through it.
    let greeted = state.greeted.fetch_add(1, Relaxed) + 1;
    Json(Greeting { greeting: format!("hello, {}", req.name), greeted })
}

async fn shutdown(State(state): State<AppState>) -> (StatusCode, &'static str) {
    // A permit is stored if the server is not waiting yet: the signal is
    // never lost.
    state.shutdown.notify_one();
    (StatusCode::ACCEPTED, "shutting down\n")
}

fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { "hello from weft\n" }))
        .route("/greet", post(greet))
        .route("/shutdown", post(shutdown))
        .with_state(state)
}

/// `--once`: a greeting and then the shutdown, as a client would send
/// them, on one keep-alive HTTP/1.1 connection.
async fn self_check(addr: SocketAddr) -> Result<(), BoxError> {
    let stream = TcpStream::connect(addr).await?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(stream).await?;
    let conn = weft::spawn(conn);
    for (path, body) in [("/greet", r#"{"name":"weft"}"#), ("/shutdown", "")] {
        let req = http::Request::post(path)
            .header("host", addr.to_string())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))?;
        // The previous response's end reaches the connection task
        // asynchronously: wait until it takes the next request.
        send.ready().await?;
        let res = send.send_request(req).await?;
        let status = res.status();
        let body = res.into_body().collect().await?.to_bytes();
        println!("POST {path} -> {status}\n{}", String::from_utf8_lossy(&body).trim_end());
        if !status.is_success() {
            return Err(format!("POST {path} answered {status}").into());
        }
    }
    // The server closes the connection as it drains.
    conn.await.map_err(|e| e.to_string())??;
    Ok(())
}

fn main() -> Result<(), BoxError> {
    let mut addr = None;
    let mut seconds = None;
    let mut once = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--once" => once = true,
            "--seconds" => {
                let n = args.next().ok_or("--seconds needs a number")?;
                seconds = Some(n.parse::<u64>().map_err(|e| format!("--seconds {n:?}: {e}"))?);
            }
            _ if addr.is_none() && !arg.starts_with('-') => addr = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}").into()),
        }
    }
    let default = if once { "127.0.0.1:0" } else { "127.0.0.1:3000" };
    let addr = addr.unwrap_or_else(|| default.to_string());

    let rt = weft::Runtime::new()?;
    rt.block_on(async move {
        let state = AppState::default();
        let stop = state.shutdown.clone();
        let trigger = state.shutdown.clone();
        if let Some(n) = seconds {
            let stop = stop.clone();
            weft::spawn(async move {
                weft::time::sleep(Duration::from_secs(n)).await;
                stop.notify_one();
            });
        }
        let listener = TcpListener::bind(addr.as_str()).await?;
        let local = listener.local_addr()?;
        println!("axum_hello on http://{local}/");
        let server = serve(listener, TowerToHyperService::new(app(state)))
            .with_graceful_shutdown(async move { stop.notified().await })
            .shutdown_timeout(Duration::from_secs(10));
        if once {
            let server = weft::spawn(server.into_future());
            let checked = self_check(local).await;
            if checked.is_err() {
                // The check may have failed before `/shutdown`: stop the
                // server here so the process ends with the error.
                trigger.notify_one();
            }
            server.await.map_err(|e| e.to_string())??;
            checked?;
        } else {
            server.await?;
        }
        println!("axum_hello: shut down gracefully");
        Ok(())
    })
}
