//! `#[weft::main]` and `#[weft::test]`: run an `async fn` on a new weft
//! runtime.
//!
//! Use them through the `weft` crate (its default `macros` feature
//! re-exports them); this crate only holds the procedural macros.
//!
//! Both attributes accept, comma-separated:
//! - `worker_threads = N`: the runtime's worker count, a positive integer
//!   literal (default: the runtime builder's, one worker per CPU the process
//!   may use);
//! - `start_paused = true`: the runtime's clock starts paused
//!   (`Builder::start_paused`; needs weft's `time` feature): timers move on
//!   clock time that jumps ahead whenever the runtime is idle;
//! - `crate = "path"`: where the `weft` crate is (default `::weft`), for a
//!   crate that re-exports weft under another name.
//!
//! Misuse is a compile error pointing at the mistake, never a panic of the
//! macro: a function without `async`, `main` with arguments, a test with
//! parameters, a generic function, an unknown key, a `worker_threads` that
//! is not a positive integer literal.

mod args;
mod expand;

use proc_macro::TokenStream;

/// Runs `async fn main` on a new weft runtime.
///
/// ```ignore
/// #[weft::main]
/// async fn main() {
///     let answer = weft::spawn(async { 6 * 7 }).await.unwrap();
///     println!("{answer}");
/// }
/// ```
///
/// becomes a plain `fn main` that builds a runtime
/// (`weft::Runtime::builder().worker_threads(n).build()`) and `block_on`s the
/// body on the main thread. A return type (`Result<(), E>`) is kept.
/// `#[weft::main(worker_threads = 4)]` sets the worker count;
/// `#[weft::main(crate = "my_weft")]` names the crate's path.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(args.into(), item.into(), expand::Kind::Main).into()
}

/// Runs an `async fn` test on a new weft runtime.
///
/// ```ignore
/// #[weft::test]
/// async fn adds() {
///     assert_eq!(weft::spawn(async { 1 + 1 }).await.unwrap(), 2);
/// }
///
/// #[weft::test(worker_threads = 2)]
/// async fn with_two_workers() -> Result<(), std::io::Error> {
///     Ok(())
/// }
/// ```
///
/// becomes a `#[test] fn` that builds a runtime and `block_on`s the body;
/// the runtime is shut down when the test returns. Takes the same
/// arguments as [`macro@main`]. A test function takes no parameters.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(args.into(), item.into(), expand::Kind::Test).into()
}
