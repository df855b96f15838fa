//! gRPC with tonic on weft (feature `hyper`), server and client, no tokio
//! runtime: tonic's routes served by `weft::hyper::serve`, tonic's client
//! over hyper's HTTP/2 client on a weft `TcpStream`
//! (examples/grpc/greeter.rs). Unary, server-streaming and
//! client-streaming calls, many calls multiplexed on one connection, error
//! statuses (from a handler, in the middle of a stream, for an unknown
//! method or service) reaching the client as those statuses, and a
//! graceful shutdown that lets a stream in flight finish.

#![cfg(feature = "hyper")]

#[path = "../examples/grpc/greeter.rs"]
mod greeter;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use greeter::{Greeter, GreeterClient, GreeterServer, H2Channel, HelloReply, HelloRequest};
use http::uri::PathAndQuery;
use http_body_util::Empty;
use hyper::client::conn::http2;
use std::future::IntoFuture;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tonic::{Code, Request, Response, Status, Streaming};
use weft::hyper::{serve, TowerToHyperService};
use weft::net::{TcpListener, TcpStream};
use weft::sync::{oneshot, watch};

fn rt() -> weft::Runtime {
    weft::Runtime::builder().worker_threads(2).build().expect("build runtime")
}

fn reply(message: String) -> HelloReply {
    HelloReply { message }
}

fn req(name: &str, count: u32) -> HelloRequest {
    HelloRequest { name: name.into(), count }
}

/// The greeter under test.
///
/// - `SayHello`: "hello, NAME"; `INVALID_ARGUMENT` for an empty name, and
///   `INTERNAL` if it finds a tokio runtime (none must be involved).
/// - `SayHelloStream`: `count` replies "N: NAME"; for the name "fail",
///   one reply and then `RESOURCE_EXHAUSTED`; for "hold", one reply, then
///   the second once `release` turns true.
/// - `SayHelloAll`: "hello, A+B+..." for the names streamed in.
struct TestGreeter {
    release: watch::Receiver<bool>,
}

impl Greeter for TestGreeter {
    type SayHelloStreamStream = BoxStream<'static, Result<HelloReply, Status>>;

    async fn say_hello(&self, request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Status::internal("a tokio runtime is running this handler"));
        }
        let name = request.into_inner().name;
        if name.is_empty() {
            return Err(Status::invalid_argument("name is empty"));
        }
        Ok(Response::new(reply(format!("hello, {name}"))))
    }

    async fn say_hello_stream(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<Self::SayHelloStreamStream>, Status> {
        let HelloRequest { name, count } = request.into_inner();
        let first = stream::iter([Ok(reply(format!("1: {name}")))]);
        let replies = match name.as_str() {
            "fail" => {
                first.chain(stream::iter([Err(Status::resource_exhausted("out of greetings"))])).boxed()
            }
            "hold" => {
                let mut release = self.release.clone();
                let second = stream::once(async move {
                    while !*release.borrow_and_update() {
                        release.changed().await.map_err(|_| Status::aborted("release dropped"))?;
                    }
                    Ok(reply("2: hold".into()))
                });
                first.chain(second).boxed()
            }
            _ => stream::iter((1..=count).map(move |i| Ok(reply(format!("{i}: {name}"))))).boxed(),
        };
        Ok(Response::new(replies))
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
        Ok(Response::new(reply(format!("hello, {}", names.join("+")))))
    }
}

/// A running gRPC server and what controls it.
struct Server {
    addr: SocketAddr,
    /// Starts the graceful shutdown.
    stop: oneshot::Sender<()>,
    /// Lets the "hold" streams send their second reply.
    release: watch::Sender<bool>,
    task: weft::JoinHandle<io::Result<()>>,
}

/// Serves the test greeter through `tonic::service::Routes`, as an app
/// with several services would.
async fn start() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (release, release_rx) = watch::channel(false);
    let (stop, stopped) = oneshot::channel::<()>();
    let routes =
        tonic::service::Routes::new(GreeterServer::new(TestGreeter { release: release_rx })).prepare();
    let server = serve(listener, TowerToHyperService::new(routes))
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
        })
        // Far past what the test needs: reaching it would cancel the
        // stream in flight, which the shutdown test would report.
        .shutdown_timeout(Duration::from_secs(60));
    Server { addr, stop, release, task: weft::spawn(server.into_future()) }
}

async fn channel(addr: SocketAddr) -> H2Channel {
    H2Channel::connect(addr).await.expect("HTTP/2 connection")
}

fn origin(addr: SocketAddr) -> http::Uri {
    format!("http://{addr}").parse().unwrap()
}

async fn client(addr: SocketAddr) -> GreeterClient<H2Channel> {
    GreeterClient::with_origin(channel(addr).await, origin(addr))
}

/// Every message of a server stream, or the status that ended it.
async fn collect(mut stream: Streaming<HelloReply>) -> Result<Vec<String>, Status> {
    let mut out = Vec::new();
    while let Some(reply) = stream.next().await {
        out.push(reply?.message);
    }
    Ok(out)
}

/// An HTTP/2 connection with no call on it, and the task driving it,
/// which ends when the server closes the connection.
async fn idle_connection(
    addr: SocketAddr,
) -> (http2::SendRequest<Empty<Bytes>>, weft::JoinHandle<hyper::Result<()>>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (send, conn) = http2::handshake(weft::hyper::Executor, stream).await.unwrap();
    (send, weft::spawn(conn))
}

async fn stop(server: Server) {
    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

#[test]
fn unary_server_streaming_and_client_streaming_calls() {
    let rt = rt();
    rt.block_on(async {
        let server = start().await;
        let mut client = client(server.addr).await;

        let hello = client.say_hello(req("weft", 0)).await.unwrap();
        assert_eq!(hello.into_inner().message, "hello, weft");

        let stream = client.say_hello_stream(req("weft", 3)).await.unwrap().into_inner();
        assert_eq!(collect(stream).await.unwrap(), ["1: weft", "2: weft", "3: weft"]);

        let empty = client.say_hello_stream(req("none", 0)).await.unwrap().into_inner();
        assert_eq!(collect(empty).await.unwrap(), Vec::<String>::new());

        let names = stream::iter(["a", "b", "c"].map(|n| req(n, 0)));
        let all = client.say_hello_all(names).await.unwrap();
        assert_eq!(all.into_inner().message, "hello, a+b+c");

        stop(server).await;
    });
}

#[test]
fn many_calls_share_one_http2_connection() {
    let rt = rt();
    rt.block_on(async {
        let server = start().await;
        let channel = channel(server.addr).await;
        let calls: Vec<_> = (0..32)
            .map(|i| {
                let mut client = GreeterClient::with_origin(channel.clone(), origin(server.addr));
                weft::spawn(async move {
                    let name = format!("caller {i}");
                    let hello = client.say_hello(req(&name, 0)).await.unwrap().into_inner().message;
                    let streamed =
                        collect(client.say_hello_stream(req(&name, 4)).await.unwrap().into_inner());
                    (i, hello, streamed.await.unwrap())
                })
            })
            .collect();
        for call in calls {
            let (i, hello, streamed) = call.await.unwrap();
            assert_eq!(hello, format!("hello, caller {i}"));
            assert_eq!(streamed, (1..=4).map(|n| format!("{n}: caller {i}")).collect::<Vec<_>>());
        }
        stop(server).await;
    });
}

#[test]
fn error_statuses_reach_the_client() {
    let rt = rt();
    rt.block_on(async {
        let server = start().await;
        let mut client = client(server.addr).await;

        // A handler's error.
        let err = client.say_hello(req("", 0)).await.unwrap_err();
        assert_eq!((err.code(), err.message()), (Code::InvalidArgument, "name is empty"));

        // An error after a message: the message arrives, then the status.
        let mut stream = client.say_hello_stream(req("fail", 0)).await.unwrap().into_inner();
        assert_eq!(stream.next().await.unwrap().unwrap().message, "1: fail");
        let err = stream.next().await.unwrap().unwrap_err();
        assert_eq!((err.code(), err.message()), (Code::ResourceExhausted, "out of greetings"));

        // A method the greeter does not have, and a service not served.
        let mut raw = tonic::client::Grpc::with_origin(channel(server.addr).await, origin(server.addr));
        for path in ["/greeter.Greeter/Nope", "/other.Service/Call"] {
            raw.ready().await.unwrap();
            let call: Result<Response<HelloReply>, Status> = raw
                .unary(
                    Request::new(req("x", 0)),
                    PathAndQuery::from_static(path),
                    tonic_prost::ProstCodec::default(),
                )
                .await;
            assert_eq!(call.unwrap_err().code(), Code::Unimplemented, "{path}");
        }

        // The connection is still good after the errors.
        assert_eq!(client.say_hello(req("again", 0)).await.unwrap().into_inner().message, "hello, again");
        stop(server).await;
    });
}

#[test]
fn graceful_shutdown_lets_a_stream_in_flight_finish() {
    let rt = rt();
    rt.block_on(async {
        let server = start().await;
        let mut client = client(server.addr).await;
        let (_idle, idle_conn) = idle_connection(server.addr).await;
        let mut stream = client.say_hello_stream(req("hold", 0)).await.unwrap().into_inner();
        assert_eq!(stream.next().await.unwrap().unwrap().message, "1: hold");

        // The stream is in flight when the shutdown starts: the server
        // closes the idle connection (so the drain has reached the
        // connections)...
        server.stop.send(()).unwrap();
        idle_conn.await.unwrap().unwrap();
        assert!(TcpStream::connect(server.addr).await.is_err(), "still accepting");
        assert!(!server.task.is_finished(), "the server returned with a stream in flight");

        // ...and the stream still runs to its end, with an OK status.
        server.release.send(true).unwrap();
        assert_eq!(stream.next().await.unwrap().unwrap().message, "2: hold");
        assert!(stream.next().await.is_none());
        assert!(stream.trailers().await.is_ok());

        server.task.await.unwrap().unwrap();
    });
}
