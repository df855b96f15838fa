//! hyper 1.x on weft's own adapters (feature `hyper`): an HTTP/1.1 server
//! and client on weft's `TcpStream` (hyper's I/O traits implemented on it),
//! `weft::hyper::Executor` spawning connections, and `weft::hyper::Timer`
//! running hyper's header-read timeout and resetting sleeps in place.

#![cfg(feature = "hyper")]

use bytes::Bytes;
use futures::channel::mpsc;
use futures::StreamExt;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::rt::{Executor as _, Timer as _};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft::hyper::{Executor, Timer};
use weft::net::{TcpListener, TcpStream};
use weft::time::timeout;

fn rt() -> weft::Runtime {
    weft::Runtime::builder().worker_threads(2).build().expect("build runtime")
}

/// How many sleeps hyper asked [`CountingTimer`] for, process-wide.
static SLEEPS_CREATED: AtomicUsize = AtomicUsize::new(0);

/// weft's timer, counting the sleeps hyper creates (to show hyper used it).
#[derive(Clone, Copy)]
struct CountingTimer;

impl hyper::rt::Timer for CountingTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        SLEEPS_CREATED.fetch_add(1, SeqCst);
        Timer.sleep(duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        SLEEPS_CREATED.fetch_add(1, SeqCst);
        Timer.sleep_until(deadline)
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        Timer.reset(sleep, new_deadline)
    }
}

// ---- hyper 1.x HTTP/1.1 server and client ----------------------------------

/// GET /hello/N -> "hello N"; POST /echo -> the body back; else 404.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path().to_owned();
    match (req.method().clone(), path.strip_prefix("/hello/")) {
        (Method::GET, Some(n)) => Ok(Response::new(Full::new(Bytes::from(format!("hello {n}"))))),
        (Method::POST, _) if path == "/echo" => {
            let body = req.into_body().collect().await?.to_bytes();
            Ok(Response::new(Full::new(body)))
        }
        _ => {
            let mut resp = Response::new(Full::new(Bytes::from_static(b"not found")));
            *resp.status_mut() = StatusCode::NOT_FOUND;
            Ok(resp)
        }
    }
}

/// A hyper server on weft: every accepted connection is served by a task
/// spawned through weft's [`Executor`], with weft's [`Timer`] (counting).
/// Each connection's result is sent on the returned channel.
struct Server {
    addr: SocketAddr,
    served: Arc<AtomicUsize>,
    done: mpsc::UnboundedReceiver<Result<(), hyper::Error>>,
}

async fn start_server(header_timeout: Duration) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let (done_tx, done) = mpsc::unbounded();
    let counter = served.clone();
    weft::spawn(async move {
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            sock.set_nodelay(true).unwrap();
            let counter = counter.clone();
            let service = hyper::service::service_fn(move |req| {
                counter.fetch_add(1, SeqCst);
                handle(req)
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(CountingTimer)
                .header_read_timeout(header_timeout)
                .keep_alive(true)
                .serve_connection(sock, service);
            let done_tx = done_tx.clone();
            Executor.execute(async move {
                let _ = done_tx.unbounded_send(conn.await);
            });
        }
    });
    Server { addr, served, done }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// A client connection: the handshake over a weft `TcpStream`, its
/// connection driver spawned on weft.
async fn connect(addr: SocketAddr) -> (Sender, weft::JoinHandle<hyper::Result<()>>) {
    let sock = TcpStream::connect(addr).await.unwrap();
    sock.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(sock).await.unwrap();
    (sender, weft::spawn(conn))
}

/// Sends request `i` (a GET, an echoed POST body, or a 404) and asserts the
/// response's status and body.
async fn exchange(sender: &mut Sender, i: usize) {
    let (req, status, want) = if i % 50 == 49 {
        let req = Request::get(format!("/missing/{i}")).body(Full::default()).unwrap();
        (req, StatusCode::NOT_FOUND, Bytes::from_static(b"not found"))
    } else if i % 5 == 0 {
        let body: Bytes = (0..(i * 13) % 3_000).map(|j| (i ^ j) as u8).collect();
        let req = Request::post("/echo").body(Full::new(body.clone())).unwrap();
        (req, StatusCode::OK, body)
    } else {
        let req = Request::get(format!("/hello/{i}")).body(Full::default()).unwrap();
        (req, StatusCode::OK, Bytes::from(format!("hello {i}")))
    };
    sender.ready().await.unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), status, "request {i}");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, want, "request {i}");
}

/// Waits for a client connection's driver; it ends once the sender is gone.
async fn close(sender: Sender, driver: weft::JoinHandle<hyper::Result<()>>) {
    drop(sender);
    driver.await.unwrap().expect("client connection driver");
}

/// Checks that `conns` server connections ended cleanly (after their
/// clients closed) and that the server answered `requests`.
async fn finish(mut server: Server, conns: usize, requests: usize) {
    for _ in 0..conns {
        server.done.next().await.unwrap().expect("server connection");
    }
    assert_eq!(server.served.load(SeqCst), requests);
}

#[test]
fn hyper_http1_1000_requests_keep_alive_on_weft() {
    const CONNS: usize = 4;
    const REQUESTS: usize = 1_000;
    rt().block_on(async {
        let server = start_server(Duration::from_secs(30)).await;
        let start = std::time::Instant::now();
        let mut senders = Vec::new();
        let mut drivers = Vec::new();
        for _ in 0..CONNS {
            let (s, d) = connect(server.addr).await;
            senders.push(s);
            drivers.push(d);
        }
        for i in 0..REQUESTS {
            exchange(&mut senders[i % CONNS], i).await;
        }
        let elapsed = start.elapsed();
        for (s, d) in senders.into_iter().zip(drivers) {
            close(s, d).await;
        }
        finish(server, CONNS, REQUESTS).await;
        eprintln!("hyper: {REQUESTS} requests on {CONNS} keep-alive connections in {elapsed:?}");
    });
    // hyper arms a header-read timer through the timer before each request
    // head (the counter is process-wide, hence >=).
    assert!(SLEEPS_CREATED.load(SeqCst) >= REQUESTS);
}

#[test]
fn hyper_adapters_from_concurrent_weft_tasks() {
    const CLIENTS: usize = 4;
    const PER: usize = 250;
    rt().block_on(async {
        let server = start_server(Duration::from_secs(30)).await;
        let start = std::time::Instant::now();
        let addr = server.addr;
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                weft::spawn(async move {
                    let (mut sender, driver) = connect(addr).await;
                    for k in 0..PER {
                        exchange(&mut sender, c * PER + k).await;
                    }
                    close(sender, driver).await;
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        let elapsed = start.elapsed();
        finish(server, CLIENTS, CLIENTS * PER).await;
        eprintln!("hyper: {CLIENTS} concurrent tasks x {PER} requests in {elapsed:?}");
    });
}

#[test]
fn hyper_header_read_timeout_fires_on_the_weft_timer() {
    rt().block_on(async {
        let mut server = start_server(Duration::from_millis(50)).await;
        // Connect and send nothing: the server's header-read sleep expires.
        let _idle = TcpStream::connect(server.addr).await.unwrap();
        let res = timeout(Duration::from_secs(60), server.done.next()).await;
        let err = res.expect("hyper's timer never fired").unwrap().unwrap_err();
        assert!(err.is_timeout(), "expected a header-read timeout, got {err}");
        assert_eq!(server.served.load(SeqCst), 0);
    });
}

#[test]
fn hyper_timer_reset_moves_the_weft_sleep_in_place() {
    rt().block_on(async {
        let mut sleep = Timer.sleep(Duration::from_secs(3600));
        let before: *const () = &*sleep as *const dyn hyper::rt::Sleep as *const ();
        let new_deadline = Instant::now() + Duration::from_millis(5);
        Timer.reset(&mut sleep, new_deadline);
        // Same allocation (not replaced), with the new deadline.
        let after: *const () = &*sleep as *const dyn hyper::rt::Sleep as *const ();
        assert_eq!(before, after, "reset replaced the sleep");
        let ours = sleep.as_mut().downcast_mut_pin::<weft::hyper::Sleep>().expect("a weft sleep");
        assert_eq!(ours.deadline(), weft::time::Instant::from_std(new_deadline));
        timeout(Duration::from_secs(60), sleep).await.expect("the reset deadline was used");
    });
}
