//! Reaping the children nobody waits for, so none is left a zombie.
//!
//! A `Child` dropped before its process was reaped (killed first if
//! `kill_on_drop` is set) goes to one of two places:
//!
//! - inside a runtime, a detached reaper task (named
//!   `weft::process::reap`) that waits on the child's exit watch (its
//!   pidfd or `SIGCHLD`) and reaps it the moment it exits;
//! - outside any runtime, or if that task is dropped before the child
//!   exits (its runtime shut down), the orphan list below.
//!
//! The orphan list is swept with `waitpid(pid, WNOHANG)` on every
//! `Command::spawn` and on every `SIGCHLD` a fallback-mode waiter sees.
//! A process that leaves orphans and then neither spawns again nor waits
//! through `SIGCHLD` keeps them as zombies until it exits; that is the
//! price of never blocking a thread on a child nobody asked to wait for.

use super::exit::ExitWatch;
use crate::loom::sync::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

static ORPHANS: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());

/// Puts `child` on the orphan list (after one `waitpid` that may reap it
/// at once).
pub(crate) fn adopt(mut child: std::process::Child) {
    if matches!(child.try_wait(), Ok(None)) {
        ORPHANS.lock().push(child);
    }
}

/// Reaps every orphan that has exited.
pub(crate) fn reap_orphans() {
    let mut orphans = ORPHANS.lock();
    // `Err` is ECHILD (someone else reaped it): nothing left to do either.
    orphans.retain_mut(|child| matches!(child.try_wait(), Ok(None)));
}

/// Reaps `child` without anyone waiting for it (see the module doc).
pub(crate) fn reap_in_background(child: std::process::Child, exit: ExitWatch) {
    let reaper = Reaper { child: Some(child), exit };
    match crate::runtime::Handle::try_current() {
        Ok(handle) => {
            // A failed spawn (it cannot fail for this name) drops the
            // reaper, whose `Drop` adopts the child.
            let _ = crate::task::Builder::new().name("weft::process::reap").spawn_on(reaper, &handle);
        }
        Err(_) => drop(reaper),
    }
}

/// The reaper task: waits for the exit, then reaps.
struct Reaper {
    child: Option<std::process::Child>,
    exit: ExitWatch,
}

impl Future for Reaper {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            let Some(child) = this.child.as_mut() else { return Poll::Ready(()) };
            match child.try_wait() {
                Ok(None) => {}
                // Reaped now, or by someone else (ECHILD).
                Ok(Some(_)) | Err(_) => {
                    this.child = None;
                    return Poll::Ready(());
                }
            }
            if std::task::ready!(this.exit.poll_notified(cx)).is_err() {
                // The exit watch's runtime is gone: the orphan list takes over.
                if let Some(child) = this.child.take() {
                    adopt(child);
                }
                return Poll::Ready(());
            }
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            adopt(child);
        }
    }
}
