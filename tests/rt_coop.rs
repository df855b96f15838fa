//! The cooperative budget: a task that loops over an always-ready socket
//! must not starve other tasks on its worker. Each test runs on a
//! single-worker runtime, so without the budget the looping task would
//! never give the worker back.

// Sockets against an interval: needs both features.
#![cfg(all(feature = "net", feature = "time"))]

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft::net::{TcpListener, TcpStream};

/// The two tests each keep a core busy on purpose; run them one at a time
/// so neither measures the other's load.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn one_worker() -> weft::Runtime {
    weft::Runtime::builder().worker_threads(1).build().expect("runtime")
}

/// Without the budget these tests would hang rather than fail (the hog
/// never gives the worker back): turn a hang into a failure. Not
/// synchronisation, a deadline far above any run on a loaded machine.
fn watchdog(name: &'static str) {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        eprintln!("{name}: still running after 60 s: the spinning task starved the interval");
        std::process::exit(101);
    });
}

/// Reads the hog may make once a tick is due, before the interval's task
/// runs: the budget is 128 leaf operations per poll, and the hog may get
/// up to 63 polls. Usually one: the worker fires its own timer between two
/// polls. But another thread may fire it (the `block_on` thread, waiting in
/// the netpoller for the runtime's next timer); the woken task then goes
/// through the injector, which a worker with local work checks every 61
/// ticks, and one poll each for the order of the local queue. Without the
/// budget the hog's first poll never ends.
const MAX_OVERDUE_READS: u64 = (61 + 2) * 128;

/// Slack past a tick's instant before it counts as due: the wheel rounds
/// deadlines up to its 1 ms resolution.
const WHEEL_SLACK: Duration = Duration::from_millis(2);

/// What the hog and the interval's task share. Both run on the one worker
/// and take turns, each turn handed over through the scheduler, which
/// orders it after the last: Relaxed is enough. (A spare thread standing
/// in for a stalled worker may run them side by side; then the counts are
/// only ever smaller, since the interval's task runs sooner.)
struct Overdue {
    base: Instant,
    /// When the pending tick is due, in ns since `base` (`u64::MAX`: none).
    due_ns: AtomicU64,
    /// Reads the hog made since the pending tick was due.
    overdue: AtomicU64,
    /// Every read the hog made.
    reads: AtomicU64,
}

impl Overdue {
    fn new() -> Arc<Overdue> {
        Arc::new(Overdue {
            base: Instant::now(),
            due_ns: AtomicU64::new(u64::MAX),
            overdue: AtomicU64::new(0),
            reads: AtomicU64::new(0),
        })
    }

    /// Called by the hog after each read.
    fn count_read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
        if self.base.elapsed().as_nanos() as u64 >= self.due_ns.load(Ordering::Relaxed) {
            self.overdue.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }
}

/// Runs a 10 ms interval next to the hog (already spawned and looping)
/// until 20 of its ticks were contested (the hog read while the tick was
/// pending), and returns the most reads the hog made after a tick was due
/// and before this task saw it. The verdict counts reads, not time: a
/// preempted worker makes no reads, so a loaded machine does not move it.
async fn overdue_reads(shared: Arc<Overdue>) -> u64 {
    let period = Duration::from_millis(10);
    let mut interval = weft::time::interval(period);
    // Burst (the default) keeps the schedule: tick k is due at first + k periods.
    let first = interval.tick().await.into_std();
    let (mut contested, mut worst, mut k) = (0, 0, 0);
    while contested < 20 {
        k += 1;
        let due = first + period * k + WHEEL_SLACK;
        shared.due_ns.store(due.duration_since(shared.base).as_nanos() as u64, Ordering::Relaxed);
        shared.overdue.store(0, Ordering::Relaxed);
        let before = shared.reads();
        let tick = interval.tick().await.into_std();
        assert_eq!(tick, first + period * k, "tick {k} off the schedule");
        shared.due_ns.store(u64::MAX, Ordering::Relaxed);
        if shared.reads() > before {
            contested += 1;
        }
        worst = worst.max(shared.overdue.load(Ordering::Relaxed));
    }
    worst
}

#[test]
fn a_reader_spinning_on_eof_does_not_stop_an_interval() {
    let _serial = serial();
    watchdog("a_reader_spinning_on_eof_does_not_stop_an_interval");
    let rt = one_worker();
    let stop = Arc::new(AtomicBool::new(false));
    let shared = Overdue::new();
    let worst = rt.block_on({
        let stop_hog = stop.clone();
        let shared = shared.clone();
        async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let client = TcpStream::connect(addr).await.unwrap();
            let (mut server_side, _) = listener.accept().await.unwrap();
            // The peer closes its write side: every read returns Ok(0) at
            // once, forever (READ_CLOSED is sticky). A buggy reader that
            // does not stop on EOF spins here.
            client.shutdown(std::net::Shutdown::Write).unwrap();
            let hog_shared = shared.clone();
            let hog = weft::spawn(async move {
                let mut buf = [0u8; 64];
                while !stop_hog.load(Ordering::Relaxed) {
                    let n = server_side.read(&mut buf).await.unwrap();
                    assert_eq!(n, 0);
                    hog_shared.count_read();
                }
                drop(client);
            });
            let worst = weft::spawn(overdue_reads(shared)).await.unwrap();
            // Tell the hog to stop (it sees the flag at its next read).
            stop.store(true, Ordering::Relaxed);
            hog.await.unwrap();
            worst
        }
    });
    let reads = shared.reads();
    println!("at most {worst} reads after a tick was due; the spinning reader did {reads} reads");
    assert!(worst <= MAX_OVERDUE_READS, "interval starved: {worst} reads after a tick was due");
}

#[test]
fn a_reader_of_an_endless_stream_does_not_stop_an_interval() {
    let _serial = serial();
    watchdog("a_reader_of_an_endless_stream_does_not_stop_an_interval");
    let rt = one_worker();
    // A plain thread keeps the peer's socket buffer full; the task reads one
    // byte at a time, so the socket is always readable.
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let done = done.clone();
        std::thread::spawn(move || {
            let (mut s, _) = std_listener.accept().unwrap();
            let chunk = [1u8; 64 * 1024];
            while !done.load(Ordering::Relaxed) {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
        })
    };
    let shared = Overdue::new();
    let worst = rt.block_on({
        let done = done.clone();
        let shared = shared.clone();
        async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let done_hog = done.clone();
            let hog_shared = shared.clone();
            let hog = weft::spawn(async move {
                let mut byte = [0u8; 1];
                while !done_hog.load(Ordering::Relaxed) {
                    if stream.read(&mut byte).await.unwrap() == 0 {
                        break;
                    }
                    hog_shared.count_read();
                }
            });
            let worst = weft::spawn(overdue_reads(shared)).await.unwrap();
            done.store(true, Ordering::Relaxed);
            hog.await.unwrap();
            worst
        }
    });
    done.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let reads = shared.reads();
    println!("at most {worst} reads after a tick was due; the reader did {reads} one-byte reads");
    assert!(worst <= MAX_OVERDUE_READS, "interval starved: {worst} reads after a tick was due");
}
