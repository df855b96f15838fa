//! UDP on the netpoller: unconnected send_to/recv_from, connected
//! send/recv, a receiver that waits for a datagram, std conversions.

mod common;

use common::net::{self as util, rt};
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
