//! `Executor`: hyper's background futures as weft tasks.

use std::future::Future;

/// Runs the futures hyper hands to its executor (HTTP/2 streams and
/// connection drivers) as weft tasks, detached.
///
/// Give it to hyper's connection builders, e.g.
/// `hyper::server::conn::http2::Builder::new(Executor)`. Spawning needs a
/// weft runtime: call hyper from a weft task (or `block_on`).
///
/// ```
/// use hyper::rt::Executor as _;
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let (tx, rx) = weft::sync::oneshot::channel();
///     weft::hyper::Executor.execute(async move { tx.send(7).unwrap() });
///     assert_eq!(rx.await.unwrap(), 7);
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Executor;

impl<F> hyper::rt::Executor<F> for Executor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        // Dropping the JoinHandle detaches the task; it runs to the end.
        drop(crate::runtime::spawn(fut));
    }
}
