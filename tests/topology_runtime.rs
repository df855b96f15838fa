//! The runtime's use of the topology, driven by fixture trees (the readers
//! themselves are unit-tested in src/topology/): the worker count from a
//! quota and a cpuset, the rounding rule, live tracking when the quota file
//! changes, pinning on this machine, placement on the NUMA fixtures.

#![cfg(feature = "topology")]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weft::topology::{CountSource, CpuSet, Pinning, Rounding};
use weft::Runtime;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn cpus(list: &str) -> CpuSet {
    CpuSet::parse(list).expect("CPU list")
}

/// A writable copy of a fixture tree (the live-tracking tests rewrite its
/// quota file), removed on drop.
struct TempTree(PathBuf);

impl TempTree {
    fn copy_of(name: &str) -> TempTree {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "weft-topology-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        copy_dir(&fixture(name), &dir);
        TempTree(dir)
    }
}

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// How long the tests wait for the monitor to act before calling it lost:
/// far above its 10 ms period on any machine, loaded or not.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Polls `cond` until it holds or `limit` passes; returns how long it took.
fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

const V2_LEAF_QUOTA: &str = "sys/fs/cgroup/system.slice/app.service/cpu.max";

/// A runtime on a writable copy of the v2 fixture (3 allowed CPUs, 2.5-CPU
/// quota) whose monitor re-reads the tree every 10 ms; also the path of the
/// leaf's `cpu.max` to rewrite. Keep the tree alive as long as the runtime.
fn tracked_v2_runtime() -> (TempTree, PathBuf, Runtime) {
    let tree = TempTree::copy_of("v2");
    let quota = tree.0.join(V2_LEAF_QUOTA);
    let rt = Runtime::builder()
        .topology_fixture(&tree.0, cpus("0-7"))
        .quota_refresh(Some(Duration::from_millis(10)))
        .build()
        .unwrap();
    (tree, quota, rt)
}

#[test]
fn quota_and_cpuset_decide_the_worker_count() {
    // v2 fixture: cpuset 0-2 at the leaf, quota 2.5 CPUs, affinity 0-7.
    let rt = Runtime::builder().topology_fixture(fixture("v2"), cpus("0-7")).build().unwrap();
    let topo = rt.topology();
    assert_eq!(topo.allowed_cpus(), &cpus("0-2"));
    assert_eq!(topo.quota().map(|q| q.cpus), Some(2.5));
    assert_eq!(topo.count_source(), CountSource::Detected);
    assert_eq!(topo.num_workers(), 3, "min(3 allowed, ceil(2.5))");
    assert_eq!(topo.worker_threads(), 3);
    let m = rt.metrics();
    assert_eq!((m.num_workers(), m.active_workers(), m.worker_threads()), (3, 3, 3));

    let rt = Runtime::builder()
        .topology_fixture(fixture("v2"), cpus("0-7"))
        .rounding(Rounding::Down)
        .build()
        .unwrap();
    assert_eq!(rt.metrics().num_workers(), 2, "min(3 allowed, floor(2.5))");
    assert_eq!(rt.metrics().worker_threads(), 3, "a thread per allowed CPU");
    assert_eq!(rt.block_on(async { weft::spawn(async { 7 }).await.unwrap() }), 7);
}

#[test]
fn v1_quota_of_one_and_a_half_cpus_follows_the_rounding_rule() {
    let affinity = cpus("0-3");
    let up = Runtime::builder().topology_fixture(fixture("v1"), affinity.clone()).build().unwrap();
    let down = Runtime::builder()
        .topology_fixture(fixture("v1"), affinity)
        .rounding(Rounding::Down)
        .build()
        .unwrap();
    let q = up.topology().quota().expect("quota").cpus;
    assert_eq!(up.metrics().num_workers(), Rounding::Up.apply(q).min(up.topology().allowed_cpus().len()));
    assert_eq!(
        down.metrics().num_workers(),
        Rounding::Down.apply(q).min(down.topology().allowed_cpus().len())
    );
    assert!(up.metrics().num_workers() > down.metrics().num_workers(), "1.5 CPUs: up {q} vs down");
}

#[test]
fn worker_threads_overrides_detection_and_fixes_the_count() {
    let rt =
        Runtime::builder().topology_fixture(fixture("v2"), cpus("0-7")).worker_threads(5).build().unwrap();
    assert_eq!(rt.topology().count_source(), CountSource::Builder);
    let m = rt.metrics();
    assert_eq!((m.num_workers(), m.active_workers(), m.worker_threads()), (5, 5, 5));
}

#[test]
fn malformed_and_missing_input_fall_back_to_the_allowed_cpus() {
    for case in ["malformed_v1", "malformed_v2", "missing_cgroup", "missing_mountinfo", "numa_bad"] {
        let rt = Runtime::builder().topology_fixture(fixture(case), cpus("0-3")).build().unwrap();
        let topo = rt.topology();
        assert!(topo.num_workers() >= 1, "{case}");
        assert!(topo.num_workers() <= topo.allowed_cpus().len(), "{case}");
        assert_eq!(rt.block_on(async { weft::spawn(async { 1 }).await.unwrap() }), 1, "{case}");
    }
    // With nothing readable at all, the allowed CPUs are the count.
    let rt = Runtime::builder().topology_fixture(fixture("missing_cgroup"), cpus("0-3")).build().unwrap();
    assert!(rt.topology().quota().is_none());
    assert_eq!(rt.metrics().num_workers(), 4);
}

/// The monitor re-reads the quota file: lowering it retires workers (and
/// tasks then run on the remaining one only), raising it brings them back.
#[test]
fn lowering_and_raising_the_quota_changes_the_active_workers() {
    let (_tree, quota, rt) = tracked_v2_runtime();
    assert_eq!(rt.metrics().active_workers(), 3);

    std::fs::write(&quota, "50000 100000\n").unwrap();
    let took = wait_for(HANG_GUARD, || rt.metrics().active_workers() == 1);
    assert!(took.is_some(), "active workers stayed at {}", rt.metrics().active_workers());
    // Workers 1 and 2 retire at their next scheduling point; wake them with
    // some work so they get there, then check they did.
    let retired = wait_for(HANG_GUARD, || {
        rt.block_on(async {
            for _ in 0..8 {
                weft::spawn(async {}).await.unwrap();
            }
        });
        let m = rt.metrics();
        m.worker(1).retirements() >= 1 && m.worker(2).retirements() >= 1
    });
    assert!(retired.is_some(), "workers above the target did not retire");
    let threads = Arc::new(Mutex::new(HashSet::new()));
    rt.block_on(async {
        let mut handles = Vec::new();
        for _ in 0..200 {
            let threads = threads.clone();
            handles.push(weft::spawn(async move {
                for _ in 0..3 {
                    threads.lock().unwrap().insert(std::thread::current().id());
                    weft::task::yield_now().await;
                }
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
    });
    assert_eq!(threads.lock().unwrap().len(), 1, "tasks ran on more than the one active worker");

    std::fs::write(&quota, "max 100000\n").unwrap();
    let took = wait_for(HANG_GUARD, || rt.metrics().active_workers() == 3);
    assert!(took.is_some(), "active workers stayed at {}", rt.metrics().active_workers());
}

/// Every task runs exactly once and every future is dropped exactly once
/// while the quota moves between 1, 2 and 3 CPUs under load.
#[test]
fn tasks_complete_exactly_once_while_the_quota_moves() {
    struct Dropped(Arc<AtomicUsize>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let (_tree, quota, rt) = tracked_v2_runtime();
    const TASKS: usize = 20_000;
    let ran = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let quota_writer = {
        let quota = quota.clone();
        std::thread::spawn(move || {
            for i in 0..30 {
                let cpus = [1, 3, 2, 1, 3][i % 5];
                std::fs::write(&quota, format!("{} 100000\n", cpus * 100_000)).unwrap();
                std::thread::sleep(Duration::from_millis(15));
            }
        })
    };
    let runs = rt.block_on({
        let ran = ran.clone();
        let dropped = dropped.clone();
        async move {
            let mut handles = Vec::with_capacity(TASKS);
            for _ in 0..TASKS {
                let ran = ran.clone();
                let guard = Dropped(dropped.clone());
                handles.push(weft::spawn(async move {
                    let _guard = guard;
                    weft::task::yield_now().await;
                    ran.fetch_add(1, Ordering::Relaxed);
                }));
            }
            let mut n = 0;
            for h in handles {
                h.await.unwrap();
                n += 1;
            }
            n
        }
    });
    quota_writer.join().unwrap();
    assert_eq!(runs, TASKS);
    assert_eq!(ran.load(Ordering::Relaxed), TASKS);
    drop(rt);
    assert_eq!(dropped.load(Ordering::Relaxed), TASKS);
}

#[test]
fn quota_refresh_none_keeps_the_build_time_count() {
    let tree = TempTree::copy_of("v2");
    let rt = Runtime::builder().topology_fixture(&tree.0, cpus("0-7")).quota_refresh(None).build().unwrap();
    std::fs::write(tree.0.join(V2_LEAF_QUOTA), "50000 100000\n").unwrap();
    // Nothing re-reads it (the monitor does not track the quota): five default-test intervals
    // later the count is still the build-time one.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(rt.metrics().active_workers(), 3);
}

#[test]
fn spread_placement_on_the_numa_fixtures() {
    let rt = Runtime::builder()
        .topology_fixture(fixture("numa_4node"), cpus("0-15"))
        .worker_threads(4)
        .pin_workers(Pinning::Spread)
        .build()
        .unwrap();
    let nodes: Vec<_> = rt.topology().placement().iter().map(|p| p.node).collect();
    assert_eq!(nodes, vec![Some(0), Some(1), Some(2), Some(3)], "one worker per node first");
    let rt = Runtime::builder()
        .topology_fixture(fixture("numa_2node"), cpus("0-7"))
        .worker_threads(4)
        .pin_workers(Pinning::Compact)
        .build()
        .unwrap();
    let nodes: Vec<_> = rt.topology().placement().iter().map(|p| p.node).collect();
    assert_eq!(nodes, vec![Some(0); 4], "compact fills node 0 first");
    assert_eq!(rt.topology().nodes().len(), 2);
}

#[test]
fn pinning_to_a_cpu_that_is_not_allowed_is_an_error() {
    let err = Runtime::builder().pin_workers(Pinning::Cpus(vec![100_000])).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("100000"), "{err}");
}

/// On this machine: pinned workers run where the plan says. The CPU is
/// the first one this process may run on (CPU 0 is not always allowed:
/// `taskset -c 1 cargo test`).
#[cfg(target_os = "linux")]
#[test]
fn pinned_workers_run_on_their_cpu() {
    let allowed = Runtime::builder().worker_threads(1).build().unwrap().topology().allowed_cpus().clone();
    let first = allowed.iter().next().expect("this process may run on some CPU");
    let rt = Runtime::builder().worker_threads(2).pin_workers(Pinning::Cpus(vec![first])).build().unwrap();
    assert!(rt.topology().placement().iter().all(|p| p.cpu == Some(first)));
    let cpu = rt.block_on(async {
        weft::spawn(async {
            // SAFETY: sched_getcpu has no preconditions.
            unsafe { libc_sched_getcpu() }
        })
        .await
        .unwrap()
    });
    assert_eq!(usize::try_from(cpu).ok(), Some(first));
}

#[cfg(target_os = "linux")]
extern "C" {
    #[link_name = "sched_getcpu"]
    fn libc_sched_getcpu() -> i32;
}
