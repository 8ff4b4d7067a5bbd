//! A gRPC service `shop.Orders` and its client on tonic 0.14, written out as tonic's code
//! generator writes them (prost messages derived in Rust, so no `protoc` at build time):
//!
//! ```proto
//! package shop;
//! service Orders {
//!   rpc Get (OrderRequest) returns (Order);            // id 0: NOT_FOUND; `slow`: 10 s
//!   rpc Watch (OrderRequest) returns (stream Order);   // `count` orders 150 ms apart, then `then`
//! }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use mackerel_trace::traced;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt as _};
use tonic::body::Body;
use tonic::codegen::http;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::{Request, Response, Status, Streaming};
use tonic_prost::ProstCodec;

#[derive(Clone, PartialEq, prost::Message)]
pub struct OrderRequest {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Watch: how many orders to stream.
    #[prost(uint32, tag = "2")]
    pub count: u32,
    /// Watch, after the orders: "" ends with OK, "fail" with DATA_LOSS in the trailers, "hang"
    /// never ends. Get: "slow" answers after 10 s.
    #[prost(string, tag = "3")]
    pub then: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Order {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(string, tag = "2")]
    pub item: String,
}

#[traced(record(order.id = id))]
fn load_order(id: u64) -> Order {
    Order {
        id,
        item: format!("item {id}"),
    }
}

async fn get(request: Request<OrderRequest>) -> Result<Response<Order>, Status> {
    let request = request.into_inner();
    if request.then == "slow" {
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    match request.id {
        0 => Err(Status::not_found("no order 0")),
        id => Ok(Response::new(load_order(id))),
    }
}

type OrderStream = Pin<Box<dyn Stream<Item = Result<Order, Status>> + Send>>;

async fn watch(request: Request<OrderRequest>) -> Result<Response<OrderStream>, Status> {
    let request = request.into_inner();
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        for n in 0..u64::from(request.count) {
            if n > 0 {
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            let order = Order {
                id: request.id + n,
                item: "watched".to_owned(),
            };
            if sender.send(Ok(order)).await.is_err() {
                return;
            }
        }
        match request.then.as_str() {
            "fail" => {
                let _ = sender
                    .send(Err(Status::data_loss("stock feed broke")))
                    .await;
            }
            // Until the call is cancelled (its response, holding the receiver, dropped).
            "hang" => sender.closed().await,
            _ => {}
        }
    });
    // Each order is loaded as the response is sent, while the body is polled.
    let orders = ReceiverStream::new(receiver).map(|item| item.map(|order| load_order(order.id)));
    Ok(Response::new(Box::pin(orders) as OrderStream))
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, Infallible>> + Send>>;

/// The server side of `shop.Orders`, as `tonic-build` generates it.
#[derive(Clone, Copy, Debug, Default)]
pub struct OrdersServer;

impl tonic::server::NamedService for OrdersServer {
    const NAME: &'static str = "shop.Orders";
}

impl tower_service::Service<http::Request<Body>> for OrdersServer {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match request.uri().path() {
            "/shop.Orders/Get" => Box::pin(async move {
                let mut grpc =
                    tonic::server::Grpc::new(ProstCodec::<Order, OrderRequest>::default());
                Ok(grpc.unary(tower::service_fn(get), request).await)
            }),
            "/shop.Orders/Watch" => Box::pin(async move {
                let mut grpc =
                    tonic::server::Grpc::new(ProstCodec::<Order, OrderRequest>::default());
                Ok(grpc
                    .server_streaming(tower::service_fn(watch), request)
                    .await)
            }),
            _ => Box::pin(async { Ok(Status::unimplemented("").into_http()) }),
        }
    }
}

/// The client side of `shop.Orders`, as `tonic-build` generates it.
#[derive(Clone, Debug)]
pub struct OrdersClient<T> {
    inner: tonic::client::Grpc<T>,
}

impl<T> OrdersClient<T>
where
    T: tonic::client::GrpcService<Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    pub fn new(inner: T) -> Self {
        OrdersClient {
            inner: tonic::client::Grpc::new(inner),
        }
    }

    /// With `origin` in every request's URI (`tonic-build` clients' `with_origin`).
    pub fn with_origin(inner: T, origin: http::Uri) -> Self {
        OrdersClient {
            inner: tonic::client::Grpc::with_origin(inner, origin),
        }
    }

    async fn ready(&mut self) -> Result<(), Status> {
        self.inner
            .ready()
            .await
            .map_err(|e| Status::unknown(format!("Service was not ready: {}", e.into())))
    }

    pub async fn get(
        &mut self,
        request: impl tonic::IntoRequest<OrderRequest>,
    ) -> Result<Response<Order>, Status> {
        self.ready().await?;
        let path = PathAndQuery::from_static("/shop.Orders/Get");
        let codec = ProstCodec::<OrderRequest, Order>::default();
        self.inner.unary(request.into_request(), path, codec).await
    }

    pub async fn watch(
        &mut self,
        request: impl tonic::IntoRequest<OrderRequest>,
    ) -> Result<Response<Streaming<Order>>, Status> {
        self.ready().await?;
        let path = PathAndQuery::from_static("/shop.Orders/Watch");
        let codec = ProstCodec::<OrderRequest, Order>::default();
        self.inner
            .server_streaming(request.into_request(), path, codec)
            .await
    }
}

/// Serves `shop.Orders` behind `ServerLayer` on 127.0.0.1 on the current tokio runtime for as
/// long as it runs; returns its address as `http://127.0.0.1:port`.
pub async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(mackerel_trace::tower::ServerLayer::new())
            .add_service(OrdersServer)
            .serve_with_incoming(incoming),
    );
    format!("http://{address}")
}
