//! One trace across two gRPC services on tonic: `shop` calls `inventory` through a tonic
//! client behind `ClientLayer`; both serve behind `ServerLayer`.
//!
//! ```text
//! cargo run --example grpc_services
//! ```
//!
//! With no key or endpoint set it prints each trace as a tree on stderr:
//! `shop.Checkout/Buy` (SERVER, shop) → `inventory.Stock/Reserve` (CLIENT) →
//! `inventory.Stock/Reserve` (SERVER, inventory) → `reserve` (`#[traced]`), each gRPC span
//! with `rpc.method` and `rpc.response.status_code`, the server spans with the HTTP attributes
//! that list each method in Mackerel's HTTP view. The second order is for a product out of
//! stock: inventory answers `FAILED_PRECONDITION` — the caller's problem, so inventory's span
//! stays unset while the client span that got it is an error. Both services run in this one
//! process to keep the example self-contained; in production they are two programs, joined
//! the same way by the `traceparent` the client layer sends.
//!
//! The services are what `tonic-build` would generate from a `.proto`, written out in
//! [`proto`] below so that the example needs no `protoc`.

use mackerel_trace::tower::{ClientLayer, ServerLayer};
use mackerel_trace::traced;
use tonic::codegen::http;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Request, Response, Status};

use proto::{Buy, Item, Receipt, Reserve, Reserved, Unary};

#[traced(record(sku))]
fn reserve(sku: &str) -> Result<u32, String> {
    match sku {
        "tea" => Ok(3),
        other => Err(format!("{other} is out of stock")),
    }
}

/// `inventory.Stock/Reserve`.
async fn reserve_stock(request: Request<Item>) -> Result<Response<Reserved>, Status> {
    let sku = request.into_inner().sku;
    match reserve(&sku) {
        Ok(count) => Ok(Response::new(Reserved { count })),
        Err(message) => Err(Status::failed_precondition(message)),
    }
}

/// The shop's client of the inventory: tonic's channel behind `ClientLayer`.
type Inventory = tonic::client::Grpc<mackerel_trace::tower::ClientService<Channel>>;

/// `shop.Checkout/Buy`: reserves the item at the inventory.
async fn buy(
    mut inventory: Inventory,
    request: Request<Item>,
) -> Result<Response<Receipt>, Status> {
    let item = request.into_inner();
    let reserved = proto::call::<Reserve, _>(&mut inventory, item.clone()).await?;
    Ok(Response::new(Receipt {
        text: format!("{}: {} reserved", item.sku, reserved.count),
    }))
}

/// Serves `service` behind `ServerLayer` on a free port of 127.0.0.1; returns its URL.
async fn serve<S>(service: S) -> std::io::Result<String>
where
    S: tonic::server::NamedService
        + tower_service::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(
        Server::builder()
            .layer(ServerLayer::new())
            .add_service(service)
            .serve_with_incoming(incoming),
    );
    Ok(url)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _guard = mackerel_trace::Config::new()
        .service_name("grpc-services")
        .environment("development")
        .fallback_to_console()
        .init()?;

    let inventory_url = serve(Unary::<Reserve, _>::new(reserve_stock)).await?;
    let channel = Endpoint::from_shared(inventory_url.clone())?
        .connect()
        .await?;
    let traced = tower::ServiceBuilder::new()
        .layer(ClientLayer::new())
        .service(channel);
    // With the origin in the URI, the client span knows `server.address` and `server.port`.
    let inventory = tonic::client::Grpc::with_origin(traced, inventory_url.parse()?);
    let shop_url = serve(Unary::<Buy, _>::new(move |request| {
        buy(inventory.clone(), request)
    }))
    .await?;

    // A customer (not traced itself: the shop's SERVER span is the root of each trace).
    let mut customer = tonic::client::Grpc::new(Endpoint::from_shared(shop_url)?.connect().await?);
    for sku in ["tea", "coffee"] {
        let item = Item {
            sku: sku.to_owned(),
        };
        match proto::call::<Buy, _>(&mut customer, item).await {
            Ok(receipt) => println!("{}", receipt.text),
            Err(status) => println!("{sku}: {:?} {}", status.code(), status.message()),
        }
    }
    Ok(())
}

/// What `tonic-build` generates from this `.proto`, reduced to one unary method per service:
///
/// ```proto
/// package inventory;
/// service Stock { rpc Reserve (Item) returns (Reserved); }
///
/// package shop;
/// service Checkout { rpc Buy (Item) returns (Receipt); }
/// ```
mod proto {
    use std::convert::Infallible;
    use std::future::Future;
    use std::marker::PhantomData;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tonic::body::Body;
    use tonic::client::GrpcService;
    use tonic::codegen::{http, StdError};
    use tonic::{Request, Response, Status};
    use tonic_prost::ProstCodec;

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Item {
        #[prost(string, tag = "1")]
        pub sku: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Reserved {
        #[prost(uint32, tag = "1")]
        pub count: u32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Receipt {
        #[prost(string, tag = "1")]
        pub text: String,
    }

    /// A unary gRPC method: its service, path and messages.
    pub trait Method: 'static {
        const SERVICE: &'static str;
        const PATH: &'static str;
        type Request: prost::Message + Default + Send + Sync + 'static;
        type Response: prost::Message + Default + Send + Sync + 'static;
    }

    pub enum Reserve {}

    impl Method for Reserve {
        const SERVICE: &'static str = "inventory.Stock";
        const PATH: &'static str = "/inventory.Stock/Reserve";
        type Request = Item;
        type Response = Reserved;
    }

    pub enum Buy {}

    impl Method for Buy {
        const SERVICE: &'static str = "shop.Checkout";
        const PATH: &'static str = "/shop.Checkout/Buy";
        type Request = Item;
        type Response = Receipt;
    }

    /// The server of `M`'s service, calling `handler` for `M`.
    pub struct Unary<M, H> {
        handler: H,
        method: PhantomData<fn() -> M>,
    }

    impl<M, H: Clone> Clone for Unary<M, H> {
        fn clone(&self) -> Self {
            Unary::new(self.handler.clone())
        }
    }

    impl<M, H> Unary<M, H> {
        pub fn new(handler: H) -> Self {
            Unary {
                handler,
                method: PhantomData,
            }
        }
    }

    impl<M: Method, H> tonic::server::NamedService for Unary<M, H> {
        const NAME: &'static str = M::SERVICE;
    }

    impl<M, H, F> tower_service::Service<http::Request<Body>> for Unary<M, H>
    where
        M: Method,
        H: FnMut(Request<M::Request>) -> F + Clone + Send + 'static,
        F: Future<Output = Result<Response<M::Response>, Status>> + Send + 'static,
    {
        type Response = http::Response<Body>;
        type Error = Infallible;
        type Future =
            Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: http::Request<Body>) -> Self::Future {
            if request.uri().path() != M::PATH {
                return Box::pin(async { Ok(Status::unimplemented("").into_http()) });
            }
            let handler = self.handler.clone();
            Box::pin(async move {
                let codec = ProstCodec::<M::Response, M::Request>::default();
                let mut grpc = tonic::server::Grpc::new(codec);
                Ok(grpc.unary(tower::service_fn(handler), request).await)
            })
        }
    }

    /// Calls `M` through `client`.
    pub async fn call<M, T>(
        client: &mut tonic::client::Grpc<T>,
        message: M::Request,
    ) -> Result<M::Response, Status>
    where
        M: Method,
        T: GrpcService<Body>,
        T::Error: Into<StdError>,
        T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        <T::ResponseBody as http_body::Body>::Error: Into<StdError> + Send,
    {
        client
            .ready()
            .await
            .map_err(|e| Status::unavailable(e.into().to_string()))?;
        let path = http::uri::PathAndQuery::from_static(M::PATH);
        let codec = ProstCodec::<M::Request, M::Response>::default();
        let response = client.unary(Request::new(message), path, codec).await?;
        Ok(response.into_inner())
    }
}
