//! A TCP echo server: every connection gets its own task that sends back
//! whatever it reads.
//!
//! ```text
//! cargo run --example echo_server -- 127.0.0.1:7000
//! nc 127.0.0.1 7000
//! ```

use std::io;
use weft::net::TcpListener;

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:7000".to_string());
    let rt = weft::Runtime::new()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!("echoing on {}", listener.local_addr()?);
        loop {
            let (mut socket, peer) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors, for example: the connection
                    // stays queued and an immediate retry fails again, so
                    // back off. (This loop runs on the `block_on` thread,
                    // not a worker, so a blocking sleep stalls only it.)
                    eprintln!("accept failed: {e}");
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    continue;
                }
            };
            weft::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    match socket.read(&mut buf).await {
                        Ok(0) => break,
                        Ok(n) => {
                            if let Err(e) = socket.write_all(&buf[..n]).await {
                                eprintln!("{peer}: write failed: {e}");
                                break;
                            }
                        }
                        Err(e) => {
                            eprintln!("{peer}: read failed: {e}");
                            break;
                        }
                    }
                }
            });
        }
    })
}
