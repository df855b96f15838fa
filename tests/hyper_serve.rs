//! `weft::hyper::serve` (feature `hyper`): HTTP/1 and HTTP/2 requests from
//! a hyper client on weft, graceful shutdown with requests in flight, the
//! shutdown deadline cancelling a stuck handler, bad clients and accept
//! errors costing one connection, and an axum app.

#![cfg(feature = "hyper")]

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::future::IntoFuture;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use weft::hyper::{serve, Executor, Listener};
use weft::net::{TcpListener, TcpStream};
use weft::sync::{mpsc, oneshot, watch};

fn rt() -> weft::Runtime {
    weft::Runtime::builder().worker_threads(2).build().expect("build runtime")
}

/// Counts its drops: a handler future that owns one was dropped.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// What the test service's handlers share.
#[derive(Clone)]
struct Ctl {
    /// `/wait` reports here that it started.
    started: mpsc::Sender<()>,
    /// `/wait` answers once this turns true.
    release: watch::Receiver<bool>,
    /// Drops of `/wait` and `/stuck` handler futures.
    drops: Arc<AtomicUsize>,
}

fn ctl() -> (Ctl, mpsc::Receiver<()>, watch::Sender<bool>) {
    let (started, started_rx) = mpsc::channel(64);
    let (release_tx, release) = watch::channel(false);
    (Ctl { started, release, drops: Arc::new(AtomicUsize::new(0)) }, started_rx, release_tx)
}

/// `/`: "hello"; `/wait`: reports, waits for the release, answers
/// "done"; `/stuck`: reports and never answers.
async fn handle(ctl: Ctl, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match req.uri().path() {
        "/wait" => {
            let _count = DropCount(ctl.drops.clone());
            ctl.started.send(()).await.unwrap();
            let mut release = ctl.release.clone();
            while !*release.borrow_and_update() {
                release.changed().await.unwrap();
            }
            "done"
        }
        "/stuck" => {
            let _count = DropCount(ctl.drops.clone());
            ctl.started.send(()).await.unwrap();
            std::future::pending::<()>().await;
            unreachable!()
        }
        _ => "hello",
    };
    Ok(Response::new(Full::new(Bytes::from(body))))
}

fn service(
    ctl: Ctl,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone
       + Send
       + 'static {
    hyper::service::service_fn(move |req| handle(ctl.clone(), req))
}

/// A server with a graceful-shutdown trigger; returns its address, the
/// trigger, and the server task.
fn start<L: Listener>(
    listener: L,
    ctl: Ctl,
    timeout: Duration,
) -> (oneshot::Sender<()>, weft::JoinHandle<io::Result<()>>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let server = serve(listener, service(ctl))
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
        })
        .shutdown_timeout(timeout);
    (stop, weft::spawn(server.into_future()))
}

async fn body_text(res: Response<Incoming>) -> String {
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

/// One HTTP/1.1 GET on a new connection.
async fn get_h1(addr: SocketAddr, path: &str) -> hyper::Result<(StatusCode, String)> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(stream).await?;
    weft::spawn(conn);
    let res = send
        .send_request(Request::get(path).header("host", "weft").body(Empty::<Bytes>::new()).unwrap())
        .await?;
    let status = res.status();
    Ok((status, body_text(res).await))
}

/// An HTTP/2 (prior knowledge) connection.
async fn h2_client(addr: SocketAddr) -> hyper::client::conn::http2::SendRequest<Empty<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (send, conn) = hyper::client::conn::http2::handshake(Executor, stream).await.unwrap();
    weft::spawn(conn);
    send
}

async fn get_h2(
    send: &mut hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    path: &str,
) -> hyper::Result<(StatusCode, http::Version, String)> {
    let req = Request::get(format!("http://weft{path}")).body(Empty::new()).unwrap();
    send.ready().await?;
    let res = send.send_request(req).await?;
    let (status, version) = (res.status(), res.version());
    Ok((status, version, body_text(res).await))
}

/// Waits until the listener at `addr` is closed (the server stopped
/// accepting): a connect is refused.
async fn until_refused(addr: SocketAddr) {
    while TcpStream::connect(addr).await.is_ok() {
        weft::task::yield_now().await;
    }
}

#[test]
fn http1_and_http2_requests() {
    rt().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (ctl, _, _) = ctl();
        let (stop, server) = start(listener, ctl, Duration::from_secs(60));
        assert_eq!(get_h1(addr, "/").await.unwrap(), (StatusCode::OK, "hello".into()));
        let mut h2 = h2_client(addr).await;
        for _ in 0..3 {
            let (status, version, body) = get_h2(&mut h2, "/").await.unwrap();
            assert_eq!((status, version, body.as_str()), (StatusCode::OK, http::Version::HTTP_2, "hello"));
        }
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    });
}

#[test]
fn graceful_shutdown_finishes_requests_in_flight() {
    rt().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (ctl, mut started, release) = ctl();
        let drops = ctl.drops.clone();
        // A deadline no test run reaches: the requests must finish, not be cut.
        let (stop, server) = start(listener, ctl, Duration::from_secs(3600));
        const H1: usize = 4;
        const H2: usize = 4;
        let mut clients = Vec::new();
        for _ in 0..H1 {
            clients.push(weft::spawn(async move { get_h1(addr, "/wait").await }));
        }
        let h2 = h2_client(addr).await;
        for _ in 0..H2 {
            let mut h2 = h2.clone();
            clients.push(weft::spawn(async move { get_h2(&mut h2, "/wait").await.map(|(s, _, b)| (s, b)) }));
        }
        for _ in 0..H1 + H2 {
            started.recv().await.unwrap();
        }
        // Every request is inside its handler; now shut down, and let the
        // handlers answer only once the server has stopped accepting.
        stop.send(()).unwrap();
        until_refused(addr).await;
        release.send(true).unwrap();
        for c in clients {
            assert_eq!(c.await.unwrap().unwrap(), (StatusCode::OK, "done".to_string()));
        }
        server.await.unwrap().unwrap();
        assert_eq!(drops.load(SeqCst), H1 + H2, "every handler ran to its end");
    });
}

#[test]
fn shutdown_deadline_cancels_stuck_handlers() {
    rt().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (ctl, mut started, _release) = ctl();
        let drops = ctl.drops.clone();
        let (stop, server) = start(listener, ctl, Duration::from_millis(50));
        let h1 = weft::spawn(async move { get_h1(addr, "/stuck").await });
        let mut h2 = h2_client(addr).await;
        let h2 = weft::spawn(async move { get_h2(&mut h2, "/stuck").await });
        started.recv().await.unwrap();
        started.recv().await.unwrap();
        stop.send(()).unwrap();
        // The server ends although its handlers never would...
        server.await.unwrap().unwrap();
        // ...and only once both stuck handler futures were dropped (the
        // HTTP/2 one runs in a task of its own).
        assert_eq!(drops.load(SeqCst), 2);
        assert!(h1.await.unwrap().is_err(), "the HTTP/1 request was cut");
        assert!(h2.await.unwrap().is_err(), "the HTTP/2 request was cut");
    });
}

#[test]
fn garbage_and_reset_cost_one_connection() {
    rt().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (ctl, _, _) = ctl();
        let (stop, server) = start(listener, ctl, Duration::from_secs(60));

        // Garbage: the server answers 400 or just closes; either way this
        // connection ends.
        let mut bad = TcpStream::connect(addr).await.unwrap();
        bad.write_all(b"\x16\x03\x01 this is not HTTP\r\n\r\n").await.unwrap();
        let mut reply = Vec::new();
        let mut buf = [0; 1024];
        loop {
            match bad.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => reply.extend_from_slice(&buf[..n]),
            }
        }
        assert!(
            reply.is_empty() || reply.starts_with(b"HTTP/1.1 400"),
            "{:?}",
            String::from_utf8_lossy(&reply)
        );

        // Reset: a client that closes with an unread response in its
        // receive buffer makes its kernel send RST, while the server is in
        // the middle of the next (pipelined, unfinished) request.
        let mut rst = TcpStream::connect(addr).await.unwrap();
        rst.write_all(b"GET / HTTP/1.1\r\nhost: weft\r\n\r\n").await.unwrap();
        rst.readable().await.unwrap();
        rst.write_all(b"GET / HTTP/1.1\r\nhost: we").await.unwrap();
        drop(rst);

        // The server still serves.
        assert_eq!(get_h1(addr, "/").await.unwrap(), (StatusCode::OK, "hello".into()));
        let mut h2 = h2_client(addr).await;
        assert_eq!(get_h2(&mut h2, "/").await.unwrap().2, "hello");
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    });
}

/// A listener whose first accepts fail: one connection's error, then
/// "out of file descriptors" twice, then the real listener.
struct Flaky {
    errors: Vec<io::Error>,
    inner: TcpListener,
}

impl Listener for Flaky {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
        match self.errors.pop() {
            Some(e) => Err(e),
            None => self.inner.accept().await,
        }
    }
}

#[test]
fn accept_errors_do_not_stop_the_server() {
    rt().block_on(async {
        let inner = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        let errors = vec![
            io::Error::from_raw_os_error(libc_emfile()),
            io::Error::from_raw_os_error(libc_emfile()),
            io::Error::from(io::ErrorKind::ConnectionAborted),
        ];
        let (ctl, _, _) = ctl();
        let (stop, server) = start(Flaky { errors, inner }, ctl, Duration::from_secs(60));
        assert_eq!(get_h1(addr, "/").await.unwrap(), (StatusCode::OK, "hello".into()));
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    });
}

/// `EMFILE` ("too many open files") on Linux and the BSDs.
fn libc_emfile() -> i32 {
    24
}

#[test]
fn serves_a_unix_listener() {
    rt().block_on(async {
        let dir = std::env::temp_dir().join(format!("weft-hyper-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("serve.sock");
        let _ = std::fs::remove_file(&path);
        let listener = weft::net::UnixListener::bind(&path).unwrap();
        let (ctl, _, _) = ctl();
        let (stop, server) = start(listener, ctl, Duration::from_secs(60));
        let stream = weft::net::UnixStream::connect(&path).await.unwrap();
        let (mut send, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
        weft::spawn(conn);
        let res = send
            .send_request(Request::get("/").header("host", "weft").body(Empty::<Bytes>::new()).unwrap())
            .await
            .unwrap();
        assert_eq!(body_text(res).await, "hello");
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
        let _ = std::fs::remove_file(&path);
    });
}

// ---- axum ------------------------------------------------------------------

#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

#[derive(serde::Deserialize)]
struct Add {
    n: usize,
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
struct Total {
    total: usize,
}

async fn add(
    axum::extract::State(counter): axum::extract::State<Counter>,
    axum::Json(add): axum::Json<Add>,
) -> axum::Json<Total> {
    let total = counter.0.fetch_add(add.n, SeqCst) + add.n;
    axum::Json(Total { total })
}

async fn hello_name(axum::extract::Path(name): axum::extract::Path<String>) -> String {
    format!("hello {name}")
}

#[test]
fn axum_router_with_json_and_state() {
    use axum::routing::{get, post};
    rt().block_on(async {
        let counter = Counter::default();
        let app = axum::Router::new()
            .route("/add", post(add))
            .route("/hello/{name}", get(hello_name))
            .with_state(counter.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = weft::spawn(
            serve(listener, weft::hyper::TowerToHyperService::new(app))
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .into_future(),
        );
        assert_eq!(get_h1(addr, "/hello/weft").await.unwrap(), (StatusCode::OK, "hello weft".into()));
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut send, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
        weft::spawn(conn);
        for (n, want) in [(2, 2), (40, 42)] {
            let req = Request::post("/add")
                .header("host", "weft")
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(format!("{{\"n\":{n}}}"))))
                .unwrap();
            // The previous response's end reaches the connection driver
            // asynchronously: wait until it takes the next request.
            send.ready().await.unwrap();
            let res = send.send_request(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let total: Total = serde_json::from_str(&body_text(res).await).unwrap();
            assert_eq!(total, Total { total: want });
        }
        // A body that is not the JSON the extractor wants: 4xx, server fine.
        let req = Request::post("/add")
            .header("host", "weft")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(b"{nope")))
            .unwrap();
        send.ready().await.unwrap();
        assert!(send.send_request(req).await.unwrap().status().is_client_error());
        assert_eq!(counter.0.load(SeqCst), 42);
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    });
}
