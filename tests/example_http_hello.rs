//! examples/http_hello.rs's connection handling, over a real socket: a
//! HEAD response is the head alone and the connection goes on, and every
//! request head over the limit gets 431, however the reads cut it.

#![cfg(all(feature = "net", feature = "time"))]

#[path = "../examples/http_hello/conn.rs"]
mod conn;

use std::io::ErrorKind;
use std::net::SocketAddr;
use weft::net::{TcpListener, TcpStream};

fn rt() -> weft::Runtime {
    weft::Runtime::builder().worker_threads(2).build().expect("build runtime")
}

/// Serves one connection with http_hello's handler; returns the address
/// to connect to and the task serving it.
async fn server() -> (SocketAddr, weft::JoinHandle<std::io::Result<()>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = weft::spawn(async move {
        let (stream, _) = listener.accept().await?;
        conn::serve(stream).await
    });
    (addr, task)
}

/// Reads until the server closes; returns everything it sent. A server
/// that closes with request bytes unread resets the connection after its
/// answer: the reset ends the reading too.
async fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return all,
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Reads one response head (through its blank line), byte by byte so
/// nothing after it is consumed.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

const GET_RESPONSE: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!";

#[test]
fn head_gets_the_head_alone_and_keep_alive_goes_on() {
    rt().block_on(async {
        let (addr, server) = server().await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(b"HEAD / HTTP/1.1\r\nHost: weft\r\n\r\n").await.unwrap();
        let head = read_head(&mut client).await;
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head:?}");
        assert!(head.contains("\r\nContent-Length: 13\r\n"), "the GET's length: {head:?}");
        // A conforming client reads no body after a HEAD response: the
        // next bytes on the connection must be the next response.
        client.write_all(b"GET / HTTP/1.1\r\nHost: weft\r\nConnection: close\r\n\r\n").await.unwrap();
        let rest = String::from_utf8(read_to_end(&mut client).await).unwrap();
        assert_eq!(rest, GET_RESPONSE);
        server.await.unwrap().unwrap();
    });
}

/// Sends one GET whose head is `len` bytes long (padded with a header) in
/// one write; returns the status line of the answer.
async fn status_for_head_of(len: usize) -> String {
    let (addr, server) = server().await;
    let start = "GET / HTTP/1.1\r\nHost: weft\r\nConnection: close\r\nX-Pad: ";
    let end = "\r\n\r\n";
    let head = format!("{start}{}{end}", "a".repeat(len - start.len() - end.len()));
    assert_eq!(head.len(), len);
    let mut client = TcpStream::connect(addr).await.unwrap();
    // The server may answer 431 and close before it has read the whole
    // head; the write can then fail, the answer is still there to read.
    let _ = client.write_all(head.as_bytes()).await;
    let reply = String::from_utf8(read_to_end(&mut client).await).unwrap();
    server.await.unwrap().unwrap();
    reply.lines().next().unwrap_or_default().to_string()
}

#[test]
fn heads_over_the_limit_get_431() {
    rt().block_on(async {
        for len in [conn::MAX_HEAD + 1, 10 * 1024, 12 * 1024, 16 * 1024, 20 * 1024] {
            assert_eq!(
                status_for_head_of(len).await,
                "HTTP/1.1 431 Request Header Fields Too Large",
                "a head of {len} bytes"
            );
        }
    });
}

#[test]
fn heads_up_to_the_limit_get_200() {
    rt().block_on(async {
        for len in [100, 4096, conn::MAX_HEAD] {
            assert_eq!(status_for_head_of(len).await, "HTTP/1.1 200 OK", "a head of {len} bytes");
        }
    });
}
