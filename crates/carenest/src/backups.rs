//! `db backup`, `db restore`, `db copy`, `db prune-audit`, and the backups `serve` takes on a
//! schedule.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use carenest_app::backup::{self, OnProgress};
use carenest_domain::audit::AUDIT_RETENTION_MIN_DAYS;
use carenest_domain::Store;

use crate::progress::Progress;

/// Progress as a table-by-table report: a bar on a terminal, a line per table elsewhere.
fn progress(label: &'static str) -> OnProgress {
    let progress = Progress::new(label, 0);
    Box::new(move |table, done, total| progress.rows(table, done, total))
}

/// Takes a backup of `store` into `file` (`-`: standard output); one line about it on stderr.
pub async fn backup_to(store: &dyn Store, file: &str) -> Result<String, String> {
    let header = if file == "-" {
        let out = BufWriter::new(std::io::stdout());
        let (mut out, header) =
            backup::backup(store, out, progress("backup")).await.map_err(|e| crate::describe(&e))?;
        out.flush().map_err(|e| e.to_string())?;
        header
    } else {
        // Written beside the target and moved into place whole: a failed backup never leaves
        // a file that looks like one.
        let target = Path::new(file);
        let folder = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let partial = tempfile::NamedTempFile::new_in(folder)
            .map_err(|e| format!("could not write in {}: {e}", folder.display()))?;
        let out = BufWriter::new(partial);
        let (out, header) = backup::backup(store, out, progress("backup")).await.map_err(|e| crate::describe(&e))?;
        let partial = out.into_inner().map_err(|e| e.to_string())?;
        partial.as_file().sync_all().map_err(|e| e.to_string())?;
        partial.persist(target).map_err(|e| format!("could not write {file}: {e}"))?;
        header
    };
    Ok(format!(
        "backed up {} rows of {} tables at schema version {}",
        header.rows(),
        header.tables.len(),
        header.schema_version
    ))
}

pub async fn restore_from(store: &dyn Store, file: &str) -> Result<String, String> {
    let restored = if file == "-" {
        backup::restore(store, BufReader::new(std::io::stdin()), progress("restore")).await
    } else {
        let input = File::open(file).map_err(|e| format!("could not open {file}: {e}"))?;
        backup::restore(store, BufReader::new(input), progress("restore")).await
    }
    .map_err(|e| crate::describe(&e))?;
    let migrated = if restored.to_schema > restored.from_schema {
        format!(", then migrated from schema version {} to {}", restored.from_schema, restored.to_schema)
    } else {
        String::new()
    };
    Ok(format!("restored {} rows{migrated}", restored.rows))
}

/// Copies every row of `from` into the empty database `to` through a backup file, so that a
/// copy is checked exactly as a restore is.
pub async fn copy(from: &dyn Store, to: &dyn Store) -> Result<String, String> {
    if !to.is_empty().await.map_err(|e| crate::describe(&e))? {
        return Err("the target database already holds data; copy into an empty one".to_owned());
    }
    let file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    let path = file.path().to_str().ok_or("the temporary folder's path is not UTF-8")?.to_owned();
    backup_to(from, &path).await?;
    restore_from(to, &path).await
}

/// `2y`, `730d`, `18months`: at least a year.
pub fn retention(text: &str) -> Result<chrono::Duration, String> {
    let parsed = humantime::parse_duration(text)
        .map_err(|e| format!("'{text}' is not a duration such as 2y, 400d or 18months: {e}"))?;
    let duration = chrono::Duration::from_std(parsed).map_err(|_| format!("'{text}' is too long"))?;
    if duration < chrono::Duration::days(AUDIT_RETENTION_MIN_DAYS) {
        return Err(format!(
            "audit entries are kept for at least {AUDIT_RETENTION_MIN_DAYS} days; '{text}' is shorter"
        ));
    }
    Ok(duration)
}

/// Where scheduled backups go and how many stay.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub folder: PathBuf,
    pub every: Duration,
    pub keep: usize,
}

const SCHEDULED_SUFFIX: &str = ".carenest-backup.gz";

/// Takes a backup into the folder every interval, keeping the newest `keep`; runs until the
/// task is dropped. Each success sets `carenest_last_backup_timestamp_seconds`; each failure
/// counts in `carenest_backup_failures_total` and is logged.
pub async fn scheduled(store: Arc<dyn Store>, schedule: Schedule) {
    let mut ticks = tokio::time::interval(schedule.every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let name = format!("carenest-{}{SCHEDULED_SUFFIX}", chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"));
        let path = schedule.folder.join(name);
        let taken = match path.to_str() {
            Some(path) => backup_to(store.as_ref(), path).await,
            None => Err("the backup folder's path is not UTF-8".to_owned()),
        };
        match taken {
            Ok(summary) => {
                tracing::info!(file = %path.display(), summary, "scheduled backup taken");
                metrics::gauge!("carenest_last_backup_timestamp_seconds").set(chrono::Utc::now().timestamp() as f64);
                if let Err(error) = keep_newest(&schedule.folder, schedule.keep) {
                    tracing::warn!(%error, "could not remove old backups");
                }
            }
            Err(error) => {
                tracing::error!(%error, "scheduled backup failed");
                metrics::counter!("carenest_backup_failures_total").increment(1);
            }
        }
    }
}

/// Removes all but the newest `keep` scheduled backups (their names sort by time).
fn keep_newest(folder: &Path, keep: usize) -> std::io::Result<()> {
    let mut backups: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("carenest-") && n.ends_with(SCHEDULED_SUFFIX))
        })
        .collect();
    backups.sort();
    let surplus = backups.len().saturating_sub(keep);
    for old in &backups[..surplus] {
        std::fs::remove_file(old)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_read_as_a_duration_of_at_least_a_year() {
        assert_eq!(retention("2y").unwrap().num_days(), 730);
        assert_eq!(retention("400days").unwrap().num_days(), 400);
        assert!(retention("364d").unwrap_err().contains("at least 365 days"));
        assert!(retention("soon").unwrap_err().contains("not a duration"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn scheduled_backups_are_taken_kept_to_their_number_and_restorable() {
        let metrics = carenest_server::metrics::recorder();
        let db = carenest_store_tests::TestDb::sqlite().await;
        carenest_store_tests::fixtures::parent(db.store().as_ref(), "anna").await;
        let folder = tempfile::tempdir().unwrap();
        let schedule = Schedule { folder: folder.path().to_owned(), every: Duration::from_millis(300), keep: 2 };
        let running = tokio::spawn(scheduled(db.store(), schedule));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        running.abort();
        let _ = running.await;
        let mut taken: Vec<PathBuf> = std::fs::read_dir(folder.path()).unwrap().map(|e| e.unwrap().path()).collect();
        taken.sort();
        assert_eq!(taken.len(), 2, "{taken:?}");
        let target = carenest_store_tests::TestDb::sqlite().await;
        let newest = taken.last().unwrap().to_str().unwrap();
        assert!(restore_from(target.store().as_ref(), newest).await.unwrap().starts_with("restored"));
        assert!(target.store().credentials_by_login("anna").await.unwrap().is_some(), "the backup held the family");
        assert!(metrics.render().contains("carenest_last_backup_timestamp_seconds"));
    }

    #[test]
    fn only_the_newest_scheduled_backups_are_kept() {
        let folder = tempfile::tempdir().unwrap();
        for stamp in ["20260101T000000.000Z", "20260102T000000.000Z", "20260103T000000.000Z"] {
            std::fs::write(folder.path().join(format!("carenest-{stamp}{SCHEDULED_SUFFIX}")), b"x").unwrap();
        }
        std::fs::write(folder.path().join("notes.txt"), b"mine").unwrap();
        keep_newest(folder.path(), 2).unwrap();
        let mut left: Vec<String> =
            std::fs::read_dir(folder.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(
            left,
            [
                "carenest-20260102T000000.000Z.carenest-backup.gz",
                "carenest-20260103T000000.000Z.carenest-backup.gz",
                "notes.txt"
            ]
        );
    }
}
