//! Backups and restores on both backends and across them: every table filled, the same rows
//! after backup, restore and backup again, and every refusal writing nothing.

use std::io::{Read, Write};

use carenest_app::backup::{backup, restore, Header};
use carenest_domain::accounts::{ThrottleKey, ThrottlePolicy};
use carenest_domain::feeds::FeedOwner;
use carenest_domain::ids::{TherapistId, UserId};
use carenest_domain::page::PageRequest;
use carenest_domain::{Store, StoreError};
use carenest_store_tests::TestDb;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

fn quiet() -> carenest_app::backup::OnProgress {
    Box::new(|_, _, _| {})
}

/// The demo data, and a row in each table the demo leaves empty.
async fn fill_every_table(store: &dyn Store) {
    let hash = carenest_app::passwords::hash_password_now("a long enough password").unwrap();
    for seeder in carenest::seed::SEEDERS {
        carenest::seed::run(store, seeder, &hash).await.unwrap();
    }
    let users = store.list_users(PageRequest::first(10)).await.unwrap().items;
    let first = users[0].id;
    let now = carenest_domain::time::now();
    store.insert_token(first, &[7u8; 32], now + chrono::Duration::days(30)).await.unwrap();
    let policy = ThrottlePolicy { max_failures: 5, window: chrono::Duration::minutes(15) };
    store.count_attempt(&ThrottleKey::client("203.0.113.9"), policy, now).await.unwrap();
    store.remember_client(first, &[9u8; 32], now).await.unwrap();
    store.set_feed(FeedOwner::Therapist(TherapistId(1)), &[3u8; 32]).await.unwrap();
    store.set_feed(FeedOwner::Family(UserId(users[users.len() - 1].id.0)), &[4u8; 32]).await.unwrap();
    // The demo's sessions ahead are reminded; planning them all leaves the policy's mark.
    store.plan_all_reminders().await.unwrap();
}

async fn take(store: &dyn Store) -> (Vec<u8>, Header) {
    backup(store, Vec::new(), quiet()).await.unwrap()
}

/// The row lines of a backup: what must come back identical.
fn rows(file: &[u8]) -> Vec<String> {
    let mut text = String::new();
    GzDecoder::new(file).read_to_string(&mut text).unwrap();
    text.lines().skip(1).map(str::to_owned).collect()
}

/// A backup file rewritten line by line, its trailer's checksum recomputed.
fn rewrite(file: &[u8], edit: impl FnMut(serde_json::Value) -> Option<serde_json::Value>) -> Vec<u8> {
    edited(file, edit, true)
}

/// A backup file rewritten line by line; `resum`: recompute the trailer, else keep the old one.
fn edited(file: &[u8], mut edit: impl FnMut(serde_json::Value) -> Option<serde_json::Value>, resum: bool) -> Vec<u8> {
    let mut text = String::new();
    GzDecoder::new(file).read_to_string(&mut text).unwrap();
    let mut out = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut checksum = Sha256::new();
    let (mut count, lines): (u64, Vec<&str>) = (0, text.lines().collect());
    for (index, line) in lines.iter().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        if value.get("end").is_some() && !resum {
            writeln!(out, "{line}").unwrap();
            continue;
        }
        if value.get("end").is_some() {
            let trailer =
                serde_json::json!({"end": true, "rows": count, "sha256": format!("{:x}", checksum.clone().finalize())});
            writeln!(out, "{trailer}").unwrap();
            continue;
        }
        let Some(value) = edit(value) else { continue };
        let line = format!("{value}\n");
        if index > 0 {
            checksum.update(line.as_bytes());
            count += 1;
        }
        out.write_all(line.as_bytes()).unwrap();
    }
    out.finish().unwrap()
}

async fn every_table_comes_back_row_for_row(source: &TestDb, target: &TestDb) {
    fill_every_table(source.store().as_ref()).await;
    let (file, header) = take(source.store().as_ref()).await;
    for table in &header.tables {
        assert!(table.rows > 0, "{} is empty, so the test would not cover it", table.table.name);
    }
    let restored = restore(target.store().as_ref(), file.as_slice(), quiet()).await.unwrap();
    assert_eq!(restored.rows, header.rows());
    let (again, _) = take(target.store().as_ref()).await;
    assert_eq!(
        rows(&again),
        rows(&file),
        "{} -> {}: backup, restore and backup give the same rows",
        source.backend(),
        target.backend()
    );
    // New rows go past the restored ids.
    let newest = target.store().list_users(PageRequest::first(200)).await.unwrap().items.last().unwrap().id;
    let added = carenest_store_tests::fixtures::user(
        target.store().as_ref(),
        "newcomer",
        carenest_domain::accounts::Role::Parent,
    )
    .await;
    assert!(added.id.0 > newest.0, "a new user got id {} after restored ones up to {}", added.id.0, newest.0);
}

/// Texts that a bulk load's format reads specially (COPY's tabs, newlines, backslashes, `\N`
/// and end-of-data `\.`; an array literal's commas, braces, quotes and the word NULL), and the
/// year before AD 1 (PostgreSQL writes it `1 BC`), come back as they were written.
async fn awkward_values_come_back_as_they_were(db: &TestDb) {
    let source = TestDb::sqlite().await;
    fill_every_table(source.store().as_ref()).await;
    let (file, header) = take(source.store().as_ref()).await;
    let place = |table: &str, column: &str| {
        let spec = &header.tables.iter().find(|t| t.table.name == table).unwrap().table;
        spec.columns.iter().position(|c| c.name == column).unwrap()
    };
    let awkward_text = "tab\there\nnew line\r\nback\\slash \\N and \\.\n\\.\nend ü";
    let edits = [
        ("parent_profiles", "bio", serde_json::json!(awkward_text)),
        (
            "parent_profiles",
            "primary_concerns",
            serde_json::json!(["a,b", "{braces}", "say \"hi\"", "NULL", "", "c:\\d", " spaced ", "\\N", "tab\t"]),
        ),
        ("parent_profiles", "support_network", serde_json::json!([])),
        (
            "parent_profiles",
            "onboarding_data",
            serde_json::json!({"note": awkward_text, "nested": [1, null, "\\N", {"q": "\""}]}),
        ),
        ("child_profiles", "development_notes", serde_json::json!("\\.")),
        ("child_profiles", "last_assessment", serde_json::json!("0000-02-29T08:30:00.123456Z")),
        ("parenting_goals", "target_date", serde_json::json!("0000-02-29")),
        ("sessions", "notes", serde_json::json!("\r\n\t")),
    ];
    let mut edited = std::collections::HashSet::new();
    let awkward = rewrite(&file, |mut line| {
        let table = line["table"].as_str().unwrap_or_default().to_owned();
        if !table.is_empty() && edited.insert(table.clone()) {
            for (_, column, value) in edits.iter().filter(|(name, ..)| *name == table) {
                line["row"][place(&table, column)] = value.clone();
            }
        }
        Some(line)
    });
    for (table, ..) in &edits {
        assert!(edited.contains(*table), "{table} has a row to make awkward");
    }
    restore(db.store().as_ref(), awkward.as_slice(), quiet()).await.unwrap();
    let (again, _) = take(db.store().as_ref()).await;
    // Compared as values: the edited lines were written again with their keys in another order
    // (so the trailers' checksums differ too).
    let values = |file: &[u8]| -> Vec<serde_json::Value> {
        rows(file)
            .iter()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
            .filter(|line| line.get("end").is_none())
            .collect()
    };
    let (came_back, written) = (values(&again), values(&awkward));
    assert_eq!(came_back.len(), written.len());
    for (back, sent) in came_back.iter().zip(&written) {
        assert_eq!(back, sent, "{}: an awkward row comes back as written", db.backend());
    }
}

fn refusal(result: Result<carenest_app::backup::Restored, StoreError>) -> &'static str {
    match result {
        Err(StoreError::Conflict { constraint, .. }) => constraint,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn every_refusal_writes_nothing(db: &TestDb) {
    let source = TestDb::sqlite().await;
    fill_every_table(source.store().as_ref()).await;
    let (file, _) = take(source.store().as_ref()).await;
    let target = db.store();
    let schema_before = target.migration_status().await.unwrap();

    let cut = &file[..file.len() / 2];
    assert_eq!(refusal(restore(target.as_ref(), cut, quiet()).await), "backup_truncated");
    let mut damaged = file.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x55;
    assert!(matches!(
        refusal(restore(target.as_ref(), damaged.as_slice(), quiet()).await),
        "backup_corrupt" | "backup_truncated"
    ));
    let tampered = edited(
        &file,
        |mut line| {
            if line["table"] == "users" && line["row"][0] == 1 {
                line["row"][1] = serde_json::json!("mallory");
            }
            Some(line)
        },
        false,
    );
    assert_eq!(
        refusal(restore(target.as_ref(), tampered.as_slice(), quiet()).await),
        "backup_corrupt",
        "a changed row fails the checksum"
    );
    let broken_rule = edited(
        &file,
        |mut line| {
            if line["table"] == "users" && line["row"][0] == 1 {
                for value in line["row"].as_array_mut().unwrap() {
                    if ["parent", "therapist", "admin"].contains(&value.as_str().unwrap_or_default()) {
                        *value = serde_json::json!("superuser");
                    }
                }
            }
            Some(line)
        },
        false,
    );
    assert_eq!(
        refusal(restore(target.as_ref(), broken_rule.as_slice(), quiet()).await),
        "backup_corrupt",
        "a changed row the database refuses is named by the checksum it fails, not by the rule"
    );
    let newer = rewrite(&file, |mut line| {
        if line.get("schemaVersion").is_some() {
            line["schemaVersion"] = serde_json::json!(99);
        }
        Some(line)
    });
    assert_eq!(refusal(restore(target.as_ref(), newer.as_slice(), quiet()).await), "backup_newer_schema");
    assert_eq!(refusal(restore(target.as_ref(), &b"not a backup"[..], quiet()).await), "backup_corrupt");

    assert!(target.is_empty().await.unwrap(), "nothing was written");
    assert_eq!(target.migration_status().await.unwrap(), schema_before, "the schema is as it was");

    restore(target.as_ref(), file.as_slice(), quiet()).await.unwrap();
    assert_eq!(refusal(restore(target.as_ref(), file.as_slice(), quiet()).await), "database_not_empty");
}

async fn a_backup_from_an_older_schema_restores_then_migrates(db: &TestDb) {
    let source = TestDb::sqlite().await;
    fill_every_table(source.store().as_ref()).await;
    let (file, _) = take(source.store().as_ref()).await;
    // Schema version 5 had no known_clients, no reminders and no users.session_reminders (the
    // last column): the same file, as version 5 wrote it.
    let added_later = |name: &serde_json::Value| {
        ["known_clients", "reminders", "reminder_policy"].contains(&name.as_str().unwrap_or_default())
    };
    let older = rewrite(&file, |mut line| {
        if let Some(tables) = line.get_mut("tables").and_then(|t| t.as_array_mut()) {
            tables.retain(|t| !added_later(&t["name"]));
            for users in tables.iter_mut().filter(|t| t["name"] == "users") {
                users["columns"].as_array_mut().unwrap().retain(|c| c["name"] != "session_reminders");
            }
            line["schemaVersion"] = serde_json::json!(5);
        }
        if line["table"] == "users" {
            line["row"].as_array_mut().unwrap().pop();
        }
        (!added_later(&line["table"])).then_some(line)
    });
    let target = db.store();
    let restored = restore(target.as_ref(), older.as_slice(), quiet()).await.unwrap();
    assert_eq!((restored.from_schema, restored.to_schema), (5, 8));
    assert!(target.migration_status().await.unwrap().pending().next().is_none(), "migrated to the newest");
    let users = target.list_users(PageRequest::first(10)).await.unwrap().items;
    assert_eq!(users.len(), 5, "the demo's users came back");
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(&carenest_store_tests::TestDb::sqlite().await).await; })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(db) = carenest_store_tests::TestDb::postgres().await else { return };
                super::$name(&db).await;
            })*
        }
    };
}

/// A fresh database whose schema is not migrated yet, as `db restore` meets it.
async fn empty(kind: &str) -> Option<TestDb> {
    let db = if kind == "sqlite" { TestDb::sqlite().await } else { TestDb::postgres().await? };
    db.store().rollback(None, true).await.unwrap();
    Some(db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_comes_back_row_for_row_within_and_across_backends() {
    for (from, to) in [("sqlite", "sqlite"), ("sqlite", "postgres"), ("postgres", "sqlite"), ("postgres", "postgres")] {
        let (Some(source), Some(target)) = (empty(from).await, empty(to).await) else { continue };
        source.store().migrate().await.unwrap();
        every_table_comes_back_row_for_row(&source, &target).await;
    }
}

both_backends!(
    every_refusal_writes_nothing,
    a_backup_from_an_older_schema_restores_then_migrates,
    awkward_values_come_back_as_they_were
);

#[tokio::test]
async fn a_backup_of_a_database_behind_this_binarys_schema_is_refused() {
    let db = TestDb::sqlite().await;
    db.store().rollback(Some(1), true).await.unwrap();
    let refused = backup(db.store().as_ref(), Vec::new(), quiet()).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { constraint: "schema_not_current", .. })),
        "{:?}",
        refused.err()
    );
}
