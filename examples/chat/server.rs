//! The chat server of examples/chat.rs (also driven by
//! tests/example_chat.rs): every line a client sends goes to every other
//! client, prefixed with the sender's number.
//!
//! Each loop is one `weft::select!`, and every future in it is
//! cancel-safe, so a branch that loses loses nothing:
//!
//! - the accept loop waits for a connection, for a client task to finish
//!   (the `JoinSet` branch, disabled while the set is empty: an empty set
//!   answers `None` at once, and without the precondition the loop would
//!   spin), or for shutdown;
//! - a client's loop waits for bytes from its socket or for a message from
//!   the others (a broadcast channel).
//!
//! With every client quiet, every task waits in its `select!` and the
//! runtime polls nothing: the workers sleep.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use weft::net::{TcpListener, TcpStream};
use weft::sync::broadcast::{self, error::RecvError};
use weft::task::JoinSet;

/// Lines longer than this end the connection (a client that never sends
/// a newline cannot make the server buffer without bound).
pub const MAX_LINE: usize = 8 * 1024;

/// Messages kept for slow clients; a client further behind is told how
/// many it missed.
const BACKLOG: usize = 1024;

/// How long the accept loop pauses after a failed accept when no client
/// leaves first.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// One line from one client, shared by every receiver.
#[derive(Clone, Debug)]
struct Message {
    from: u64,
    line: Arc<[u8]>,
}

/// What a server run did, returned at shutdown.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Connections accepted.
    pub accepted: u64,
    /// Client tasks that ended before shutdown.
    pub finished: u64,
}

/// Serves clients on `listener` until `shutdown` completes; then ends
/// every client task and returns what happened.
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()>) -> Summary {
    let (tx, _) = broadcast::channel::<Message>(BACKLOG);
    let mut clients = JoinSet::new();
    let mut summary = Summary::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        weft::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    summary.accepted += 1;
                    // Subscribed before the task starts: no message sent
                    // after the accept is missed.
                    clients.spawn(client(summary.accepted, stream, tx.clone(), tx.subscribe()));
                }
                // Out of descriptors: the connection stays queued and the
                // next accept would fail at once. Wait for a client to
                // leave, a pause, or shutdown before trying again.
                Err(e) => {
                    eprintln!("chat: accept failed: {e}");
                    weft::select! {
                        Some(_) = clients.join_next(), if !clients.is_empty() => summary.finished += 1,
                        () = weft::time::sleep(ACCEPT_BACKOFF) => {}
                        () = &mut shutdown => break,
                    }
                }
            },
            Some(_) = clients.join_next(), if !clients.is_empty() => summary.finished += 1,
            () = &mut shutdown => break,
        }
    }
    // Clients that ended but were not reaped yet (shutdown won the
    // select) count as finished; the rest are aborted.
    while clients.try_join_next().is_some() {
        summary.finished += 1;
    }
    clients.shutdown().await;
    summary
}

/// One client: its lines out to the others, theirs in to it.
async fn client(
    id: u64,
    mut stream: TcpStream,
    tx: broadcast::Sender<Message>,
    mut rx: broadcast::Receiver<Message>,
) {
    if stream.write_all(format!("welcome {id}\n").as_bytes()).await.is_err() {
        return;
    }
    let mut buf = vec![0u8; 4096];
    let mut partial = Vec::new();
    loop {
        weft::select! {
            read = stream.read(&mut buf) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                partial.extend_from_slice(&buf[..n]);
                while let Some(end) = partial.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = partial.drain(..=end).collect();
                    // No receiver (everyone else left) is not an error.
                    let _ = tx.send(Message { from: id, line: line.into() });
                }
                if partial.len() > MAX_LINE {
                    let _ = stream.write_all(b"line too long\n").await;
                    return;
                }
            }
            msg = rx.recv() => {
                let out = match msg {
                    Ok(Message { from, .. }) if from == id => continue,
                    Ok(Message { from, line }) => [format!("{from}: ").as_bytes(), &line[..]].concat(),
                    Err(RecvError::Lagged(n)) => format!("({n} messages missed)\n").into_bytes(),
                    Err(RecvError::Closed) => return,
                };
                if stream.write_all(&out).await.is_err() {
                    return;
                }
            }
        }
    }
}
