//! What the kernel's scheduler says about one worker thread: its time on a
//! CPU, its time waiting for one, and whether it is blocked right now.
//!
//! The monitor uses it to tell a poll that keeps its worker busy or blocked
//! (a stall) from a poll whose thread is runnable but not running (the
//! CPU quota throttled the cgroup, or the machine is oversubscribed).
//! docs/design/stalls.md, "Stalls that are not stalls", has what the kernel
//! reports for each case and the verdict built on it.
//!
//! Linux: `/proc/self/task/<tid>/schedstat` ("on-CPU ns, run-queue wait
//! ns, time slices") and the state letter of `/proc/self/task/<tid>/stat`.
//! Both are opened for each read (no fd stays open). Elsewhere, or where
//! the files cannot be read, `read` returns `None` and the monitor falls
//! back to wall time.

/// One reading of a thread's scheduler accounting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ThreadSample {
    /// Time on a CPU, ns (the kernel's `sum_exec_runtime`; may trail a
    /// running thread by up to one scheduler tick).
    pub(crate) cpu_ns: u64,
    /// Time runnable but waiting for a CPU, ns, up to the thread's last
    /// arrival on a CPU: a wait in progress is added only when it ends.
    /// Time throttled by a cgroup CPU quota counts here.
    pub(crate) wait_ns: u64,
    /// The thread sleeps in the kernel (state `S` or `D`): blocked in a
    /// system call, not waiting for a CPU. Read before the times, so a
    /// wait in progress is never counted as blocked time.
    pub(crate) blocked: bool,
}

/// The calling thread's kernel id (0 where there is none to give).
pub(crate) fn current_thread_id() -> u64 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid takes no arguments, has no preconditions and
        // cannot fail.
        let tid = unsafe { libc::gettid() };
        u64::try_from(tid).unwrap_or(0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// One read of thread `tid`'s (on-CPU ns, run-queue wait ns), opening
/// the file for it (the metrics snapshot's occasional read).
pub(crate) fn read_schedstat(tid: u64) -> Option<(u64, u64)> {
    if tid == 0 || crate::loom::IS_LOOM {
        return None;
    }
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    parse_schedstat(&text)
}

/// Reads one worker thread's scheduler accounting.
///
/// The files are opened for each read and closed after it, not kept open:
/// a runtime whose fd count moves when a poll first runs long (the monitor
/// would open its files then) breaks a user's own fd accounting, and the
/// monitor reads at most once per sample period per worker.
#[derive(Debug, Default)]
pub(crate) struct ThreadClock {
    _private: (),
}

impl ThreadClock {
    /// Reads thread `tid` (a `current_thread_id`; 0 = unknown). With
    /// `state` false the blocked flag is not read (one file instead of
    /// two) and is false.
    pub(crate) fn read(&mut self, tid: u64, state: bool) -> Option<ThreadSample> {
        if tid == 0 || crate::loom::IS_LOOM {
            return None;
        }
        let mut buf = [0u8; 1024];
        // The state first: see `ThreadSample::blocked`.
        let blocked =
            state && parse_stat_state(read_task_file(tid, "stat", &mut buf)?).is_some_and(is_blocked);
        let (cpu_ns, wait_ns) = parse_schedstat(read_task_file(tid, "schedstat", &mut buf)?)?;
        Some(ThreadSample { cpu_ns, wait_ns, blocked })
    }
}

/// The whole of the small /proc file `name` of thread `tid`, read into
/// `buf` (the kernel generates it in one read).
#[cfg(target_os = "linux")]
fn read_task_file<'b>(tid: u64, name: &str, buf: &'b mut [u8]) -> Option<&'b str> {
    use std::io::Read;
    let mut file = std::fs::File::open(format!("/proc/self/task/{tid}/{name}")).ok()?;
    let n = file.read(buf).ok()?;
    std::str::from_utf8(&buf[..n]).ok()
}

#[cfg(not(target_os = "linux"))]
fn read_task_file<'b>(_tid: u64, _name: &str, _buf: &'b mut [u8]) -> Option<&'b str> {
    None
}

/// States of a thread asleep in the kernel: `S` (interruptible: a sleep,
/// a futex, a socket read) and `D` (uninterruptible: disk I/O).
fn is_blocked(state: char) -> bool {
    matches!(state, 'S' | 'D')
}

/// `schedstat`: "on-CPU ns, run-queue wait ns, time slices".
pub(crate) fn parse_schedstat(text: &str) -> Option<(u64, u64)> {
    let mut fields = text.split_ascii_whitespace();
    let cpu = fields.next()?.parse().ok()?;
    let wait = fields.next()?.parse().ok()?;
    Some((cpu, wait))
}

/// The state letter of a `stat` line: the first field after the command
/// name, which is in parentheses and may itself hold `)` and spaces (so
/// the last `)` ends it).
fn parse_stat_state(text: &str) -> Option<char> {
    let rest = &text[text.rfind(')')? + 1..];
    rest.split_ascii_whitespace().next()?.chars().next()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn schedstat_lines_parse_and_bad_ones_do_not() {
        assert_eq!(parse_schedstat("122128935 137896696 31\n"), Some((122128935, 137896696)));
        assert_eq!(parse_schedstat(""), None);
        assert_eq!(parse_schedstat("12"), None);
        assert_eq!(parse_schedstat("12 x 3"), None);
        assert_eq!(parse_schedstat("-1 2 3"), None);
    }

    #[test]
    fn the_state_follows_the_last_parenthesis() {
        assert_eq!(parse_stat_state("42 (weft-worker-0) S 1 2 3"), Some('S'));
        assert_eq!(parse_stat_state("42 (a) R (b) D 1"), Some('D'));
        assert_eq!(parse_stat_state("42 (x"), None);
        assert_eq!(parse_stat_state("42 (x)"), None);
        assert_eq!(parse_stat_state(""), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_sleeping_thread_reads_as_blocked_and_its_cpu_time_is_its_own() {
        use std::sync::mpsc;
        let (tid_tx, tid_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            tid_tx.send(current_thread_id()).unwrap();
            // Blocked in a channel receive (a futex) until told to go.
            go_rx.recv().unwrap();
        });
        let tid = tid_rx.recv().unwrap();
        let mut clock = ThreadClock::default();
        // The thread may not have reached its receive yet; it gets there.
        // A loaded machine may keep it off a CPU for a while: the bound is
        // a hang guard in time, not a number of reads.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            match clock.read(tid, true) {
                Some(s) if s.blocked => break,
                Some(_) => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "a thread waiting on a channel never read as blocked"
                    );
                    std::thread::yield_now();
                }
                None => panic!("cannot read /proc/self/task/{tid}"),
            }
        }
        // Without the state, blocked is never claimed.
        assert!(!clock.read(tid, false).unwrap().blocked);
        // Our own thread: a busy loop shows up as CPU time.
        let me = current_thread_id();
        let mut own = ThreadClock::default();
        let before = own.read(me, true).unwrap();
        assert!(!before.blocked, "the reading thread runs");
        let mut spun = 0u64;
        while own.read(me, false).unwrap().cpu_ns <= before.cpu_ns {
            spun = std::hint::black_box(spun + 1);
        }
        go_tx.send(()).unwrap();
        t.join().unwrap();
        // A gone thread cannot be read. `join` returns when the kernel
        // clears the thread's tid word, which it does before it removes
        // the thread's /proc entry: wait for the entry to go first.
        let task = format!("/proc/self/task/{tid}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::fs::metadata(&task).is_ok() {
            assert!(std::time::Instant::now() < deadline, "{task} outlived its thread");
            std::thread::yield_now();
        }
        assert_eq!(ThreadClock::default().read(tid, true), None);
        assert_eq!(ThreadClock::default().read(0, true), None);
    }
}
