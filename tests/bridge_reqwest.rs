//! Crates bound to tokio, inside weft tasks through the tokio context
//! (`Builder::tokio_context`, with the `hyper` feature): reqwest (its
//! connector dials with `tokio::net` and spawns its connection tasks with
//! `tokio::spawn`) calling an axum app served by `weft::hyper::serve`, and
//! tower-http's `TimeoutLayer` (which sleeps on tokio's timer) answering
//! for a handler that never finishes.

#![cfg(all(feature = "hyper", feature = "tokio-context"))]

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use std::future::IntoFuture;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tower_http::timeout::TimeoutLayer;
use weft::hyper::{serve, TowerToHyperService};
use weft::net::TcpListener;
use weft::sync::oneshot;

fn runtime() -> weft::Runtime {
    weft::Runtime::builder().worker_threads(2).tokio_context(true).build().expect("build runtime")
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
struct Order {
    item: String,
    quantity: u32,
}

/// A running server and its graceful-shutdown trigger.
struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: weft::JoinHandle<io::Result<()>>,
}

impl Server {
    async fn start(app: Router) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = serve(listener, TowerToHyperService::new(app)).with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
        Server { addr, stop, task: weft::spawn(server.into_future()) }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn stop(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap().unwrap();
    }
}

fn client() -> reqwest::Client {
    // No proxy from the environment: the requests go to 127.0.0.1.
    reqwest::Client::builder().no_proxy().build().unwrap()
}

#[test]
fn reqwest_in_a_weft_task_gets_and_posts_to_axum_on_weft() {
    let rt = runtime();
    rt.block_on(async {
        let app = Router::new().route("/hello", get(|| async { "hello from weft" })).route(
            "/orders",
            post(|Json(order): Json<Order>| async move {
                Json(Order { item: order.item.to_uppercase(), quantity: order.quantity * 2 })
            }),
        );
        let server = Server::start(app).await;
        let (hello, order) = {
            let hello_url = server.url("/hello");
            let orders_url = server.url("/orders");
            weft::spawn(async move {
                let client = client();
                let res = client.get(&hello_url).send().await.unwrap();
                let hello = (res.status(), res.text().await.unwrap());
                let sent = Order { item: "tea".into(), quantity: 3 };
                let res = client.post(&orders_url).json(&sent).send().await.unwrap();
                let order = (res.status(), res.json::<Order>().await.unwrap());
                (hello, order)
            })
            .await
            .unwrap()
        };
        assert_eq!(hello, (reqwest::StatusCode::OK, "hello from weft".to_string()));
        assert_eq!(order, (reqwest::StatusCode::OK, Order { item: "TEA".into(), quantity: 6 }));
        server.stop().await;
    });
}

#[test]
fn tower_http_timeout_answers_for_a_handler_that_never_finishes() {
    let rt = runtime();
    rt.block_on(async {
        // The stuck handler waits on nothing that ever completes, so only
        // the layer's timer can answer. The fast route's limit is far past
        // any scheduling delay: the verdict does not hang on the clock.
        let stuck = Router::new()
            .route("/stuck", get(std::future::pending::<&'static str>))
            .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_millis(20)));
        let fast = Router::new()
            .route("/fast", get(|| async { "fast" }))
            .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(60)));
        let server = Server::start(stuck.merge(fast)).await;
        let (stuck_url, fast_url) = (server.url("/stuck"), server.url("/fast"));
        let (stuck, fast) = weft::spawn(async move {
            let client = client();
            let stuck = client.get(&stuck_url).send().await.unwrap().status();
            let res = client.get(&fast_url).send().await.unwrap();
            (stuck, (res.status(), res.text().await.unwrap()))
        })
        .await
        .unwrap();
        assert_eq!(stuck, reqwest::StatusCode::REQUEST_TIMEOUT);
        assert_eq!(fast, (reqwest::StatusCode::OK, "fast".to_string()));
        server.stop().await;
    });
}
