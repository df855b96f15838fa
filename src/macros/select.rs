// How the expansion works (the argument is in docs/design/select.md):
//
// - Parsing: `__select_impl!(@branches ...)` takes one whole branch per
//   step when its pattern is at most four token trees (almost every
//   pattern: `msg`, `Some(v)`, `Ok(n)`, `v @ Some(_)`), so 64 branches
//   stay inside the default recursion limit; a longer pattern is
//   collected a token per step, then the rest of its branch.
// - Each branch gets a slot from a fixed list of 64: a tuple index (its
//   future's place in the tuple of futures, its bit in the `disabled`
//   mask) and a name (its variant in the output enum).
// - Preconditions are evaluated first, then every future (also those of
//   disabled branches, as tokio does), into one tuple that stays where
//   it is until the select ends: it lives in the caller's async frame,
//   so pinning its fields in place is sound.
// - Each poll starts at a random branch (`biased`: the first) and walks
//   every branch once; a disabled one is skipped. A branch that
//   completes is disabled; if its output does not match the pattern
//   (checked by reference, with `ref` and `mut` stripped from a copy of
//   the pattern), the walk goes on. All disabled and nothing pending:
//   the `else` branch.
// - The handler runs outside the polling closure, after the futures are
//   dropped, so it may borrow what they borrowed and `break`/`continue`
//   the caller's loop.

/// Waits on several futures at once and runs the handler of the first to
/// complete, dropping the others.
///
/// ```text
/// weft::select! {
///     biased;                                            // optional
///     <pattern> = <future> [, if <precondition>] => <handler>,
///     ...
///     else => <expression>                               // optional
/// }
/// ```
///
/// 1. Every `<precondition>` is evaluated; a branch whose precondition is
///    false is *disabled* for this `select!`.
/// 2. Every `<future>` is evaluated (anything [`IntoFuture`]), also those
///    of disabled branches; they are kept in place in the task's frame
///    (no allocation, no [`Unpin`] needed, no `.fuse()`).
/// 3. The enabled futures are polled, starting at a branch picked at
///    random on each poll, so that when several are ready none wins every
///    time. After `biased;`, they are polled in the order written (the
///    caller then owns fairness; useful for priorities and for tests).
/// 4. When a future completes, its branch is disabled and its output is
///    matched against `<pattern>`. On a match, every future is dropped
///    and the handler runs with the pattern's bindings, its value being
///    the value of `select!`. On a mismatch the other branches keep
///    being polled.
/// 5. When every branch is disabled (completed without a match, or a false
///    precondition), the `else` expression is the value of `select!`;
///    without an `else` branch, `select!` panics.
///
/// A handler may use `break`, `continue`, `return` and `?` of the
/// surrounding code: it runs outside any closure the macro builds.
///
/// `select!` counts against weft's cooperative budget: once the task has
/// spent its budget in this poll, `select!` yields before polling any
/// branch, so a loop over branches that are always ready still lets the
/// other tasks run.
///
/// At most 64 branches.
///
/// # Cancel safety
///
/// Each time `select!` completes, the futures of the other branches are
/// dropped. In a loop, a branch's future is created again on the next
/// iteration: use futures that are *cancel-safe* (dropping one before it
/// completes loses nothing), such as the channel receives, `Notify`,
/// `JoinSet::join_next`, `sleep` and socket reads of weft; each one says
/// so under "Cancel safety" in its documentation. To keep a future that is
/// not cancel-safe (or a timer that must not restart) across iterations,
/// create it before the loop, pin it (`std::pin::pin!`), and select on
/// `&mut` it, with a precondition so it is not polled after it completed.
///
/// # Examples
///
/// The first of two channels to deliver:
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let (tx1, mut rx1) = weft::sync::mpsc::channel::<u32>(1);
///     let (_tx2, mut rx2) = weft::sync::mpsc::channel::<&str>(1);
///     tx1.send(7).await.unwrap();
///     let got = weft::select! {
///         Some(n) = rx1.recv() => format!("number {n}"),
///         Some(s) = rx2.recv() => format!("text {s}"),
///     };
///     assert_eq!(got, "number 7");
/// });
/// ```
///
/// A loop with a guard and an `else`: the `JoinSet` branch is disabled
/// while the set is empty (polling an empty set would return `None` at
/// once, every time), and the loop ends when the channel is closed and
/// the set drained.
///
/// ```
/// use weft::task::JoinSet;
///
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let (tx, mut jobs) = weft::sync::mpsc::channel::<u64>(8);
///     weft::spawn(async move {
///         for n in 1..=4 {
///             tx.send(n).await.unwrap();
///         }
///     });
///     let mut set = JoinSet::new();
///     let mut open = true;
///     let mut total = 0;
///     loop {
///         weft::select! {
///             job = jobs.recv(), if open => match job {
///                 Some(n) => {
///                     set.spawn(async move { n * n });
///                 }
///                 None => open = false,
///             },
///             Some(done) = set.join_next(), if !set.is_empty() => total += done.unwrap(),
///             else => break,
///         }
///     }
///     assert_eq!(total, 1 + 4 + 9 + 16);
/// });
/// ```
///
/// A timeout on each receive, and a fixed deadline for the whole loop
/// (pinned once, selected on by reference):
///
/// ```
/// use std::time::Duration;
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let (_tx, mut rx) = weft::sync::mpsc::channel::<()>(1);
///     let mut deadline = std::pin::pin!(weft::time::sleep(Duration::from_millis(50)));
///     let mut quiet_spells = 0;
///     loop {
///         weft::select! {
///             biased;
///             () = &mut deadline => break,
///             _ = rx.recv() => unreachable!("nothing is sent"),
///             // A new 5 ms timer each iteration: "nothing for 5 ms".
///             () = weft::time::sleep(Duration::from_millis(5)) => quiet_spells += 1,
///         }
///     }
///     println!("{quiet_spells} quiet spells before the deadline");
/// });
/// ```
///
/// [`IntoFuture`]: std::future::IntoFuture
#[macro_export]
macro_rules! select {
    (biased; $($branches:tt)*) => {
        $crate::__select_impl!(@start [true] $($branches)*)
    };
    ($($branches:tt)*) => {
        $crate::__select_impl!(@start [false] $($branches)*)
    };
}

/// The implementation of [`select!`]; not an API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_impl {
    // ===== Entry: the 64 slots (tuple index, variant name) =====
    (@start $biased:tt $($rest:tt)*) => {
        $crate::__select_impl!(@branches $biased [
            (0 _0) (1 _1) (2 _2) (3 _3) (4 _4) (5 _5) (6 _6) (7 _7)
            (8 _8) (9 _9) (10 _10) (11 _11) (12 _12) (13 _13) (14 _14) (15 _15)
            (16 _16) (17 _17) (18 _18) (19 _19) (20 _20) (21 _21) (22 _22) (23 _23)
            (24 _24) (25 _25) (26 _26) (27 _27) (28 _28) (29 _29) (30 _30) (31 _31)
            (32 _32) (33 _33) (34 _34) (35 _35) (36 _36) (37 _37) (38 _38) (39 _39)
            (40 _40) (41 _41) (42 _42) (43 _43) (44 _44) (45 _45) (46 _46) (47 _47)
            (48 _48) (49 _49) (50 _50) (51 _51) (52 _52) (53 _53) (54 _54) (55 _55)
            (56 _56) (57 _57) (58 _58) (59 _59) (60 _60) (61 _61) (62 _62) (63 _63)
        ] [] $($rest)*)
    };

    // ===== Branches: [biased] [free slots] [parsed] input =====
    (@branches $biased:tt $slots:tt [] $(else => $else:expr $(,)?)?) => {
        ::core::compile_error!("weft::select!: at least one `pattern = future => handler` branch is needed")
    };
    (@branches $biased:tt $slots:tt $done:tt else => $else:expr $(,)?) => {
        $crate::__select_impl!(@emit $biased $done ({ $else }))
    };
    (@branches $biased:tt $slots:tt $done:tt) => {
        $crate::__select_impl!(@emit $biased $done ())
    };
    (@branches $biased:tt [] $done:tt $($rest:tt)+) => {
        ::core::compile_error!("weft::select!: at most 64 branches")
    };
    // One branch per step (so 64 branches stay within the default
    // recursion limit) when its pattern is at most four token trees:
    // pattern, `=`, future, optional precondition, handler.
    (@branches $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*]
        $p1:tt = $fut:expr $(, if $cond:expr)? => $h:block, $($rest:tt)*) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot [$p1] ($fut) [$($cond)?] $h)] $($rest)*)
    };
    (@branches $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*]
        $p1:tt = $fut:expr $(, if $cond:expr)? => $h:block $($rest:tt)*) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot [$p1] ($fut) [$($cond)?] $h)] $($rest)*)
    };
    (@branches $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*]
        $p1:tt = $fut:expr $(, if $cond:expr)? => $h:expr, $($rest:tt)*) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot [$p1] ($fut) [$($cond)?] { $h })] $($rest)*)
    };
    (@branches $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*]
        $p1:tt = $fut:expr $(, if $cond:expr)? => $h:expr) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot [$p1] ($fut) [$($cond)?] { $h })] )
    };
    (@branches $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*]
        $p1:tt $p2:tt = $fut:expr $(, if $cond:expr)? => $h:block, $($rest:tt)*) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot [$p1 $p2] ($fut) [$($cond)?] $h)] $($rest)*)
    };
    (@branches $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*]
        $p1:tt $p2:tt = $fut:expr $(, if $cond:expr)? => $h:block $($rest:tt)*) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot [$p1 $p2] ($fut) [$($cond)?] $h)] $($rest)*)
    };
    (@branches $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*]
        $p1:tt $p2:tt = $fut:expr $(, if $cond:expr)? => $h:expr, $($rest:tt)*) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot [$p1 $p2] ($fut) [$($cond)?] { $h })] $($rest)*)
    };
    (@branches $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*]
        $p1:tt $p2:tt = $fut:expr $(, if $cond:expr)? => $h:expr) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot [$p1 $p2] ($fut) [$($cond)?] { $h })] )
    };
    (@branches $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*]
        $p1:tt $p2:tt $p3:tt = $fut:expr $(, if $cond:expr)? => $h:block, $($rest:tt)*) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot [$p1 $p2 $p3] ($fut) [$($cond)?] $h)] $($rest)*)
    };
    (@branches $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*]
        $p1:tt $p2:tt $p3:tt = $fut:expr $(, if $cond:expr)? => $h:block $($rest:tt)*) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot [$p1 $p2 $p3] ($fut) [$($cond)?] $h)] $($rest)*)
    };
    (@branches $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*]
        $p1:tt $p2:tt $p3:tt = $fut:expr $(, if $cond:expr)? => $h:expr, $($rest:tt)*) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot [$p1 $p2 $p3] ($fut) [$($cond)?] { $h })] $($rest)*)
    };
    (@branches $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*]
        $p1:tt $p2:tt $p3:tt = $fut:expr $(, if $cond:expr)? => $h:expr) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot [$p1 $p2 $p3] ($fut) [$($cond)?] { $h })] )
    };
    (@branches $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*]
        $p1:tt $p2:tt $p3:tt $p4:tt = $fut:expr $(, if $cond:expr)? => $h:block, $($rest:tt)*) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot [$p1 $p2 $p3 $p4] ($fut) [$($cond)?] $h)] $($rest)*)
    };
    (@branches $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*]
        $p1:tt $p2:tt $p3:tt $p4:tt = $fut:expr $(, if $cond:expr)? => $h:block $($rest:tt)*) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot [$p1 $p2 $p3 $p4] ($fut) [$($cond)?] $h)] $($rest)*)
    };
    (@branches $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*]
        $p1:tt $p2:tt $p3:tt $p4:tt = $fut:expr $(, if $cond:expr)? => $h:expr, $($rest:tt)*) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot [$p1 $p2 $p3 $p4] ($fut) [$($cond)?] { $h })] $($rest)*)
    };
    (@branches $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*]
        $p1:tt $p2:tt $p3:tt $p4:tt = $fut:expr $(, if $cond:expr)? => $h:expr) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot [$p1 $p2 $p3 $p4] ($fut) [$($cond)?] { $h })] )
    };
    // A longer pattern (or a branch the rules above could not read):
    // collected a token at a time, then the rest of the branch.
    (@branches $biased:tt $slots:tt $done:tt $($rest:tt)+) => {
        $crate::__select_impl!(@pattern $biased $slots $done [] $($rest)+)
    };
    (@pattern $biased:tt $slots:tt $done:tt [$($p:tt)*] = $($rest:tt)+) => {
        $crate::__select_impl!(@future $biased $slots $done [$($p)*] $($rest)+)
    };
    (@pattern $biased:tt $slots:tt $done:tt [$($p:tt)*] $t:tt $($rest:tt)*) => {
        $crate::__select_impl!(@pattern $biased $slots $done [$($p)* $t] $($rest)*)
    };
    (@pattern $biased:tt $slots:tt $done:tt [$($p:tt)*]) => {
        ::core::compile_error!(
            "weft::select!: expected `pattern = future => handler` or `else => expression`"
        )
    };
    (@future $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*] $p:tt
        $fut:expr $(, if $cond:expr)? => $h:block, $($rest:tt)*) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot $p ($fut) [$($cond)?] $h)] $($rest)*)
    };
    (@future $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*] $p:tt
        $fut:expr $(, if $cond:expr)? => $h:block $($rest:tt)*) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot $p ($fut) [$($cond)?] $h)] $($rest)*)
    };
    (@future $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*] $p:tt
        $fut:expr $(, if $cond:expr)? => $h:expr, $($rest:tt)*) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot $p ($fut) [$($cond)?] { $h })] $($rest)*)
    };
    (@future $biased:tt [$slot:tt $($slots:tt)*] [$($done:tt)*] $p:tt
        $fut:expr $(, if $cond:expr)? => $h:expr) => {
        $crate::__select_impl!(@branches $biased [$($slots)*]
            [$($done)* ($slot $p ($fut) [$($cond)?] { $h })] )
    };
    (@future $($rest:tt)*) => {
        ::core::compile_error!(
            "weft::select!: expected `pattern = future => handler` or \
             `pattern = future, if condition => handler` (handlers that are not blocks end with `,`)"
        )
    };

    // ===== The expansion =====
    (@emit [$biased:tt]
        [$( (($idx:tt $var:ident) [$($p:tt)*] ($fut:expr) [$($cond:tt)*] $h:tt) )+]
        ($($else:tt)*)) => {{
        #[allow(non_camel_case_types, clippy::enum_variant_names)]
        enum __WeftSelectOut<$($var,)+> {
            $($var($var),)+
            Disabled,
        }
        const __WEFT_SELECT_BRANCHES: u32 = [$($idx),+].len() as u32;
        // `mut`: a pattern may bind `ref mut`.
        #[allow(unused_mut)]
        let mut __weft_select_out = {
            let mut __disabled: u64 = 0;
            $(
                if !$crate::__select_impl!(@cond $($cond)*) {
                    __disabled |= 1u64 << $idx;
                }
            )+
            let mut __futures = ($($crate::macros::support::IntoFuture::into_future($fut),)+);
            // The closure holds a reference: the futures stay here, in the
            // caller's frame, until this block ends.
            let __futures = &mut __futures;
            $crate::macros::support::poll_fn(move |__cx| {
                if $crate::macros::support::poll_budget_available(__cx).is_pending() {
                    return $crate::macros::support::Poll::Pending;
                }
                let mut __pending = false;
                let __start = if $biased {
                    0
                } else {
                    $crate::macros::support::thread_rng_n(__WEFT_SELECT_BRANCHES)
                };
                for __i in 0..__WEFT_SELECT_BRANCHES {
                    match $crate::macros::support::nth_from(__start, __i, __WEFT_SELECT_BRANCHES) {
                        $(
                            $idx => {
                                let __mask = 1u64 << $idx;
                                if (__disabled & __mask) != 0 {
                                    continue;
                                }
                                // SAFETY: the tuple of futures lives in the
                                // enclosing block of the caller's (pinned)
                                // async frame and is never moved: the only
                                // name for it is this closure's reference,
                                // and it is dropped in place when the block
                                // ends. A tuple has no `Drop` of its own and
                                // is `Unpin` only if every field is, so
                                // pinning its fields is sound.
                                let __fut = unsafe {
                                    $crate::macros::support::Pin::new_unchecked(&mut __futures.$idx)
                                };
                                let __out = match $crate::macros::support::Future::poll(__fut, __cx) {
                                    $crate::macros::support::Poll::Ready(__out) => __out,
                                    $crate::macros::support::Poll::Pending => {
                                        __pending = true;
                                        continue;
                                    }
                                };
                                __disabled |= __mask;
                                #[allow(unused_variables, unused_mut)]
                                match &__out {
                                    $crate::__select_impl!(@clean [] [] $($p)*) => {}
                                    #[allow(unreachable_patterns)]
                                    _ => continue,
                                }
                                return $crate::macros::support::Poll::Ready(
                                    __WeftSelectOut::$var(__out),
                                );
                            }
                        )+
                        _ => ::core::unreachable!("weft::select!: branch index out of range"),
                    }
                }
                if __pending {
                    $crate::macros::support::Poll::Pending
                } else {
                    $crate::macros::support::Poll::Ready(__WeftSelectOut::Disabled)
                }
            })
            .await
        };
        match __weft_select_out {
            $( __WeftSelectOut::$var($($p)*) => $h, )+
            __WeftSelectOut::Disabled => $crate::__select_impl!(@else $($else)*),
            #[allow(unreachable_patterns)]
            _ => ::core::unreachable!("weft::select!: a branch's output matched its pattern, then not"),
        }
    }};

    (@cond) => {
        true
    };
    (@cond $cond:expr) => {
        $cond
    };

    (@else) => {
        $crate::macros::support::all_branches_disabled()
    };
    (@else $else:tt) => {
        $else
    };

    // ===== A pattern without `ref` and `mut`, to match by reference =====
    // [frames] [output so far] input; a frame is a group being cleaned:
    // (delimiter [output before it] [input after it]).
    (@clean [] [$($out:tt)*]) => {
        $($out)*
    };
    (@clean [(paren [$($up:tt)*] [$($rest:tt)*]) $($frames:tt)*] [$($out:tt)*]) => {
        $crate::__select_impl!(@clean [$($frames)*] [$($up)* ($($out)*)] $($rest)*)
    };
    (@clean [(bracket [$($up:tt)*] [$($rest:tt)*]) $($frames:tt)*] [$($out:tt)*]) => {
        $crate::__select_impl!(@clean [$($frames)*] [$($up)* [$($out)*]] $($rest)*)
    };
    (@clean [(brace [$($up:tt)*] [$($rest:tt)*]) $($frames:tt)*] [$($out:tt)*]) => {
        $crate::__select_impl!(@clean [$($frames)*] [$($up)* {$($out)*}] $($rest)*)
    };
    (@clean $frames:tt $out:tt ref $($rest:tt)*) => {
        $crate::__select_impl!(@clean $frames $out $($rest)*)
    };
    (@clean $frames:tt $out:tt mut $($rest:tt)*) => {
        $crate::__select_impl!(@clean $frames $out $($rest)*)
    };
    (@clean [$($frames:tt)*] $out:tt ($($inner:tt)*) $($rest:tt)*) => {
        $crate::__select_impl!(@clean [(paren $out [$($rest)*]) $($frames)*] [] $($inner)*)
    };
    (@clean [$($frames:tt)*] $out:tt [$($inner:tt)*] $($rest:tt)*) => {
        $crate::__select_impl!(@clean [(bracket $out [$($rest)*]) $($frames)*] [] $($inner)*)
    };
    (@clean [$($frames:tt)*] $out:tt {$($inner:tt)*} $($rest:tt)*) => {
        $crate::__select_impl!(@clean [(brace $out [$($rest)*]) $($frames)*] [] $($inner)*)
    };
    (@clean $frames:tt [$($out:tt)*] $t:tt $($rest:tt)*) => {
        $crate::__select_impl!(@clean $frames [$($out)* $t] $($rest)*)
    };
}
