// Shared by `join!` and `try_join!`: the futures are wrapped in
// `MaybeDone` (future, then output) and kept in one tuple in the caller's
// frame, never moved, so each is pinned in place. Each poll walks every
// unfinished future once, starting one further along than the poll before
// (a future that spends the cooperative budget cannot keep the ones after
// it from being polled first next time). The slots give each future its
// tuple index.

/// Waits for every future to complete and returns their outputs as a
/// tuple, in the order written.
///
/// The futures run concurrently on the calling task (not in tasks of
/// their own: use [`spawn`](crate::spawn) for parallelism). Each is
/// evaluated in place and pinned in the task's frame; anything
/// [`IntoFuture`](std::future::IntoFuture) is accepted. At most 64.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let (tx, rx) = weft::sync::oneshot::channel();
///     let (sent, got) = weft::join!(async move { tx.send(5) }, rx);
///     assert_eq!(sent, Ok(()));
///     assert_eq!(got, Ok(5));
/// });
/// ```
#[macro_export]
macro_rules! join {
    () => {
        ()
    };
    ($($fut:expr),+ $(,)?) => {
        $crate::__join_impl!(@munch join [] [
            0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
            32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60
            61 62 63
        ] $($fut,)+)
    };
}

/// Waits for every future (each giving a `Result` with one error type) to
/// complete with `Ok`, returning `Ok` of their values as a tuple; or
/// returns the first `Err` as soon as it comes, dropping the futures that
/// have not completed.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let ok = weft::try_join!(async { Ok::<_, String>(1) }, async { Ok(2) });
///     assert_eq!(ok, Ok((1, 2)));
///
///     let (_tx, never) = weft::sync::oneshot::channel::<u32>();
///     let failed = weft::try_join!(
///         async { never.await.map_err(|_| "closed".to_string()) }, // would wait forever
///         async { Err::<u32, _>("boom".to_string()) },
///     );
///     assert_eq!(failed, Err("boom".to_string()));
/// });
/// ```
#[macro_export]
macro_rules! try_join {
    () => {
        ::core::result::Result::Ok(())
    };
    ($($fut:expr),+ $(,)?) => {
        $crate::__join_impl!(@munch try_join [] [
            0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
            32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60
            61 62 63
        ] $($fut,)+)
    };
}

/// The implementation of [`join!`] and [`try_join!`]; not an API.
#[doc(hidden)]
#[macro_export]
macro_rules! __join_impl {
    // [kind] [parsed (index future)] [free indices] input
    (@munch $kind:ident [$($done:tt)*] [$idx:tt $($slots:tt)*] $fut:expr, $($rest:tt)*) => {
        $crate::__join_impl!(@munch $kind [$($done)* ($idx $fut)] [$($slots)*] $($rest)*)
    };
    (@munch $kind:ident $done:tt [] $($rest:tt)+) => {
        ::core::compile_error!("weft::join!/try_join!: at most 64 futures")
    };
    (@munch $kind:ident $done:tt $slots:tt) => {
        $crate::__join_impl!(@emit $kind $done)
    };

    (@emit $kind:ident [$( ($idx:tt $fut:expr) )+]) => {{
        const __WEFT_JOIN_COUNT: u32 = [$($idx),+].len() as u32;
        let mut __futures = ($($crate::macros::support::maybe_done($fut),)+);
        // The closure holds a reference: the futures stay here, in the
        // caller's frame, until this block ends.
        let __futures = &mut __futures;
        let mut __first: u32 = 0;
        $crate::macros::support::poll_fn(move |__cx| {
            let mut __pending = false;
            let __start = __first;
            __first += 1;
            if __first == __WEFT_JOIN_COUNT {
                __first = 0;
            }
            for __i in 0..__WEFT_JOIN_COUNT {
                match $crate::macros::support::nth_from(__start, __i, __WEFT_JOIN_COUNT) {
                    $(
                        $idx => {
                            // SAFETY: the tuple lives in the enclosing block
                            // of the caller's (pinned) async frame and is
                            // never moved (the closure holds the only
                            // reference); a tuple has no `Drop` of its own,
                            // so pinning its fields is sound.
                            let mut __fut = unsafe {
                                $crate::macros::support::Pin::new_unchecked(&mut __futures.$idx)
                            };
                            if __fut.as_mut().poll_done(__cx).is_pending() {
                                __pending = true;
                            }
                            $crate::__join_impl!(@on_done $kind __fut);
                        }
                    )+
                    _ => ::core::unreachable!("weft::join!: index out of range"),
                }
            }
            if __pending {
                return $crate::macros::support::Poll::Pending;
            }
            $crate::macros::support::Poll::Ready($crate::__join_impl!(@output $kind ($({
                // SAFETY: as above.
                let __fut = unsafe {
                    $crate::macros::support::Pin::new_unchecked(&mut __futures.$idx)
                };
                $crate::__join_impl!(@take $kind __fut)
            },)+)))
        })
        .await
    }};

    (@on_done join $fut:ident) => {};
    (@on_done try_join $fut:ident) => {
        if let ::core::option::Option::Some(__err) = $fut.take_err() {
            return $crate::macros::support::Poll::Ready(::core::result::Result::Err(__err));
        }
    };
    (@output join $tuple:expr) => {
        $tuple
    };
    (@output try_join $tuple:expr) => {
        ::core::result::Result::Ok($tuple)
    };
    (@take join $fut:ident) => {
        $fut.take_output().expect("weft::join!: every future completed")
    };
    (@take try_join $fut:ident) => {
        $fut.take_ok().expect("weft::try_join!: every future completed with Ok")
    };
}
