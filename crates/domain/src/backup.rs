//! Whole-database snapshots: what a table looks like to a backup, and the store's side of
//! taking one and restoring one. The file format lives with the application
//! (`carenest_app::backup`); the store only reads and writes rows.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::StoreResult;

/// How a column's values travel in a backup, whichever backend wrote them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// A JSON number.
    Integer,
    Text,
    Boolean,
    /// RFC 3339 in UTC, microseconds.
    Timestamp,
    /// `YYYY-MM-DD`.
    Date,
    /// `HH:MM:SS`.
    Time,
    /// Base64 (standard alphabet, padded).
    Bytes,
    /// A JSON document, as it is.
    Json,
    /// A JSON array of strings.
    TextList,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSpec {
    pub name: String,
    pub kind: ColumnKind,
    pub nullable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSpec {
    pub name: String,
    pub columns: Vec<ColumnSpec>,
}

impl TableSpec {
    /// Whether every name in it is a plain lower-case identifier: names from a file go into
    /// SQL, so nothing else may pass.
    pub fn has_plain_names(&self) -> bool {
        let plain = |name: &str| {
            name.starts_with(|c: char| c.is_ascii_lowercase())
                && name.len() <= 63
                && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        plain(&self.name) && self.columns.iter().all(|c| plain(&c.name))
    }
}

/// One table's part of a snapshot: its shape and how many rows it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCount {
    #[serde(flatten)]
    pub table: TableSpec,
    pub rows: u64,
}

/// Where a snapshot's rows go, a page at a time, tables in an order that restores (every row
/// after the rows it refers to).
#[async_trait]
pub trait SnapshotSink: Send {
    /// Before any row: the schema version and every table with its row count.
    async fn begin(&mut self, schema_version: i64, tables: &[TableCount]) -> StoreResult<()>;
    /// Rows of one table, each its columns' values in the table's order.
    async fn rows(&mut self, table: &str, rows: Vec<Vec<Value>>) -> StoreResult<()>;
    /// After the last row.
    async fn end(&mut self) -> StoreResult<()>;
}

/// Where a restore's rows come from. It checks what it hands out (counts, checksum) and
/// answers `Err` at the first sign of a damaged source, which undoes the whole restore.
#[async_trait]
pub trait SnapshotSource: Send {
    /// The next page of rows and the table they belong to; `None` after the last, once the
    /// source has verified itself whole.
    async fn next_rows(&mut self) -> StoreResult<Option<(String, Vec<Vec<Value>>)>>;
}

#[async_trait]
pub trait BackupStore {
    /// Every table of the current schema, in restore order.
    fn backup_tables(&self) -> Vec<TableSpec>;
    /// Reads every table in one consistent snapshot (a read-only repeatable-read transaction
    /// on PostgreSQL, one read transaction on SQLite), a page at a time, into `sink`. The
    /// database must be fully migrated.
    async fn export_snapshot(&self, sink: &mut dyn SnapshotSink) -> StoreResult<()>;
    /// Writes the rows of `source` into `tables` of an empty database in one transaction, and
    /// moves identity sequences past the restored ids. `Conflict` on `database_not_empty`.
    async fn import_snapshot(&self, tables: &[TableSpec], source: &mut dyn SnapshotSource) -> StoreResult<u64>;
    /// Applies migrations up to `version` only (a restore first brings an empty database to
    /// the version its file was taken at).
    async fn migrate_to(&self, version: i64) -> StoreResult<()>;
    /// Whether every one of the current schema's tables is empty.
    async fn is_empty(&self) -> StoreResult<bool>;
}
