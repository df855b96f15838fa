//! `serve`: accept connections from a [`Listener`] and serve each with a
//! hyper service over HTTP/1 or HTTP/2, with graceful shutdown.

use super::listener::Listener;
use super::timer::Timer;
use super::tracker::{TrackedExecutor, Tracker};
use crate::time;
use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::server::conn::auto;
use std::error::Error as StdError;
use std::fmt;
use std::future::{pending, poll_fn, Future, IntoFuture, Pending};
use std::io;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

type BoxError = Box<dyn StdError + Send + Sync>;

/// How long in-flight requests may run after the shutdown signal when
/// [`WithGracefulShutdown::shutdown_timeout`] is not called.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// First and last wait after an accept error that is not one connection's
/// (out of file descriptors, out of buffers): the wait doubles from the
/// first to the last while the errors go on, as Go's `http.Server` does.
const BACKOFF_FIRST: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Serves HTTP/1 and HTTP/2 on every connection `listener` accepts, each
/// request handled by a clone of `service`.
///
/// The returned [`Serve`] is a future (through `IntoFuture`): await it, or
/// spawn it. It runs until the process ends; call
/// [`with_graceful_shutdown`](Serve::with_graceful_shutdown) to stop it.
///
/// - The protocol is detected per connection (hyper-util's `auto`
///   builder): HTTP/1.1 with keep-alive and upgrades, or HTTP/2 with prior
///   knowledge (a client that starts with the HTTP/2 preface).
/// - Each connection runs in its own weft task; HTTP/2 streams run in
///   their own tasks too. hyper's timeouts use weft's timers ([`Timer`]).
/// - A client that sends garbage, stalls or resets costs its own
///   connection only. Accept errors never end the server (see
///   [`Listener`]).
///
/// `service` is a hyper `Service`; for a tower `Service` (an axum
/// `Router`, a `tower::ServiceBuilder` stack) wrap it in
/// [`TowerToHyperService`](super::TowerToHyperService).
///
/// ```
/// use http_body_util::Full;
/// use hyper::body::{Bytes, Incoming};
/// use hyper::{Request, Response};
/// use std::convert::Infallible;
/// use std::future::IntoFuture;
///
/// async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
///     Ok(Response::new(Full::new(Bytes::from("hello"))))
/// }
///
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let (stop, stopped) = weft::sync::oneshot::channel::<()>();
///     let server = weft::spawn(
///         weft::hyper::serve(listener, hyper::service::service_fn(hello))
///             .with_graceful_shutdown(async move { stopped.await.ok(); })
///             .into_future(),
///     );
///     // ... serve requests ...
///     stop.send(()).unwrap();
///     server.await.unwrap().unwrap();
/// });
/// ```
pub fn serve<L, S, B>(listener: L, service: S) -> Serve<L, S>
where
    L: Listener,
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    Serve { listener, service }
}

/// A server made by [`serve`]; await it to run it.
pub struct Serve<L, S> {
    listener: L,
    service: S,
}

/// A server made by [`Serve::with_graceful_shutdown`]; await it to run it
/// until the signal, then through the shutdown.
pub struct WithGracefulShutdown<L, S, F> {
    listener: L,
    service: S,
    signal: F,
    timeout: Duration,
}

impl<L, S> Serve<L, S> {
    /// Stops the server when `signal` completes:
    ///
    /// 1. it stops accepting and closes the listener;
    /// 2. every connection finishes the requests it has started and then
    ///    closes (an idle HTTP/1 connection closes at once; HTTP/2 sends
    ///    `GOAWAY`), no new request is taken;
    /// 3. at the [`shutdown_timeout`](WithGracefulShutdown::shutdown_timeout)
    ///    (30 s unless set) the connections and handlers still running are
    ///    cancelled: their futures are dropped.
    ///
    /// The future completes when every connection and handler is gone.
    pub fn with_graceful_shutdown<F>(self, signal: F) -> WithGracefulShutdown<L, S, F>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        WithGracefulShutdown {
            listener: self.listener,
            service: self.service,
            signal,
            timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

impl<L, S, F> WithGracefulShutdown<L, S, F> {
    /// How long, after the signal, requests in flight may run before they
    /// are cancelled.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl<L, S, B> IntoFuture for Serve<L, S>
where
    L: Listener,
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let signal: Pending<()> = pending();
        Box::pin(run(self.listener, self.service, signal, DEFAULT_SHUTDOWN_TIMEOUT))
    }
}

impl<L, S, F, B> IntoFuture for WithGracefulShutdown<L, S, F>
where
    L: Listener,
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    F: Future<Output = ()> + Send + 'static,
{
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(run(self.listener, self.service, self.signal, self.timeout))
    }
}

impl<L, S> fmt::Debug for Serve<L, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve").finish_non_exhaustive()
    }
}

impl<L, S, F> fmt::Debug for WithGracefulShutdown<L, S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithGracefulShutdown").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

enum Either<A, B> {
    Left(A),
    Right(B),
}

/// Polls `a` first, then `b`; completes with whichever is ready.
async fn select<A: Future, B: Future>(
    mut a: Pin<&mut A>,
    mut b: Pin<&mut B>,
) -> Either<A::Output, B::Output> {
    poll_fn(|cx| {
        if let Poll::Ready(x) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(x));
        }
        b.as_mut().poll(cx).map(Either::Right)
    })
    .await
}

/// An accept error that belongs to one connection: skip it and go on.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
    )
}

async fn run<L, S, F, B>(mut listener: L, service: S, signal: F, timeout: Duration) -> io::Result<()>
where
    L: Listener,
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    F: Future<Output = ()>,
{
    let tracker = Arc::new(Tracker::default());
    let mut builder = auto::Builder::new(TrackedExecutor(tracker.clone()));
    builder.http1().timer(Timer);
    builder.http2().timer(Timer);
    let builder = Arc::new(builder);
    let mut signal = pin!(signal);
    let mut backoff: Option<Duration> = None;
    loop {
        let accepted = match select(signal.as_mut(), pin!(listener.accept())).await {
            Either::Left(()) => break,
            Either::Right(accepted) => accepted,
        };
        match accepted {
            Ok((io, _addr)) => {
                backoff = None;
                spawn_connection(&tracker, &builder, io, service.clone());
            }
            Err(e) if is_connection_error(&e) => log::debug!("weft::hyper::serve: accept: {e}"),
            Err(e) => {
                let wait = backoff.map_or(BACKOFF_FIRST, |d| (d * 2).min(BACKOFF_MAX));
                backoff = Some(wait);
                log::error!("weft::hyper::serve: accept failed, retrying in {wait:?}: {e}");
                if let Either::Left(()) = select(signal.as_mut(), pin!(time::sleep(wait))).await {
                    break;
                }
            }
        }
    }
    drop(listener);
    tracker.drain.fire();
    if let Either::Right(()) = select(pin!(tracker.all_done()), pin!(time::sleep(timeout))).await {
        log::warn!(
            "weft::hyper::serve: shutdown timeout ({timeout:?}) reached, cancelling the connections left"
        );
        tracker.cancel.fire();
        tracker.all_done().await;
    }
    Ok(())
}

/// Serves one connection in a tracked task; when the server drains, the
/// connection finishes its requests and closes.
fn spawn_connection<I, S, B>(
    tracker: &Arc<Tracker>,
    builder: &Arc<auto::Builder<TrackedExecutor>>,
    io: I,
    service: S,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let builder = builder.clone();
    let shared = tracker.clone();
    tracker.spawn(async move {
        let mut conn = pin!(builder.serve_connection_with_upgrades(io, service));
        let mut drain = pin!(shared.drain.wait());
        let mut draining = false;
        let result = poll_fn(|cx| {
            if !draining && drain.as_mut().poll(cx).is_ready() {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            conn.as_mut().poll(cx)
        })
        .await;
        if let Err(e) = result {
            // A client's fault (garbage, a reset, a timeout) or a handler's
            // error: this connection ends, the server goes on.
            log::debug!("weft::hyper::serve: connection: {e}");
        }
    });
}
