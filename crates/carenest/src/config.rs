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
    /// Where people reach the service, for links (calendar feed URLs); without it, links are
    /// built from the host each request names.
    pub public_url: Option<String>,
    /// Serves `/metrics` on this address of its own instead of with the API.
    pub metrics_bind: Option<String>,
    /// Reverse proxies (addresses or CIDR blocks) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<String>,
    /// Origins (`https://app.example.org`) whose pages may call the API; none: no CORS.
    pub cors_allowed_origins: Vec<String>,
    /// Longest one database statement may run (PostgreSQL) or wait for the write lock (SQLite).
    pub statement_timeout_seconds: u64,
    /// Longest a request may take, body and answer included.
    pub request_timeout_seconds: u64,
    /// Longest a request body may pause.
    pub body_timeout_seconds: u64,
    /// Longest a client may take to send request headers, or leave a connection idle.
    pub header_read_timeout_seconds: u64,
    /// Connections served at once.
    pub max_open_connections: usize,
    /// How long a shutdown waits for requests in flight.
    pub shutdown_grace_seconds: u64,
    /// Password hashes computed at once (each takes 19 MiB); default: the number of cores.
    pub password_hashing_concurrency: usize,
    /// Requests that may wait for a hashing turn before 503s are answered.
    pub password_hashing_queue: usize,
    /// Where `serve` writes scheduled backups; none: no scheduled backups.
    pub backup_dir: Option<String>,
    /// Hours between scheduled backups.
    pub backup_interval_hours: u64,
    /// Scheduled backups kept; older ones are removed.
    pub backup_keep: usize,
    /// Statements slower than this are logged (kind and duration) and counted.
    pub slow_statement_ms: u64,
    /// How long audit entries are kept before `db prune-audit` may remove them (at least 365).
    pub audit_retention_days: i64,
    /// The SMTP server reminders go through (`smtp://127.0.0.1:2525`, `smtps://user:pass@host`);
    /// none: reminders are planned but not sent.
    pub smtp_url: Option<String>,
    /// The sender of reminder emails.
    pub mail_from: String,
    /// How long before a session its family is reminded: `24h`, or several such as `48h,2h`.
    pub reminder_offsets: String,
    /// Whether `serve` runs the reminder sender (else run `carenest reminders run` apart).
    pub send_reminders: bool,
    /// How long a sender's claim on a reminder lasts; a send is given up after half of it.
    pub reminder_lease_seconds: u64,
    /// Attempts before a reminder is marked failed.
    pub reminder_max_attempts: i32,
    /// The wait after a first failed attempt; it doubles with each attempt, up to an hour.
    pub reminder_retry_seconds: u64,
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
            .field("public_url", &self.public_url)
            .field("metrics_bind", &self.metrics_bind)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("statement_timeout_seconds", &self.statement_timeout_seconds)
            .field("request_timeout_seconds", &self.request_timeout_seconds)
            .field("body_timeout_seconds", &self.body_timeout_seconds)
            .field("header_read_timeout_seconds", &self.header_read_timeout_seconds)
            .field("max_open_connections", &self.max_open_connections)
            .field("shutdown_grace_seconds", &self.shutdown_grace_seconds)
            .field("password_hashing_concurrency", &self.password_hashing_concurrency)
            .field("password_hashing_queue", &self.password_hashing_queue)
            .field("backup_dir", &self.backup_dir)
            .field("backup_interval_hours", &self.backup_interval_hours)
            .field("backup_keep", &self.backup_keep)
            .field("slow_statement_ms", &self.slow_statement_ms)
            .field("audit_retention_days", &self.audit_retention_days)
            .field("smtp_url", &self.smtp_url.as_deref().map(carenest_store::redact))
            .field("mail_from", &self.mail_from)
            .field("reminder_offsets", &self.reminder_offsets)
            .field("send_reminders", &self.send_reminders)
            .field("reminder_lease_seconds", &self.reminder_lease_seconds)
            .field("reminder_max_attempts", &self.reminder_max_attempts)
            .field("reminder_retry_seconds", &self.reminder_retry_seconds)
            .finish()
    }
}

/// The configuration keys, as `carenest.toml` spells them.
const KEYS: &[&str] = &[
    "database_url",
    "bind",
    "max_connections",
    "token_ttl_days",
    "practice_time_zone",
    "log_format",
    "public_url",
    "metrics_bind",
    "trusted_proxies",
    "cors_allowed_origins",
    "statement_timeout_seconds",
    "request_timeout_seconds",
    "body_timeout_seconds",
    "header_read_timeout_seconds",
    "max_open_connections",
    "shutdown_grace_seconds",
    "password_hashing_concurrency",
    "password_hashing_queue",
    "backup_dir",
    "backup_interval_hours",
    "backup_keep",
    "slow_statement_ms",
    "audit_retention_days",
    "smtp_url",
    "mail_from",
    "reminder_offsets",
    "send_reminders",
    "reminder_lease_seconds",
    "reminder_max_attempts",
    "reminder_retry_seconds",
];

impl Config {
    pub fn defaults(environment: Environment) -> Self {
        let (database_url, bind, log_format) = match environment {
            Environment::Development => (Some("sqlite://carenest.db"), "127.0.0.1:8080", "text"),
            Environment::Test => (Some("sqlite://carenest-test.db"), "127.0.0.1:0", "text"),
            Environment::Production => (None, "0.0.0.0:8080", "json"),
        };
        let hashing = carenest_app::passwords::HashingLimits::default();
        Self {
            database_url: database_url.map(str::to_owned),
            bind: bind.to_owned(),
            max_connections: 10,
            token_ttl_days: 30,
            practice_time_zone: "Europe/Amsterdam".to_owned(),
            log_format: log_format.to_owned(),
            public_url: None,
            metrics_bind: None,
            trusted_proxies: Vec::new(),
            cors_allowed_origins: Vec::new(),
            statement_timeout_seconds: 30,
            request_timeout_seconds: 30,
            body_timeout_seconds: 10,
            header_read_timeout_seconds: 10,
            max_open_connections: 1024,
            shutdown_grace_seconds: 30,
            password_hashing_concurrency: hashing.concurrent,
            password_hashing_queue: hashing.queue,
            backup_dir: None,
            backup_interval_hours: 24,
            backup_keep: 7,
            slow_statement_ms: 100,
            audit_retention_days: 730,
            smtp_url: None,
            mail_from: "CareNest <carenest@localhost>".to_owned(),
            reminder_offsets: "24h".to_owned(),
            send_reminders: true,
            reminder_lease_seconds: 120,
            reminder_max_attempts: 8,
            reminder_retry_seconds: 60,
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
        config.validated()
    }

    /// The configuration, if every value makes sense; else the sentence that says which not.
    fn validated(self) -> Result<Self, String> {
        let config = self;
        if config.token_ttl_days < 1 {
            return Err("token_ttl_days must be at least 1".to_owned());
        }
        config.time_zone()?;
        if let Some(url) = &config.public_url {
            let parsed = url::Url::parse(url).map_err(|e| format!("public_url '{url}' is not a URL: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                return Err(format!("public_url '{url}' must be an http:// or https:// URL with a host"));
            }
        }
        if !(1..=1000).contains(&config.max_connections) {
            return Err("max_connections must be between 1 and 1000".to_owned());
        }
        for (key, seconds) in [
            ("statement_timeout_seconds", config.statement_timeout_seconds),
            ("request_timeout_seconds", config.request_timeout_seconds),
            ("body_timeout_seconds", config.body_timeout_seconds),
            ("header_read_timeout_seconds", config.header_read_timeout_seconds),
            ("shutdown_grace_seconds", config.shutdown_grace_seconds),
        ] {
            if !(1..=3600).contains(&seconds) {
                return Err(format!("{key} must be between 1 and 3600"));
            }
        }
        if config.max_open_connections == 0 || config.password_hashing_concurrency == 0 {
            return Err("max_open_connections and password_hashing_concurrency must be at least 1".to_owned());
        }
        config.http()?;
        if config.backup_interval_hours == 0 || config.backup_keep == 0 {
            return Err("backup_interval_hours and backup_keep must be at least 1".to_owned());
        }
        if config.audit_retention_days < carenest_domain::audit::AUDIT_RETENTION_MIN_DAYS {
            return Err(format!(
                "audit_retention_days must be at least {}",
                carenest_domain::audit::AUDIT_RETENTION_MIN_DAYS
            ));
        }
        config.reminder_policy()?;
        carenest_app::mail::parse_from(&config.mail_from)?;
        if let Some(url) = &config.smtp_url {
            let scheme = url.split_once("://").map(|(scheme, _)| scheme);
            if !matches!(scheme, Some("smtp" | "smtps")) {
                return Err(format!("smtp_url '{}' must be an smtp:// or smtps:// URL", carenest_store::redact(url)));
            }
            if config.public_url.is_none() {
                return Err("smtp_url needs public_url too: reminder emails link to the session".to_owned());
            }
        }
        if !(10..=3600).contains(&config.reminder_lease_seconds) {
            return Err("reminder_lease_seconds must be between 10 and 3600".to_owned());
        }
        if !(1..=100).contains(&config.reminder_max_attempts) || !(1..=86_400).contains(&config.reminder_retry_seconds)
        {
            return Err("reminder_max_attempts must be 1 to 100, reminder_retry_seconds 1 to 86400".to_owned());
        }
        if let Some(folder) = &config.backup_dir {
            if !std::path::Path::new(folder).is_dir() {
                return Err(format!("backup_dir '{folder}' is not a folder"));
            }
        }
        Ok(config)
    }

    /// The scheduled backups `serve` takes, if `backup_dir` is set.
    pub fn backup_schedule(&self) -> Option<crate::backups::Schedule> {
        self.backup_dir.as_ref().map(|folder| crate::backups::Schedule {
            folder: folder.into(),
            every: std::time::Duration::from_secs(self.backup_interval_hours * 3600),
            keep: self.backup_keep,
        })
    }

    /// The HTTP side's settings, parsed.
    pub fn http(&self) -> Result<carenest_server::HttpSettings, String> {
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .map(|entry| {
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| format!("trusted_proxies: '{entry}' is neither an address nor a CIDR block"))
            })
            .collect::<Result<_, _>>()?;
        let cors_origins = self
            .cors_allowed_origins
            .iter()
            .map(|origin| {
                let parsed = url::Url::parse(origin).ok().filter(|u| {
                    matches!(u.scheme(), "http" | "https")
                        && u.host().is_some()
                        && u.path() == "/"
                        && !origin.ends_with('/')
                });
                parsed.and_then(|_| axum::http::HeaderValue::from_str(origin).ok()).ok_or_else(|| {
                    format!("cors_allowed_origins: '{origin}' is not an origin such as https://app.example.org")
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(carenest_server::HttpSettings {
            trusted_proxies,
            cors_origins,
            metrics_with_api: self.metrics_bind.is_none(),
            request_timeout: std::time::Duration::from_secs(self.request_timeout_seconds),
            body_timeout: std::time::Duration::from_secs(self.body_timeout_seconds),
        })
    }

    /// Limits on the connections `serve` keeps open.
    pub fn connection_limits(&self) -> carenest_server::serve::ConnectionLimits {
        carenest_server::serve::ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_seconds),
            max_connections: self.max_open_connections,
            shutdown_grace: std::time::Duration::from_secs(self.shutdown_grace_seconds),
        }
    }

    pub fn hashing(&self) -> carenest_app::passwords::HashingLimits {
        carenest_app::passwords::HashingLimits {
            concurrent: self.password_hashing_concurrency,
            queue: self.password_hashing_queue,
            ..Default::default()
        }
    }

    /// When families are reminded, parsed.
    pub fn reminder_policy(&self) -> Result<carenest_domain::reminders::ReminderPolicy, String> {
        carenest_domain::reminders::ReminderPolicy::parse(&self.reminder_offsets, self.time_zone()?)
            .map_err(|error| format!("reminder_offsets: {error}"))
    }

    /// How the reminder sender works.
    pub fn sender(&self) -> carenest_app::reminders::SenderSettings {
        carenest_app::reminders::SenderSettings {
            lease: std::time::Duration::from_secs(self.reminder_lease_seconds),
            max_attempts: self.reminder_max_attempts,
            retry_after: std::time::Duration::from_secs(self.reminder_retry_seconds),
            ..Default::default()
        }
    }

    /// The mailer reminders go through, if `smtp_url` is set.
    pub fn mailer(&self) -> Result<Option<std::sync::Arc<dyn carenest_app::reminders::Mailer>>, String> {
        let Some(url) = &self.smtp_url else { return Ok(None) };
        let timeout = std::time::Duration::from_secs(self.reminder_lease_seconds / 4);
        let mailer = carenest_app::mail::SmtpMailer::new(url, &self.mail_from, timeout)?;
        Ok(Some(std::sync::Arc::new(mailer)))
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
        config.smtp_url = Some("smtps://mailer:tr0ub4dor@mail.example.org".into());
        let printed = format!("{config:?}");
        assert!(!printed.contains("tr0ub4dor"), "{printed}");
        assert!(printed.contains("mailer:***@mail.example.org"));
    }

    #[test]
    fn reminder_settings_that_make_no_sense_are_refused_with_a_reason() {
        let with = |change: fn(&mut Config)| {
            let mut config = Config::defaults(Environment::Development);
            change(&mut config);
            config.validated().err().unwrap_or_default()
        };
        assert_eq!(with(|_| {}), "", "the defaults are valid");
        assert!(with(|c| c.reminder_offsets = "soon".into()).contains("reminder_offsets"));
        assert!(with(|c| c.mail_from = "not an address".into()).contains("mail_from"));
        assert!(with(|c| c.smtp_url = Some("http://mail".into())).contains("smtp:// or smtps://"));
        assert!(with(|c| c.smtp_url = Some("smtp://127.0.0.1:2525".into())).contains("needs public_url"));
        assert!(with(|c| c.reminder_lease_seconds = 2).contains("reminder_lease_seconds"));
        let password = with(|c| c.smtp_url = Some("ftp://mailer:tr0ub4dor@mail".into()));
        assert!(!password.contains("tr0ub4dor"), "{password}");
    }
}
