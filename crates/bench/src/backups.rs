//! Backup and restore of a database of a million rows or more: time, file size and peak memory.

use std::io::BufWriter;
use std::time::Instant;

use rand::Rng;
use sqlx::{Connection, PgConnection};

use crate::{database_named, grow};

/// This process's peak resident memory so far, in MiB (Linux's `VmHWM`).
fn peak_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib / 1024)
}

fn quiet() -> carenest_app::backup::OnProgress {
    Box::new(|_, _, _| {})
}

async fn open(url: &str) -> Result<std::sync::Arc<dyn carenest_domain::Store>, String> {
    carenest_store::create_database(url).await.map_err(|e| e.to_string())?;
    let handle = carenest_store::open(url, carenest_store::StoreOptions::default()).await.map_err(|e| e.to_string())?;
    Ok(handle.store)
}

pub async fn run(server: &str, sessions: i64, keep: bool) -> Result<(), String> {
    let name = format!("carenest_bench_backup_{}", rand::thread_rng().gen::<u32>());
    let url = database_named(server, &name);
    let source = open(&url).await?;
    source.migrate().await.map_err(|e| e.to_string())?;
    let mut connection = PgConnection::connect(&url).await.map_err(|e| e.to_string())?;
    sqlx::query("INSERT INTO therapists (name) SELECT 'Therapist ' || g FROM generate_series(1, 200) g")
        .execute(&mut connection)
        .await
        .map_err(|e| e.to_string())?;
    grow(&mut connection, 0, sessions, 200).await.map_err(|e| e.to_string())?;
    connection.close().await.ok();
    let folder = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = folder.path().join("bench.carenest-backup.gz");
    println!("peak memory before the backup: {} MiB", peak_mib());

    let started = Instant::now();
    let out = BufWriter::new(std::fs::File::create(&file).map_err(|e| e.to_string())?);
    let (_, header) = carenest_app::backup::backup(source.as_ref(), out, quiet()).await.map_err(|e| e.to_string())?;
    let took = started.elapsed();
    let size = std::fs::metadata(&file).map_err(|e| e.to_string())?.len();
    println!(
        "backup (PostgreSQL): {} rows in {:.1} s, {:.1} MiB file, peak memory {} MiB",
        header.rows(),
        took.as_secs_f64(),
        size as f64 / 1048576.0,
        peak_mib()
    );

    let restored_pg = database_named(server, &format!("{name}_restored"));
    for (label, target_url) in [
        ("PostgreSQL", restored_pg.clone()),
        ("SQLite", format!("sqlite://{}", folder.path().join("restored.db").display())),
    ] {
        let target = open(&target_url).await?;
        let started = Instant::now();
        let input = std::io::BufReader::new(std::fs::File::open(&file).map_err(|e| e.to_string())?);
        let restored =
            carenest_app::backup::restore(target.as_ref(), input, quiet()).await.map_err(|e| e.to_string())?;
        println!(
            "restore ({label}): {} rows in {:.1} s, peak memory {} MiB",
            restored.rows,
            started.elapsed().as_secs_f64(),
            peak_mib()
        );
        if label == "SQLite" {
            let started = Instant::now();
            let again = folder.path().join("again.gz");
            let out = BufWriter::new(std::fs::File::create(&again).map_err(|e| e.to_string())?);
            let (_, header) =
                carenest_app::backup::backup(target.as_ref(), out, quiet()).await.map_err(|e| e.to_string())?;
            println!(
                "backup (SQLite): {} rows in {:.1} s, peak memory {} MiB",
                header.rows(),
                started.elapsed().as_secs_f64(),
                peak_mib()
            );
        }
        target.close().await;
    }
    source.close().await;
    if !keep {
        carenest_store::drop_database(&url).await.map_err(|e| e.to_string())?;
        carenest_store::drop_database(&restored_pg).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}
