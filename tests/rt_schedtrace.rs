//! `WEFT_SCHEDTRACE`: the monitor's periodic scheduler line on stderr.
//!
//! The variable is process-wide, so each case runs in a child process
//! (this test binary re-executed with one test and the variable set). The
//! trace case streams the child's stderr and ends the child (by closing
//! its stdin) once it has printed three lines: no sleeping, no timing in
//! the verdict.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const ROLE: &str = "WEFT_TEST_SCHEDTRACE_ROLE";

fn child(test: &str, schedtrace: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(ROLE, "child")
        .env("WEFT_SCHEDTRACE", schedtrace)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the child test process")
}

/// Kills the child if the test is still waiting on it after a minute: a
/// hang guard (a broken trace would leave the parent reading and the child
/// waiting on its stdin forever), never the verdict.
fn guard(child: &std::process::Child) -> std::sync::mpsc::Sender<()> {
    let pid = child.id() as libc::pid_t;
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            done_rx.recv_timeout(std::time::Duration::from_secs(60))
        {
            // SAFETY: kill(2) on the child's pid, which is not reaped
            // before the test returns (it waits on the child after this
            // guard is released or has fired).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    done_tx
}

fn is_child() -> bool {
    std::env::var(ROLE).is_ok_and(|r| r == "child")
}

/// The value of `key=` in a trace line.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let at = line.find(&format!(" {key}=")).unwrap_or_else(|| panic!("no {key}= in {line}")) + key.len() + 2;
    line[at..].split(' ').next().unwrap()
}

#[test]
fn weft_schedtrace_prints_one_line_per_period_until_the_runtime_ends() {
    const NAME: &str = "weft_schedtrace_prints_one_line_per_period_until_the_runtime_ends";
    if is_child() {
        let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
        let sum = rt.block_on(async {
            let parts: Vec<_> = (0..8u64).map(|i| weft::spawn(async move { i })).collect();
            let mut sum = 0;
            for p in parts {
                sum += p.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, 28);
        // Keep the runtime (and its monitor) until the parent has seen
        // its lines and closes our stdin.
        let mut rest = String::new();
        let _ = std::io::stdin().read_line(&mut rest);
        drop(rt);
        return;
    }
    let mut c = child(NAME, "5");
    let _guard = guard(&c);
    let mut stdin = c.stdin.take().unwrap();
    let stderr = BufReader::new(c.stderr.take().unwrap());
    let mut lines = Vec::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        if line.starts_with("weft-sched ") {
            lines.push(line);
            if lines.len() == 3 {
                break;
            }
        }
    }
    let _ = stdin.write_all(b"done\n");
    drop(stdin);
    let out = c.wait_with_output().unwrap();
    assert!(out.status.success(), "child failed: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(lines.len(), 3, "the child printed {} trace lines", lines.len());
    let mut last_ms = 0;
    for line in &lines {
        let ms: u64 = line["weft-sched ".len()..].split("ms:").next().unwrap().parse().unwrap();
        assert!(ms > last_ms, "uptime goes up: {lines:?}");
        last_ms = ms;
        assert_eq!(field(line, "workers"), "2", "{line}");
        assert_eq!(field(line, "spawned"), "8", "{line}");
        assert_eq!(field(line, "completed"), "8", "{line}");
        assert_eq!(field(line, "tasks"), "0", "{line}");
        assert_eq!(field(line, "local"), "[0", "{line}");
        for key in
            ["active", "unparked", "searching", "injector", "polls", "stalls", "blocking", "blocking_queue"]
        {
            assert!(!field(line, key).is_empty(), "{key} has no value in {line}");
        }
    }
}

#[test]
fn a_malformed_weft_schedtrace_is_a_build_error_that_names_it() {
    const NAME: &str = "a_malformed_weft_schedtrace_is_a_build_error_that_names_it";
    if is_child() {
        let err = weft::Runtime::builder().worker_threads(1).build().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("WEFT_SCHEDTRACE=\"every second\""), "{err}");
        return;
    }
    let out = child(NAME, "every second").wait_with_output().unwrap();
    assert!(out.status.success(), "child failed: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn weft_schedtrace_zero_is_off() {
    const NAME: &str = "weft_schedtrace_zero_is_off";
    if is_child() {
        let rt = weft::Runtime::builder()
            .worker_threads(1)
            .sched_trace(Some(std::time::Duration::from_millis(1)))
            .build()
            .unwrap();
        // Long enough for a 1 ms trace to print many lines, had the
        // variable not turned it off: the runtime works until the parent
        // has read our stdout's marker.
        assert_eq!(rt.block_on(async { weft::spawn(async { 1 }).await.unwrap() }), 1);
        println!("child-ready");
        let mut rest = String::new();
        let _ = std::io::stdin().read_line(&mut rest);
        drop(rt);
        return;
    }
    let mut c = child(NAME, "0");
    let _guard = guard(&c);
    let mut stdin = c.stdin.take().unwrap();
    let mut stdout = BufReader::new(c.stdout.take().unwrap());
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap() > 0 && !line.contains("child-ready") {
        line.clear();
    }
    let _ = stdin.write_all(b"done\n");
    drop(stdin);
    let out = c.wait_with_output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("weft-sched "), "WEFT_SCHEDTRACE=0 printed: {stderr}");
}
