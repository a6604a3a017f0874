//! No statement holds a connection for ever, on both backends.

use std::time::Duration;

use carenest_domain::family::NewChild;
use carenest_domain::StoreError;
use carenest_store::PoolSettings;
use carenest_store_tests::fixtures::parent;
use carenest_store_tests::{on_both_backends, Raw, TestDb};

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

on_both_backends!(a_write_stuck_behind_another_transactions_lock_gives_up_after_the_statement_timeout);
