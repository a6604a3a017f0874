//! The pool of database connections both dialects use: deadpool's pool over sqlx connections.
//!
//! sqlx's own pool pings every connection it gets back before anyone may take it again: a
//! round trip, and a task spawned, per checkout, which no setting turns off (BENCHMARKS.md
//! measured 9% more requests a second without it). Here a connection goes back as it is. What
//! that ping was for is done where it is needed: a transaction dropped before its `COMMIT` is
//! rolled back, and the rollback waited for, before its connection goes back (`Tx` in the
//! store); a statement that failed because the connection broke marks it lost, and the pool
//! closes it instead of handing it out again; a connection that sat idle is pinged when taken.

use std::time::Duration;

use deadpool::managed::{self, Metrics, Object, PoolError, RecycleError, RecycleResult};
use sqlx::{ConnectOptions, Connection, Database};

/// A pooled connection used this recently is taken to be alive without asking the database.
const RECENTLY_USED: Duration = Duration::from_secs(1);

/// A connection as the pool keeps it.
pub struct Link<DB: Database> {
    raw: DB::Connection,
    lost: bool,
}

impl<DB: Database> Link<DB> {
    pub fn raw(&mut self) -> &mut DB::Connection {
        &mut self.raw
    }

    /// A statement failed because the connection itself broke: the pool closes it rather than
    /// hand it out again.
    pub fn lose(&mut self) {
        self.lost = true;
    }
}

/// Opens the pool's connections and checks them before they are handed out again.
pub struct Connector<DB: Database> {
    options: <DB::Connection as Connection>::Options,
}

impl<DB: Database> managed::Manager for Connector<DB> {
    type Type = Link<DB>;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<Link<DB>, sqlx::Error> {
        Ok(Link { raw: self.options.connect().await?, lost: false })
    }

    async fn recycle(&self, link: &mut Link<DB>, metrics: &Metrics) -> RecycleResult<sqlx::Error> {
        if link.lost {
            return Err(RecycleError::message("the connection broke"));
        }
        // One used within the last second answered then; an older one may have been closed by
        // the server or the network meanwhile.
        if metrics.last_used() >= RECENTLY_USED {
            link.raw.ping().await?;
        }
        Ok(())
    }
}

/// A connection taken from the pool; it goes back when dropped.
pub type Pooled<DB> = Object<Connector<DB>>;

/// The pool: at most `max_connections`, opened as needed.
pub struct ConnectionPool<DB: Database> {
    pool: managed::Pool<Connector<DB>>,
}

impl<DB: Database> Clone for ConnectionPool<DB> {
    fn clone(&self) -> Self {
        Self { pool: self.pool.clone() }
    }
}

impl<DB: Database> ConnectionPool<DB> {
    /// A pool that waits at most `acquire_timeout` for a free connection, and as long again to
    /// open one.
    pub fn new(
        options: <DB::Connection as Connection>::Options,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Self {
        let pool = managed::Pool::builder(Connector { options })
            .max_size(usize::try_from(max_connections.max(1)).unwrap_or(usize::MAX))
            .wait_timeout(Some(acquire_timeout))
            .create_timeout(Some(acquire_timeout))
            .recycle_timeout(Some(acquire_timeout))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .expect("a pool with a runtime for its timeouts always builds");
        Self { pool }
    }

    /// A connection: an idle one, or a new one while the pool has room, or the first one given
    /// back, waiting at most the acquire timeout.
    pub async fn acquire(&self) -> Result<Pooled<DB>, sqlx::Error> {
        self.pool.get().await.map_err(|error| match error {
            PoolError::Backend(error) => error,
            PoolError::Timeout(_) => sqlx::Error::PoolTimedOut,
            PoolError::Closed => sqlx::Error::PoolClosed,
            other => sqlx::Error::Configuration(other.to_string().into()),
        })
    }

    /// Every connection idle now, held at once so that none is handed out twice (for checks
    /// that must look at each connection).
    pub async fn hold_idle(&self) -> Result<Vec<Pooled<DB>>, sqlx::Error> {
        let mut held = Vec::new();
        for _ in 0..self.idle() {
            held.push(self.acquire().await?);
        }
        Ok(held)
    }

    pub fn connect_options(&self) -> &<DB::Connection as Connection>::Options {
        &self.pool.manager().options
    }

    /// Connections open, idle or in use.
    pub fn size(&self) -> u32 {
        u32::try_from(self.pool.status().size).unwrap_or(u32::MAX)
    }

    pub fn idle(&self) -> u32 {
        u32::try_from(self.pool.status().available).unwrap_or(u32::MAX)
    }

    pub fn max_connections(&self) -> u32 {
        u32::try_from(self.pool.status().max_size).unwrap_or(u32::MAX)
    }

    /// Refuses further checkouts and closes the idle connections properly (SQLite checkpoints
    /// its journal as its last connection closes); those in use close as they come back.
    pub async fn close(&self) {
        let idle = self.pool.retain(|_, _| false).removed;
        self.pool.close();
        for link in idle {
            let _ = link.raw.close().await;
        }
    }
}
