//! The same hyper service on weft or on tokio, for side-by-side HTTP load
//! tests (`scripts/wrk-hyper.sh`, docs/benchmarks.md, "hyper under wrk").
//! Needs the `hyper` feature.
//!
//! Run: `cargo run --release --example hyper_bench --features hyper -- weft|tokio WORKERS [ADDR]`
//! (default `127.0.0.1:8090`), then e.g. `wrk -t1 -c64 -d10s --latency http://127.0.0.1:8090/`.
//!
//! Both sides serve the one `hello` function below through hyper-util's
//! `auto` connection builder (HTTP/1.1 keep-alive, or HTTP/2 with prior
//! knowledge), with connection upgrades on, each connection in its own
//! task, and a graceful-shutdown hook on every connection:
//!
//! - weft: `weft::hyper::serve(listener, service).with_graceful_shutdown(..)`,
//!   the entry point a weft user writes.
//! - tokio: the accept loop a tokio user writes (what `axum::serve` does):
//!   a tokio `TcpListener`, hyper-util's `TokioIo`, `TokioExecutor` and
//!   `TokioTimer`, and hyper-util's `GracefulShutdown` watcher.
//!
//! The server stops on `--seconds N` (graceful), or runs until killed.
//! With `--metrics` and `--seconds`, weft prints its runtime counters
//! when it stops (per worker: polls, steals, parks, netpoll events,
//! stalls...), for looking into a run.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::time::Duration;

const BODY: &[u8] = b"Hello, World!";

/// The service both runtimes run: a fixed body, no allocation beyond
/// hyper's own.
async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(BODY))))
}

fn usage() -> ! {
    eprintln!("usage: hyper_bench weft|tokio WORKERS [ADDR] [--seconds N] [--metrics]");
    std::process::exit(2);
}

struct Args {
    tokio: bool,
    workers: usize,
    addr: SocketAddr,
    seconds: Option<u64>,
    metrics: bool,
}

fn parse_args() -> Args {
    let mut positional = Vec::new();
    let mut seconds = None;
    let mut metrics = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--metrics" {
            metrics = true;
        } else if arg == "--seconds" {
            seconds = Some(args.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| usage()));
        } else {
            positional.push(arg);
        }
    }
    let tokio = match positional.first().map(String::as_str) {
        Some("weft") => false,
        Some("tokio") => true,
        _ => usage(),
    };
    let workers = match positional.get(1).map(|s| s.parse::<usize>()) {
        Some(Ok(n)) if n > 0 => n,
        _ => usage(),
    };
    let addr = match positional.get(2) {
        Some(s) => s.parse().unwrap_or_else(|e| {
            eprintln!("hyper_bench: bad address {s:?}: {e}");
            std::process::exit(2)
        }),
        None => SocketAddr::from(([127, 0, 0, 1], 8090)),
    };
    Args { tokio, workers, addr, seconds, metrics }
}

fn main() -> std::io::Result<()> {
    let args = parse_args();
    if args.tokio {
        run_tokio(&args)
    } else {
        run_weft(&args)
    }
}

fn run_weft(args: &Args) -> std::io::Result<()> {
    let rt = weft::Runtime::builder().worker_threads(args.workers).build()?;
    let seconds = args.seconds;
    let served = rt.block_on(async {
        let listener = weft::net::TcpListener::bind(args.addr).await?;
        println!("weft, {} workers, listening on {}", args.workers, listener.local_addr()?);
        weft::hyper::serve(listener, service_fn(hello))
            .with_graceful_shutdown(async move {
                match seconds {
                    Some(s) => weft::time::sleep(Duration::from_secs(s)).await,
                    None => std::future::pending().await,
                }
            })
            .into_future()
            .await
    });
    if args.metrics {
        let m = rt.metrics();
        for (i, w) in m.workers().iter().enumerate() {
            println!(
                "worker {i}: polls {} steals {} parks {} netpoll_events {} runnext_hits {} overflows {} \
                 injector_pulls {} stalls {} descheduled_polls {} busy {:?}",
                w.polls(),
                w.steals(),
                w.parks(),
                w.netpoll_events(),
                w.runnext_hits(),
                w.overflows(),
                w.injector_pulls(),
                w.stalls(),
                w.descheduled_polls(),
                w.busy_duration(),
            );
        }
        println!("compensating workers now {}, stalls {}", m.compensating_workers(), m.total_stalls());
    }
    served
}

fn run_tokio(args: &Args) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto;
    use hyper_util::server::graceful::GracefulShutdown;

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(args.workers).enable_all().build()?;
    let seconds = args.seconds;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr).await?;
        println!("tokio, {} workers, listening on {}", args.workers, listener.local_addr()?);
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new());
        builder.http2().timer(TokioTimer::new());
        let graceful = GracefulShutdown::new();
        let mut stop = std::pin::pin!(async move {
            match seconds {
                Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
                None => std::future::pending().await,
            }
        });
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service_fn(hello));
                    let conn = graceful.watch(conn.into_owned());
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
                () = &mut stop => break,
            }
        }
        drop(listener);
        let _ = tokio::time::timeout(weft::hyper::DEFAULT_SHUTDOWN_TIMEOUT, graceful.shutdown()).await;
        Ok(())
    })
}
