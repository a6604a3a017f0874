//! A store call dropped at any point — waiting for a connection, with its BEGIN on the wire,
//! halfway through its statements — leaves no pooled connection inside a transaction, on both
//! backends.

use std::time::Duration;

use carenest_domain::family::OnboardingChanges;
use carenest_store_tests::fixtures::parent;
use carenest_store_tests::{on_both_backends, TestDb};
use futures::FutureExt;

async fn a_call_dropped_while_its_begin_is_on_the_wire_leaves_no_connection_inside_a_transaction(db: &TestDb) {
    let store = db.store();
    let (anna, _) = parent(store.as_ref(), "anna").await;
    let done = OnboardingChanges { completed_onboarding: Some(true), ..Default::default() };
    let mut leaked = Vec::new();
    for trial in 0..120u64 {
        // Poll a read and a write a varying number of times, a little apart, and drop them
        // wherever they are.
        let mut read = store.family(anna.id).boxed().fuse();
        let mut write = store.update_onboarding(anna.id, done.clone()).boxed().fuse();
        for _ in 0..trial % 12 {
            let _ = (&mut read).now_or_never();
            let _ = (&mut write).now_or_never();
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        drop((read, write));
        // A leaked transaction lasts only until the next COMMIT or ROLLBACK on its connection,
        // so look after every trial.
        if db.connections_left_in_a_transaction().await > 0 {
            leaked.push(trial);
        }
    }
    assert!(leaked.is_empty(), "connections were left inside a transaction after trials {leaked:?}");
    assert!(store.family(anna.id).await.unwrap().profile.is_some(), "the store still answers");
}

on_both_backends!(a_call_dropped_while_its_begin_is_on_the_wire_leaves_no_connection_inside_a_transaction);
