//! A gRPC service on weft with tonic: the server is served by
//! `weft::hyper::serve` (HTTP/2 with prior knowledge, as gRPC clients speak
//! it without TLS) and the client is tonic's `client::Grpc` over hyper's
//! HTTP/2 client on a weft socket. No tokio runtime runs, and no `protoc`
//! is needed: examples/grpc/greeter.rs holds the messages and the service
//! and client glue, written the way tonic's code generator writes them.
//! Needs the `hyper` feature.
//!
//! Run: `cargo run --release --example grpc --features hyper -- [ADDR] [--seconds N] [--once]`
//! (default `127.0.0.1:50051`), then call it with any gRPC client, e.g.
//! `grpcurl -plaintext -proto greeter.proto -d '{"name":"you"}' 127.0.0.1:50051 greeter.Greeter/SayHello`
//! with the `.proto` from greeter.rs's header.
//!
//! The server stops gracefully after `--seconds N` (and in `--once`): it
//! stops accepting, lets the calls in flight finish (streams included,
//! cancelling what is left after 10 s) and returns.
//!
//! `--once` is a self-check (CI runs it): it binds an ephemeral port, makes
//! one unary, one server-streaming and one client-streaming call to itself,
//! prints the replies, shuts the server down gracefully and exits 0 only
//! if every call and the server succeeded.

#[path = "grpc/greeter.rs"]
mod greeter;

use futures::StreamExt;
use greeter::{Greeter, GreeterClient, GreeterServer, H2Channel, HelloReply, HelloRequest};
use std::error::Error;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::time::Duration;
use tonic::{Request, Response, Status, Streaming};
use weft::hyper::{serve, TowerToHyperService};
use weft::net::TcpListener;
use weft::sync::Notify;

type BoxError = Box<dyn Error + Send + Sync>;

/// The service itself: what a user writes; the rest is plumbing.
struct Hello;

impl Greeter for Hello {
    type SayHelloStreamStream = futures::stream::Iter<std::vec::IntoIter<Result<HelloReply, Status>>>;

    async fn say_hello(&self, request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        let name = request.into_inner().name;
        if name.is_empty() {
            return Err(Status::invalid_argument("name is empty"));
        }
        Ok(Response::new(HelloReply { message: format!("hello, {name}") }))
    }

    async fn say_hello_stream(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<Self::SayHelloStreamStream>, Status> {
        let HelloRequest { name, count } = request.into_inner();
        if count > 1000 {
            return Err(Status::invalid_argument("count is over 1000"));
        }
        let replies: Vec<_> =
            (1..=count).map(|i| Ok(HelloReply { message: format!("hello #{i}, {name}") })).collect();
        Ok(Response::new(futures::stream::iter(replies)))
    }

    async fn say_hello_all(
        &self,
        request: Request<Streaming<HelloRequest>>,
    ) -> Result<Response<HelloReply>, Status> {
        let mut names = Vec::new();
        let mut stream = request.into_inner();
        while let Some(req) = stream.message().await? {
            names.push(req.name);
        }
        Ok(Response::new(HelloReply { message: format!("hello, {}", names.join(" and ")) }))
    }
}

/// `--once`: one call of each kind, as a client would make them, on one
/// HTTP/2 connection.
async fn self_check(addr: SocketAddr) -> Result<(), BoxError> {
    let channel = H2Channel::connect(addr).await?;
    let mut client = GreeterClient::with_origin(channel, format!("http://{addr}").parse()?);

    let reply = client.say_hello(HelloRequest { name: "weft".into(), count: 0 }).await?;
    println!("SayHello -> {}", reply.into_inner().message);

    let mut stream =
        client.say_hello_stream(HelloRequest { name: "weft".into(), count: 3 }).await?.into_inner();
    let mut streamed = 0;
    while let Some(reply) = stream.next().await {
        println!("SayHelloStream -> {}", reply?.message);
        streamed += 1;
    }
    if streamed != 3 {
        return Err(format!("SayHelloStream sent {streamed} replies, not 3").into());
    }

    let names = ["tonic", "hyper", "weft"].map(|name| HelloRequest { name: name.into(), count: 0 });
    let reply = client.say_hello_all(futures::stream::iter(names)).await?;
    println!("SayHelloAll -> {}", reply.into_inner().message);
    Ok(())
}

fn main() -> Result<(), BoxError> {
    let mut addr = None;
    let mut seconds = None;
    let mut once = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--once" => once = true,
            "--seconds" => {
                let n = args.next().ok_or("--seconds needs a number")?;
                seconds = Some(n.parse::<u64>().map_err(|e| format!("--seconds {n:?}: {e}"))?);
            }
            _ if addr.is_none() && !arg.starts_with('-') => addr = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}").into()),
        }
    }
    let default = if once { "127.0.0.1:0" } else { "127.0.0.1:50051" };
    let addr = addr.unwrap_or_else(|| default.to_string());

    let rt = weft::Runtime::new()?;
    rt.block_on(async move {
        // Fired to start the graceful shutdown; a stored permit means the
        // signal is never lost, even if it comes before the server waits.
        let stop = std::sync::Arc::new(Notify::new());
        if let Some(n) = seconds {
            let stop = stop.clone();
            weft::spawn(async move {
                weft::time::sleep(Duration::from_secs(n)).await;
                stop.notify_one();
            });
        }
        let listener = TcpListener::bind(addr.as_str()).await?;
        let local = listener.local_addr()?;
        println!("grpc greeter on {local}");
        // `Routes` dispatches on the service name in the path; add more
        // services with `add_service`.
        let routes = tonic::service::Routes::new(GreeterServer::new(Hello)).prepare();
        let signal = stop.clone();
        let server = serve(listener, TowerToHyperService::new(routes))
            .with_graceful_shutdown(async move { signal.notified().await })
            .shutdown_timeout(Duration::from_secs(10));
        if once {
            let server = weft::spawn(server.into_future());
            let checked = self_check(local).await;
            stop.notify_one();
            server.await.map_err(|e| e.to_string())??;
            checked?;
        } else {
            server.await?;
        }
        println!("grpc greeter: shut down gracefully");
        Ok(())
    })
}
