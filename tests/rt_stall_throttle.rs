//! Stall detection under a real cgroup CPU quota (docs/design/stalls.md,
//! "Stalls that are not stalls").
//!
//! Each test re-runs this binary as a child process (only that test, with
//! `WEFT_THROTTLE_CHILD` set) that moves itself into a fresh cgroup v1 `cpu`
//! cgroup with a quota of a tenth of a CPU (10 ms per 100 ms period) before it
//! builds a runtime; the parent creates the cgroup and removes it when the
//! child is done, also when the child fails. Without a writable cgroup v1
//! `cpu` hierarchy (not root, cgroup v2 only, read-only) the test prints why
//! and passes without running.
//!
//! The child makes the assertions; the parent checks that it passed and
//! printed its marker, and shows its output.
//!
//! Needs the `topology` feature: the runtime finds the quota (and the
//! cgroup whose throttling counters it reports) through it.

#![cfg(all(target_os = "linux", feature = "topology"))]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft::Runtime;

const CHILD_ENV: &str = "WEFT_THROTTLE_CHILD";
const CGROUP_ENV: &str = "WEFT_THROTTLE_CGROUP";
const OK_MARKER: &str = "WEFT-THROTTLE-CHILD-OK";

/// A cgroup v1 `cpu` directory that is removed on drop.
struct Cgroup(PathBuf);

impl Drop for Cgroup {
    fn drop(&mut self) {
        // The child has exited and been reaped; the kernel may take a
        // moment to let go of the directory.
        for _ in 0..100 {
            if std::fs::remove_dir(&self.0).is_ok() || !self.0.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!("could not remove cgroup {}", self.0.display());
    }
}

/// The mount point of the cgroup v1 hierarchy holding the `cpu`
/// controller, from /proc/self/mountinfo.
fn cpu_v1_mount() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    text.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let mut right = right.split_whitespace();
        let (fstype, _source, options) = (right.next()?, right.next()?, right.next()?);
        let mount_point = left.split_whitespace().nth(4)?;
        (fstype == "cgroup" && options.split(',').any(|o| o == "cpu")).then(|| PathBuf::from(mount_point))
    })
}

/// A new cgroup with a quota of a tenth of a CPU, or why there cannot be one.
///
/// A tenth, not more: the tests need the quota to throttle, and a thread
/// that spins gets at least a tenth of a CPU even on a machine whose two
/// cores are shared by many busy processes, where it might never use up
/// half a CPU.
fn tenth_cpu_cgroup(test: &str) -> Result<Cgroup, String> {
    let mount = cpu_v1_mount().ok_or("no cgroup v1 hierarchy with the cpu controller is mounted")?;
    let dir = mount.join(format!("weft-test-{}-{test}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let cgroup = Cgroup(dir);
    let write = |file: &str, value: &str| {
        let path = cgroup.0.join(file);
        std::fs::write(&path, value).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write("cpu.cfs_period_us", "100000")?;
    write("cpu.cfs_quota_us", "10000")?;
    Ok(cgroup)
}

/// In the parent: runs `test` in a child inside a tenth-of-a-CPU cgroup and
/// checks it passed. Returns false in the child (the caller runs the body).
fn run_in_child(test: &str) -> bool {
    if std::env::var(CHILD_ENV).is_ok_and(|v| v == test) {
        let dir = std::env::var(CGROUP_ENV).expect("the parent names the cgroup");
        // Every thread started from now on is in the cgroup too.
        let procs = Path::new(&dir).join("cgroup.procs");
        std::fs::write(&procs, std::process::id().to_string()).expect("join the cgroup");
        return false;
    }
    let cgroup = match tenth_cpu_cgroup(test) {
        Ok(cgroup) => cgroup,
        Err(why) => {
            println!("SKIPPED {test}: {why}");
            return true;
        }
    };
    let exe = std::env::current_exe().expect("current_exe");
    let out = std::process::Command::new(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test)
        .env(CGROUP_ENV, &cgroup.0)
        .output()
        .expect("spawn the child test process");
    drop(cgroup);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(OK_MARKER),
        "child {test} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    println!("{stdout}");
    true
}

/// Spins until the calling thread has used `cpu` of CPU time.
fn burn_cpu(cpu: Duration) {
    let now = || {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec; the clock id is a
        // constant the kernel knows.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    };
    let end = now() + cpu;
    while now() < end {
        std::hint::spin_loop();
    }
}

/// Throttled periods of the runtime's quota cgroup so far.
fn throttled_periods(rt: &Runtime) -> u64 {
    let t = rt.metrics().cpu_throttling().expect("the runtime found the cgroup's quota");
    t.throttled_periods()
}

/// A thread outside the runtime (but in the cgroup) that spends CPU until
/// dropped, so the quota throttles the process throughout.
struct Burner(Arc<AtomicBool>, Option<std::thread::JoinHandle<()>>);

impl Burner {
    fn start() -> Burner {
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let t = std::thread::spawn(move || {
            while !s2.load(Ordering::Relaxed) {
                burn_cpu(Duration::from_millis(1));
            }
        });
        Burner(stop, Some(t))
    }
}

impl Drop for Burner {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
        if let Some(t) = self.1.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn short_polls_frozen_by_cpu_throttling_are_not_stalls() {
    const NAME: &str = "short_polls_frozen_by_cpu_throttling_are_not_stalls";
    if run_in_child(NAME) {
        return;
    }
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let start_throttled = throttled_periods(&rt);
    let stop = Arc::new(AtomicBool::new(false));
    let polls = Arc::new(AtomicU64::new(0));
    // Four tasks for two workers: each poll spends 200 us of CPU and
    // yields, so every worker always has a short poll to run.
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (stop, polls) = (stop.clone(), polls.clone());
            rt.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    burn_cpu(Duration::from_micros(200));
                    polls.fetch_add(1, Ordering::Relaxed);
                    weft::task::yield_now().await;
                }
            })
        })
        .collect();
    // At least 3 s, and until the quota has throttled the process in 20
    // periods (a count, so a slow machine only makes the run longer).
    let began = Instant::now();
    while began.elapsed() < Duration::from_secs(3) || throttled_periods(&rt) < start_throttled + 20 {
        assert!(
            began.elapsed() < Duration::from_secs(600),
            "the quota throttled the process in only {} periods",
            throttled_periods(&rt) - start_throttled
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        rt.block_on(t).unwrap();
    }
    let m = rt.metrics();
    let threads = m.worker_threads();
    let spare_polls: u64 = m.workers()[threads..].iter().map(|w| w.polls()).sum();
    let throttled = throttled_periods(&rt) - start_throttled;
    println!(
        "{} polls of 200 us in {:?}; quota throttled {throttled} periods; {} stalls; {} descheduled polls; \
         spare polls {spare_polls}; cpu wait per worker {:?}",
        polls.load(Ordering::Relaxed),
        began.elapsed(),
        m.total_stalls(),
        m.total_descheduled_polls(),
        m.workers()[..threads].iter().map(|w| w.cpu_wait()).collect::<Vec<_>>()
    );
    assert_eq!(
        m.total_stalls(),
        0,
        "throttled short polls reported as stalls: {:?}",
        rt.handle().recent_stalls()
    );
    assert!(rt.handle().recent_stalls().is_empty());
    assert_eq!(spare_polls, 0, "spare workers were let in for throttled polls");
    println!("{OK_MARKER}");
}

/// On a one-worker runtime under the tenth-of-a-CPU quota (kept throttled by a
/// burner thread, which has been throttled before the poll starts), a
/// task spawns a child (queued on the only worker) and
/// then blocks its worker until the child has run, with `block`. The child
/// can only run on a compensating worker, so the stall must be seen and
/// handed off; the test waits on the child, not on a clock.
fn blocked_poll_is_handed_off(name: &'static str, block: fn(&AtomicBool)) {
    let _burner = Burner::start();
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    // The quota is throttling the process before the poll starts (a count:
    // a busy machine only makes this wait longer).
    let before = throttled_periods(&rt);
    let began = Instant::now();
    while throttled_periods(&rt) < before + 3 {
        // A guard against a hang, not a verdict on speed.
        assert!(began.elapsed() < Duration::from_secs(600), "the quota never throttled the burner");
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = throttled_periods(&rt);
    let ran = Arc::new(AtomicBool::new(false));
    let r2 = ran.clone();
    let parent = weft::task::Builder::new()
        .name(name)
        .spawn_on(
            async move {
                let r3 = r2.clone();
                let child = weft::spawn(async move { r3.store(true, Ordering::Release) });
                block(&r2);
                child.await.unwrap();
            },
            rt.handle(),
        )
        .unwrap();
    rt.block_on(parent).unwrap();
    assert!(ran.load(Ordering::Acquire));
    let events = rt.handle().recent_stalls();
    let ev = events.iter().find(|e| e.name() == Some(name)).expect("the blocked poll is reported as a stall");
    assert!(ev.was_compensated(), "a compensating worker ran the child: {ev}");
    let m = rt.metrics();
    let spare_polls: u64 = m.workers()[m.worker_threads()..].iter().map(|w| w.polls()).sum();
    assert!(spare_polls >= 1, "the child ran on a spare slot");
    println!(
        "{ev}; the quota throttled the process in {} periods meanwhile",
        throttled_periods(&rt) - before
    );
}

#[test]
fn a_sleeping_poll_under_cpu_throttling_is_still_a_stall() {
    const NAME: &str = "a_sleeping_poll_under_cpu_throttling_is_still_a_stall";
    if run_in_child(NAME) {
        return;
    }
    blocked_poll_is_handed_off("throttle-sleeper", |ran| {
        // Blocked in the kernel, using no CPU: one-second sleeps until the
        // child has run (at most 600 of them: a guard against a hang, not
        // a verdict on how fast a throttled, busy machine hands off).
        for _ in 0..600 {
            std::thread::sleep(Duration::from_secs(1));
            if ran.load(Ordering::Acquire) {
                return;
            }
        }
        panic!("the child queued behind a sleeping poll never ran");
    });
    println!("{OK_MARKER}");
}

#[test]
fn a_cpu_bound_poll_under_cpu_throttling_is_still_a_stall() {
    const NAME: &str = "a_cpu_bound_poll_under_cpu_throttling_is_still_a_stall";
    if run_in_child(NAME) {
        return;
    }
    blocked_poll_is_handed_off("throttle-spinner", |ran| {
        // Busy on the CPU (as much as the quota gives) until the child has
        // run, and for at least 200 ms of CPU time (twenty times the stall
        // threshold), at most 30 s of it.
        let mut spent = Duration::ZERO;
        while !ran.load(Ordering::Acquire) || spent < Duration::from_millis(200) {
            burn_cpu(Duration::from_millis(10));
            spent += Duration::from_millis(10);
            assert!(spent < Duration::from_secs(30), "the child queued behind a busy poll never ran");
        }
    });
    println!("{OK_MARKER}");
}
