//! `Stream` on weft's types: mpsc receivers (bounded and unbounded), mpmc
//! receivers (clones share the messages, each ends after the close),
//! `BroadcastStream` (lag reported, then the stream goes on), `WatchStream`
//! (current value first or changes only, intermediate values skipped),
//! `Interval` (the scheduled instants), and the TCP and Unix listeners
//! (each connection once). Awaited through `futures::StreamExt`, as users
//! do.

#![cfg(all(feature = "sync", feature = "time", feature = "net"))]

use futures::StreamExt;
use std::collections::HashSet;
use std::time::Duration;
use weft::stream::{BroadcastStream, Lagged, Stream, WatchStream};

fn runtime() -> weft::Runtime {
    weft::Runtime::builder().worker_threads(2).build().expect("runtime")
}

#[test]
fn mpsc_receiver_streams_every_message_in_order_and_ends() {
    runtime().block_on(async {
        let (tx, rx) = weft::sync::mpsc::channel(4);
        weft::spawn(async move {
            for i in 0..100u32 {
                tx.send(i).await.unwrap();
            }
        });
        let got: Vec<u32> = rx.collect().await;
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    });
}

#[test]
fn unbounded_receiver_streams_every_message_and_hints_its_length() {
    runtime().block_on(async {
        let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
        for i in 0..10u32 {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.size_hint(), (10, None));
        assert_eq!(rx.next().await, Some(0));
        drop(tx);
        let rest: Vec<u32> = rx.collect().await;
        assert_eq!(rest, (1..10).collect::<Vec<_>>());
    });
}

/// Many clones of one mpmc receiver, each polled as a stream by its own
/// task, share the messages of many producers: every message reaches
/// exactly one stream, and every stream ends once the channel is closed
/// and drained.
fn mpmc_streams_share_the_work(cap: usize) {
    const PRODUCERS: u32 = 4;
    const PER_PRODUCER: u32 = 2_000;
    runtime().block_on(async {
        let (tx, rx) = weft::sync::mpmc::channel::<u32>(cap);
        let consumers: Vec<_> = (0..4).map(|_| weft::spawn(rx.clone().collect::<Vec<u32>>())).collect();
        drop(rx);
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let tx = tx.clone();
                weft::spawn(async move {
                    for i in 0..PER_PRODUCER {
                        tx.send(p * PER_PRODUCER + i).await.unwrap();
                    }
                })
            })
            .collect();
        for p in producers {
            p.await.unwrap();
        }
        tx.close(); // a sender is still alive: the close alone ends the streams
        let mut all = Vec::new();
        for c in consumers {
            let got = c.await.expect("the stream ended after the close");
            // Each producer's messages reach one stream in the order sent.
            for p in 0..PRODUCERS {
                let mine: Vec<_> = got.iter().filter(|&&m| m / PER_PRODUCER == p).collect();
                assert!(mine.windows(2).all(|w| w[0] < w[1]), "producer {p}'s messages out of order");
            }
            all.extend(got);
        }
        let n = all.len();
        let distinct: HashSet<u32> = all.into_iter().collect();
        assert_eq!(distinct.len(), n, "no message reached two streams");
        assert_eq!(distinct, (0..PRODUCERS * PER_PRODUCER).collect(), "every message reached a stream");
    });
}

#[test]
fn mpmc_receivers_as_streams_share_the_work_and_end_after_close() {
    mpmc_streams_share_the_work(8);
}

#[test]
fn mpmc_rendezvous_receivers_as_streams_share_the_work_and_end_after_close() {
    mpmc_streams_share_the_work(0);
}

#[test]
fn broadcast_stream_reports_the_lag_then_goes_on_and_ends() {
    runtime().block_on(async {
        let (tx, rx) = weft::sync::broadcast::channel(2);
        for i in 1..=5u32 {
            tx.send(i).unwrap();
        }
        drop(tx);
        let got: Vec<_> = BroadcastStream::new(rx).collect().await;
        assert_eq!(got, [Err(Lagged(3)), Ok(4), Ok(5)]);
    });
}

#[test]
fn broadcast_stream_waits_for_values_sent_later() {
    runtime().block_on(async {
        // Room for every value: no lag, however the two tasks interleave.
        let (tx, rx) = weft::sync::broadcast::channel(64);
        let mut stream = BroadcastStream::from(rx);
        let sender = weft::spawn(async move {
            for i in 0..50u32 {
                tx.send(i).unwrap();
                weft::task::yield_now().await;
            }
        });
        let mut got = Vec::new();
        while let Some(item) = stream.next().await {
            got.push(item.expect("64 slots for 50 values"));
            if got.len() == 50 {
                break;
            }
        }
        sender.await.unwrap();
        assert_eq!(stream.next().await, None, "the sender is gone");
        assert_eq!(got, (0..50).collect::<Vec<_>>());
    });
}

#[test]
fn watch_stream_starts_with_the_current_value_then_each_change() {
    runtime().block_on(async {
        let (tx, rx) = weft::sync::watch::channel(0u32);
        let mut values = WatchStream::new(rx);
        assert_eq!(values.next().await, Some(0));
        tx.send(1).unwrap();
        assert_eq!(values.next().await, Some(1));
        tx.send(2).unwrap();
        tx.send(3).unwrap();
        assert_eq!(values.next().await, Some(3), "values sent between two polls are skipped");
        drop(tx);
        assert_eq!(values.next().await, None);
    });
}

#[test]
fn watch_stream_from_changes_waits_for_a_change() {
    runtime().block_on(async {
        let (tx, rx) = weft::sync::watch::channel("a");
        let mut changes = WatchStream::from_changes(rx);
        let next = weft::spawn(async move { changes.next().await });
        // The stream may or may not be waiting yet; either way the value
        // it yields is the one sent, not the initial one.
        tx.send("b").unwrap();
        assert_eq!(next.await.unwrap(), Some("b"));
    });
}

#[test]
fn interval_streams_its_scheduled_instants() {
    runtime().block_on(async {
        let period = Duration::from_millis(2);
        let ticks: Vec<_> = weft::time::interval(period).take(4).collect().await;
        assert_eq!(ticks.len(), 4);
        for pair in ticks.windows(2) {
            assert_eq!(pair[1] - pair[0], period, "the default (Burst) keeps the schedule");
        }
    });
}

#[test]
fn tcp_listener_streams_each_connection_once() {
    runtime().block_on(async {
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let clients: Vec<_> = (0..3).map(|_| std::net::TcpStream::connect(addr).unwrap()).collect();
        let accepted: Vec<_> = listener.take(3).collect().await;
        let peers: HashSet<_> = accepted.into_iter().map(|s| s.unwrap().peer_addr().unwrap()).collect();
        let expected: HashSet<_> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
        assert_eq!(peers, expected);
    });
}

#[test]
fn unix_listener_streams_each_connection_once() {
    let dir = std::env::temp_dir().join(format!("weft-stream-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sock");
    runtime().block_on(async {
        let mut listener = weft::net::UnixListener::bind(&path).unwrap();
        let _clients: Vec<_> =
            (0..3).map(|_| std::os::unix::net::UnixStream::connect(&path).unwrap()).collect();
        for _ in 0..3 {
            let stream = listener.next().await.expect("never ends").expect("accepted");
            drop(stream);
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
