//! Configuration in layers: per-environment defaults, then `carenest.toml`, then environment
//! variables, then command-line flags.

use std::fmt;
use std::path::PathBuf;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Test,
    Production,
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Development => "development",
            Self::Test => "test",
            Self::Production => "production",
        })
    }
}

impl std::str::FromStr for Environment {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "development" => Ok(Self::Development),
            "test" => Ok(Self::Test),
            "production" => Ok(Self::Production),
            other => Err(format!("CARENEST_ENV must be development, test or production, not '{other}'")),
        }
    }
}

/// Everything configurable. Field names are the `carenest.toml` keys; environment variables
/// are the same names upper-cased with a `CARENEST_` prefix (and plain `DATABASE_URL`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `postgres://...` or `sqlite://...`. Production has no default.
    pub database_url: Option<String>,
    /// Address `serve` listens on.
    pub bind: String,
    /// Largest number of database connections per process.
    pub max_connections: u32,
    /// Days a login token lives.
    pub token_ttl_days: i64,
    /// The practice's IANA time zone, for calendar feeds.
    pub practice_time_zone: String,
    /// `text` for people, `json` for log collectors.
    pub log_format: String,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &self.database_url.as_deref().map(carenest_store::redact))
            .field("bind", &self.bind)
            .field("max_connections", &self.max_connections)
            .field("token_ttl_days", &self.token_ttl_days)
            .field("practice_time_zone", &self.practice_time_zone)
            .field("log_format", &self.log_format)
            .finish()
    }
}

/// The configuration keys, as `carenest.toml` spells them.
const KEYS: &[&str] =
    &["database_url", "bind", "max_connections", "token_ttl_days", "practice_time_zone", "log_format"];

impl Config {
    pub fn defaults(environment: Environment) -> Self {
        let (database_url, bind, log_format) = match environment {
            Environment::Development => (Some("sqlite://carenest.db"), "127.0.0.1:8080", "text"),
            Environment::Test => (Some("sqlite://carenest-test.db"), "127.0.0.1:0", "text"),
            Environment::Production => (None, "0.0.0.0:8080", "json"),
        };
        Self {
            database_url: database_url.map(str::to_owned),
            bind: bind.to_owned(),
            max_connections: 10,
            token_ttl_days: 30,
            practice_time_zone: "Europe/Amsterdam".to_owned(),
            log_format: log_format.to_owned(),
        }
    }

    /// Loads the layers. `file` defaults to `CARENEST_CONFIG`, else `./carenest.toml` if present.
    pub fn load(environment: Environment, file: Option<PathBuf>) -> Result<Self, String> {
        let file = file
            .or_else(|| std::env::var_os("CARENEST_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("carenest.toml"));
        let config: Config = Figment::from(Serialized::defaults(Self::defaults(environment)))
            .merge(Toml::file(&file))
            // Only the keys above: other CARENEST_* variables (CARENEST_ENV, test settings) are
            // not configuration, while a typo in carenest.toml is still an error.
            .merge(Env::prefixed("CARENEST_").only(KEYS))
            .merge(Env::raw().only(&["database_url"]))
            .extract()
            .map_err(|error| format!("configuration is invalid: {error}"))?;
        if config.token_ttl_days < 1 {
            return Err("token_ttl_days must be at least 1".to_owned());
        }
        config.time_zone()?;
        if !(1..=1000).contains(&config.max_connections) {
            return Err("max_connections must be between 1 and 1000".to_owned());
        }
        Ok(config)
    }

    /// The practice's time zone, parsed.
    pub fn time_zone(&self) -> Result<chrono_tz::Tz, String> {
        self.practice_time_zone.parse().map_err(|_| {
            format!(
                "practice_time_zone '{}' is not an IANA time zone such as Europe/Amsterdam",
                self.practice_time_zone
            )
        })
    }

    /// The database URL, or the sentence that says why there is none.
    pub fn database_url(&self, environment: Environment) -> Result<&str, String> {
        self.database_url.as_deref().filter(|url| !url.is_empty()).ok_or_else(|| {
            format!("no database configured: {environment} needs DATABASE_URL (or --database-url) to be set explicitly")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_defaults_to_a_local_sqlite_file_and_production_to_nothing() {
        assert_eq!(Config::defaults(Environment::Development).database_url.as_deref(), Some("sqlite://carenest.db"));
        let production = Config::defaults(Environment::Production);
        assert!(production.database_url(Environment::Production).unwrap_err().contains("DATABASE_URL"));
    }

    #[test]
    fn every_field_is_a_known_key() {
        let fields = serde_json::to_value(Config::defaults(Environment::Development)).unwrap();
        let mut names: Vec<_> = fields.as_object().unwrap().keys().cloned().collect();
        names.sort();
        let mut keys: Vec<_> = KEYS.iter().map(|k| k.to_string()).collect();
        keys.sort();
        assert_eq!(names, keys);
    }

    #[test]
    fn a_printed_config_never_shows_the_database_password() {
        let mut config = Config::defaults(Environment::Production);
        config.database_url = Some("postgres://care:hunter2@db/care".into());
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("care:***@db"));
    }
}
