//! Ecosystem proof: crates written against `futures`/`futures-io` run on
//! weft unchanged. Everything below runs on a weft runtime with two
//! workers: the `futures` combinators (`join!`, `select!`,
//! `FuturesUnordered`, `StreamExt`), `async-channel`, and a futures-io
//! codec (`asynchronous-codec`) over weft's `TcpStream`. hyper on weft's
//! own adapters is in `hyper_adapters.rs` and `hyper_serve.rs`.

// Nearly every test here awaits weft timers, and the codecs and hyper run on weft sockets.
#![cfg(all(feature = "net", feature = "time"))]

use asynchronous_codec::{Framed, LengthCodec, LinesCodec};
use bytes::Bytes;
use futures::channel::{mpsc, oneshot};
use futures::stream::{self, FuturesUnordered};
use futures::{FutureExt, SinkExt, StreamExt};
use std::future::ready;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use weft::net::{TcpListener, TcpStream};
use weft::time::{interval, sleep};

fn rt() -> weft::Runtime {
    weft::Runtime::builder().worker_threads(2).build().expect("build runtime")
}

/// Counts its drops: every future that owns one is dropped exactly once.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

// ---- futures combinators ---------------------------------------------------

#[test]
fn futures_join_mixes_weft_tasks_timers_and_plain_futures() {
    rt().block_on(async {
        let task = weft::spawn(async { 40 });
        let (a, (), b) = futures::join!(task, sleep(Duration::from_millis(2)), async { 2 });
        assert_eq!(a.unwrap() + b, 42);
        let r: Result<(u32, u32), &str> =
            futures::try_join!(async { Ok(1) }, weft::spawn(async { 2 }).map(|r| Ok(r.unwrap())));
        assert_eq!(r, Ok((1, 2)));
    });
}

#[test]
fn select_biased_weft_sleep_races_a_oneshot() {
    rt().block_on(async {
        // A value that is already there wins over a long sleep.
        let (tx, rx) = oneshot::channel::<u32>();
        tx.send(7).unwrap();
        let got = futures::select_biased! {
            v = rx.fuse() => v.unwrap(),
            () = sleep(Duration::from_secs(60)).fuse() => panic!("sleep beat a ready oneshot"),
        };
        assert_eq!(got, 7);

        // No value yet: the short sleep wins, and the receiver (selected by
        // reference) still gets the value sent afterwards.
        let (tx, mut rx) = oneshot::channel::<u32>();
        futures::select_biased! {
            _ = rx => panic!("nothing was sent"),
            () = sleep(Duration::from_millis(5)).fuse() => {}
        }
        weft::spawn(async move { tx.send(9).unwrap() }).await.unwrap();
        assert_eq!(rx.await, Ok(9));
    });
}

#[test]
fn select_loop_delivers_every_channel_message_once_between_timer_ticks() {
    const N: u64 = 2_000;
    rt().block_on(async {
        let (mut tx, mut rx) = mpsc::channel::<u64>(16);
        let producer = weft::spawn(async move {
            for i in 0..N {
                tx.send(i).await.unwrap();
            }
        });
        let mut ticker = interval(Duration::from_millis(1));
        let (mut got, mut ticks) = (Vec::new(), 0u64);
        loop {
            futures::select! {
                v = rx.next() => match v {
                    Some(v) => got.push(v),
                    None => break,
                },
                _ = ticker.tick().fuse() => ticks += 1,
            }
        }
        producer.await.unwrap();
        assert_eq!(got, (0..N).collect::<Vec<_>>(), "each message once, in order");
        assert!(ticks >= 1, "the interval's first tick is immediate");
    });
}

#[test]
fn futures_unordered_collects_1000_join_handles_once_each() {
    const N: usize = 1_000;
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    rt().block_on(async move {
        let mut set: FuturesUnordered<_> = (0..N)
            .map(|i| {
                let guard = DropCount(d.clone());
                weft::spawn(async move {
                    let _guard = guard;
                    weft::task::yield_now().await;
                    i
                })
            })
            .collect();
        let mut seen = vec![0u32; N];
        while let Some(r) = set.next().await {
            seen[r.unwrap()] += 1;
        }
        assert!(seen.iter().all(|&n| n == 1), "every task's result exactly once");
    });
    assert_eq!(drops.load(SeqCst), N, "every task's future dropped exactly once");
}

#[test]
fn stream_ext_over_weft_tasks_and_an_interval_stream() {
    rt().block_on(async {
        // map -> buffer_unordered(32) of spawned tasks -> filter.
        let mut even: Vec<u64> = stream::iter(0..500u64)
            .map(|i| weft::spawn(async move { i * i }))
            .buffer_unordered(32)
            .map(|r| r.unwrap())
            .filter(|sq| ready(sq % 2 == 0))
            .collect()
            .await;
        even.sort_unstable();
        let want: Vec<u64> = (0..500u64).map(|i| i * i).filter(|sq| sq % 2 == 0).collect();
        assert_eq!(even, want);

        // weft's Interval has no `Stream` impl; `unfold` over `tick()` makes one.
        let period = Duration::from_millis(3);
        let start = std::time::Instant::now();
        let ticks: Vec<weft::time::Instant> = stream::unfold(interval(period), |mut iv| async move {
            let t = iv.tick().await;
            Some((t, iv))
        })
        .take(5)
        .collect()
        .await;
        assert!(start.elapsed() >= period * 4, "ticks never complete early");
        for w in ticks.windows(2) {
            assert_eq!(w[1] - w[0], period, "scheduled instants are one period apart");
        }
    });
}

// ---- async-channel ---------------------------------------------------------

#[test]
fn async_channel_many_producers_many_consumers_exactly_once() {
    const PRODUCERS: u64 = 6;
    const PER: u64 = 2_000;
    const CONSUMERS: usize = 3;
    rt().block_on(async {
        let (tx, rx) = async_channel::bounded::<u64>(8);
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let tx = tx.clone();
                weft::spawn(async move {
                    for i in 0..PER {
                        tx.send(p * PER + i).await.unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                let rx = rx.clone();
                // `recv` errors once every sender is gone and the buffer is empty.
                weft::spawn(async move {
                    let mut got = Vec::new();
                    while let Ok(v) = rx.recv().await {
                        got.push(v);
                    }
                    got
                })
            })
            .collect();
        drop(rx);
        for p in producers {
            p.await.unwrap();
        }
        let mut seen = vec![0u8; (PRODUCERS * PER) as usize];
        for c in consumers {
            for v in c.await.unwrap() {
                seen[v as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "every message delivered exactly once");
    });
}

// ---- futures-io codec over weft's TcpStream --------------------------------

/// Accepts one connection and echoes every frame of `codec` back; closing
/// the sink at the end shuts down the write side.
async fn codec_echo_server<C, T>(codec: C) -> (SocketAddr, weft::JoinHandle<()>)
where
    C: asynchronous_codec::Decoder<Item = T, Error = std::io::Error> + Send + 'static,
    C: for<'a> asynchronous_codec::Encoder<Item<'a> = T, Error = std::io::Error>,
    T: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = weft::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        let (sink, frames) = Framed::new(sock, codec).split();
        frames.forward(sink).await.unwrap();
    });
    (addr, server)
}

#[test]
fn lines_codec_echo_1000_pipelined_frames() {
    const N: usize = 1_000;
    rt().block_on(async {
        let (addr, server) = codec_echo_server(LinesCodec).await;
        let sock = TcpStream::connect(addr).await.unwrap();
        let (mut sink, mut frames) = Framed::new(sock, LinesCodec).split();
        let writer = weft::spawn(async move {
            let mut lines = stream::iter(0..N).map(|i| Ok(format!("line {i}\n")));
            sink.send_all(&mut lines).await.unwrap();
            sink.close().await.unwrap(); // FIN: the server's stream ends
        });
        for i in 0..N {
            assert_eq!(frames.next().await.unwrap().unwrap(), format!("line {i}\n"));
        }
        assert!(frames.next().await.is_none(), "server closed after the last frame");
        writer.await.unwrap();
        server.await.unwrap();
    });
}

#[test]
fn length_codec_echo_1000_round_trips() {
    rt().block_on(async {
        let (addr, server) = codec_echo_server(LengthCodec).await;
        let mut framed = Framed::new(TcpStream::connect(addr).await.unwrap(), LengthCodec);
        for i in 0..1_000usize {
            let frame: Bytes = (0..(i * 37) % 5_000).map(|j| (i + j) as u8).collect();
            framed.send(frame.clone()).await.unwrap();
            assert_eq!(framed.next().await.unwrap().unwrap(), frame, "frame {i}");
        }
        framed.close().await.unwrap();
        assert!(framed.next().await.is_none());
        server.await.unwrap();
    });
}
