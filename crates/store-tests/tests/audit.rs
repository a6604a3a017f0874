//! The audit log's administration: searching it, and pruning it past the retention period.

use carenest_domain::accounts::Role;
use carenest_domain::audit::{Actor, AuditAction, AuditFilter};
use carenest_domain::family::NewChild;
use carenest_domain::page::PageRequest;
use carenest_store_tests::fixtures::{parent, user};
use carenest_store_tests::{on_both_backends, TestDb};

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.raw().await.text(&format!("SELECT CAST(({sql}) AS TEXT)")).await.unwrap().parse().unwrap()
}

async fn pruning_removes_only_entries_past_the_cutoff_and_nothing_else_can_delete(db: &TestDb) {
    let store = db.store();
    let clock = db.clock();
    clock.advance(-chrono::Duration::days(3 * 365));
    let (old, _) = parent(store.as_ref(), "old").await;
    store.create_child(old.id, NewChild::new("Noor", 3)).await.unwrap();
    clock.set(carenest_domain::time::now());
    let (recent, _) = parent(store.as_ref(), "recent").await;
    let before = count(db, "SELECT COUNT(*) FROM audit_log").await;
    let old_entries = count(db, &format!("SELECT COUNT(*) FROM audit_log WHERE subject_user_id = {}", old.id.0)).await;
    assert!(old_entries >= 2);
    let removed = store.prune_audit(carenest_domain::time::now() - chrono::Duration::days(2 * 365)).await.unwrap();
    assert_eq!(removed as i64, old_entries);
    assert_eq!(count(db, "SELECT COUNT(*) FROM audit_log").await, before - old_entries);
    assert!(count(db, &format!("SELECT COUNT(*) FROM audit_log WHERE subject_user_id = {}", recent.id.0)).await > 0);
    assert_eq!(count(db, "SELECT COUNT(*) FROM audit_log_pruning").await, 0, "the mark is gone after pruning");
    let mut raw = db.raw().await;
    let refused = raw.execute("DELETE FROM audit_log").await;
    assert!(refused.is_err(), "outside pruning, the log stays append-only");
}

async fn searching_the_log_filters_by_every_part_and_records_the_search(db: &TestDb) {
    let store = db.store();
    let admin = user(store.as_ref(), "admin", Role::Admin).await;
    let (anna, _) = parent(store.as_ref(), "anna").await;
    let (bram, _) = parent(store.as_ref(), "bram").await;
    store.create_child(anna.id, NewChild::new("Noor", 3)).await.unwrap();
    let reader = Actor { user: admin.id, role: Role::Admin };
    let search = |filter: AuditFilter| {
        let store = store.clone();
        async move { store.audit_search(reader, &filter, PageRequest::first(50)).await.unwrap().items }
    };
    let annas = search(AuditFilter { subject: Some(anna.id), ..Default::default() }).await;
    assert_eq!(annas.len(), 2, "her profile and her child");
    assert!(annas.windows(2).all(|w| w[0].0 > w[1].0), "newest first");
    let children = search(AuditFilter { resource_type: Some("child_profile".into()), ..Default::default() }).await;
    assert_eq!(children.len(), 1);
    let by_bram =
        search(AuditFilter { actor: Some(bram.id), action: Some(AuditAction::Create), ..Default::default() }).await;
    assert_eq!(by_bram.len(), 1);
    let future = carenest_domain::time::now() + chrono::Duration::hours(1);
    assert!(search(AuditFilter { from: Some(future), ..Default::default() }).await.is_empty());
    let searches = search(AuditFilter { resource_type: Some("audit_log".into()), ..Default::default() }).await;
    assert_eq!(searches.len(), 4, "each of the four searches before this one was recorded");
    assert!(searches.iter().all(|(_, e)| e.actor_user_id == admin.id && e.action == AuditAction::Read));
}

on_both_backends!(
    pruning_removes_only_entries_past_the_cutoff_and_nothing_else_can_delete,
    searching_the_log_filters_by_every_part_and_records_the_search,
);
