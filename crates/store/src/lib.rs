//! Picks the store backend once, from the database URL's scheme. Nothing else in CareNest
//! knows which database it talks to.

use std::sync::Arc;

use carenest_domain::{Store, StoreError};
pub use carenest_store_postgres::PoolSettings;

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

/// Connects to the database a URL names.
pub async fn connect(url: &str, settings: PoolSettings) -> Result<Arc<dyn Store>, StoreError> {
    let backend = Backend::of(url).map_err(|reason| StoreError::Unavailable(reason.into()))?;
    Ok(match backend {
        Backend::Postgres => Arc::new(carenest_store_postgres::PgStore::connect(url, settings).await?),
        Backend::Sqlite => Arc::new(carenest_store_sqlite::SqliteStore::connect(url, settings.max_connections).await?),
    })
}

/// Creates the database a URL names; false when it already existed.
pub async fn create_database(url: &str) -> Result<bool, StoreError> {
    match Backend::of(url).map_err(|reason| StoreError::Unavailable(reason.into()))? {
        Backend::Postgres => carenest_store_postgres::create_database(url).await,
        Backend::Sqlite => carenest_store_sqlite::create_database(url).await,
    }
}

/// Drops the database a URL names; false when it did not exist.
pub async fn drop_database(url: &str) -> Result<bool, StoreError> {
    match Backend::of(url).map_err(|reason| StoreError::Unavailable(reason.into()))? {
        Backend::Postgres => carenest_store_postgres::drop_database(url).await,
        Backend::Sqlite => carenest_store_sqlite::drop_database(url).await,
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
