//! http_hello's connection handling: reads request heads, answers each
//! with "Hello, world!". A file of its own so that tests/example_http_hello.rs
//! can include it and drive it over a real socket.

use std::io;
use weft::net::TcpStream;

/// The largest request head (request line, headers and the blank line
/// ending them) answered; a longer one gets 431.
pub const MAX_HEAD: usize = 8 * 1024;

/// The response head to GET (and to HEAD, which gets no body): its
/// `Content-Length` is `BODY`'s length.
const HELLO_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n";
const BODY: &[u8] = b"Hello, world!";

const BAD_REQUEST: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
const TOO_LARGE: &[u8] =
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// The end of the first request head in `buf` (just past its blank line).
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// What a request head asks of us.
enum Head {
    /// Answer it; `head_only` for a HEAD request (the response head, no
    /// body); `close` when the client asked to close after it.
    Ok {
        close: bool,
        head_only: bool,
    },
    Bad,
}

fn parse(head: &[u8]) -> Head {
    let Ok(text) = std::str::from_utf8(head) else { return Head::Bad };
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(_path), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Head::Bad;
    };
    if method.is_empty() || !version.starts_with("HTTP/1.") {
        return Head::Bad;
    }
    let mut close = version == "HTTP/1.0";
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        } else if (name.eq_ignore_ascii_case("content-length") && value != "0")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            // Request bodies are not supported.
            return Head::Bad;
        }
    }
    Head::Ok { close, head_only: method == "HEAD" }
}

/// Answers every request on `stream` until the client closes, asks to
/// close, or sends a bad or too large head.
pub async fn serve(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let mut out = Vec::with_capacity(4096);
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        // Answer every complete (possibly pipelined) request in the buffer.
        let mut close = false;
        while let Some(end) = find_head_end(&buf) {
            // A complete head is measured too, not only an incomplete
            // one: a read can bring a whole long head at once.
            let answer = if end > MAX_HEAD { None } else { Some(parse(&buf[..end])) };
            match answer {
                Some(Head::Ok { close: c, head_only }) => {
                    out.extend_from_slice(HELLO_HEAD);
                    if !head_only {
                        out.extend_from_slice(BODY);
                    }
                    close = c;
                }
                Some(Head::Bad) => {
                    out.extend_from_slice(BAD_REQUEST);
                    close = true;
                }
                None => {
                    out.extend_from_slice(TOO_LARGE);
                    close = true;
                }
            }
            buf.drain(..end);
            if close {
                break;
            }
        }
        // What is left is the start of a head: past the limit, it can
        // only end as a head over it.
        if !close && buf.len() > MAX_HEAD {
            out.extend_from_slice(TOO_LARGE);
            close = true;
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        if close {
            return stream.shutdown(std::net::Shutdown::Write);
        }
    }
}
