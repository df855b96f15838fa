//! Wait reasons and await sites in task dumps (`TaskInfo::wait`,
//! `TaskDump::waiting_on`, the grouped `Display`).
//!
//! Each test parks a task on one weft leaf future and waits (a deadline
//! loop over dumps, the hang guard, not the verdict) until the dump shows
//! it idle; the verdict is the kind and the line of the call.
#![cfg(all(feature = "sync", feature = "time"))]

mod common;

use common::dump::{rt, wait_for};
use std::future::pending;
use std::time::Duration;
use weft::task::{Id, TaskDump, TaskState, TaskWait, WaitKind};

/// The wait of task `id` once the dump shows it idle with a wait of `kind`.
#[track_caller]
fn wait_of(rt: &weft::Runtime, id: Id, kind: WaitKind) -> TaskWait {
    wait_for(&format!("task {id} waiting on {kind}"), || {
        let dump = rt.dump();
        let t = dump.tasks().iter().find(|t| t.id() == id)?;
        t.wait().filter(|w| w.kind() == kind)
    })
}

#[track_caller]
fn assert_site(wait: &TaskWait, line: u32) {
    let site = wait.site().unwrap_or_else(|| panic!("no site in {wait:?}"));
    assert_eq!((site.file(), site.line()), (file!(), line), "{wait:?}");
}

#[test]
fn a_task_parked_on_mpsc_recv_shows_the_line_of_the_call() {
    let rt = rt(1);
    let (tx, mut rx) = weft::sync::mpsc::channel::<u8>(1);
    let line = line!() + 1;
    let task = rt.spawn(async move { rx.recv().await });
    let wait = wait_of(&rt, task.id(), WaitKind::MpscRecv);
    assert_site(&wait, line);
    assert_eq!(wait.kind().to_string(), "mpsc recv");
    drop(tx);
    assert_eq!(rt.block_on(task).unwrap(), None);
}

/// A second wait of the same kind at another call replaces the recorded
/// site (a repeat of the same wait leaves the header as it is; a new
/// site must still be written).
#[test]
fn a_second_wait_of_the_same_kind_shows_the_new_line() {
    let rt = rt(1);
    let (tx1, mut rx1) = weft::sync::mpsc::channel::<u8>(1);
    let (tx2, mut rx2) = weft::sync::mpsc::channel::<u8>(1);
    let first = line!() + 3;
    let second = first + 1;
    let task = rt.spawn(async move {
        let a = rx1.recv().await;
        let b = rx2.recv().await;
        (a, b)
    });
    assert_site(&wait_of(&rt, task.id(), WaitKind::MpscRecv), first);
    tx1.try_send(1).unwrap();
    let moved = wait_for(&format!("task {} waiting at line {second}", task.id()), || {
        let dump = rt.dump();
        let t = dump.tasks().iter().find(|t| t.id() == task.id())?;
        t.wait().filter(|w| w.site().is_some_and(|s| s.line() == second))
    });
    assert_eq!(moved.kind(), WaitKind::MpscRecv);
    assert_site(&moved, second);
    tx2.try_send(2).unwrap();
    assert_eq!(rt.block_on(task).unwrap(), (Some(1), Some(2)));
}

#[test]
fn every_channel_family_records_its_own_kind() {
    let rt = rt(2);
    // mpsc send on a full channel.
    let (full_tx, _full_rx) = weft::sync::mpsc::channel::<u8>(1);
    full_tx.try_send(0).unwrap();
    let send_line = line!() + 1;
    let send = rt.spawn(async move { full_tx.send(1).await });
    // unbounded recv.
    let (_utx, mut urx) = weft::sync::mpsc::unbounded_channel::<u8>();
    let urecv_line = line!() + 1;
    let urecv = rt.spawn(async move { urx.recv().await });
    // oneshot: the site is where the channel was made.
    let oneshot_line = line!() + 1;
    let (_otx, orx) = weft::sync::oneshot::channel::<u8>();
    let oneshot = rt.spawn(orx);
    // broadcast recv.
    let (_btx, mut brx) = weft::sync::broadcast::channel::<u8>(4);
    let brecv_line = line!() + 1;
    let brecv = rt.spawn(async move { brx.recv().await.ok() });
    // watch changed.
    let (_wtx, mut wrx) = weft::sync::watch::channel(0u8);
    let watch_line = line!() + 1;
    let watch = rt.spawn(async move { wrx.changed().await.ok() });
    // mpmc recv and send.
    let (mtx, mrx) = weft::sync::mpmc::channel::<u8>(1);
    let mrecv_line = line!() + 1;
    let mrecv = rt.spawn(async move { mrx.recv().await });
    let (mtx2, _mrx2) = weft::sync::mpmc::channel::<u8>(1);
    mtx2.try_send(0).unwrap();
    let msend_line = line!() + 1;
    let msend = rt.spawn(async move { mtx2.send(1).await.ok() });

    for (id, kind, line) in [
        (send.id(), WaitKind::MpscSend, send_line),
        (urecv.id(), WaitKind::MpscRecv, urecv_line),
        (oneshot.id(), WaitKind::OneshotRecv, oneshot_line),
        (brecv.id(), WaitKind::BroadcastRecv, brecv_line),
        (watch.id(), WaitKind::WatchChanged, watch_line),
        (mrecv.id(), WaitKind::MpmcRecv, mrecv_line),
        (msend.id(), WaitKind::MpmcSend, msend_line),
    ] {
        assert_site(&wait_of(&rt, id, kind), line);
    }
    drop(mtx);
}

#[test]
fn a_task_parked_on_sleep_shows_sleep() {
    let rt = rt(1);
    let line = line!() + 1;
    let task = rt.spawn(async { weft::time::sleep(Duration::from_secs(3600)).await });
    assert_site(&wait_of(&rt, task.id(), WaitKind::Sleep), line);
    task.abort();
}

#[test]
fn an_interval_tick_shows_interval_tick() {
    let rt = rt(1);
    let (first_tx, first) = std::sync::mpsc::channel();
    let line = line!() + 5;
    let task = rt.spawn(async move {
        let mut every = weft::time::interval(Duration::from_secs(3600));
        every.tick().await; // the first tick is (almost) immediate
        first_tx.send(()).unwrap();
        every.tick().await;
    });
    first.recv().unwrap();
    assert_site(&wait_of(&rt, task.id(), WaitKind::IntervalTick), line);
    task.abort();
}

#[test]
fn an_external_future_shows_external_with_the_last_weft_site() {
    let rt = rt(1);
    let line = line!() + 2;
    let task = rt.spawn(async {
        weft::time::sleep(Duration::from_millis(1)).await;
        pending::<()>().await
    });
    let wait = wait_of(&rt, task.id(), WaitKind::External);
    assert_site(&wait, line);
    assert_eq!(wait.kind().to_string(), "external");
    // A task that never met a weft future has no site.
    let bare = rt.spawn(pending::<()>());
    assert_eq!(wait_of(&rt, bare.id(), WaitKind::External).site(), None);
}

#[test]
fn waits_outside_any_weft_task_are_not_recorded() {
    // block_on's own future is no task: nothing to record, nothing breaks.
    let rt = rt(1);
    rt.block_on(async {
        let (tx, mut rx) = weft::sync::mpsc::channel::<u8>(1);
        weft::spawn(async move { tx.send(1).await.unwrap() });
        assert_eq!(rx.recv().await, Some(1));
    });
}

fn count(dump: &TaskDump, kind: WaitKind) -> usize {
    dump.waiting_on(kind).len()
}

#[test]
fn display_groups_by_wait_and_site_and_the_filter_selects_by_kind() {
    let rt = rt(2);
    let (tx, rx) = weft::sync::mpmc::channel::<u8>(1);
    let mut joins = Vec::new();
    // Spawned and awaited on the same line.
    let recv_line = line!() + 3;
    for _ in 0..5 {
        let rx = rx.clone();
        joins.push(rt.spawn(async move { rx.recv().await }));
    }
    let sleep_line = line!() + 1;
    let sleeper = rt.spawn(async { weft::time::sleep(Duration::from_secs(3600)).await });
    let dump = wait_for("5 receivers and a sleeper idle", || {
        let d = rt.dump();
        (count(&d, WaitKind::MpmcRecv) == 5 && count(&d, WaitKind::Sleep) == 1).then_some(d)
    });
    assert_eq!(dump.waiting_on(WaitKind::MutexLock).len(), 0);
    assert!(dump.waiting_on(WaitKind::Sleep).tasks().iter().all(|t| t.id() == sleeper.id()));
    assert!(dump.waiting_on(WaitKind::MpmcRecv).tasks().iter().all(|t| t.state() == TaskState::Idle));

    let text = dump.to_string();
    println!("{text}");
    let line =
        text.lines().find(|l| l.starts_with("5 tasks [mpmc recv, ")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains(&format!("] at {}:{recv_line}:", file!())), "{line}");
    assert!(line.contains(&format!(", spawned at {}:{recv_line}:", file!())), "{line}");
    let line = text.lines().find(|l| l.starts_with("1 task [sleep, ")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains(&format!("] at {}:{sleep_line}:", file!())), "{line}");
    drop(tx);
    sleeper.abort();
}

#[test]
fn locks_semaphores_notify_barrier_and_once_cell_record_their_kinds() {
    use std::sync::Arc;
    let rt = rt(2);
    let mutex = Arc::new(weft::sync::Mutex::new(0));
    let held = mutex.try_lock().unwrap();
    let m = mutex.clone();
    let mutex_line = line!() + 1;
    let locker = rt.spawn(async move { *m.lock().await += 1 });

    let rw = Arc::new(weft::sync::RwLock::new(0));
    let written = rw.try_write().unwrap();
    let (r1, r2) = (rw.clone(), rw.clone());
    let read_line = line!() + 1;
    let reader = rt.spawn(async move { *r1.read().await });
    let write_line = line!() + 1;
    let writer = rt.spawn(async move { *r2.write().await += 1 });

    let sem = Arc::new(weft::sync::Semaphore::new(0));
    let s = sem.clone();
    let sem_line = line!() + 1;
    let acquirer = rt.spawn(async move { s.acquire().await.map(drop).ok() });

    let notify = Arc::new(weft::sync::Notify::new());
    let n = notify.clone();
    let notify_line = line!() + 1;
    let notified = rt.spawn(async move { n.notified().await });

    let barrier = Arc::new(weft::sync::Barrier::new(2));
    let b = barrier.clone();
    let barrier_line = line!() + 1;
    let waiter = rt.spawn(async move { b.wait().await.is_leader() });

    let cell = Arc::new(weft::sync::OnceCell::<u8>::new());
    let (init_started_tx, init_started) = std::sync::mpsc::channel();
    let c1 = cell.clone();
    let initialiser = rt.spawn(async move {
        *c1.get_or_init(|| async move {
            init_started_tx.send(()).unwrap();
            pending::<u8>().await
        })
        .await
    });
    init_started.recv().unwrap();
    let c2 = cell.clone();
    let cell_line = line!() + 1;
    let second = rt.spawn(async move { *c2.get_or_init(|| async { 1 }).await });

    for (id, kind, line) in [
        (locker.id(), WaitKind::MutexLock, mutex_line),
        (reader.id(), WaitKind::RwLockRead, read_line),
        (writer.id(), WaitKind::RwLockWrite, write_line),
        (acquirer.id(), WaitKind::SemaphoreAcquire, sem_line),
        (notified.id(), WaitKind::Notify, notify_line),
        (waiter.id(), WaitKind::Barrier, barrier_line),
        (second.id(), WaitKind::OnceCell, cell_line),
    ] {
        assert_site(&wait_of(&rt, id, kind), line);
    }
    // The initialiser waits inside its own init future, not on the cell.
    assert_eq!(wait_of(&rt, initialiser.id(), WaitKind::External).site(), None);

    drop(held);
    drop(written);
    sem.add_permits(1);
    notify.notify_one();
    rt.block_on(async {
        barrier.wait().await;
        locker.await.unwrap();
        reader.await.unwrap();
        writer.await.unwrap();
        acquirer.await.unwrap();
        notified.await.unwrap();
        waiter.await.unwrap();
    });
    initialiser.abort();
    second.abort();
}

#[test]
fn join_handles_and_join_sets_record_join_kinds() {
    let rt = rt(2);
    let never = rt.spawn(pending::<()>());
    let joiner = rt.spawn(async move { never.await.ok() });
    let wait = wait_of(&rt, joiner.id(), WaitKind::Join);
    assert_eq!(wait.site(), None, "a JoinHandle has no construction site of the awaiting task's");
    assert_eq!(wait.kind().to_string(), "join");

    let set_line = line!() + 4;
    let set_task = rt.spawn(async {
        let mut set = weft::task::JoinSet::new();
        set.spawn(pending::<()>());
        set.join_next().await.map(|r| r.is_ok())
    });
    assert_site(&wait_of(&rt, set_task.id(), WaitKind::JoinSet), set_line);
    joiner.abort();
    set_task.abort();
}

#[test]
fn a_context_waits_on_cancellation() {
    let rt = rt(1);
    let (ctx, cancel) = weft::context::Context::background().with_cancel();
    let line = line!() + 1;
    let task = rt.spawn(async move { ctx.cancelled().await });
    assert_site(&wait_of(&rt, task.id(), WaitKind::ContextDone), line);
    cancel.cancel();
    rt.block_on(task).unwrap();
}

#[cfg(feature = "net")]
#[test]
fn sockets_record_accept_and_read_with_the_call_site() {
    let rt = rt(2);
    let (listener, addr) = rt.block_on(async {
        let l = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        (l, addr)
    });
    let accept_line = line!() + 2;
    let acceptor = rt.spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 8];
        conn.read(&mut buf).await.unwrap()
    });
    assert_site(&wait_of(&rt, acceptor.id(), WaitKind::Accept), accept_line);
    let client = std::net::TcpStream::connect(addr).unwrap();
    assert_site(&wait_of(&rt, acceptor.id(), WaitKind::IoRead), accept_line + 2);
    drop(client);
    assert_eq!(rt.block_on(acceptor).unwrap(), 0, "EOF once the client is gone");
}

#[cfg(feature = "fs")]
#[test]
fn fs_operations_wait_on_the_blocking_pool() {
    let rt = rt(1);
    let dir = std::env::temp_dir().join(format!("weft-dump-wait-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo");
    let _ = std::fs::remove_file(&fifo);
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only reads it.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    /// Opens the FIFO for writing and closes it, which lets the pool
    /// thread blocked opening it for reading go (also if an assertion
    /// fails: the runtime's drop waits for that thread).
    struct Release(std::path::PathBuf);
    impl Drop for Release {
        fn drop(&mut self) {
            drop(std::fs::OpenOptions::new().write(true).open(&self.0));
        }
    }
    let path = fifo.clone();
    // Opening a FIFO for reading blocks (on the pool) until a writer opens it.
    let line = line!() + 1;
    let reader = rt.spawn(async move { weft::fs::read(&path).await.map(|v| v.len()) });
    let release = Release(fifo);
    assert_site(&wait_of(&rt, reader.id(), WaitKind::Blocking), line);
    drop(release);
    assert_eq!(rt.block_on(reader).unwrap().unwrap(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "process")]
#[test]
fn a_child_wait_shows_process_wait() {
    let rt = rt(1);
    let line = line!() + 8;
    let task = rt.spawn(async move {
        let mut child = weft::process::Command::new("cat")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let status = child.wait().await;
        drop(stdin);
        status.map(|s| s.success()).ok()
    });
    assert_site(&wait_of(&rt, task.id(), WaitKind::ProcessWait), line);
    task.abort();
}
