//! The scheduling store contract, on both backends, including the no-double-booking proof.

use std::sync::Arc;

use carenest_domain::accounts::Role;
use carenest_domain::audit::Actor;
use carenest_domain::availability::Obstacle;
use carenest_domain::family::NewChild;
use carenest_domain::ids::{SessionId, TherapistId};
use carenest_domain::page::PageRequest;
use carenest_domain::scheduling::*;
use carenest_domain::{Store, StoreError};
use carenest_store_tests::fixtures::{at, booking, therapist, STAFF};
use carenest_store_tests::fixtures::{parent, user};
use carenest_store_tests::{conflict, invalid, on_both_backends, TestDb};
use chrono::NaiveDate;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
}

/// The ids of the sessions a filter lists, on its first page.
async fn listed(store: &dyn Store, filter: SessionFilter) -> Vec<SessionId> {
    store
        .sessions(SessionScope::All, filter, PageRequest::first(50))
        .await
        .unwrap()
        .items
        .iter()
        .map(|s| s.id)
        .collect()
}

fn conflicts(error: StoreError) -> Vec<BookingConflict> {
    match error {
        StoreError::Conflict { constraint: "therapist_double_booked", conflicts, .. } => conflicts,
        other => panic!("expected a double booking, got {other:?}"),
    }
}

/// The session an overlap names.
fn booked(conflict: &BookingConflict) -> SessionId {
    match conflict.reason {
        Obstacle::Booked { session, .. } => session,
        other => panic!("expected an overlap, got {other:?}"),
    }
}

async fn count_sessions(store: &dyn Store) -> usize {
    store.sessions(SessionScope::All, SessionFilter::default(), PageRequest::first(200)).await.unwrap().items.len()
}

async fn an_overlapping_booking_for_a_busy_therapist_is_a_conflict_and_back_to_back_is_fine(db: &TestDb) {
    let store = db.store();
    let anna = therapist(store.as_ref(), "Anna").await;
    let bram = therapist(store.as_ref(), "Bram").await;
    let first = store.create_sessions(booking(day(1), at(9, 0), at(10, 0), &[anna]), STAFF).await.unwrap().remove(0);
    let error = store.create_sessions(booking(day(1), at(9, 30), at(10, 30), &[bram, anna]), STAFF).await.unwrap_err();
    assert_eq!(
        conflicts(error),
        [BookingConflict {
            therapist_id: anna,
            date: day(1),
            reason: Obstacle::Booked { session: first.id, start: at(9, 0), end: at(10, 0) }
        }]
    );
    assert_eq!(count_sessions(store.as_ref()).await, 1, "nothing was written");
    store.create_sessions(booking(day(1), at(10, 0), at(11, 0), &[anna]), STAFF).await.expect("back to back is fine");
    store.create_sessions(booking(day(1), at(8, 0), at(9, 0), &[anna]), STAFF).await.expect("back to back is fine");
    store.create_sessions(booking(day(2), at(9, 0), at(10, 0), &[anna]), STAFF).await.expect("another day is fine");
    store
        .create_sessions(booking(day(1), at(9, 0), at(10, 0), &[bram]), STAFF)
        .await
        .expect("another therapist is fine");
}

async fn a_cancelled_session_frees_its_therapists_time(db: &TestDb) {
    let store = db.store();
    let anna = therapist(store.as_ref(), "Anna").await;
    let first = store.create_sessions(booking(day(1), at(9, 0), at(10, 0), &[anna]), STAFF).await.unwrap().remove(0);
    store
        .update_session(
            SessionScope::All,
            first.id,
            SessionChanges { status: Some(SessionStatus::Cancelled), ..Default::default() },
            STAFF,
        )
        .await
        .unwrap();
    let second = store.create_sessions(booking(day(1), at(9, 0), at(10, 0), &[anna]), STAFF).await.unwrap().remove(0);
    let revived = store
        .update_session(
            SessionScope::All,
            first.id,
            SessionChanges { status: Some(SessionStatus::Scheduled), ..Default::default() },
            STAFF,
        )
        .await;
    assert_eq!(booked(&conflicts(revived.unwrap_err())[0]), second.id, "un-cancelling checks again");
}

async fn a_series_books_every_occurrence_or_none_and_lists_every_conflict(db: &TestDb) {
    let store = db.store();
    let anna = therapist(store.as_ref(), "Anna").await;
    let blockers = [
        store.create_sessions(booking(day(8), at(9, 30), at(9, 45), &[anna]), STAFF).await.unwrap().remove(0),
        store.create_sessions(booking(day(22), at(8, 0), at(9, 15), &[anna]), STAFF).await.unwrap().remove(0),
    ];
    let mut series = booking(day(1), at(9, 0), at(10, 0), &[anna]);
    series.repeat = Some(Repeat { every: RepeatEvery::Week, count: 4 });
    let listed: Vec<SessionId> =
        conflicts(store.create_sessions(series.clone(), STAFF).await.unwrap_err()).iter().map(booked).collect();
    assert_eq!(listed, blockers.iter().map(|s| s.id).collect::<Vec<_>>());
    assert_eq!(count_sessions(store.as_ref()).await, 2, "no occurrence was written");
    for blocker in &blockers {
        store.delete_session(blocker.id, STAFF).await.unwrap();
    }
    let booked = store.create_sessions(series, STAFF).await.unwrap();
    assert_eq!(booked.iter().map(|s| s.date).collect::<Vec<_>>(), [day(1), day(8), day(15), day(22)]);
    let series_id = booked[0].series_id.expect("occurrences share a series");
    assert!(booked.iter().all(|s| s.series_id == Some(series_id) && s.therapists.len() == 1));
    for session in &booked {
        assert_eq!(&store.session(SessionScope::All, session.id).await.unwrap(), session, "answered as stored");
    }
    let mut fortnightly = booking(day(1), at(11, 0), at(12, 0), &[anna]);
    fortnightly.repeat = Some(Repeat { every: RepeatEvery::TwoWeeks, count: 3 });
    let dates: Vec<_> = store.create_sessions(fortnightly, STAFF).await.unwrap().iter().map(|s| s.date).collect();
    assert_eq!(dates, [day(1), day(15), day(29)]);
}

async fn of_many_simultaneous_overlapping_bookings_through_two_pools_exactly_one_succeeds(db: &TestDb) {
    let pools: [Arc<dyn Store>; 2] = [db.store(), db.second_store().await];
    let anna = therapist(pools[0].as_ref(), "Anna").await;
    let attempts = (0..32u32).map(|i| {
        let store = pools[i as usize % 2].clone();
        // Every slot overlaps every other: all start within 09:00-09:31 and last an hour.
        let start = at(9, i);
        async move {
            store.create_sessions(booking(day(3), start, start + chrono::Duration::hours(1), &[anna]), STAFF).await
        }
    });
    let results = futures::future::join_all(attempts.map(tokio::spawn)).await;
    let (mut booked, mut refused) = (0, 0);
    for result in results {
        match result.unwrap() {
            Ok(_) => booked += 1,
            Err(StoreError::Conflict { constraint: "therapist_double_booked", .. }) => refused += 1,
            Err(other) => panic!("a booking failed for another reason: {other:?}"),
        }
    }
    assert_eq!((booked, refused), (1, 31));
    assert_eq!(count_sessions(pools[1].as_ref()).await, 1);
}

async fn bookings_that_share_therapists_in_opposite_orders_do_not_deadlock(db: &TestDb) {
    let pools: [Arc<dyn Store>; 2] = [db.store(), db.second_store().await];
    let anna = therapist(pools[0].as_ref(), "Anna").await;
    let bram = therapist(pools[0].as_ref(), "Bram").await;
    let attempts = (0..16u32).map(|i| {
        let store = pools[i as usize % 2].clone();
        let order = if i % 2 == 0 { vec![anna, bram] } else { vec![bram, anna] };
        // Distinct days, so every booking can succeed.
        async move { store.create_sessions(booking(day(1 + i), at(9, 0), at(10, 0), &order), STAFF).await }
    });
    let results =
        tokio::time::timeout(std::time::Duration::from_secs(60), futures::future::join_all(attempts.map(tokio::spawn)))
            .await
            .expect("no deadlock");
    assert!(results.into_iter().all(|r| r.unwrap().is_ok()));
}

async fn unknown_therapists_are_named_by_their_place_in_the_request(db: &TestDb) {
    let store = db.store();
    let anna = therapist(store.as_ref(), "Anna").await;
    let error = store
        .create_sessions(booking(day(1), at(9, 0), at(10, 0), &[anna, TherapistId(4040), TherapistId(4041)]), STAFF)
        .await
        .unwrap_err();
    let StoreError::Invalid(errors) = error else { panic!("expected invalid input") };
    assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["therapistIds[1]", "therapistIds[2]"]);
}

async fn moving_a_session_onto_a_busy_slot_is_refused_and_changes_nothing(db: &TestDb) {
    let store = db.store();
    let anna = therapist(store.as_ref(), "Anna").await;
    let bram = therapist(store.as_ref(), "Bram").await;
    store.create_sessions(booking(day(1), at(9, 0), at(10, 0), &[anna]), STAFF).await.unwrap();
    let movable = store.create_sessions(booking(day(1), at(11, 0), at(12, 0), &[anna]), STAFF).await.unwrap().remove(0);
    let moved = store
        .update_session(
            SessionScope::All,
            movable.id,
            SessionChanges { start_time: Some(at(9, 30)), end_time: Some(at(10, 30)), ..Default::default() },
            STAFF,
        )
        .await;
    assert_eq!(conflicts(moved.unwrap_err()).len(), 1);
    assert_eq!(store.session(SessionScope::All, movable.id).await.unwrap(), movable, "nothing changed");
    let bad_order = store
        .update_session(
            SessionScope::All,
            movable.id,
            SessionChanges { end_time: Some(at(10, 0)), ..Default::default() },
            STAFF,
        )
        .await;
    assert_eq!(
        invalid(bad_order),
        [("endTime".to_owned(), "after_start")],
        "end before start is invalid after the change too"
    );
    let swapped = store
        .update_session(
            SessionScope::All,
            movable.id,
            SessionChanges {
                start_time: Some(at(9, 30)),
                end_time: Some(at(10, 30)),
                therapist_ids: Some(vec![bram]),
                ..Default::default()
            },
            STAFF,
        )
        .await
        .unwrap();
    assert_eq!(swapped.therapists.iter().map(|t| t.id).collect::<Vec<_>>(), [bram]);
    assert!(swapped.updated_at > movable.updated_at);
}

async fn adding_a_therapist_is_idempotent_and_checks_their_calendar(db: &TestDb) {
    let store = db.store();
    let anna = therapist(store.as_ref(), "Anna").await;
    let bram = therapist(store.as_ref(), "Bram").await;
    let session = store.create_sessions(booking(day(1), at(9, 0), at(10, 0), &[anna]), STAFF).await.unwrap().remove(0);
    let with_bram = store.add_session_therapist(session.id, bram, false, STAFF).await.unwrap();
    assert_eq!(with_bram.therapists.iter().map(|t| t.id).collect::<Vec<_>>(), [anna, bram]);
    assert_eq!(
        store.add_session_therapist(session.id, bram, false, STAFF).await.unwrap(),
        with_bram,
        "adding again changes nothing"
    );
    let busy = store.create_sessions(booking(day(2), at(9, 0), at(10, 0), &[anna]), STAFF).await.unwrap().remove(0);
    let other = store.create_sessions(booking(day(2), at(9, 30), at(10, 0), &[bram]), STAFF).await.unwrap().remove(0);
    assert_eq!(
        booked(&conflicts(store.add_session_therapist(other.id, anna, false, STAFF).await.unwrap_err())[0]),
        busy.id
    );
    assert!(matches!(
        store.add_session_therapist(session.id, TherapistId(999), false, STAFF).await,
        Err(StoreError::NotFound)
    ));
    store.remove_session_therapist(session.id, bram, STAFF).await.unwrap();
    store.remove_session_therapist(session.id, bram, STAFF).await.unwrap();
    assert_eq!(store.session(SessionScope::All, session.id).await.unwrap().therapists.len(), 1);
}

async fn each_role_sees_only_the_sessions_the_role_table_gives_it(db: &TestDb) {
    let store = db.store();
    let (anna, _) = parent(store.as_ref(), "anna").await;
    let (bob, _) = parent(store.as_ref(), "bob").await;
    let noor = store.create_child(anna.id, NewChild::new("Noor", 3)).await.unwrap();
    let t_user = user(store.as_ref(), "therapist", Role::Parent).await;
    let linked = store.create_therapist("Cleo".into(), Some(t_user.id)).await.unwrap();
    assert_eq!(store.user(t_user.id).await.unwrap().role, Role::Therapist, "linking makes the user a therapist");
    let other = therapist(store.as_ref(), "Dirk").await;
    let mut for_noor = booking(day(1), at(9, 0), at(10, 0), &[linked.id]);
    for_noor.child_profile_id = Some(noor.id);
    let noors = store.create_sessions(for_noor, STAFF).await.unwrap().remove(0);
    let unrelated =
        store.create_sessions(booking(day(1), at(9, 0), at(10, 0), &[other]), STAFF).await.unwrap().remove(0);
    let visible = |scope| {
        let store = store.clone();
        async move {
            store
                .sessions(scope, SessionFilter::default(), PageRequest::first(50))
                .await
                .unwrap()
                .items
                .iter()
                .map(|s| s.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(visible(SessionScope::All).await, [noors.id, unrelated.id]);
    assert_eq!(visible(SessionScope::Parent(anna.id)).await, [noors.id]);
    assert_eq!(visible(SessionScope::Parent(bob.id)).await, Vec::<SessionId>::new());
    assert_eq!(visible(SessionScope::Therapist(linked.id)).await, [noors.id]);
    assert_eq!(visible(SessionScope::Nothing).await, Vec::<SessionId>::new());
    assert!(matches!(store.session(SessionScope::Parent(bob.id), noors.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.session(SessionScope::Therapist(linked.id), unrelated.id).await, Err(StoreError::NotFound)));
    let edit = store
        .update_session(
            SessionScope::Therapist(linked.id),
            unrelated.id,
            SessionChanges { notes: Some(Some("x".into())), ..Default::default() },
            STAFF,
        )
        .await;
    assert!(matches!(edit, Err(StoreError::NotFound)));
    store.delete_therapist(linked.id).await.unwrap();
    assert_eq!(store.user(t_user.id).await.unwrap().role, Role::Parent, "unlinking reverts the role");
    assert!(store.session(SessionScope::All, noors.id).await.unwrap().therapists.is_empty(), "the session stays");
}

async fn sessions_filter_by_range_therapist_and_child_and_page_in_order(db: &TestDb) {
    let store = db.store();
    let anna = therapist(store.as_ref(), "Anna").await;
    let bram = therapist(store.as_ref(), "Bram").await;
    let mut ids = Vec::new();
    for (d, h, t) in [(2, 9, anna), (1, 11, bram), (1, 9, anna), (3, 9, bram), (2, 8, bram)] {
        ids.push(store.create_sessions(booking(day(d), at(h, 0), at(h, 45), &[t]), STAFF).await.unwrap().remove(0).id);
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let batch = store.sessions(SessionScope::All, SessionFilter::default(), page.clone()).await.unwrap();
        seen.extend(batch.items.iter().map(|s| s.id));
        match batch.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, [ids[2], ids[1], ids[4], ids[0], ids[3]], "by date, start time, id");
    let filter = SessionFilter { from: Some(day(2)), to: Some(day(2)), ..Default::default() };
    let in_range = listed(store.as_ref(), filter).await;
    assert_eq!(in_range, [ids[4], ids[0]]);
    let filter = SessionFilter { therapist_id: Some(anna), ..Default::default() };
    let annas = listed(store.as_ref(), filter).await;
    assert_eq!(annas, [ids[2], ids[0]]);

    let (mother, _) = parent(store.as_ref(), "mother").await;
    let noor = store.create_child(mother.id, NewChild::new("Noor", 4)).await.unwrap();
    let daan = store.create_child(mother.id, NewChild::new("Daan", 6)).await.unwrap();
    let with_child = |child, d, h| {
        let mut new = booking(day(d), at(h, 0), at(h, 30), &[anna]);
        new.child_profile_id = Some(child);
        new
    };
    let noors_first = store.create_sessions(with_child(noor.id, 4, 9), STAFF).await.unwrap().remove(0).id;
    store.create_sessions(with_child(daan.id, 4, 10), STAFF).await.unwrap();
    let noors_second = store.create_sessions(with_child(noor.id, 5, 9), STAFF).await.unwrap().remove(0).id;
    let filter = SessionFilter { child_profile_id: Some(noor.id), ..Default::default() };
    let noors = listed(store.as_ref(), filter).await;
    assert_eq!(noors, [noors_first, noors_second], "only Noor's, not her brother's or the childless ones");
    let filter = SessionFilter { child_profile_id: Some(noor.id), from: Some(day(5)), ..Default::default() };
    let later = listed(store.as_ref(), filter).await;
    assert_eq!(later, [noors_second], "the child filter combines with the range");
}

async fn a_page_of_sessions_with_their_therapists_is_one_statement_whatever_its_size(db: &TestDb) {
    let store = db.store();
    let therapists = [therapist(store.as_ref(), "Anna").await, therapist(store.as_ref(), "Bram").await];
    let round_trips = |limit| {
        let store = store.clone();
        async move {
            let before = db.inspect().statements();
            let page =
                store.sessions(SessionScope::All, SessionFilter::default(), PageRequest::first(limit)).await.unwrap();
            let names: Vec<Vec<String>> =
                page.items.iter().map(|s| s.therapists.iter().map(|t| t.name.clone()).collect()).collect();
            (names, db.inspect().statements() - before)
        }
    };
    for d in 1..=20 {
        store.create_sessions(booking(day(d), at(9, 0), at(10, 0), &therapists), STAFF).await.unwrap();
    }
    store.create_sessions(booking(day(21), at(9, 0), at(10, 0), &therapists[1..]), STAFF).await.unwrap();
    let both = vec!["Anna".to_owned(), "Bram".to_owned()];
    assert_eq!(round_trips(1).await, (vec![both.clone()], 1), "the session with its therapists");
    let (twenty_one, statements) = round_trips(21).await;
    assert_eq!(statements, 1, "twenty-one sessions with their therapists cost the same");
    assert_eq!(twenty_one[..20], vec![both; 20][..]);
    assert_eq!(twenty_one[20], ["Bram"], "each session keeps only its own therapists");
}

async fn a_staff_read_and_its_audit_share_one_connection_and_a_familys_own_read_writes_nothing(db: &TestDb) {
    let store = db.store();
    let (anna, _) = parent(store.as_ref(), "anna").await;
    let noor = store.create_child(anna.id, NewChild::new("Noor", 3)).await.unwrap();
    let bram = therapist(store.as_ref(), "Bram").await;
    for d in 1..=3 {
        let mut new = booking(day(d), at(9, 0), at(10, 0), &[bram]);
        new.child_profile_id = Some(noor.id);
        store.create_sessions(new, STAFF).await.unwrap();
    }
    store.create_sessions(booking(day(4), at(9, 0), at(10, 0), &[bram]), STAFF).await.unwrap();
    let reads = || async {
        let page = store.audit_entries(anna.id, PageRequest::first(50)).await.unwrap();
        page.items.into_iter().filter(|(_, e)| e.action.as_str() == "read").count()
    };
    let cost = |reader: Actor, scope| {
        let store = store.clone();
        async move {
            let (statements, checkouts) = (db.inspect().statements(), db.inspect().checkouts());
            let page =
                store.read_sessions(reader, scope, SessionFilter::default(), PageRequest::first(10)).await.unwrap();
            (page.items.len(), db.inspect().statements() - statements, db.inspect().checkouts() - checkouts)
        }
    };
    assert_eq!(cost(STAFF, SessionScope::All).await, (4, 2, 1), "the rows and the audit, on one connection");
    assert_eq!(reads().await, 3, "one row per session of a child; the childless one is nobody's");
    let family = Actor { user: anna.id, role: Role::Parent };
    assert_eq!(cost(family, SessionScope::Parent(anna.id)).await, (3, 1, 1), "the family's own: nothing to record");
    assert_eq!(reads().await, 3);
    let first = store.sessions(SessionScope::All, SessionFilter::default(), PageRequest::first(1)).await.unwrap();
    let (statements, checkouts) = (db.inspect().statements(), db.inspect().checkouts());
    store.read_session(STAFF, SessionScope::All, first.items[0].id).await.unwrap();
    assert_eq!((db.inspect().statements() - statements, db.inspect().checkouts() - checkouts), (2, 1));
    assert_eq!(reads().await, 4);
}

/// A family with one child and three of the child's sessions; the family's user.
async fn three_sessions_of_a_child(store: &dyn Store) -> carenest_domain::ids::UserId {
    let (anna, _) = parent(store, "anna").await;
    let noor = store.create_child(anna.id, NewChild::new("Noor", 3)).await.unwrap();
    let bram = therapist(store, "Bram").await;
    for d in 1..=3 {
        let mut new = booking(day(d), at(9, 0), at(10, 0), &[bram]);
        new.child_profile_id = Some(noor.id);
        store.create_sessions(new, STAFF).await.unwrap();
    }
    anna.id
}

/// Readers of the whole calendar, admins and therapists by turns (the audit log keeps no
/// link to users, so any id names a reader here).
fn readers(count: i64) -> Vec<Actor> {
    (0..count)
        .map(|n| Actor {
            user: carenest_domain::ids::UserId(1_000 + n),
            role: if n % 2 == 0 { Role::Admin } else { Role::Therapist },
        })
        .collect()
}

/// The family's audit rows of session reads, by reader: (reader, role, sessions read).
async fn session_reads_by_reader(
    store: &dyn Store,
    family: carenest_domain::ids::UserId,
) -> std::collections::BTreeMap<i64, (Role, Vec<i64>)> {
    let log = store.audit_entries(family, PageRequest::first(500)).await.unwrap();
    let mut by_reader = std::collections::BTreeMap::<i64, (Role, Vec<i64>)>::new();
    for (_, entry) in log.items.into_iter().filter(|(_, e)| e.action.as_str() == "read") {
        assert_eq!(entry.resource_type, "session");
        let (role, sessions) = by_reader.entry(entry.actor_user_id.0).or_insert((entry.actor_role, Vec::new()));
        assert_eq!(*role, entry.actor_role, "a reader's rows all carry the reader's role");
        sessions.push(entry.resource_id);
    }
    by_reader.values_mut().for_each(|(_, sessions)| sessions.sort_unstable());
    by_reader
}

async fn concurrent_staff_reads_share_their_audit_statements_and_each_reader_gets_their_own_rows(db: &TestDb) {
    let store = db.store();
    let family = three_sessions_of_a_child(store.as_ref()).await;
    let sessions = listed(store.as_ref(), SessionFilter::default()).await;
    let readers = readers(24);
    let statements = db.inspect().statements();
    let reads = readers.iter().map(|&reader| {
        let store = store.clone();
        tokio::spawn(async move {
            store.read_sessions(reader, SessionScope::All, SessionFilter::default(), PageRequest::first(10)).await
        })
    });
    for read in futures::future::join_all(reads).await {
        assert_eq!(read.unwrap().unwrap().items.len(), 3);
    }
    let audit_statements = db.inspect().statements() - statements - 24;
    assert!(
        (1..24).contains(&audit_statements),
        "24 readers waiting together are recorded in fewer statements than readers: {audit_statements}"
    );
    let recorded = session_reads_by_reader(store.as_ref(), family).await;
    let expected: std::collections::BTreeMap<_, _> = readers
        .iter()
        .map(|r| (r.user.0, (r.role, sessions.iter().map(|s| s.0).collect::<Vec<_>>())))
        .map(|(user, (role, mut ids))| {
            ids.sort_unstable();
            (user, (role, ids))
        })
        .collect();
    assert_eq!(recorded, expected, "every reader's own three rows, in their own role, once");
}

async fn a_staff_read_dropped_while_its_audit_waits_leaves_the_others_rows_whole(db: &TestDb) {
    let store = db.store();
    let family = three_sessions_of_a_child(store.as_ref()).await;
    let readers = readers(30);
    // Every third read is dropped after a moment: before its read, while its audit rows wait
    // in the queue, or while it writes a batch holding the others' rows.
    let reads = readers.iter().enumerate().map(|(n, &reader)| {
        let store = store.clone();
        tokio::spawn(async move {
            let read = store.read_sessions(reader, SessionScope::All, SessionFilter::default(), PageRequest::first(10));
            if n % 3 == 0 {
                let patience = std::time::Duration::from_micros(100 * n as u64);
                (reader, tokio::time::timeout(patience, read).await.ok().map(Result::unwrap))
            } else {
                (reader, Some(read.await.unwrap()))
            }
        })
    });
    let answered: Vec<_> = futures::future::join_all(reads)
        .await
        .into_iter()
        .map(Result::unwrap)
        .filter_map(|(reader, page)| page.map(|_| reader.user.0))
        .collect();
    assert!(answered.len() >= 20, "the reads that were not dropped all answered");
    // A dropped reader's rows may still be written by the batch that took them: let it finish.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let recorded = session_reads_by_reader(store.as_ref(), family).await;
    for user in &answered {
        assert_eq!(recorded.get(user).map(|(_, s)| s.len()), Some(3), "reader {user} was answered, so recorded");
    }
    for (user, (_, sessions)) in &recorded {
        assert_eq!(sessions.len(), 3, "reader {user} recorded once, whole, or not at all");
    }
}

async fn therapists_are_searched_by_name_in_any_case_and_listed_by_name(db: &TestDb) {
    let store = db.store();
    for name in ["Zoë Visser", "anna Smit", "Bram de Vries", "Anna Bakker", "100% Care_Team"] {
        therapist(store.as_ref(), name).await;
    }
    let names = |query: Option<&'static str>| {
        let store = store.clone();
        async move {
            store
                .therapists(query, PageRequest::first(50))
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names(None).await, ["100% Care_Team", "Anna Bakker", "Bram de Vries", "Zoë Visser", "anna Smit"]);
    assert_eq!(names(Some("ANNA")).await, ["Anna Bakker", "anna Smit"]);
    assert_eq!(names(Some("%")).await, ["100% Care_Team"], "wildcards are matched literally");
    assert_eq!(names(Some("e_T")).await, ["100% Care_Team"]);
}

async fn a_user_can_be_linked_to_only_one_therapist(db: &TestDb) {
    let store = db.store();
    let t_user = user(store.as_ref(), "therapist", Role::Parent).await;
    store.create_therapist("Cleo".into(), Some(t_user.id)).await.unwrap();
    let again = store.create_therapist("Cleo 2".into(), Some(t_user.id)).await;
    assert!(matches!(again, Err(StoreError::Conflict { constraint: "therapists_user_id_key", .. })), "{again:?}");
    let missing = store.create_therapist("Ghost".into(), Some(carenest_domain::ids::UserId(9999))).await;
    assert_eq!(invalid(missing), [("userId".to_owned(), "unknown_user")]);
    let admin = user(store.as_ref(), "admin", Role::Admin).await;
    store.create_therapist("Boss".into(), Some(admin.id)).await.unwrap();
    assert_eq!(store.user(admin.id).await.unwrap().role, Role::Admin, "admins stay admins");
}

async fn staff_changes_to_a_childs_sessions_are_audited_for_the_family_and_refusals_are_not(db: &TestDb) {
    let store = db.store();
    let (anna, _) = parent(store.as_ref(), "anna").await;
    let noor = store.create_child(anna.id, NewChild::new("Noor", 3)).await.unwrap();
    let bram = therapist(store.as_ref(), "Bram").await;
    let mut new = booking(day(1), at(9, 0), at(10, 0), &[bram]);
    new.child_profile_id = Some(noor.id);
    let session = store.create_sessions(new.clone(), STAFF).await.unwrap().remove(0);
    assert_eq!(conflict(store.create_sessions(new, STAFF).await), "therapist_double_booked", "a double booking");
    store.create_sessions(booking(day(2), at(9, 0), at(10, 0), &[bram]), STAFF).await.unwrap();
    store
        .update_session(
            SessionScope::All,
            session.id,
            SessionChanges { notes: Some(Some("ok".into())), ..Default::default() },
            STAFF,
        )
        .await
        .unwrap();
    store.delete_session(session.id, STAFF).await.unwrap();
    let entries: Vec<_> = store
        .audit_entries(anna.id, PageRequest::first(50))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| e.resource_type == "session")
        .collect();
    let actions: Vec<_> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["delete", "update", "create"], "the refused booking and the childless session leave nothing");
    assert!(entries.iter().all(|e| e.actor_user_id == STAFF.user && e.resource_id == session.id.0));
}

async fn a_sessions_therapists_come_in_id_order_with_their_names_as_written_and_none_once_removed(db: &TestDb) {
    let store = db.store();
    let names = ["Zoë \"Zee\" O'Brien", "Back\\slash, [1, \"x\"]", "Élodie 🙂 null"];
    let mut ids = Vec::new();
    for name in names {
        ids.push(therapist(store.as_ref(), name).await);
    }
    let booked = store.create_sessions(booking(day(1), at(9, 0), at(10, 0), &[ids[2], ids[0], ids[1]]), STAFF).await;
    let session = booked.unwrap()[0].id;
    let alone = store.create_sessions(booking(day(2), at(9, 0), at(10, 0), &[ids[1]]), STAFF).await.unwrap()[0].id;
    let read = store.session(SessionScope::All, session).await.unwrap();
    let got: Vec<(TherapistId, &str)> = read.therapists.iter().map(|t| (t.id, t.name.as_str())).collect();
    assert_eq!(got, [(ids[0], names[0]), (ids[1], names[1]), (ids[2], names[2])]);

    store.delete_therapist(ids[1]).await.unwrap();
    let page = store.sessions(SessionScope::All, SessionFilter::default(), PageRequest::first(10)).await.unwrap();
    let therapists: Vec<(SessionId, Vec<TherapistId>)> =
        page.items.iter().map(|s| (s.id, s.therapists.iter().map(|t| t.id).collect())).collect();
    assert_eq!(therapists, [(session, vec![ids[0], ids[2]]), (alone, vec![])], "a session of no therapist has none");
}

on_both_backends!(
    staff_changes_to_a_childs_sessions_are_audited_for_the_family_and_refusals_are_not,
    an_overlapping_booking_for_a_busy_therapist_is_a_conflict_and_back_to_back_is_fine,
    a_cancelled_session_frees_its_therapists_time,
    a_series_books_every_occurrence_or_none_and_lists_every_conflict,
    of_many_simultaneous_overlapping_bookings_through_two_pools_exactly_one_succeeds,
    bookings_that_share_therapists_in_opposite_orders_do_not_deadlock,
    unknown_therapists_are_named_by_their_place_in_the_request,
    moving_a_session_onto_a_busy_slot_is_refused_and_changes_nothing,
    adding_a_therapist_is_idempotent_and_checks_their_calendar,
    each_role_sees_only_the_sessions_the_role_table_gives_it,
    sessions_filter_by_range_therapist_and_child_and_page_in_order,
    a_page_of_sessions_with_their_therapists_is_one_statement_whatever_its_size,
    a_sessions_therapists_come_in_id_order_with_their_names_as_written_and_none_once_removed,
    a_staff_read_and_its_audit_share_one_connection_and_a_familys_own_read_writes_nothing,
    concurrent_staff_reads_share_their_audit_statements_and_each_reader_gets_their_own_rows,
    a_staff_read_dropped_while_its_audit_waits_leaves_the_others_rows_whole,
    therapists_are_searched_by_name_in_any_case_and_listed_by_name,
    a_user_can_be_linked_to_only_one_therapist,
);
