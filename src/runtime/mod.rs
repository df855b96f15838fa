//! The runtime's public face: [`Runtime`], [`Builder`], [`Handle`], and the
//! free function [`spawn`].

mod block_on;
mod builder;
mod handle;
#[allow(clippy::module_inception)]
mod runtime;

pub use crate::rt::monitor::{StallBacktrace, StallEvent, StallFrame};
pub use crate::rt::trace::TraceSnapshot;
pub use builder::Builder;
pub use handle::{EnterGuard, Handle, TryCurrentError};
pub use runtime::Runtime;

use crate::rt::context;
use crate::rt::task::JoinHandle;
use std::future::Future;

/// Spawns a task onto the current runtime: from a task, from inside
/// `Runtime::block_on`, or after `Runtime::enter`.
///
/// The task starts running on a worker at once; awaiting the returned
/// [`JoinHandle`] yields its output, dropping it detaches the task.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let a = weft::spawn(async { 20 });
///     let b = weft::spawn(async { 22 });
///     assert_eq!(a.await.unwrap() + b.await.unwrap(), 42);
/// });
/// ```
///
/// # Panics
/// Outside a weft runtime, with a message that says how to get one.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let at = std::panic::Location::caller();
    let mut future = Some(future);
    let spawned = context::with_current(|h| h.map(|h| h.spawn(future.take().expect("spawned once"), at)));
    match spawned {
        Some(join) => join,
        None => panic!(
            "weft::spawn called outside a weft runtime. Call it from a task, from inside \
             Runtime::block_on, or after Runtime::enter(); or use Runtime::spawn / Handle::spawn."
        ),
    }
}
