//! `weft::process`: output capture, piped stdin and stdout, exit codes,
//! kill, no zombie after a drop (with and without `kill_on_drop`), and
//! children that close their pipes early or die mid-read ending in end of
//! stream or an error instead of a hang.
//!
//! Children that must outlive a step run `sleep 1000` and are killed by
//! the test; no verdict rests on a timer.

#![cfg(unix)]

use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use weft::process::{Command, Stdio};

fn rt(workers: usize) -> weft::Runtime {
    weft::Runtime::builder().worker_threads(workers).build().unwrap()
}

#[cfg(target_os = "linux")]
/// The state letter of `/proc/<pid>/stat` (`Z` for a zombie), or `None`
/// once the process is gone (reaped).
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ...": the state follows the last ')'.
    stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next())
}

#[cfg(target_os = "linux")]
/// Waits until `pid` has been reaped: gone from /proc (a zombie stays
/// listed until its parent reaps it). Gives up, failing, after a bound
/// far above any reaping delay; the verdict is "reaped at all".
async fn assert_reaped(pid: u32) {
    for _ in 0..20_000 {
        match proc_state(pid) {
            None => return,
            Some(_) => weft::time::sleep(std::time::Duration::from_millis(1)).await,
        }
    }
    panic!("process {pid} not reaped (state {:?})", proc_state(pid));
}

#[test]
fn output_of_sh_echo() {
    rt(1).block_on(async {
        let out = Command::new("sh").args(["-c", "echo out; echo err >&2"]).output().await.unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
    });
}

#[test]
fn piped_stdin_to_stdout_through_cat() {
    rt(2).block_on(async {
        let mut cat = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let mut stdin = cat.stdin.take().unwrap();
        let mut stdout = cat.stdout.take().unwrap();
        // More than a pipe holds, so writer and reader must interleave.
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let expected = data.clone();
        let writer = weft::spawn(async move {
            stdin.write_all(&data).await.unwrap();
            // Dropped here: cat reads end of input and exits.
        });
        let mut got = Vec::new();
        stdout.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        assert_eq!(got, expected);
        assert!(cat.wait().await.unwrap().success());
    });
}

#[test]
fn wait_with_output_collects_both_large_streams() {
    rt(1).block_on(async {
        // 200 kB to each stream: both pipes fill, so both must be read at
        // once or the child blocks forever.
        let child = Command::new("sh")
            .args(["-c", "head -c 200000 /dev/zero; head -c 200000 /dev/zero >&2; exit 3"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.wait_with_output().await.unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stdout.len(), 200_000);
        assert_eq!(out.stderr.len(), 200_000);
    });
}

#[test]
fn exit_codes_and_status() {
    rt(1).block_on(async {
        for code in [0, 1, 7, 255] {
            let status = Command::new("sh").args(["-c", &format!("exit {code}")]).status().await.unwrap();
            assert_eq!(status.code(), Some(code));
        }
    });
}

#[test]
fn kill_ends_a_sleeping_child() {
    rt(1).block_on(async {
        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        assert!(child.try_wait().unwrap().is_none());
        child.kill().await.unwrap();
        let status = child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert_eq!(child.id(), None, "reaped: no pid any more");
        // Killing a reaped child does nothing.
        child.start_kill().unwrap();
    });
}

#[test]
#[cfg(target_os = "linux")] // reads /proc
fn kill_on_drop_leaves_no_zombie() {
    rt(1).block_on(async {
        let child = Command::new("sleep").arg("1000").kill_on_drop(true).spawn().unwrap();
        let pid = child.id().unwrap();
        assert_eq!(proc_state(pid).map(|s| s != 'Z'), Some(true));
        drop(child);
        assert_reaped(pid).await;
    });
}

#[test]
#[cfg(target_os = "linux")] // reads /proc
fn a_dropped_child_is_reaped_when_it_exits() {
    rt(1).block_on(async {
        let mut child = Command::new("sleep").arg("1000").stdout(Stdio::piped()).spawn().unwrap();
        let pid = child.id().unwrap();
        let stdout = child.stdout.take().unwrap();
        drop(child); // not killed: it goes on running
        assert!(matches!(proc_state(pid), Some(s) if s != 'Z'));
        // SAFETY: kill(2) has no memory-safety obligations; `pid` is our
        // unreaped child, so it names that process.
        assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) }, 0);
        assert_reaped(pid).await;
        drop(stdout);
    });
}

#[test]
fn a_child_that_closes_stdout_early_gives_end_of_stream() {
    rt(1).block_on(async {
        let mut child = Command::new("sh")
            .args(["-c", "echo partial; exec 1>&-; exec sleep 1000"])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut got = Vec::new();
        stdout.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"partial\n");
        assert!(child.try_wait().unwrap().is_none(), "still running after closing stdout");
        child.kill().await.unwrap();
    });
}

#[test]
fn a_child_killed_mid_read_gives_end_of_stream() {
    rt(2).block_on(async {
        let mut child = Command::new("sh")
            .args(["-c", "echo first; exec sleep 1000"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 6];
        let mut filled = 0;
        while filled < first.len() {
            let n = stdout.read(&mut first[filled..]).await.unwrap();
            assert!(n > 0);
            filled += n;
        }
        assert_eq!(&first, b"first\n");
        // A reader waits for more; the kill ends its wait at end of stream.
        let reader = weft::spawn(async move {
            let mut rest = Vec::new();
            stdout.read_to_end(&mut rest).await.map(|_| rest)
        });
        child.start_kill().unwrap();
        assert_eq!(reader.await.unwrap().unwrap(), b"");
        assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
    });
}

#[test]
fn writing_to_an_exited_childs_stdin_is_an_error() {
    rt(1).block_on(async {
        let mut child = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        assert!(child.wait().await.unwrap().success());
        // Nobody reads: the first write (or one after it) fails, no hang.
        let big = vec![0u8; 1 << 20];
        let err = stdin.write_all(&big).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    });
}

#[test]
fn many_children_at_once_each_exit_once() {
    rt(2).block_on(async {
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                weft::spawn(async move {
                    let out = Command::new("sh").args(["-c", &format!("echo {i}")]).output().await.unwrap();
                    assert!(out.status.success());
                    String::from_utf8(out.stdout).unwrap()
                })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap(), format!("{i}\n"));
        }
    });
}

#[test]
fn futures_io_traits_on_the_pipes() {
    use futures::{AsyncReadExt, AsyncWriteExt};
    rt(1).block_on(async {
        let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        AsyncWriteExt::write_all(&mut stdin, b"via futures-io").await.unwrap();
        drop(stdin);
        let mut got = String::new();
        AsyncReadExt::read_to_string(child.stdout.as_mut().unwrap(), &mut got).await.unwrap();
        assert_eq!(got, "via futures-io");
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn a_missing_program_is_not_found() {
    rt(1).block_on(async {
        let err = Command::new("/nonexistent/weft-no-such-program").spawn().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    });
}

#[test]
fn spawn_outside_a_runtime_is_an_error_and_starts_nothing() {
    let marker = std::env::temp_dir().join(format!("weft-process-outside-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let err = Command::new("touch").arg(&marker).spawn().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other);
    assert!(!marker.exists());
}

#[cfg(feature = "tokio-io")]
#[test]
fn tokio_io_traits_on_the_pipes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    rt(1).block_on(async {
        let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        AsyncWriteExt::write_all(&mut stdin, b"via tokio-io").await.unwrap();
        AsyncWriteExt::shutdown(&mut stdin).await.unwrap();
        drop(stdin);
        let mut got = Vec::new();
        AsyncReadExt::read_to_end(child.stdout.as_mut().unwrap(), &mut got).await.unwrap();
        assert_eq!(got, b"via tokio-io");
        assert!(child.wait().await.unwrap().success());
    });
}
