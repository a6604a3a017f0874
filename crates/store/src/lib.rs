//! Picks the store backend once, from the database URL's scheme. Nothing else in CareNest
//! knows which database it talks to.

use std::sync::Arc;

use carenest_domain::{Store, StoreError};
use carenest_store_postgres::{Pg, PgStore};
pub use carenest_store_sql::{Inspect, PoolSettings, StoreOptions};
use carenest_store_sqlite::{Lite, SqliteStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// The backend a URL names, or a sentence saying why it names none.
    pub fn of(url: &str) -> Result<Self, String> {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme).unwrap_or_default();
        match scheme {
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "sqlite" => Ok(Self::Sqlite),
            "" => Err("the database URL has no scheme; use postgres://... or sqlite://...".to_owned()),
            other => Err(format!("unsupported database URL scheme '{other}'; use postgres://... or sqlite://...")),
        }
    }
}

/// An open store: the store traits, and what tests and benchmarks may look into.
#[derive(Clone)]
pub struct Handle {
    pub store: Arc<dyn Store>,
    pub inspect: Arc<dyn Inspect>,
}

impl Handle {
    fn of<S: Store + Inspect>(store: S) -> Self {
        let store = Arc::new(store);
        Self { store: store.clone(), inspect: store }
    }
}

/// Connects to the database a URL names.
pub async fn open(url: &str, options: StoreOptions) -> Result<Handle, StoreError> {
    let backend = Backend::of(url).map_err(|reason| StoreError::Unavailable(reason.into()))?;
    Ok(match backend {
        Backend::Postgres => Handle::of(PgStore::connect(url, options).await?),
        Backend::Sqlite => Handle::of(SqliteStore::connect(url, options).await?),
    })
}

/// Connects to the database a URL names, with the system clock and the built-in embedder.
pub async fn connect(url: &str, pool: PoolSettings) -> Result<Arc<dyn Store>, StoreError> {
    Ok(open(url, StoreOptions { pool, ..StoreOptions::default() }).await?.store)
}

/// Creates the database a URL names; false when it already existed.
pub async fn create_database(url: &str) -> Result<bool, StoreError> {
    match Backend::of(url).map_err(|reason| StoreError::Unavailable(reason.into()))? {
        Backend::Postgres => carenest_store_sql::create_database::<Pg>(url).await,
        Backend::Sqlite => carenest_store_sql::create_database::<Lite>(url).await,
    }
}

/// Drops the database a URL names; false when it did not exist.
pub async fn drop_database(url: &str) -> Result<bool, StoreError> {
    match Backend::of(url).map_err(|reason| StoreError::Unavailable(reason.into()))? {
        Backend::Postgres => carenest_store_sql::drop_database::<Pg>(url).await,
        Backend::Sqlite => carenest_store_sql::drop_database::<Lite>(url).await,
    }
}

/// The URL with its password replaced, fit to print or log.
pub fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, tail) = rest.split_once('/').map_or((rest, None), |(a, t)| (a, Some(t)));
            let authority = match authority.rsplit_once('@') {
                Some((credentials, host)) => match credentials.split_once(':') {
                    Some((user, _password)) => format!("{user}:***@{host}"),
                    None => authority.to_owned(),
                },
                None => authority.to_owned(),
            };
            let mut redacted = format!("{scheme}://{authority}");
            if let Some(tail) = tail {
                redacted.push('/');
                // A password can also come as a query parameter.
                redacted.push_str(&redact_query(tail));
            }
            redacted
        }
        None => url.to_owned(),
    }
}

fn redact_query(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else { return tail.to_owned() };
    let params: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", params.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_comes_from_the_url_scheme() {
        assert_eq!(Backend::of("postgres://u@h/db"), Ok(Backend::Postgres));
        assert_eq!(Backend::of("postgresql://u@h/db"), Ok(Backend::Postgres));
        assert_eq!(Backend::of("sqlite://carenest.db"), Ok(Backend::Sqlite));
        assert!(Backend::of("mysql://h/db").unwrap_err().contains("'mysql'"));
        assert!(Backend::of("carenest.db").is_err());
    }

    #[test]
    fn printed_urls_never_carry_the_password() {
        assert_eq!(redact("postgres://ann:s3cret@db:5432/care"), "postgres://ann:***@db:5432/care");
        assert_eq!(redact("postgres://db/care?user=a&password=s3cret"), "postgres://db/care?user=a&password=***");
        assert_eq!(redact("postgres://ann@db/care"), "postgres://ann@db/care");
        assert_eq!(redact("sqlite://carenest.db"), "sqlite://carenest.db");
    }
}
