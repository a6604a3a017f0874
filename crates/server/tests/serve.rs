//! The serve loop over real sockets: slow clients are cut off, open connections are capped,
//! and a shutdown waits for requests in flight only as long as its grace period.

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use carenest_server::serve::{serve, ConnectionLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Longest a test waits for something that must happen; reaching it fails the test.
const PATIENCE: Duration = Duration::from_secs(10);

fn router() -> Router {
    Router::new()
        .route("/quick", get(|| async { "quick" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "slow"
            }),
        )
        .route("/stuck", get(std::future::pending::<&'static str>))
}

struct Running {
    address: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    served: JoinHandle<std::io::Result<()>>,
}

async fn start(limits: ConnectionLimits) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(serve(listener, router(), limits, async {
        let _ = stopped.await;
    }));
    Running { address, stop, served }
}

async fn get_on(stream: &mut TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(PATIENCE, stream.read(&mut answer)).await.expect("an answer").unwrap();
    String::from_utf8_lossy(&answer[..read]).into_owned()
}

/// Waits until the server closes the connection; false if it is still open at the deadline.
async fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    matches!(tokio::time::timeout(within, stream.read(&mut buffer)).await, Ok(Ok(0) | Err(_)))
}

#[tokio::test]
async fn connections_that_send_half_a_header_are_closed_at_the_header_deadline() {
    let limits = ConnectionLimits { header_read_timeout: Duration::from_millis(300), ..ConnectionLimits::default() };
    let server = start(limits).await;
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        stream.write_all(b"GET /quick HTTP/1.1\r\nHost: te").await.unwrap();
        slow.push(stream);
    }
    for stream in &mut slow {
        assert!(closed_by_server(stream, PATIENCE).await, "a half-sent header keeps no connection open");
    }
    let mut idle = TcpStream::connect(server.address).await.unwrap();
    assert!(get_on(&mut idle, "/quick").await.starts_with("HTTP/1.1 200"));
    assert!(closed_by_server(&mut idle, PATIENCE).await, "an idle kept-alive connection is closed too");
    let mut fresh = TcpStream::connect(server.address).await.unwrap();
    assert!(get_on(&mut fresh, "/quick").await.starts_with("HTTP/1.1 200"), "and the server still serves");
}

#[tokio::test]
async fn past_the_connection_cap_a_client_waits_until_another_leaves() {
    let limits = ConnectionLimits { max_connections: 2, ..ConnectionLimits::default() };
    let server = start(limits).await;
    let mut first = TcpStream::connect(server.address).await.unwrap();
    let mut second = TcpStream::connect(server.address).await.unwrap();
    assert!(get_on(&mut first, "/quick").await.starts_with("HTTP/1.1 200"));
    assert!(get_on(&mut second, "/quick").await.starts_with("HTTP/1.1 200"));
    let mut third = TcpStream::connect(server.address).await.unwrap();
    third.write_all(b"GET /quick HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
    let mut answer = vec![0u8; 4096];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut answer)).await;
    assert!(early.is_err(), "a third connection is not served while two are open");
    drop(first);
    let read = tokio::time::timeout(PATIENCE, third.read(&mut answer)).await.expect("served once one left").unwrap();
    assert!(String::from_utf8_lossy(&answer[..read]).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn a_shutdown_lets_a_request_in_flight_finish() {
    let server = start(ConnectionLimits::default()).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream.write_all(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.stop.send(()).unwrap();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(PATIENCE, stream.read(&mut answer)).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&answer[..read]).contains("slow"), "the request in flight was answered");
    tokio::time::timeout(PATIENCE, server.served).await.expect("the loop ends").unwrap().unwrap();
    assert!(TcpStream::connect(server.address).await.is_err(), "no new connections after a shutdown");
}

#[tokio::test]
async fn a_shutdown_gives_up_on_a_stuck_request_after_the_grace_period() {
    let limits = ConnectionLimits { shutdown_grace: Duration::from_millis(300), ..ConnectionLimits::default() };
    let server = start(limits).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream.write_all(b"GET /stuck HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.stop.send(()).unwrap();
    tokio::time::timeout(PATIENCE, server.served)
        .await
        .expect("the loop ends despite the stuck request")
        .unwrap()
        .unwrap();
    assert!(closed_by_server(&mut stream, PATIENCE).await, "the stuck request's connection is closed");
}
