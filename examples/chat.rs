//! A TCP chat server: every line a client sends goes to every other
//! client. Each connection is one task running a `weft::select!` loop over
//! its socket and a broadcast channel; the accept loop selects over new
//! connections, finished clients (a `JoinSet`) and shutdown.
//! Quiet clients cost nothing: the runtime polls no task and the workers
//! sleep (tests/example_chat.rs checks it with the runtime's metrics).
//!
//! Run: `cargo run --release --example chat -- [ADDR]` (default
//! `127.0.0.1:7000`), then `nc 127.0.0.1 7000` in two terminals.
//!
//! `--once`: serve on a free port, connect two clients, relay a line from
//! one to the other, check what arrived, shut down; exit 0 on success (a
//! self-check for CI).

#[path = "chat/server.rs"]
mod server;

use std::io;
use weft::net::{TcpListener, TcpStream};

fn main() -> io::Result<()> {
    let arg = std::env::args().nth(1);
    let rt = weft::Runtime::new()?;
    if arg.as_deref() == Some("--once") {
        return rt.block_on(once());
    }
    let addr = arg.unwrap_or_else(|| "127.0.0.1:7000".to_string());
    rt.block_on(async move {
        let listener = TcpListener::bind(addr.as_str()).await?;
        println!("chat on {} (connect with `nc`)", listener.local_addr()?);
        let summary = server::serve(listener, std::future::pending()).await;
        println!("{summary:?}");
        Ok(())
    })
}

/// The `--once` self-check.
async fn once() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = weft::sync::oneshot::channel::<()>();
    let server = weft::spawn(server::serve(listener, async move {
        let _ = stopped.await;
    }));
    let mut alice = Client::connect(addr).await?;
    let mut bob = Client::connect(addr).await?;
    expect(&alice.line().await?, "welcome 1")?;
    expect(&bob.line().await?, "welcome 2")?;
    alice.stream.write_all(b"hello, bob\n").await?;
    expect(&bob.line().await?, "1: hello, bob")?;
    bob.stream.write_all(b"hi alice\n").await?;
    expect(&alice.line().await?, "2: hi alice")?;
    drop(bob);
    let _ = stop.send(());
    let summary = server.await.map_err(|e| io::Error::other(e.to_string()))?;
    println!("chat --once: ok ({summary:?})");
    Ok(())
}

fn expect(got: &str, want: &str) -> io::Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(io::Error::other(format!("expected {want:?}, got {got:?}")))
    }
}

/// A client that reads line by line.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    async fn connect(addr: std::net::SocketAddr) -> io::Result<Client> {
        Ok(Client { stream: TcpStream::connect(addr).await?, buf: Vec::new() })
    }

    /// The next line, without its newline.
    async fn line(&mut self) -> io::Result<String> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=end).collect();
                return Ok(String::from_utf8_lossy(&line[..end]).into_owned());
            }
            let mut chunk = [0u8; 1024];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "server closed the connection"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}
