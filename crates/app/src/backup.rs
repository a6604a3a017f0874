//! The backup file, and taking and restoring one.
//!
//! A backup is a gzip stream of JSON lines (format version 1):
//!
//! 1. a header: `{"format": "carenest-backup", "formatVersion": 1, "schemaVersion": 6,
//!    "backend": "sqlite", "createdAt": "...", "checksum": "sha256", "tables": [{"name",
//!    "columns": [{"name", "kind", "nullable"}], "rows"}]}`: the schema the rows fit, every
//!    table's columns and row count, in restore order;
//! 2. one line per row, tables in the header's order: `{"table": "users", "row": [...]}`, the
//!    values in the columns' order, spelled as `ColumnKind` says;
//! 3. a trailer: `{"end": true, "rows": N, "sha256": "..."}`, the SHA-256 of every row line
//!    (each with its newline) as written. The checksum closes the file rather than opening it
//!    because the file is written as the rows are read, in one pass; a file cut short has no
//!    trailer and is refused.
//!
//! Memory stays flat whatever the size: the store reads and writes a page of rows at a time.

use std::io::{BufRead, BufReader, Read, Write};

use async_trait::async_trait;
use carenest_domain::backup::{SnapshotSink, SnapshotSource, TableCount, TableSpec};
use carenest_domain::{Store, StoreError, StoreResult};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const FORMAT: &str = "carenest-backup";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    pub format: String,
    pub format_version: u32,
    pub schema_version: i64,
    pub backend: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// How the trailer's checksum is computed.
    pub checksum: String,
    pub tables: Vec<TableCount>,
}

impl Header {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

#[derive(Serialize, Deserialize)]
struct RowLine {
    table: String,
    row: Vec<Value>,
}

#[derive(Serialize, Deserialize)]
struct Trailer {
    end: bool,
    rows: u64,
    sha256: String,
}

/// Reports progress: the table being worked on, rows done in it, and its total.
pub type OnProgress = Box<dyn FnMut(&str, u64, u64) + Send>;

fn refused(code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::conflict(code, message.into())
}

fn written(error: std::io::Error) -> StoreError {
    refused("backup_unwritable", format!("the backup could not be written: {error}"))
}

/// Writes a snapshot as a backup file.
pub struct BackupWriter<W: Write + Send> {
    out: Option<GzEncoder<W>>,
    backend: String,
    checksum: Sha256,
    rows: u64,
    header: Option<Header>,
    table: (String, u64),
    on_progress: OnProgress,
}

impl<W: Write + Send> BackupWriter<W> {
    pub fn new(out: W, backend: &str, on_progress: OnProgress) -> Self {
        Self {
            out: Some(GzEncoder::new(out, Compression::fast())),
            backend: backend.to_owned(),
            checksum: Sha256::new(),
            rows: 0,
            header: None,
            table: (String::new(), 0),
            on_progress,
        }
    }

    fn line(&mut self, value: &impl Serialize) -> StoreResult<Vec<u8>> {
        let mut line = serde_json::to_vec(value).map_err(StoreError::other)?;
        line.push(b'\n');
        self.out.as_mut().expect("open until finished").write_all(&line).map_err(written)?;
        Ok(line)
    }

    /// The header, once the snapshot has begun.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// Flushes the compressed stream and hands back the writer.
    pub fn finish(mut self) -> StoreResult<W> {
        self.out.take().expect("finished once").finish().map_err(written)
    }
}

#[async_trait]
impl<W: Write + Send> SnapshotSink for BackupWriter<W> {
    async fn begin(&mut self, schema_version: i64, tables: &[TableCount]) -> StoreResult<()> {
        let header = Header {
            format: FORMAT.to_owned(),
            format_version: FORMAT_VERSION,
            schema_version,
            backend: self.backend.clone(),
            created_at: carenest_domain::time::now(),
            checksum: "sha256 of the row lines, in the trailer".to_owned(),
            tables: tables.to_vec(),
        };
        self.line(&header)?;
        self.header = Some(header);
        Ok(())
    }

    async fn rows(&mut self, table: &str, rows: Vec<Vec<Value>>) -> StoreResult<()> {
        if self.table.0 != table {
            self.table = (table.to_owned(), 0);
        }
        let count = rows.len() as u64;
        for row in rows {
            let line = self.line(&RowLine { table: table.to_owned(), row })?;
            self.checksum.update(&line);
        }
        self.rows += count;
        self.table.1 += count;
        let total =
            self.header.as_ref().and_then(|h| h.tables.iter().find(|t| t.table.name == table)).map_or(0, |t| t.rows);
        (self.on_progress)(table, self.table.1, total);
        Ok(())
    }

    async fn end(&mut self) -> StoreResult<()> {
        let sha256 = format!("{:x}", std::mem::take(&mut self.checksum).finalize());
        self.line(&Trailer { end: true, rows: self.rows, sha256 })?;
        Ok(())
    }
}

fn corrupt(detail: impl std::fmt::Display) -> StoreError {
    refused("backup_corrupt", format!("the backup file is damaged or not a CareNest backup ({detail})"))
}

/// One line of the decompressed stream, its newline included.
fn read_line(lines: &mut impl BufRead, line: &mut Vec<u8>) -> StoreResult<usize> {
    lines.read_until(b'\n', line).map_err(|error| {
        // flate2 reports a compressed stream that stops mid-way as "incomplete".
        if error.kind() == std::io::ErrorKind::UnexpectedEof || error.to_string().contains("incomplete") {
            cut_short()
        } else {
            corrupt(error)
        }
    })
}

fn cut_short() -> StoreError {
    refused("backup_truncated", "the backup file ends too early: it was cut short (no trailer)")
}

/// Reads a backup file, checking it as it goes.
pub struct BackupReader<R: Read + Send> {
    lines: BufReader<MultiGzDecoder<R>>,
    header: Header,
    checksum: Sha256,
    read: Vec<u64>,
    /// A row read ahead that belongs to the next page.
    pending: Option<RowLine>,
    finished: bool,
    on_progress: OnProgress,
}

/// Rows handed to the store at a time.
const PAGE_ROWS: usize = 2_000;

impl<R: Read + Send> BackupReader<R> {
    /// Opens a backup and reads its header; refuses what is not a backup of a format this
    /// binary reads.
    pub fn open(input: R, on_progress: OnProgress) -> StoreResult<Self> {
        let mut lines = BufReader::new(MultiGzDecoder::new(input));
        let mut first = Vec::new();
        read_line(&mut lines, &mut first)?;
        let header: Header = serde_json::from_slice(&first).map_err(|_| corrupt("no backup header"))?;
        if header.format != FORMAT {
            return Err(corrupt(format!("format {:?}", header.format)));
        }
        if header.format_version > FORMAT_VERSION {
            return Err(refused(
                "backup_newer_format",
                format!("the backup is in format {}, newer than this CareNest reads ({FORMAT_VERSION}); restore it with a newer CareNest", header.format_version),
            ));
        }
        let read = vec![0; header.tables.len()];
        Ok(Self { lines, header, checksum: Sha256::new(), read, pending: None, finished: false, on_progress })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn tables(&self) -> Vec<TableSpec> {
        self.header.tables.iter().map(|t| t.table.clone()).collect()
    }

    /// The next row, `None` after a trailer that checks out.
    fn next_row(&mut self) -> StoreResult<Option<RowLine>> {
        if let Some(row) = self.pending.take() {
            return Ok(Some(row));
        }
        let mut line = Vec::new();
        let read = read_line(&mut self.lines, &mut line)?;
        if read == 0 || !line.ends_with(b"\n") {
            return Err(cut_short());
        }
        if let Ok(row) = serde_json::from_slice::<RowLine>(&line) {
            self.checksum.update(&line);
            let Some(index) = self.header.tables.iter().position(|t| t.table.name == row.table) else {
                return Err(corrupt(format!("rows for {}, a table the header does not list", row.table)));
            };
            self.read[index] += 1;
            if self.read[index] > self.header.tables[index].rows {
                return Err(corrupt(format!("more rows of {} than the header counts", row.table)));
            }
            return Ok(Some(row));
        }
        let trailer: Trailer =
            serde_json::from_slice(&line).map_err(|_| corrupt("a line that is neither a row nor the trailer"))?;
        let sha256 = format!("{:x}", std::mem::take(&mut self.checksum).finalize());
        let counted: u64 = self.read.iter().sum();
        if !trailer.end || trailer.sha256 != sha256 {
            return Err(corrupt("the checksum does not match the rows"));
        }
        if trailer.rows != counted || self.header.tables.iter().zip(&self.read).any(|(t, read)| t.rows != *read) {
            return Err(corrupt("the rows do not add up to the header's counts"));
        }
        Ok(None)
    }
}

#[async_trait]
impl<R: Read + Send> SnapshotSource for BackupReader<R> {
    async fn next_rows(&mut self) -> StoreResult<Option<(String, Vec<Vec<Value>>)>> {
        if self.finished {
            return Ok(None);
        }
        let Some(first) = self.next_row()? else {
            self.finished = true;
            return Ok(None);
        };
        let table = first.table;
        let mut rows = vec![first.row];
        while rows.len() < PAGE_ROWS {
            match self.next_row()? {
                Some(row) if row.table == table => rows.push(row.row),
                Some(row) => {
                    self.pending = Some(row);
                    break;
                }
                None => {
                    self.finished = true;
                    break;
                }
            }
        }
        let index = self.header.tables.iter().position(|t| t.table.name == table).unwrap_or_default();
        (self.on_progress)(&table, self.read[index], self.header.tables[index].rows);
        Ok(Some((table, rows)))
    }
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub rows: u64,
    /// The schema version the file was taken at, and the one the database is at now.
    pub from_schema: i64,
    pub to_schema: i64,
}

/// Takes a backup of `store` into `out`.
pub async fn backup<W: Write + Send>(store: &dyn Store, out: W, on_progress: OnProgress) -> StoreResult<(W, Header)> {
    let mut writer = BackupWriter::new(out, store.backend_name(), on_progress);
    store.export_snapshot(&mut writer).await?;
    let header = writer.header().cloned().ok_or_else(|| StoreError::other(std::io::Error::other("no snapshot")))?;
    Ok((writer.finish()?, header))
}

/// The newest migration applied, 0 for none.
async fn applied_version(store: &dyn Store) -> StoreResult<i64> {
    let status = store.migration_status().await?;
    Ok(status.known.iter().filter(|m| m.applied_at.is_some()).map(|m| m.version).max().unwrap_or(0))
}

/// Brings an empty database to `version`, forward or back.
async fn set_schema(store: &dyn Store, version: i64) -> StoreResult<()> {
    let status = store.migration_status().await?;
    let newer = status.known.iter().filter(|m| m.applied_at.is_some() && m.version > version).count();
    if newer > 0 {
        // Only ever on an empty database: nothing is lost, the audit log included.
        store.rollback(Some(newer), true).await?;
    }
    store.migrate_to(version).await
}

/// Restores a backup into an empty database: brings it to the file's schema version, writes
/// every row in one transaction, then migrates to this binary's version. Refuses, writing
/// nothing, a database that holds data, a file from a newer schema, and a damaged or
/// truncated file.
pub async fn restore<R: Read + Send>(store: &dyn Store, input: R, on_progress: OnProgress) -> StoreResult<Restored> {
    let mut reader = BackupReader::open(input, on_progress)?;
    let from_schema = reader.header().schema_version;
    let status = store.migration_status().await?;
    carenest_domain::ops::refuse_unknown(&status)?;
    let newest = status.known.last().map_or(0, |m| m.version);
    if from_schema > newest {
        return Err(refused(
            "backup_newer_schema",
            format!("the backup was taken at schema version {from_schema}, newer than this CareNest knows ({newest}); restore it with the CareNest that took it, or a newer one"),
        ));
    }
    if !store.is_empty().await? {
        return Err(refused("database_not_empty", "the database already holds data; restore into an empty one"));
    }
    let before = applied_version(store).await?;
    set_schema(store, from_schema).await?;
    let tables = reader.tables();
    let rows = match store.import_snapshot(&tables, &mut reader).await {
        Ok(rows) => rows,
        Err(error) => {
            // The rows were rolled back; put the schema back as it was too.
            set_schema(store, before).await?;
            return Err(error);
        }
    };
    store.migrate().await?;
    Ok(Restored { rows, from_schema, to_schema: applied_version(store).await? })
}

/// Whether a refusal is one of a backup's or a restore's own, whose detail is the sentence to
/// show.
pub fn is_backup_refusal(error: &StoreError) -> bool {
    matches!(error, StoreError::Conflict { constraint, .. }
        if constraint.starts_with("backup_") || matches!(*constraint, "database_not_empty" | "schema_not_current"))
}
