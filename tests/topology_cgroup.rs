//! A real cgroup: create a child cgroup in a writable cpu controller, give
//! it a quota of 1.5 CPUs, run a child process inside it that builds a
//! default `Runtime` and reports its worker count, then lower the quota to
//! 0.5 CPU while the child runs and check that its `active_workers()`
//! drops to 1 (how long that took is printed: the monitor re-reads the
//! quota once a second, and a loaded machine adds to it, so the verdict
//! waits under a one-minute hang guard). The cgroup is removed afterwards.
//! Where
//! this is not permitted (no cpu controller, not root, read-only), the
//! test prints why and passes without checking.
//!
//! The child is this test binary again, running `cgroup_child` with
//! `WEFT_CGROUP_CHILD` set; in a normal run that test does nothing.

#![cfg(feature = "topology")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "WEFT_CGROUP_CHILD";

/// A bound on waits that only a bug makes long (far above the quota's 1 s
/// re-read on a loaded machine).
const HANG_GUARD: Duration = Duration::from_secs(60);

/// The child's side: report, then report every change of the target.
#[test]
fn cgroup_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let rt = weft::Runtime::new().expect("runtime");
    let topo = rt.topology();
    let m = rt.metrics();
    println!(
        "weft-child: workers {} threads {} allowed {} quota {}",
        m.num_workers(),
        m.worker_threads(),
        topo.allowed_cpus().len(),
        topo.quota().map_or(-1.0, |q| q.cpus)
    );
    let mut last = m.active_workers();
    println!("weft-child: active {last}");
    let deadline = Instant::now() + HANG_GUARD;
    while Instant::now() < deadline {
        let now = rt.metrics().active_workers();
        if now != last {
            println!("weft-child: active {now}");
            last = now;
        }
        if now == 1 {
            break;
        }
        // The parent measures the latency; 5 ms of polling adds at most that.
        std::thread::sleep(Duration::from_millis(5));
    }
}

enum Hierarchy {
    V1,
    V2,
}

/// The cpu controller's mount point from /proc/self/mountinfo.
fn cpu_controller() -> Result<(PathBuf, Hierarchy), String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("no /proc/self/mountinfo: {e}"))?;
    let mut v2 = None;
    for line in info.lines() {
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let mount = left.split(' ').nth(4).unwrap_or("");
        let mut r = right.split(' ');
        let fstype = r.next().unwrap_or("");
        let superopts = r.nth(1).unwrap_or("");
        if fstype == "cgroup" && superopts.split(',').any(|o| o == "cpu") {
            return Ok((PathBuf::from(mount), Hierarchy::V1));
        }
        if fstype == "cgroup2" {
            v2 = Some(PathBuf::from(mount));
        }
    }
    let root = v2.ok_or("no cgroup cpu controller is mounted")?;
    let controllers = std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
    if !controllers.split_whitespace().any(|c| c == "cpu") {
        return Err(format!("the cgroup2 mount at {} has no cpu controller", root.display()));
    }
    // Child cgroups get the cpu controller only if the root delegates it.
    let _ = std::fs::write(root.join("cgroup.subtree_control"), "+cpu");
    Ok((root, Hierarchy::V2))
}

/// A child cgroup, removed on drop (after its processes are gone).
struct Cgroup {
    dir: PathBuf,
    hierarchy: Hierarchy,
}

impl Cgroup {
    fn create() -> Result<Cgroup, String> {
        if !cfg!(target_os = "linux") {
            return Err("cgroups are Linux-only".into());
        }
        let (root, hierarchy) = cpu_controller()?;
        let dir = root.join(format!("weft-test-{}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let cg = Cgroup { dir, hierarchy };
        cg.set_quota(150_000)?;
        Ok(cg)
    }

    fn set_quota(&self, quota_us: u64) -> Result<(), String> {
        let write = |file: &str, value: String| {
            std::fs::write(self.dir.join(file), value).map_err(|e| format!("cannot write {file}: {e}"))
        };
        match self.hierarchy {
            Hierarchy::V1 => {
                write("cpu.cfs_period_us", "100000".into())?;
                write("cpu.cfs_quota_us", quota_us.to_string())
            }
            Hierarchy::V2 => write("cpu.max", format!("{quota_us} 100000")),
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // rmdir fails with EBUSY while a process is still inside; the child
        // has been waited for, so a few tries cover the kernel's cleanup.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("could not remove the test cgroup {}", self.dir.display());
    }
}

/// Kills and reaps the child on drop.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_child_in(dir: &Path) -> Result<(Reaped, mpsc::Receiver<String>), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // The shell joins the cgroup before exec, so the runtime is built
    // inside it from its first instruction.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"echo $$ > "$0/cgroup.procs" && exec "$@""#)
        .arg(dir)
        .arg(&exe)
        .args(["--exact", "cgroup_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run sh: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // libtest may print "test cgroup_child ... " before our output
            // on the same line.
            if let Some(at) = line.find("weft-child: ") {
                if tx.send(line[at + "weft-child: ".len()..].to_string()).is_err() {
                    break;
                }
            }
        }
    });
    Ok((Reaped(child), rx))
}

fn field<T: std::str::FromStr>(line: &str, name: &str) -> T {
    let mut words = line.split_whitespace();
    while let Some(w) = words.next() {
        if w == name {
            if let Some(v) = words.next().and_then(|v| v.parse().ok()) {
                return v;
            }
        }
    }
    panic!("no {name} in the child's line {line:?}");
}

#[test]
fn real_cgroup_quota_sets_workers_and_a_lower_quota_retires_them() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let cg = match Cgroup::create() {
        Ok(cg) => cg,
        Err(reason) => {
            eprintln!("SKIPPED real_cgroup test: {reason}");
            return;
        }
    };
    let (_child, lines) = spawn_child_in(&cg.dir).expect("child");
    let report = lines.recv_timeout(HANG_GUARD).expect("the child reported its runtime");
    let workers: usize = field(&report, "workers");
    let allowed: usize = field(&report, "allowed");
    let quota: f64 = field(&report, "quota");
    eprintln!("child in {}: {report}", cg.dir.display());
    assert_eq!(quota, 1.5, "the child saw the 1.5-CPU quota");
    // The default rounding is Up: min(allowed CPUs, ceil(1.5)).
    assert_eq!(workers, weft::topology::Rounding::Up.apply(1.5).min(allowed));
    let first_active: usize = field(&lines.recv_timeout(HANG_GUARD).expect("active line"), "active");
    assert_eq!(first_active, workers);
    if workers == 1 {
        // One allowed CPU (an affinity mask of one): no worker to retire.
        eprintln!("SKIPPED the lowered quota: the child has one worker already");
        return;
    }

    cg.set_quota(50_000).expect("lower the quota");
    let lowered = Instant::now();
    loop {
        let left = HANG_GUARD.saturating_sub(lowered.elapsed());
        let line = lines.recv_timeout(left).unwrap_or_else(|_| {
            panic!("active_workers did not drop to 1 after the quota dropped to 0.5 CPU")
        });
        if field::<usize>(&line, "active") == 1 {
            eprintln!("active_workers reached 1 after {:?}", lowered.elapsed());
            break;
        }
    }
}
