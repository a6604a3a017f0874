//! The pool's round trips, counted on PostgreSQL's wire: a connection goes back to the pool
//! without one, and one the server ended is closed rather than handed out again. Both are about
//! connections over a network, so they run on PostgreSQL; on SQLite a connection is a thread in
//! the process and the cancellation tests cover what it shares with PostgreSQL (a transaction
//! dropped before its `COMMIT` rolls back before its connection is reused).

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use carenest_domain::StoreError;
use carenest_store::{Handle, StoreOptions};
use carenest_store_tests::TestDb;
use sqlx::postgres::PgConnectOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Counts the round trips between clients and a PostgreSQL server by the `ReadyForQuery`
/// message that ends each of them, forwarding everything unchanged.
struct WireCounter {
    ready_for_query: Arc<AtomicU64>,
    address: String,
}

impl WireCounter {
    async fn in_front_of(server: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a local port");
        let address = listener.local_addr().expect("its address").to_string();
        let ready_for_query = Arc::new(AtomicU64::new(0));
        let counter = ready_for_query.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = TcpStream::connect(&server).await.expect("the PostgreSQL server");
                tokio::spawn(forward(client, upstream, counter.clone()));
            }
        });
        Self { ready_for_query, address }
    }

    fn round_trips(&self) -> u64 {
        self.ready_for_query.load(Ordering::SeqCst)
    }
}

async fn forward(client: TcpStream, server: TcpStream, ready_for_query: Arc<AtomicU64>) {
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    tokio::spawn(async move { tokio::io::copy(&mut from_client, &mut to_server).await });
    // The server's messages: a type byte, then a length that counts itself but not the type.
    let mut pending = Vec::new();
    let mut chunk = vec![0; 64 * 1024];
    while let Ok(read) = from_server.read(&mut chunk).await {
        if read == 0 || to_client.write_all(&chunk[..read]).await.is_err() {
            return;
        }
        pending.extend_from_slice(&chunk[..read]);
        while pending.len() >= 5 {
            let length = u32::from_be_bytes([pending[1], pending[2], pending[3], pending[4]]) as usize;
            if pending.len() < 1 + length {
                break;
            }
            if pending[0] == b'Z' {
                ready_for_query.fetch_add(1, Ordering::SeqCst);
            }
            pending.drain(..1 + length);
        }
    }
}

/// The test's database through the counter, without TLS so that its messages can be read.
async fn through_counter(db: &TestDb) -> (WireCounter, Handle) {
    let options = PgConnectOptions::from_str(db.url()).expect("the test database's URL");
    let server = format!("{}:{}", options.get_host(), options.get_port());
    let counter = WireCounter::in_front_of(server).await;
    let database = options.get_database().expect("the test database's name");
    let user = options.get_username();
    let url = format!("postgres://{user}@{}/{database}?sslmode=disable", counter.address);
    let handle =
        carenest_store::open(&url, StoreOptions::default()).await.expect("the store opens through the counter");
    (counter, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_goes_back_to_the_pool_without_a_round_trip() {
    let Some(db) = TestDb::postgres().await else { return };
    let (counter, handle) = through_counter(&db).await;
    handle.store.ping().await.expect("the database answers");
    let (trips, statements) = (counter.round_trips(), handle.inspect.statements());

    for _ in 0..20 {
        handle.store.ping().await.expect("the database answers");
    }

    assert_eq!(handle.inspect.statements() - statements, 20, "each ping is one statement");
    assert_eq!(
        counter.round_trips() - trips,
        20,
        "twenty checkouts of one statement each make twenty round trips, none for giving the connection back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_server_ended_is_closed_and_the_next_call_gets_a_new_one() {
    let Some(db) = TestDb::postgres().await else { return };
    let one = carenest_store::PoolSettings { max_connections: 1, ..Default::default() };
    let handle = carenest_store::open(db.url(), StoreOptions { pool: one, ..StoreOptions::default() })
        .await
        .expect("the store opens");
    handle.store.ping().await.expect("the database answers");

    let ended = db
        .raw()
        .await
        .text(
            "SELECT count(pg_terminate_backend(pid))::text FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'carenest'",
        )
        .await;
    // The test database's own store has connections there too; all of them end.
    let ended: u32 = ended.and_then(|count| count.parse().ok()).expect("a count");
    assert!(ended >= 1, "the pool's connection was among those ended");

    // The session ended under it: the first call may find out.
    let first = handle.store.ping().await;
    assert!(matches!(first, Ok(()) | Err(StoreError::Unavailable(_))), "{first:?}");
    for attempt in 0..5 {
        handle.store.ping().await.unwrap_or_else(|error| panic!("call {attempt} after the first: {error}"));
    }
    assert_eq!(handle.store.pool_stats().size, 1, "the pool holds one connection, the new one");
}

/// SQLite's allocation statistics take one process-wide mutex on every allocation of every
/// connection, which the pool's threads queued on; the embedded SQLite is built without them
/// (`.cargo/config.toml`).
#[tokio::test]
async fn the_embedded_sqlite_keeps_no_process_wide_allocation_statistics() {
    let db = TestDb::sqlite().await;
    let mut raw = db.raw().await;
    let used = raw.text("SELECT CAST(sqlite_compileoption_used('DEFAULT_MEMSTATUS=0') AS TEXT)").await;
    assert_eq!(used.as_deref(), Some("1"), "SQLite was compiled with its memory statistics on");
}
