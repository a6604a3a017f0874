//! Snapshots of every table, read and written row by row in terms every backend shares.

use std::borrow::Cow;
use std::time::Instant;

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use carenest_domain::backup::{
    BackupStore, ColumnKind, ColumnSpec, SnapshotSink, SnapshotSource, TableCount, TableSpec,
};
use carenest_domain::time::{format_time_of_day, parse_date, parse_time_of_day, parse_timestamp};
use carenest_domain::{StoreError, StoreResult};
use serde_json::Value;

use crate::rows::Columns;
use crate::{Arg, Dialect, Sql, SqlStore};

use ColumnKind::{
    Boolean as B, Bytes as Y, Date as D_, Integer as I, Json as J, Text as T, TextList as L, Time as H, Timestamp as S,
};

/// A column: its name, its kind, and whether it may be null.
type Column = (&'static str, ColumnKind, bool);

/// Every table of the current schema (migration 8), in restore order, with its columns in
/// their order. A test holds this to the live schema on both backends, so a migration that
/// adds a column can't leave backups without it. `audit_log_pruning` is left out: it is empty
/// outside the one transaction that prunes.
const TABLES: &[(&str, &[Column])] = &[
    (
        "users",
        &[
            ("id", I, false),
            ("username", T, false),
            ("email", T, false),
            ("password", T, false),
            ("profile_picture", T, true),
            ("role", T, false),
            ("created_at", S, false),
            ("updated_at", S, false),
            ("session_reminders", B, false),
        ],
    ),
    (
        "auth_tokens",
        &[
            ("id", I, false),
            ("user_id", I, false),
            ("token_hash", Y, false),
            ("expires_at", S, false),
            ("last_used_at", S, true),
            ("created_at", S, false),
            ("updated_at", S, false),
        ],
    ),
    (
        "login_throttles",
        &[
            ("id", I, false),
            ("throttle_key", T, false),
            ("failures", I, false),
            ("window_starts_at", S, false),
            ("created_at", S, false),
            ("updated_at", S, false),
        ],
    ),
    (
        "parent_profiles",
        &[
            ("id", I, false),
            ("user_id", I, false),
            ("name", T, false),
            ("email", T, true),
            ("stress_level", T, false),
            ("experience_level", T, false),
            ("primary_concerns", L, false),
            ("support_network", L, false),
            ("bio", T, true),
            ("preferred_language", T, false),
            ("communication_preference", T, true),
            ("completed_onboarding", B, false),
            ("current_onboarding_step", I, false),
            ("onboarding_data", J, false),
            ("profile_embedding", T, true),
            ("last_suggestion_check", S, true),
            ("created_at", S, false),
            ("updated_at", S, false),
        ],
    ),
    (
        "child_profiles",
        &[
            ("id", I, false),
            ("parent_profile_id", I, false),
            ("name", T, false),
            ("age", I, false),
            ("special_needs", L, false),
            ("routines", J, false),
            ("development_notes", T, true),
            ("last_assessment", S, true),
            ("created_at", S, false),
            ("updated_at", S, false),
        ],
    ),
    (
        "goal_templates",
        &[
            ("id", I, false),
            ("key", T, false),
            ("title", T, false),
            ("description", T, true),
            ("title_nl", T, true),
            ("description_nl", T, true),
            ("category", T, false),
            ("tags", L, false),
            ("min_age", I, true),
            ("max_age", I, true),
            ("created_at", S, false),
            ("updated_at", S, false),
        ],
    ),
    (
        "parenting_goals",
        &[
            ("id", I, false),
            ("parent_profile_id", I, false),
            ("child_profile_id", I, true),
            ("title", T, false),
            ("description", T, true),
            ("category", T, true),
            ("status", T, false),
            ("progress", I, false),
            ("target_date", D_, true),
            ("template_id", I, true),
            ("created_at", S, false),
            ("updated_at", S, false),
        ],
    ),
    (
        "profile_neighbour_buckets",
        &[
            ("id", I, false),
            ("parent_profile_id", I, false),
            ("band", I, false),
            ("bucket", I, false),
            ("created_at", S, false),
            ("updated_at", S, false),
        ],
    ),
    (
        "therapists",
        &[
            ("id", I, false),
            ("name", T, false),
            ("user_id", I, true),
            ("created_at", S, false),
            ("updated_at", S, false),
            ("working_hours_updated_at", S, true),
        ],
    ),
    (
        "sessions",
        &[
            ("id", I, false),
            ("date", D_, false),
            ("start_time", H, false),
            ("end_time", H, false),
            ("notes", T, true),
            ("status", T, false),
            ("series_id", I, true),
            ("child_profile_id", I, true),
            ("created_at", S, false),
            ("updated_at", S, false),
            ("version", I, false),
        ],
    ),
    (
        "session_therapists",
        &[
            ("id", I, false),
            ("session_id", I, false),
            ("therapist_id", I, false),
            ("date", D_, false),
            ("created_at", S, false),
            ("updated_at", S, false),
        ],
    ),
    (
        "audit_log",
        &[
            ("id", I, false),
            ("at", S, false),
            ("actor_user_id", I, false),
            ("actor_role", T, false),
            ("action", T, false),
            ("resource_type", T, false),
            ("resource_id", I, false),
            ("subject_user_id", I, false),
            ("created_at", S, false),
            ("updated_at", S, false),
        ],
    ),
    ("seeders", &[("id", I, false), ("name", T, false), ("created_at", S, false), ("updated_at", S, false)]),
    (
        "working_hours",
        &[
            ("id", I, false),
            ("therapist_id", I, false),
            ("weekday", I, false),
            ("start_time", H, false),
            ("end_time", H, false),
            ("created_at", S, false),
            ("updated_at", S, false),
        ],
    ),
    (
        "time_off",
        &[
            ("id", I, false),
            ("therapist_id", I, false),
            ("start_date", D_, false),
            ("end_date", D_, false),
            ("start_time", H, true),
            ("end_time", H, true),
            ("reason", T, true),
            ("created_at", S, false),
            ("updated_at", S, false),
        ],
    ),
    (
        "closures",
        &[
            ("id", I, false),
            ("start_date", D_, false),
            ("end_date", D_, false),
            ("name", T, false),
            ("created_at", S, false),
            ("updated_at", S, false),
        ],
    ),
    (
        "calendar_feeds",
        &[
            ("id", I, false),
            ("therapist_id", I, true),
            ("user_id", I, true),
            ("secret_hash", Y, false),
            ("last_used_at", S, true),
            ("created_at", S, false),
            ("updated_at", S, false),
        ],
    ),
    (
        "reminders",
        &[
            ("id", I, false),
            ("session_id", I, false),
            ("recipient_user_id", I, false),
            ("offset_minutes", I, false),
            ("session_version", I, false),
            ("due_at", S, false),
            ("state", T, false),
            ("next_attempt_at", S, false),
            ("attempts", I, false),
            ("last_error", T, true),
            ("sent_at", S, true),
            ("created_at", S, false),
            ("updated_at", S, false),
        ],
    ),
    (
        "reminder_policy",
        &[
            ("id", I, false),
            ("policy", T, false),
            ("planned_at", S, false),
            ("created_at", S, false),
            ("updated_at", S, false),
        ],
    ),
    (
        "known_clients",
        &[
            ("id", I, false),
            ("user_id", I, false),
            ("client_hash", Y, false),
            ("last_login_at", S, false),
            ("created_at", S, false),
            ("updated_at", S, false),
        ],
    ),
];

/// Rows read per statement while taking a snapshot.
const PAGE_ROWS: i64 = 2_000;

fn catalog() -> Vec<TableSpec> {
    TABLES
        .iter()
        .map(|(name, columns)| TableSpec {
            name: (*name).to_owned(),
            columns: columns
                .iter()
                .map(|(name, kind, nullable)| ColumnSpec { name: (*name).to_owned(), kind: *kind, nullable: *nullable })
                .collect(),
        })
        .collect()
}

fn bad_value(table: &str, column: &ColumnSpec, value: &Value) -> StoreError {
    let shown: String = value.to_string().chars().take(60).collect();
    StoreError::invalid(
        "backup",
        "bad_value",
        format!("{table}.{} holds {shown}, which is not a {:?} value", column.name, column.kind),
    )
}

/// A column of a row as a backup spells it.
fn read_value<D: Dialect>(row: &D::Row, column: &ColumnSpec) -> StoreResult<Value> {
    let name = column.name.as_str();
    let value = match column.kind {
        ColumnKind::Integer => row.opt_int(name)?.map(Value::from),
        ColumnKind::Text => row.opt_text(name)?.map(Value::from),
        ColumnKind::Boolean => Some(Value::from(row.flag(name)?)),
        ColumnKind::Timestamp => {
            row.opt_timestamp(name)?.map(|at| Value::from(at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()))
        }
        ColumnKind::Date => row.opt_date(name)?.map(|date| Value::from(date.format("%Y-%m-%d").to_string())),
        ColumnKind::Time => row.opt_time(name)?.map(|time| Value::from(format_time_of_day(time))),
        ColumnKind::Bytes => Some(Value::from(STANDARD.encode(row.bytes(name)?))),
        ColumnKind::Json => Some(D::json(row, name)?),
        ColumnKind::TextList => Some(Value::from(D::list(row, name)?)),
    };
    Ok(value.unwrap_or(Value::Null))
}

/// A value of a backup, decoded ahead of binding (bytes and lists own their data).
enum Decoded<'a> {
    Arg(Arg<'a>),
    Bytes(Vec<u8>),
}

fn decode<'a>(table: &str, column: &ColumnSpec, value: &'a Value) -> StoreResult<Decoded<'a>> {
    let bad = || bad_value(table, column, value);
    if value.is_null() {
        if !column.nullable {
            return Err(bad());
        }
        return Ok(Decoded::Arg(match column.kind {
            ColumnKind::Integer => Arg::Int(None),
            ColumnKind::Timestamp => Arg::Timestamp(None),
            ColumnKind::Date => Arg::Date(None),
            ColumnKind::Time => Arg::Time(None),
            ColumnKind::Boolean => Arg::Bool(None),
            ColumnKind::Bytes => Arg::Bytes(None),
            _ => Arg::Text(None),
        }));
    }
    let text = || value.as_str().ok_or_else(bad);
    Ok(Decoded::Arg(match column.kind {
        ColumnKind::Integer => Arg::Int(Some(value.as_i64().ok_or_else(bad)?)),
        ColumnKind::Text => Arg::Text(Some(text()?)),
        ColumnKind::Boolean => Arg::Bool(Some(value.as_bool().ok_or_else(bad)?)),
        ColumnKind::Timestamp => Arg::Timestamp(Some(parse_timestamp(text()?).ok_or_else(bad)?)),
        ColumnKind::Date => Arg::Date(Some(parse_date(text()?).ok_or_else(bad)?)),
        ColumnKind::Time => Arg::Time(Some(parse_time_of_day(text()?).ok_or_else(bad)?)),
        ColumnKind::Bytes => return Ok(Decoded::Bytes(STANDARD.decode(text()?).map_err(|_| bad())?)),
        ColumnKind::Json => Arg::Json(value),
        ColumnKind::TextList => {
            let items = value.as_array().ok_or_else(bad)?;
            let texts: Option<Vec<String>> = items.iter().map(|item| item.as_str().map(str::to_owned)).collect();
            Arg::Texts(Cow::Owned(texts.ok_or_else(bad)?))
        }
    }))
}

impl<D: Dialect> SqlStore<D> {
    /// Writes rows of one table the dialect's bulk way, each value checked against its column.
    async fn insert_rows(&self, conn: &mut crate::Link<D>, table: &TableSpec, rows: &[Vec<Value>]) -> StoreResult<()> {
        let columns: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        let mut decoded = Vec::with_capacity(rows.len() * columns.len());
        for row in rows {
            if row.len() != columns.len() {
                return Err(StoreError::invalid(
                    "backup",
                    "bad_row",
                    format!("a row of {} has {} values for {} columns", table.name, row.len(), columns.len()),
                ));
            }
            for (column, value) in table.columns.iter().zip(row) {
                decoded.push(decode(&table.name, column, value)?);
            }
        }
        let values = decoded
            .iter()
            .map(|value| match value {
                Decoded::Arg(arg) => arg.clone(),
                Decoded::Bytes(bytes) => Arg::from(bytes.as_slice()),
            })
            .collect();
        self.sent();
        let started = Instant::now();
        let outcome = D::bulk_insert(conn.raw(), &table.name, &columns, values).await;
        self.timed("insert", started);
        outcome.map(drop).map_err(|error| self.failed_on(conn, error))
    }
}

#[async_trait]
impl<D: Dialect> BackupStore for SqlStore<D> {
    fn backup_tables(&self) -> Vec<TableSpec> {
        catalog()
    }

    async fn export_snapshot(&self, sink: &mut dyn SnapshotSink) -> StoreResult<()> {
        let status = carenest_domain::ops::OpsStore::migration_status(self).await?;
        if status.pending().next().is_some() || !status.unknown_applied.is_empty() {
            return Err(StoreError::conflict(
                "schema_not_current",
                "the database is not at this binary's schema version; run `carenest db migrate` first",
            ));
        }
        let schema_version = status.known.last().map_or(0, |m| m.version);
        let tables = catalog();
        let mut tx = self.snapshot().await?;
        let mut counts = Vec::with_capacity(tables.len());
        for table in &tables {
            let row = self.one(&mut tx, Sql::new(format!("SELECT COUNT(*) AS n FROM {}", table.name))).await?;
            counts.push(TableCount { table: table.clone(), rows: u64::try_from(row.int("n")?).unwrap_or_default() });
        }
        sink.begin(schema_version, &counts).await?;
        for table in &tables {
            // Integers read as 64-bit whatever their column's width (PostgreSQL has `integer`).
            let columns: Vec<String> = table
                .columns
                .iter()
                .map(|c| match c.kind {
                    ColumnKind::Integer => format!("CAST({0} AS BIGINT) AS {0}", c.name),
                    _ => c.name.clone(),
                })
                .collect();
            let mut after = i64::MIN;
            loop {
                let sql = Sql::new(format!(
                    "SELECT {} FROM {} WHERE id > $1 ORDER BY id LIMIT $2",
                    columns.join(", "),
                    table.name
                ))
                .arg(after)
                .arg(PAGE_ROWS);
                let page = self.all(&mut tx, sql).await?;
                let Some(last) = page.last() else { break };
                after = last.int("id")?;
                let rows = page
                    .iter()
                    .map(|row| table.columns.iter().map(|column| read_value::<D>(row, column)).collect())
                    .collect::<StoreResult<Vec<Vec<Value>>>>()?;
                let full = rows.len() as i64 == PAGE_ROWS;
                sink.rows(&table.name, rows).await?;
                if !full {
                    break;
                }
            }
        }
        drop(tx);
        sink.end().await
    }

    async fn import_snapshot(&self, tables: &[TableSpec], source: &mut dyn SnapshotSource) -> StoreResult<u64> {
        if let Some(odd) = tables.iter().find(|t| !t.has_plain_names()) {
            return Err(StoreError::invalid(
                "backup",
                "bad_name",
                format!("the table name {:?} is not one of ours", odd.name),
            ));
        }
        let mut tx = self.write().await?;
        for table in tables {
            let row = self.one(&mut tx, Sql::new(format!("SELECT COUNT(*) AS n FROM {}", table.name))).await?;
            if row.int("n")? > 0 {
                return Err(StoreError::conflict(
                    "database_not_empty",
                    format!("the database already holds data ({} has rows); restore into an empty one", table.name),
                ));
            }
        }
        let mut restored = 0u64;
        while let Some((name, rows)) = source.next_rows().await? {
            let table = tables.iter().find(|t| t.name == name).ok_or_else(|| {
                StoreError::invalid(
                    "backup",
                    "bad_table",
                    format!("rows for {name}, a table the backup does not describe"),
                )
            })?;
            if let Err(refused) = self.insert_rows(&mut tx, table, &rows).await {
                // A row the database refuses may be a damaged line whose checksum is only
                // checked at the end of the file: read on, so a damaged file is named as such.
                while source.next_rows().await?.is_some() {}
                return Err(refused);
            }
            restored += rows.len() as u64;
        }
        for table in tables {
            if let Some(reset) = D::reset_identity(&table.name) {
                self.execute(&mut tx, Sql::new(reset)).await?;
            }
        }
        self.commit(tx).await?;
        Ok(restored)
    }

    async fn migrate_to(&self, version: i64) -> StoreResult<()> {
        D::run_migrations(self.pool(), Some(version)).await
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        for (table, _) in TABLES {
            let exists = self.read_one(Sql::new(D::table_exists(table))).await?.flag("present")?;
            if exists && self.read_one(Sql::new(format!("SELECT COUNT(*) AS n FROM {table}"))).await?.int("n")? > 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
