//! The `carenest` command line: serve the API and manage its database.

mod backups;
mod config;
mod progress;
pub mod seed;
mod synthetic;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use carenest_domain::accounts::{check_email, check_password, check_username, NewUser, Role};
use carenest_domain::validation::Errors;
use carenest_domain::{Store, StoreError};
use carenest_server::{app, AppState, Settings};
use clap::{Args, Parser, Subcommand};

pub use config::{Config, Environment};

/// Prints a line to stdout. A reader that stops early (`carenest openapi | head`) closes the
/// pipe; that is not an error worth a panic, so write failures are ignored.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

#[derive(Debug, Parser)]
#[command(name = "carenest", version, about = "CareNest: families, their goals, and the therapy practice's schedule")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Global {
    /// Database URL (postgres://... or sqlite://...); overrides DATABASE_URL and carenest.toml.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Environment whose defaults apply.
    #[arg(long, global = true, env = "CARENEST_ENV", default_value = "development")]
    env: Environment,
    /// Configuration file (default: CARENEST_CONFIG, else ./carenest.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending migrations and serve the API.
    Serve {
        /// Address to listen on (overrides CARENEST_BIND).
        #[arg(long)]
        bind: Option<String>,
        /// Also load the goal templates and the demo data (once each) and print the demo logins.
        #[arg(long)]
        demo: bool,
    },
    /// Manage the database.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Session reminders: send them apart from `serve`, or see how the outbox stands.
    Reminders {
        #[command(subcommand)]
        command: RemindersCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
}

#[derive(Debug, Subcommand)]
enum RemindersCommand {
    /// Send due reminders until stopped (as `serve` does unless `send_reminders` is false).
    Run,
    /// How many reminders are in each state, and the latest failures.
    Status,
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Create the database.
    Create,
    /// Drop the database.
    Drop,
    /// Create the database and apply every migration.
    Setup,
    /// Drop, create and migrate the database.
    Reset,
    /// Apply pending migrations.
    Migrate {
        /// Only list what would be applied.
        #[arg(long)]
        dry_run: bool,
    },
    /// Undo the newest migrations.
    Rollback {
        /// How many to undo.
        #[arg(long, default_value_t = 1, conflicts_with = "all")]
        steps: usize,
        /// Undo every migration.
        #[arg(long)]
        all: bool,
        /// Undo the audit migration even though the audit log holds rows (they are lost).
        #[arg(long)]
        force: bool,
    },
    /// List applied and pending migrations and seeders.
    Status,
    /// Write a consistent backup of every table to FILE (`-`: standard output).
    Backup { file: String },
    /// Restore a backup from FILE (`-`: standard input) into an empty database.
    Restore { file: String },
    /// Copy every row into another, empty database (say, from SQLite to PostgreSQL).
    Copy {
        /// The target database's URL.
        #[arg(long)]
        to: String,
    },
    /// Delete audit entries older than the retention period (at least a year).
    PruneAudit {
        /// How old an entry must be to go, such as 2y or 400d; default: `audit_retention_days`.
        #[arg(long)]
        older_than: Option<String>,
    },
    /// Run named seeders (default: all), each at most once.
    Seed {
        /// `synthetic` generates a practice of the given size into an empty database, alone.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(seed::SEEDERS.iter().chain(&["synthetic"])))]
        names: Vec<String>,
        /// Remove what the seeders added instead.
        #[arg(long)]
        undo: bool,
        /// synthetic: families, each with 0-4 children and 0-8 goals [default: 5000]
        #[arg(long)]
        families: Option<u64>,
        /// synthetic: therapists, each with a login and weekday hours [default: 200]
        #[arg(long)]
        therapists: Option<u64>,
        /// synthetic: sessions, over as many weekdays as they need [default: 500000]
        #[arg(long)]
        sessions: Option<u64>,
        /// synthetic: the password of every generated user [default: benchmark]
        #[arg(long)]
        password: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from a prompt, or from stdin with --password-stdin.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "parent")]
        role: Role,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Parses the command line, runs it, and turns any failure into one sentence on stderr.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;

    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = if config.log_format == "json" { fmt.json().boxed() } else { fmt.boxed() };
    let _ = tracing_subscriber::registry().with(fmt.with_filter(filter)).try_init();
}

/// A store error as one sentence for a person at a terminal.
fn explain(error: StoreError, url: &str) -> String {
    let url = carenest_store::redact(url);
    match error {
        StoreError::Unavailable(cause) => format!("could not use the database at {url}: {cause}"),
        StoreError::Other(cause) => format!("the database at {url} reported an error: {cause}"),
        other => describe(&other),
    }
}

/// A refusal as the sentence a command ends with: the store's own words where it has them.
fn describe(error: &StoreError) -> String {
    match error {
        StoreError::Conflict { constraint: "unknown_migration" | "audit_log_not_empty", detail, .. } => detail.clone(),
        StoreError::Conflict { detail, .. } if carenest_app::backup::is_backup_refusal(error) => detail.clone(),
        StoreError::Conflict { constraint, .. } => carenest_domain::error::describe_conflict(constraint).to_owned(),
        StoreError::Invalid(errors) => errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "),
        StoreError::NotFound => "not found".to_owned(),
        other => other.to_string(),
    }
}

async fn connect(config: &Config, url: &str) -> Result<Arc<dyn Store>, String> {
    let pool = carenest_store::PoolSettings {
        max_connections: config.max_connections,
        statement_timeout: std::time::Duration::from_secs(config.statement_timeout_seconds),
        ..Default::default()
    };
    let options = carenest_store::StoreOptions {
        pool,
        reminders: config.reminder_policy()?,
        slow_statement: std::time::Duration::from_millis(config.slow_statement_ms),
        ..Default::default()
    };
    Ok(carenest_store::open(url, options).await.map_err(|e| explain(e, url))?.store)
}

async fn execute(cli: Cli) -> Result<(), String> {
    let environment = cli.global.env;
    let mut config = Config::load(environment, cli.global.config)?;
    if let Some(url) = cli.global.database_url {
        config.database_url = Some(url);
    }
    init_logging(&config);
    match cli.command {
        Command::Openapi => {
            out!("{}", carenest_server::openapi_json());
            Ok(())
        }
        Command::Serve { bind, demo } => {
            if let Some(bind) = bind {
                config.bind = bind;
            }
            serve(&config, environment, demo).await
        }
        Command::Db { command } => {
            let url = config.database_url(environment)?.to_owned();
            carenest_store::Backend::of(&url)?;
            db(&config, &url, command).await
        }
        Command::Reminders { command } => {
            let url = config.database_url(environment)?.to_owned();
            reminders(&config, &url, command).await
        }
        Command::User { command: UserCommand::Create { username, email, role, password_stdin } } => {
            let url = config.database_url(environment)?.to_owned();
            create_user(&config, &url, username, email, role, password_stdin).await
        }
    }
}

async fn migrate(store: &dyn Store, url: &str) -> Result<(), String> {
    let applied = store.migrate().await.map_err(|e| explain(e, url))?;
    for migration in applied {
        eprintln!("applied migration {} {}", migration.version, migration.description);
    }
    Ok(())
}

async fn serve(config: &Config, environment: Environment, demo: bool) -> Result<(), String> {
    let url = config.database_url(environment)?.to_owned();
    carenest_store::Backend::of(&url)?;
    let store = connect(config, &url).await?;
    migrate(store.as_ref(), &url).await?;
    if demo {
        let hash = carenest_app::passwords::hash_password_now(seed::DEMO_PASSWORD)
            .map_err(|_| "could not hash the demo password")?;
        for seeder in seed::SEEDERS {
            if seed::run(store.as_ref(), seeder, &hash).await.map_err(|e| explain(e, &url))? {
                eprintln!("loaded the {seeder} data");
            }
        }
        print_demo_logins();
    }
    let settings = settings(config)?;
    let listener = listen(&config.bind).await?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%address, backend = store.backend_name(), database = %carenest_store::redact(&url), "serving");
    eprintln!("CareNest is listening on http://{address} (database: {})", carenest_store::redact(&url));
    let state = AppState::new(store.clone(), settings).with_http(config.http()?);
    let limits = config.connection_limits();
    // One signal stops both listeners.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let when_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    let metrics = match &config.metrics_bind {
        Some(bind) => {
            let listener = listen(bind).await?;
            let address = listener.local_addr().map_err(|e| e.to_string())?;
            eprintln!("metrics are served on http://{address}/metrics");
            let metrics = carenest_server::metrics_app(state.clone());
            Some(tokio::spawn(carenest_server::serve::serve(listener, metrics, limits, when_stopped())))
        }
        None => None,
    };
    let scheduled_backups = config.backup_schedule().map(|schedule| {
        eprintln!("backups every {:?} into {} (keeping {})", schedule.every, schedule.folder.display(), schedule.keep);
        tokio::spawn(backups::scheduled(store.clone(), schedule))
    });
    let mut sender = start_reminders(config, &state.app, when_stopped())?;
    let api = carenest_server::serve::serve(listener, app(state), limits, when_stopped());
    let signal = async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    };
    let (served, ()) = tokio::join!(api, signal);
    served.map_err(|e| format!("the server stopped: {e}"))?;
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    if let Some(backups) = scheduled_backups {
        backups.abort();
    }
    // A pass under way finishes its sends (bounded by half a lease) and records them; an
    // unfinished one is taken over by another sender when its lease runs out.
    let grace = config.connection_limits().shutdown_grace.min(config.sender().lease);
    if tokio::time::timeout(grace, &mut sender).await.is_err() {
        sender.abort();
    }
    // Connections still held by requests cut off at the end of the grace period are not
    // waited for.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), store.close()).await;
    tracing::info!("stopped");
    Ok(())
}

fn settings(config: &Config) -> Result<Settings, String> {
    Ok(Settings {
        token_ttl: chrono::Duration::days(config.token_ttl_days),
        practice_time_zone: config.time_zone()?,
        public_url: config.public_url.clone(),
        hashing: config.hashing(),
        reminders: config.reminder_policy()?,
        ..Settings::default()
    })
}

/// Plans the outbox anew if the practice's offsets changed, and runs the sender until `stop`
/// when there is a mail server to send through. Planning runs beside serving: a booking
/// meanwhile plans its own rows, and planning again is idempotent.
fn start_reminders(
    config: &Config,
    app: &carenest_app::App,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let mailer = config.mailer()?;
    let sending = config.send_reminders && mailer.is_some();
    if mailer.is_none() {
        eprintln!("reminders are planned but not sent: smtp_url is not set");
    } else if !sending {
        eprintln!("reminders are not sent by this process (send_reminders = false)");
    }
    let (app, settings) = (app.clone(), config.sender());
    Ok(tokio::spawn(async move {
        match app.plan_all_reminders().await {
            Ok(0) => {}
            Ok(rows) => tracing::info!(rows, "reminders planned for the practice's offsets"),
            Err(error) => tracing::warn!(?error, "could not plan reminders for the practice's offsets"),
        }
        if let Some(mailer) = mailer.filter(|_| sending) {
            carenest_app::reminders::run_sender(app, mailer, settings, stop).await;
        }
    }))
}

async fn reminders(config: &Config, url: &str, command: RemindersCommand) -> Result<(), String> {
    let store = connect(config, url).await?;
    migrate(store.as_ref(), url).await?;
    match command {
        RemindersCommand::Run => {
            let mailer = config.mailer()?.ok_or("reminders run needs smtp_url (CARENEST_SMTP_URL)")?;
            let planned = store.plan_all_reminders().await.map_err(|e| explain(e, url))?;
            let smtp = carenest_store::redact(config.smtp_url.as_deref().unwrap_or_default());
            eprintln!("sending reminders through {smtp} (planned {planned} rows first); stop with Ctrl-C");
            let app = carenest_app::App::new(store.clone(), settings(config)?);
            carenest_app::reminders::run_sender(app, mailer, config.sender(), shutdown_signal()).await;
        }
        RemindersCommand::Status => {
            let counts = store.reminder_counts().await.map_err(|e| explain(e, url))?;
            out!("reminders by state:");
            use carenest_domain::validation::Choice;
            for state in carenest_domain::reminders::ReminderState::ALL {
                let count = counts.iter().find(|(s, _)| s.as_str() == *state).map_or(0, |(_, n)| *n);
                out!("  {state:<11} {count}");
            }
            let failed = store.failed_reminders(20).await.map_err(|e| explain(e, url))?;
            if !failed.is_empty() {
                out!("latest failures:");
            }
            for reminder in failed {
                out!(
                    "  reminder {} (session {}, due {}, {} attempts): {}",
                    reminder.id,
                    reminder.session_id.0,
                    reminder.due_at.format("%Y-%m-%d %H:%M UTC"),
                    reminder.attempts,
                    reminder.last_error.as_deref().unwrap_or("no error recorded")
                );
            }
        }
    }
    store.close().await;
    Ok(())
}

async fn listen(bind: &str) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(bind).await.map_err(|e| format!("could not listen on {bind}: {e}"))
}

/// Resolves on SIGINT or SIGTERM: the server then stops accepting and finishes what it has.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

fn print_demo_logins() {
    eprintln!("demo logins (password '{}'):", seed::DEMO_PASSWORD);
    for login in seed::demo_logins() {
        eprintln!("  {:<14} {}", login.username, login.role);
    }
}

async fn db(config: &Config, url: &str, command: DbCommand) -> Result<(), String> {
    match command {
        DbCommand::Create => {
            let created = carenest_store::create_database(url).await.map_err(|e| explain(e, url))?;
            eprintln!("{} {}", if created { "created" } else { "already exists:" }, carenest_store::redact(url));
        }
        DbCommand::Drop => {
            let dropped = carenest_store::drop_database(url).await.map_err(|e| explain(e, url))?;
            eprintln!("{} {}", if dropped { "dropped" } else { "does not exist:" }, carenest_store::redact(url));
        }
        DbCommand::Setup => {
            carenest_store::create_database(url).await.map_err(|e| explain(e, url))?;
            let store = connect(config, url).await?;
            migrate(store.as_ref(), url).await?;
            store.close().await;
        }
        DbCommand::Reset => {
            carenest_store::drop_database(url).await.map_err(|e| explain(e, url))?;
            carenest_store::create_database(url).await.map_err(|e| explain(e, url))?;
            let store = connect(config, url).await?;
            migrate(store.as_ref(), url).await?;
            store.close().await;
        }
        DbCommand::Migrate { dry_run } => {
            let store = connect(config, url).await?;
            if dry_run {
                let status = store.migration_status().await.map_err(|e| explain(e, url))?;
                carenest_domain::ops::refuse_unknown(&status).map_err(|e| explain(e, url))?;
                let pending: Vec<_> = status.pending().collect();
                if pending.is_empty() {
                    out!("nothing to apply");
                }
                for migration in pending {
                    out!("would apply {} {}", migration.version, migration.description);
                }
            } else {
                migrate(store.as_ref(), url).await?;
            }
            store.close().await;
        }
        DbCommand::Rollback { steps, all, force } => {
            let store = connect(config, url).await?;
            let steps = if all { None } else { Some(steps) };
            let undone = store.rollback(steps, force).await.map_err(|e| explain(e, url))?;
            if undone.is_empty() {
                eprintln!("nothing to roll back");
            }
            for migration in undone {
                eprintln!("rolled back {} {}", migration.version, migration.description);
            }
            store.close().await;
        }
        DbCommand::Status => {
            let store = connect(config, url).await?;
            let status = store.migration_status().await.map_err(|e| explain(e, url))?;
            out!("database: {} ({})", carenest_store::redact(url), store.backend_name());
            out!("migrations:");
            for migration in &status.known {
                match migration.applied_at {
                    Some(at) => out!(
                        "  applied  {:>4} {:<24} {}",
                        migration.version,
                        migration.description,
                        at.format("%Y-%m-%d %H:%M:%S UTC")
                    ),
                    None => out!("  pending  {:>4} {}", migration.version, migration.description),
                }
            }
            for version in &status.unknown_applied {
                out!("  unknown  {version:>4} (applied by a newer CareNest)");
            }
            let ran = if status.known.iter().any(|m| m.version == 4 && m.applied_at.is_some()) {
                store.seeders_run().await.map_err(|e| explain(e, url))?
            } else {
                Vec::new()
            };
            out!("seeders:");
            for name in seed::SEEDERS {
                match ran.iter().find(|(ran, _)| ran == name) {
                    Some((_, at)) => out!("  ran      {name:<24} {}", at.format("%Y-%m-%d %H:%M:%S UTC")),
                    None => out!("  not run  {name}"),
                }
            }
            store.close().await;
        }
        DbCommand::Backup { file } => {
            let store = connect(config, url).await?;
            let summary = backups::backup_to(store.as_ref(), &file).await;
            store.close().await;
            eprintln!("{}", summary.map_err(|e| format!("the backup failed: {e}"))?);
        }
        DbCommand::Restore { file } => {
            carenest_store::create_database(url).await.map_err(|e| explain(e, url))?;
            let store = connect(config, url).await?;
            let summary = backups::restore_from(store.as_ref(), &file).await;
            store.close().await;
            eprintln!("{}", summary?);
        }
        DbCommand::Copy { to } => {
            carenest_store::Backend::of(&to)?;
            carenest_store::create_database(&to).await.map_err(|e| explain(e, &to))?;
            let (from, target) = (connect(config, url).await?, connect(config, &to).await?);
            let summary = backups::copy(from.as_ref(), target.as_ref()).await;
            from.close().await;
            target.close().await;
            eprintln!("{} into {}", summary?, carenest_store::redact(&to));
        }
        DbCommand::PruneAudit { older_than } => {
            let text = older_than.unwrap_or_else(|| format!("{}d", config.audit_retention_days));
            let before = chrono::Utc::now() - backups::retention(&text)?;
            let store = connect(config, url).await?;
            let removed = store.prune_audit(before).await.map_err(|e| explain(e, url));
            store.close().await;
            eprintln!("removed {} audit entries from before {}", removed?, before.format("%Y-%m-%d %H:%M UTC"));
        }
        DbCommand::Seed { names, undo, families, therapists, sessions, password }
            if names.iter().any(|n| n == "synthetic") =>
        {
            if undo || names.len() > 1 {
                return Err("synthetic is seeded on its own and not undone: `db reset` empties the database".into());
            }
            let (families, therapists, sessions) =
                (families.unwrap_or(5_000), therapists.unwrap_or(200), sessions.unwrap_or(500_000));
            let password = password.unwrap_or_else(|| "benchmark".to_owned());
            let started = std::time::Instant::now();
            let hash =
                carenest_app::passwords::hash_password_now(&password).map_err(|_| "could not hash the password")?;
            let store = connect(config, url).await?;
            let scale = synthetic::Scale { families, therapists, sessions };
            let seeded = synthetic::seed(store.as_ref(), scale, hash).await;
            let seeded = seeded.map_err(|e| explain(e, url))?;
            let seconds = started.elapsed().as_secs_f64();
            // The outbox a practice of this size would have: the sessions ahead reminded.
            let planning = std::time::Instant::now();
            let reminders = store.plan_all_reminders().await;
            store.close().await;
            let reminders = reminders.map_err(|e| explain(e, url))?;
            eprintln!("synthetic: planned {reminders} reminders in {:.1} s", planning.elapsed().as_secs_f64());
            eprintln!(
                "synthetic: {} rows in {seconds:.1} s ({:.0} rows/s): {families} families with {} children, \
                 {therapists} therapists, {sessions} sessions over {} weekdays; log in as admin, therapist.N or \
                 parent.N with the given password",
                seeded.rows,
                seeded.rows as f64 / seconds,
                seeded.children,
                seeded.days
            );
        }
        DbCommand::Seed { names, undo, families, therapists, sessions, password } => {
            if families.is_some() || therapists.is_some() || sessions.is_some() || password.is_some() {
                return Err("--families, --therapists, --sessions and --password are for `db seed synthetic`".into());
            }
            let store = connect(config, url).await?;
            let names: Vec<String> =
                if names.is_empty() { seed::SEEDERS.iter().map(|s| (*s).to_owned()).collect() } else { names };
            let hash = carenest_app::passwords::hash_password_now(seed::DEMO_PASSWORD)
                .map_err(|_| "could not hash the demo password")?;
            for name in names {
                if undo {
                    let undone = seed::undo(store.as_ref(), &name).await.map_err(|e| explain(e, url))?;
                    eprintln!("{name}: {}", if undone { "undone" } else { "had not run" });
                } else {
                    let ran = seed::run(store.as_ref(), &name, &hash).await.map_err(|e| explain(e, url))?;
                    eprintln!("{name}: {}", if ran { "seeded" } else { "already ran; nothing to do" });
                    if ran && name == "demo" {
                        print_demo_logins();
                    }
                }
            }
            store.close().await;
        }
    }
    Ok(())
}

fn read_password(from_stdin: bool) -> Result<String, String> {
    if from_stdin {
        let mut password = String::new();
        std::io::stdin().read_to_string(&mut password).map_err(|e| format!("could not read the password: {e}"))?;
        return Ok(password.trim_end_matches(['\r', '\n']).to_owned());
    }
    if !std::io::stdin().is_terminal() {
        return Err("no terminal to ask for a password; pass --password-stdin and pipe it in".to_owned());
    }
    let first = rpassword::prompt_password("password: ").map_err(|e| format!("could not read the password: {e}"))?;
    let second = rpassword::prompt_password("again: ").map_err(|e| format!("could not read the password: {e}"))?;
    if first != second {
        return Err("the two passwords differ".to_owned());
    }
    Ok(first)
}

async fn create_user(
    config: &Config,
    url: &str,
    username: String,
    email: String,
    role: Role,
    password_stdin: bool,
) -> Result<(), String> {
    let mut errors = Errors::new();
    check_username(&mut errors, "username", &username);
    check_email(&mut errors, "email", &email);
    errors.finish(()).map_err(|errors| errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join("; "))?;
    let password = read_password(password_stdin)?;
    let mut errors = Errors::new();
    check_password(&mut errors, "password", &password);
    errors.finish(()).map_err(|errors| errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join("; "))?;
    let password_hash = tokio::task::spawn_blocking(move || carenest_app::passwords::hash_password_now(&password))
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or("could not hash the password")?;
    let store = connect(config, url).await?;
    let user = store
        .create_user(NewUser { username, email, password_hash, profile_picture: None, role, first_token: None })
        .await
        .map_err(|e| explain(e, url))?;
    eprintln!("created user {} (id {}, role {})", user.username, user.id, user.role);
    store.close().await;
    Ok(())
}
