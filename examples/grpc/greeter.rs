//! A gRPC greeter written the way tonic's code generator writes one, so no
//! `protoc` and no build script are needed: the messages derive
//! `prost::Message`, the server and client wrap tonic's `server::Grpc` and
//! `client::Grpc` with the prost codec. It stands for this `.proto`:
//!
//! ```proto
//! syntax = "proto3";
//! package greeter;
//!
//! service Greeter {
//!   // One greeting.
//!   rpc SayHello (HelloRequest) returns (HelloReply);
//!   // `count` greetings, streamed one by one.
//!   rpc SayHelloStream (HelloRequest) returns (stream HelloReply);
//!   // One greeting for every name streamed in.
//!   rpc SayHelloAll (stream HelloRequest) returns (HelloReply);
//! }
//!
//! message HelloRequest { string name = 1; uint32 count = 2; }
//! message HelloReply { string message = 1; }
//! ```
//!
//! With `protoc` at hand, `tonic-prost-build` generates the same pieces
//! and they plug into weft the same way: the server is a tower service
//! (serve it through `tonic::service::Routes` and
//! `weft::hyper::TowerToHyperService`), and the client takes any tower
//! service that sends HTTP/2 requests, such as [`H2Channel`] below.
//!
//! Shared by examples/grpc.rs and tests/hyper_grpc.rs.

use futures::future::BoxFuture;
use http::uri::{PathAndQuery, Uri};
use hyper::body::{Body, Bytes, Incoming};
use hyper::client::conn::http2;
use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use tonic::codegen::Service;
use tonic::server::{ClientStreamingService, NamedService, ServerStreamingService, UnaryService};
use tonic::{GrpcMethod, IntoRequest, IntoStreamingRequest, Request, Response, Status, Streaming};
use tonic_prost::ProstCodec;

type BoxError = Box<dyn StdError + Send + Sync>;

// ---- messages ---------------------------------------------------------------

#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloRequest {
    #[prost(string, tag = "1")]
    pub name: String,
    /// How many greetings `SayHelloStream` sends.
    #[prost(uint32, tag = "2")]
    pub count: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloReply {
    #[prost(string, tag = "1")]
    pub message: String,
}

// ---- server -----------------------------------------------------------------

/// What a greeter implements; [`GreeterServer`] turns it into a service.
pub trait Greeter: Send + Sync + 'static {
    /// The replies `say_hello_stream` streams; an `Err` item ends the call
    /// with that status.
    type SayHelloStreamStream: futures::Stream<Item = Result<HelloReply, Status>> + Send + 'static;

    fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> impl Future<Output = Result<Response<HelloReply>, Status>> + Send;

    fn say_hello_stream(
        &self,
        request: Request<HelloRequest>,
    ) -> impl Future<Output = Result<Response<Self::SayHelloStreamStream>, Status>> + Send;

    fn say_hello_all(
        &self,
        request: Request<Streaming<HelloRequest>>,
    ) -> impl Future<Output = Result<Response<HelloReply>, Status>> + Send;
}

/// The greeter as a tower service: routes each request by its path to the
/// method, which tonic's `server::Grpc` decodes and encodes with prost.
pub struct GreeterServer<T> {
    inner: Arc<T>,
}

impl<T> GreeterServer<T> {
    pub fn new(greeter: T) -> Self {
        GreeterServer { inner: Arc::new(greeter) }
    }
}

impl<T> Clone for GreeterServer<T> {
    fn clone(&self) -> Self {
        GreeterServer { inner: self.inner.clone() }
    }
}

impl<T> NamedService for GreeterServer<T> {
    const NAME: &'static str = "greeter.Greeter";
}

struct SayHelloSvc<T>(Arc<T>);

impl<T: Greeter> UnaryService<HelloRequest> for SayHelloSvc<T> {
    type Response = HelloReply;
    type Future = BoxFuture<'static, Result<Response<HelloReply>, Status>>;

    fn call(&mut self, request: Request<HelloRequest>) -> Self::Future {
        let greeter = self.0.clone();
        Box::pin(async move { greeter.say_hello(request).await })
    }
}

struct SayHelloStreamSvc<T>(Arc<T>);

impl<T: Greeter> ServerStreamingService<HelloRequest> for SayHelloStreamSvc<T> {
    type Response = HelloReply;
    type ResponseStream = T::SayHelloStreamStream;
    type Future = BoxFuture<'static, Result<Response<T::SayHelloStreamStream>, Status>>;

    fn call(&mut self, request: Request<HelloRequest>) -> Self::Future {
        let greeter = self.0.clone();
        Box::pin(async move { greeter.say_hello_stream(request).await })
    }
}

struct SayHelloAllSvc<T>(Arc<T>);

impl<T: Greeter> ClientStreamingService<HelloRequest> for SayHelloAllSvc<T> {
    type Response = HelloReply;
    type Future = BoxFuture<'static, Result<Response<HelloReply>, Status>>;

    fn call(&mut self, request: Request<Streaming<HelloRequest>>) -> Self::Future {
        let greeter = self.0.clone();
        Box::pin(async move { greeter.say_hello_all(request).await })
    }
}

impl<T, B> Service<http::Request<B>> for GreeterServer<T>
where
    T: Greeter,
    B: Body + Send + 'static,
    B::Error: Into<BoxError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let greeter = self.inner.clone();
        let mut grpc = tonic::server::Grpc::new(ProstCodec::<HelloReply, HelloRequest>::default());
        match req.uri().path() {
            "/greeter.Greeter/SayHello" => {
                Box::pin(async move { Ok(grpc.unary(SayHelloSvc(greeter), req).await) })
            }
            "/greeter.Greeter/SayHelloStream" => {
                Box::pin(async move { Ok(grpc.server_streaming(SayHelloStreamSvc(greeter), req).await) })
            }
            "/greeter.Greeter/SayHelloAll" => {
                Box::pin(async move { Ok(grpc.client_streaming(SayHelloAllSvc(greeter), req).await) })
            }
            _ => Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) }),
        }
    }
}

// ---- client -----------------------------------------------------------------

/// A greeter client over any tower service that sends gRPC's HTTP/2
/// requests (an [`H2Channel`] on weft here).
pub struct GreeterClient<T> {
    inner: tonic::client::Grpc<T>,
}

impl<T> GreeterClient<T>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<BoxError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<BoxError> + Send,
{
    /// `origin` is the scheme and authority every request's URI starts
    /// with (HTTP/2 needs both).
    pub fn with_origin(channel: T, origin: Uri) -> Self {
        GreeterClient { inner: tonic::client::Grpc::with_origin(channel, origin) }
    }

    async fn ready(&mut self) -> Result<(), Status> {
        self.inner.ready().await.map_err(|e| Status::unavailable(format!("channel not ready: {}", e.into())))
    }

    pub async fn say_hello(
        &mut self,
        request: impl IntoRequest<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        self.ready().await?;
        let mut request = request.into_request();
        request.extensions_mut().insert(GrpcMethod::new("greeter.Greeter", "SayHello"));
        let path = PathAndQuery::from_static("/greeter.Greeter/SayHello");
        self.inner.unary(request, path, ProstCodec::default()).await
    }

    pub async fn say_hello_stream(
        &mut self,
        request: impl IntoRequest<HelloRequest>,
    ) -> Result<Response<Streaming<HelloReply>>, Status> {
        self.ready().await?;
        let mut request = request.into_request();
        request.extensions_mut().insert(GrpcMethod::new("greeter.Greeter", "SayHelloStream"));
        let path = PathAndQuery::from_static("/greeter.Greeter/SayHelloStream");
        self.inner.server_streaming(request, path, ProstCodec::default()).await
    }

    pub async fn say_hello_all(
        &mut self,
        request: impl IntoStreamingRequest<Message = HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        self.ready().await?;
        let mut request = request.into_streaming_request();
        request.extensions_mut().insert(GrpcMethod::new("greeter.Greeter", "SayHelloAll"));
        let path = PathAndQuery::from_static("/greeter.Greeter/SayHelloAll");
        self.inner.client_streaming(request, path, ProstCodec::default()).await
    }
}

// ---- channel ----------------------------------------------------------------

/// One HTTP/2 connection on weft as the tower service tonic's client sends
/// through: hyper's HTTP/2 client over a weft `TcpStream`, its connection
/// task spawned by `weft::hyper::Executor`. Clones share the connection
/// and multiplex their calls on it. No tokio runtime is involved.
#[derive(Clone)]
pub struct H2Channel {
    send: http2::SendRequest<tonic::body::Body>,
}

impl H2Channel {
    /// Connects to `addr` and starts HTTP/2 (prior knowledge, as gRPC
    /// clients do without TLS). Must run inside a weft runtime.
    pub async fn connect(addr: SocketAddr) -> Result<H2Channel, BoxError> {
        let stream = weft::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        // The timer runs hyper's keep-alive pings, if the builder is told
        // to send them (`keep_alive_interval`).
        let (send, conn) =
            http2::Builder::new(weft::hyper::Executor).timer(weft::hyper::Timer).handshake(stream).await?;
        // The connection task runs until both sides are done with it: every
        // clone of `send` dropped, or the server closing it.
        weft::spawn(async move {
            if let Err(e) = conn.await {
                log::debug!("grpc channel: connection closed: {e}");
            }
        });
        Ok(H2Channel { send })
    }
}

impl Service<http::Request<tonic::body::Body>> for H2Channel {
    type Response = http::Response<Incoming>;
    type Error = hyper::Error;
    type Future = BoxFuture<'static, Result<http::Response<Incoming>, hyper::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), hyper::Error>> {
        self.send.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(self.send.send_request(req))
    }
}
