//! examples/chat.rs's server (examples/chat/server.rs) over real sockets:
//! lines go to every other client, a client that leaves is reaped and the
//! others go on, an endless line ends its connection,
//! and with every client quiet the runtime polls nothing at all.

#![cfg(all(feature = "net", feature = "sync", feature = "time"))]

#[path = "../examples/chat/server.rs"]
mod server;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use weft::metrics::RuntimeMetrics;
use weft::Runtime;

/// Hang guard for every blocking read and wait: far above anything a
/// loaded machine does to a passing test.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// A server on `rt`; the sender stops it.
fn start(rt: &Runtime) -> (SocketAddr, weft::sync::oneshot::Sender<()>, weft::JoinHandle<server::Summary>) {
    let listener = rt.block_on(weft::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = weft::sync::oneshot::channel::<()>();
    let task = rt.spawn(server::serve(listener, async move {
        let _ = stopped.await;
    }));
    (addr, stop, task)
}

/// A blocking client that has read its welcome line (so the server has
/// subscribed it to the others' messages).
struct Client {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let writer = TcpStream::connect(addr).unwrap();
        writer.set_read_timeout(Some(HANG_GUARD)).unwrap();
        let mut client = Client { reader: BufReader::new(writer.try_clone().unwrap()), writer };
        assert!(client.line().starts_with("welcome "));
        client
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("a line before the hang guard");
        line
    }

    fn say(&mut self, text: &str) {
        self.writer.write_all(format!("{text}\n").as_bytes()).unwrap();
    }
}

#[test]
fn lines_go_to_every_other_client() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let (addr, stop, task) = start(&rt);
    let mut clients: Vec<Client> = (0..3).map(|_| Client::connect(addr)).collect();
    clients[0].say("hello");
    assert_eq!(clients[1].line(), "1: hello\n");
    assert_eq!(clients[2].line(), "1: hello\n");
    clients[2].say("bye");
    assert_eq!(clients[0].line(), "3: bye\n", "not echoed to the sender: the next line is from client 3");
    assert_eq!(clients[1].line(), "3: bye\n");
    drop(clients);
    stop.send(()).unwrap();
    let summary = rt.block_on(task).unwrap();
    assert_eq!(summary.accepted, 3);
}

#[test]
fn a_client_that_leaves_is_reaped_and_the_others_go_on() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let (addr, stop, task) = start(&rt);
    let leaving = Client::connect(addr);
    let mut staying = Client::connect(addr);
    drop(leaving);
    // The server learns of the exit from the leaving client's socket and
    // its task ends; the accept loop goes on (a new client is served and
    // hears the staying one).
    let mut late = Client::connect(addr);
    staying.say("still here");
    assert_eq!(late.line(), "2: still here\n");
    let start = Instant::now();
    while rt.metrics().num_alive_tasks() > 3 {
        assert!(start.elapsed() < HANG_GUARD, "the leaving client's task never ended");
        thread::sleep(Duration::from_millis(1));
    }
    stop.send(()).unwrap();
    let summary = rt.block_on(task).unwrap();
    assert_eq!(summary, server::Summary { accepted: 3, finished: 1 });
}

#[test]
fn a_line_without_end_closes_its_connection() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let (addr, stop, task) = start(&rt);
    let mut client = Client::connect(addr);
    let long = vec![b'x'; server::MAX_LINE + 2];
    // The server may close before it has read everything: a reset is as
    // good as the message.
    let _ = client.writer.write_all(&long);
    let mut rest = String::new();
    let _ = client.reader.read_line(&mut rest);
    assert!(rest.is_empty() || rest == "line too long\n", "{rest:?}");
    stop.send(()).unwrap();
    rt.block_on(task).unwrap();
}

/// Waits (bounded) until the metrics satisfy `cond`.
fn wait_for(rt: &Runtime, what: &str, cond: impl Fn(&RuntimeMetrics) -> bool) -> RuntimeMetrics {
    let start = Instant::now();
    loop {
        let m = rt.metrics();
        if cond(&m) {
            return m;
        }
        assert!(start.elapsed() < HANG_GUARD, "timed out waiting until {what}; metrics:\n{m}");
        thread::sleep(Duration::from_millis(1));
    }
}

fn parks(m: &RuntimeMetrics) -> u64 {
    m.workers()[..m.worker_threads()].iter().map(|w| w.parks()).sum()
}

/// Polls of a probe task: `PROBE_YIELDS` yields and the last poll.
const PROBE_YIELDS: u64 = 100;

/// Runs a probe task on the (one-worker) runtime and returns the total
/// polls published when the worker parked after it. The probe's last
/// poll holds the worker until the park count is read, so the park waited
/// for is one that comes after the probe: the worker parks only once its
/// queue is empty, and it publishes every poll it made before it parks.
fn polls_after_a_probe(rt: &Runtime) -> u64 {
    let (at_end, reached_end) = mpsc::channel();
    let (go, gone) = mpsc::channel::<()>();
    let probe = rt.spawn(async move {
        for _ in 0..PROBE_YIELDS {
            weft::task::yield_now().await;
        }
        at_end.send(()).unwrap();
        gone.recv_timeout(HANG_GUARD).expect("released");
    });
    reached_end.recv_timeout(HANG_GUARD).expect("the probe ran");
    let before = parks(&rt.metrics());
    go.send(()).unwrap();
    rt.block_on(probe).unwrap();
    wait_for(rt, "the worker parks after the probe", |m| parks(m) > before).total_polls()
}

/// The idle criterion: with no client, and with every client connected
/// and quiet, every task of the server waits in its `select!` and nothing
/// polls them. Between
/// two probes the runtime polls exactly the second probe's polls: one
/// spurious wake-up of any server task, or a select loop that spins
/// (an enabled branch over an empty `JoinSet` is ready at once, every
/// time), adds polls or keeps the only worker from parking.
#[test]
fn quiet_clients_leave_the_runtime_idle() {
    // One worker, so a spinning task would have to share it with the
    // probe; no stall monitor, so the probe's blocking last poll is not
    // handed off.
    let rt = Runtime::builder().worker_threads(1).stall_threshold(None).build().unwrap();
    let (addr, stop, task) = start(&rt);
    // No client yet: the accept loop's `JoinSet` is empty.
    let first = polls_after_a_probe(&rt);
    let second = polls_after_a_probe(&rt);
    assert_eq!(second - first, PROBE_YIELDS + 1, "only the probe was polled: the accept loop slept");
    let mut clients: Vec<Client> = (0..4).map(|_| Client::connect(addr)).collect();
    let n = clients.len();
    for speaker in 1..=n {
        clients[speaker - 1].say(&format!("from {speaker}"));
        for (j, other) in clients.iter_mut().enumerate() {
            if j + 1 != speaker {
                assert_eq!(other.line(), format!("{speaker}: from {speaker}\n"));
            }
        }
    }
    // Every line was delivered; now nobody speaks.
    let first = polls_after_a_probe(&rt);
    let second = polls_after_a_probe(&rt);
    assert_eq!(second - first, PROBE_YIELDS + 1, "only the probe was polled: the server's tasks slept");
    drop(clients);
    stop.send(()).unwrap();
    let summary = rt.block_on(task).unwrap();
    assert_eq!(summary.accepted, 4);
}
