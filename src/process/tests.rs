//! The `SIGCHLD` fallback, forced on a kernel that has pidfd: the same
//! waits, kills and background reaping as the pidfd path, observed through
//! `weft::signal` instead.

use super::exit::ExitWatch;
use super::{Command, Stdio};
use std::os::unix::process::ExitStatusExt;

fn rt() -> crate::Runtime {
    crate::Runtime::builder().worker_threads(2).build().unwrap()
}

fn uses_sigchld(child: &super::Child) -> bool {
    child.exit_watch().is_some_and(|w| matches!(w, ExitWatch::Sigchld(_)))
}

#[test]
fn sigchld_fallback_wait_and_output() {
    rt().block_on(async {
        let mut child = Command::new("sh")
            .args(["-c", "echo fallback; exit 5"])
            .stdout(Stdio::piped())
            .force_sigchld()
            .spawn()
            .unwrap();
        assert!(uses_sigchld(&child));
        let mut out = Vec::new();
        child.stdout.as_mut().unwrap().read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"fallback\n");
        assert_eq!(child.wait().await.unwrap().code(), Some(5));
    });
}

#[test]
fn sigchld_fallback_kill() {
    rt().block_on(async {
        let mut child = Command::new("sleep").arg("1000").force_sigchld().spawn().unwrap();
        assert!(uses_sigchld(&child));
        child.kill().await.unwrap();
        assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
    });
}

#[test]
fn sigchld_fallback_many_children() {
    rt().block_on(async {
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                crate::spawn(async move {
                    let mut cmd = Command::new("sh");
                    cmd.args(["-c", &format!("exit {i}")]).force_sigchld();
                    cmd.status().await.unwrap().code()
                })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap(), Some(i as i32));
        }
    });
}

#[test]
#[cfg(target_os = "linux")] // reads /proc
fn sigchld_fallback_kill_on_drop_is_reaped() {
    rt().block_on(async {
        let child = Command::new("sleep").arg("1000").kill_on_drop(true).force_sigchld().spawn().unwrap();
        let pid = child.id().unwrap();
        drop(child);
        // Reaped by the background reaper on SIGCHLD: gone from /proc. The
        // bound is far above any reaping delay; the verdict is "reaped".
        for _ in 0..20_000 {
            if std::fs::metadata(format!("/proc/{pid}")).is_err() {
                return;
            }
            crate::task::yield_now().await;
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        panic!("process {pid} not reaped");
    });
}

#[test]
#[cfg(target_os = "linux")] // reads /proc
fn orphans_outside_a_runtime_are_swept_by_the_next_spawn() {
    let rt = rt();
    let child = rt.block_on(async { Command::new("true").spawn().unwrap() });
    let pid = child.id().unwrap();
    // Dropped outside any runtime: onto the orphan list, unless it had
    // already exited (then reaped at once).
    drop(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::metadata(format!("/proc/{pid}")).is_ok() {
        assert!(std::time::Instant::now() < deadline, "process {pid} not reaped");
        // Each spawn sweeps the list.
        rt.block_on(async { Command::new("true").status().await.unwrap() });
    }
}
