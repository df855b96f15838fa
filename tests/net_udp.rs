//! UDP on the netpoller: unconnected send_to/recv_from, connected
//! send/recv, a receiver that waits for a datagram, std conversions.

#![cfg(feature = "net")]

mod common;

use common::net::{self as util, rt};
use std::future::Future;
use std::io::ErrorKind;
use std::sync::Arc;
use weft::net::UdpSocket;

#[test]
fn send_to_and_recv_from() {
    rt(2).block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        for i in 0..50u8 {
            assert_eq!(a.send_to(&[i; 10], b_addr).await.unwrap(), 10);
            let mut buf = [0u8; 64];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!((n, from), (10, a_addr));
            assert_eq!(&buf[..n], &[i; 10]);
            b.send_to(&buf[..n], from).await.unwrap();
            let (n, from) = a.recv_from(&mut buf).await.unwrap();
            assert_eq!((n, from), (10, b_addr));
        }
    });
}

#[test]
fn connected_send_and_recv() {
    rt(1).block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        assert_eq!(a.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        a.send(b"ping").await.unwrap();
        let mut buf = [0u8; 8];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"ping");
        b.send(b"pong").await.unwrap();
        let n = a.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"pong");
    });
}

/// The receiver is parked on the netpoller before the datagram is sent.
#[test]
fn recv_waits_for_a_datagram_from_another_task() {
    rt(2).block_on(async {
        let rx = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = rx.local_addr().unwrap();
        let receiver = {
            let rx = rx.clone();
            weft::spawn(async move {
                let mut buf = [0u8; 16];
                let mut total = 0;
                for _ in 0..20 {
                    let (n, _) = rx.recv_from(&mut buf).await.unwrap();
                    total += n;
                }
                total
            })
        };
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // Twenty 5-byte datagrams fit in the receive buffer: none is dropped.
        for _ in 0..20 {
            tx.send_to(b"12345", addr).await.unwrap();
        }
        assert_eq!(receiver.await.unwrap(), 100);
        let mut buf = [0u8; 4];
        assert_eq!(rx.try_recv_from(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    });
}

#[test]
fn from_std_and_into_std() {
    rt(1).block_on(async {
        let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = std_sock.local_addr().unwrap();
        let sock = UdpSocket::from_std(std_sock).unwrap();
        let other = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        other.send_to(b"x", addr).await.unwrap();
        let mut buf = [0u8; 1];
        let (n, _) = sock.peek_from(&mut buf).await.unwrap();
        assert_eq!(n, 1);
        let (n, _) = sock.recv_from(&mut buf).await.unwrap();
        assert_eq!(n, 1);
        let back = sock.into_std().unwrap();
        assert_eq!(back.local_addr().unwrap(), addr);
    });
}

#[test]
fn outside_a_runtime_is_an_error() {
    let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    assert!(UdpSocket::from_std(std_sock).is_err());
    match util::poll_once(UdpSocket::bind("127.0.0.1:0")) {
        std::task::Poll::Ready(r) => assert!(r.is_err()),
        std::task::Poll::Pending => panic!("bind must fail at once outside a runtime"),
    }
}

/// Counts wake-ups of the waker it makes.
struct CountWake(std::sync::atomic::AtomicUsize);
impl std::task::Wake for CountWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// An ICMP "port unreachable" sets a pending socket error (EPOLLERR). Once
/// an operation has reported it, a receive with nothing queued must park
/// quietly, not spin: no self-wake-up while nothing arrives.
#[test]
fn socket_error_is_reported_once_then_recv_parks() {
    rt(1).block_on(async {
        let closed = {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            s.local_addr().unwrap()
        };
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sock.connect(closed).await.unwrap();
        sock.send(b"anyone?").await.unwrap();
        let mut buf = [0u8; 16];
        let err = sock.recv(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err:?}");

        let count = Arc::new(CountWake(std::sync::atomic::AtomicUsize::new(0)));
        let waker = std::task::Waker::from(count.clone());
        let mut recv = Box::pin(sock.recv(&mut buf));
        let polled = std::future::poll_fn(|_| {
            let mut cx = std::task::Context::from_waker(&waker);
            std::task::Poll::Ready(recv.as_mut().poll(&mut cx).is_pending())
        })
        .await;
        assert!(polled, "nothing was sent: recv must be pending");
        assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 0, "recv woke itself (busy loop)");
    });
}
