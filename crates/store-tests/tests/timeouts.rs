//! No statement holds a connection for ever, on both backends.

use std::time::Duration;

use carenest_domain::family::NewChild;
use carenest_domain::page::PageRequest;
use carenest_domain::scheduling::{SessionFilter, SessionScope};
use carenest_domain::StoreError;
use carenest_store::PoolSettings;
use carenest_store_tests::fixtures::{at, booking, parent, therapist, STAFF};
use carenest_store_tests::{on_both_backends, Raw, TestDb};
use chrono::NaiveDate;
use futures::future::join_all;

async fn a_write_stuck_behind_another_transactions_lock_gives_up_after_the_statement_timeout(db: &TestDb) {
    let (anna, _) = parent(db.store().as_ref(), "anna").await;
    let impatient =
        db.store_with(PoolSettings { statement_timeout: Duration::from_millis(300), ..PoolSettings::default() }).await;
    // Another client holds the lock the write needs and does not let go.
    let mut holder = db.raw().await;
    match holder {
        Raw::Sqlite(_) => holder.execute("BEGIN IMMEDIATE").await.unwrap(),
        Raw::Postgres(_) => {
            holder.execute("BEGIN").await.unwrap();
            let lock = format!("SELECT id FROM parent_profiles WHERE user_id = {} FOR UPDATE", anna.id.0);
            holder.execute(&lock).await.unwrap();
        }
    }
    let stuck =
        tokio::time::timeout(Duration::from_secs(20), impatient.create_child(anna.id, NewChild::new("Noor", 3)))
            .await
            .expect("the database ends the wait, not the test");
    assert!(matches!(stuck, Err(StoreError::Unavailable(_))), "{stuck:?}");
    holder.execute("ROLLBACK").await.unwrap();
    assert!(impatient.create_child(anna.id, NewChild::new("Noor", 3)).await.is_ok(), "the pool is fine afterwards");
}

async fn thirty_two_concurrent_writers_never_find_the_database_locked(db: &TestDb) {
    // SQLite lets one writer in at a time and its busy handler retries after growing sleeps,
    // so writers queued on its lock used to wait far longer than it was held and gave up
    // ("database is locked"). The store's writers take turns in the process instead; a
    // patience of 100 ms is then plenty for 160 small transactions and 160 audited reads.
    let patience = if db.backend() == "sqlite" { Duration::from_millis(100) } else { Duration::from_secs(5) };
    let pool = PoolSettings { max_connections: 32, statement_timeout: patience, ..PoolSettings::default() };
    let store = db.store_with(pool).await;
    let (anna, _) = parent(store.as_ref(), "anna").await;
    let noor = store.create_child(anna.id, NewChild::new("Noor", 4)).await.unwrap();
    let mut session = booking(
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        at(9, 0),
        at(10, 0),
        &[therapist(store.as_ref(), "Bram").await],
    );
    session.child_profile_id = Some(noor.id);
    store.create_sessions(session, STAFF).await.unwrap();
    let writers = (0..32).map(|writer| {
        let store = store.clone();
        tokio::spawn(async move {
            let (family, _) = parent(store.as_ref(), &format!("family{writer}")).await;
            for child in 0..4 {
                store.create_child(family.id, NewChild::new(&format!("Child {child}"), 3)).await?;
                // An audited read writes too (its audit rows), outside any transaction.
                let page = PageRequest::first(10);
                store.read_sessions(STAFF, SessionScope::All, SessionFilter::default(), page).await?;
            }
            Ok::<_, StoreError>(family.id)
        })
    });
    for outcome in join_all(writers).await {
        let family = outcome.expect("the writer ran to the end").expect("no writer was refused");
        let children = store.children(family, PageRequest::first(10)).await.unwrap().items;
        assert_eq!(children.len(), 4, "every write is there");
    }
    let audit = store.audit_entries(anna.id, PageRequest::first(500)).await.unwrap().items;
    let reads = audit.iter().filter(|(_, entry)| entry.action.as_str() == "read").count();
    assert_eq!(reads, 128, "every audited read is recorded");
}

on_both_backends!(
    a_write_stuck_behind_another_transactions_lock_gives_up_after_the_statement_timeout,
    thirty_two_concurrent_writers_never_find_the_database_locked
);
