//! The availability store contract, on both backends: working hours, time off and closures as
//! stored, the calendar the rules read, and bookings checked by those rules in their own
//! transaction.

use carenest_domain::availability::*;
use carenest_domain::ids::TherapistId;
use carenest_domain::page::PageRequest;
use carenest_domain::scheduling::{SessionFilter, SessionScope, SessionStatus};
use carenest_domain::StoreError;
use carenest_store_tests::fixtures::{at, booking, therapist, STAFF};
use carenest_store_tests::{conflict, on_both_backends, TestDb};
use chrono::{NaiveDate, NaiveTime};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 3, d).unwrap()
}

fn weekly(weekday: u8, start: NaiveTime, end: NaiveTime) -> WeeklyInterval {
    WeeklyInterval { weekday, start, end }
}

async fn a_weekly_pattern_is_replaced_whole_and_goes_with_its_therapist(db: &TestDb) {
    let store = db.store();
    let anna = therapist(store.as_ref(), "Anna").await;
    assert_eq!(store.working_hours(anna).await.unwrap(), WorkingHours::default(), "none set");
    let first = vec![weekly(1, at(9, 0), at(12, 0)), weekly(1, at(13, 0), at(17, 0)), weekly(3, at(9, 0), at(12, 0))];
    let set = store.set_working_hours(anna, first.clone()).await.unwrap();
    assert_eq!(set.weekly, first);
    assert!(set.updated_at.is_some());
    let second = vec![weekly(2, at(8, 0), at(9, 30))];
    assert_eq!(store.set_working_hours(anna, second.clone()).await.unwrap().weekly, second, "the old pattern is gone");
    assert!(matches!(store.working_hours(TherapistId(999)).await, Err(StoreError::NotFound)));
    assert!(matches!(store.set_working_hours(TherapistId(999), second).await, Err(StoreError::NotFound)));
    let overlapping = vec![weekly(1, at(9, 0), at(12, 0)), weekly(1, at(11, 0), at(13, 0))];
    let refused = store.set_working_hours(anna, overlapping).await;
    assert!(
        matches!(&refused, Err(StoreError::Invalid(e)) if e[0].field == "working_hours_no_overlap"),
        "the database refuses overlaps by name: {refused:?}"
    );
    assert_eq!(store.working_hours(anna).await.unwrap().weekly, [weekly(2, at(8, 0), at(9, 30))], "nothing written");
    store.delete_therapist(anna).await.unwrap();
    let mut raw = db.raw().await;
    assert_eq!(raw.text("SELECT CAST(count(*) AS TEXT) FROM working_hours").await.as_deref(), Some("0"));
}

async fn the_calendar_holds_only_what_falls_in_its_range_for_its_therapists(db: &TestDb) {
    let store = db.store();
    let anna = therapist(store.as_ref(), "Anna").await;
    let bram = therapist(store.as_ref(), "Bram").await;
    store.set_working_hours(anna, vec![weekly(1, at(9, 0), at(17, 0))]).await.unwrap();
    let off =
        |start, end| NewTimeOff { start_date: start, end_date: end, start_time: None, end_time: None, reason: None };
    let inside = store.create_time_off(anna, off(day(2), day(3))).await.unwrap();
    store.create_time_off(anna, off(day(20), day(21))).await.unwrap();
    store.create_time_off(bram, off(day(2), day(2))).await.unwrap();
    let across =
        store.create_closure(NewClosure { start_date: day(1), end_date: day(4), name: "Spring".into() }).await.unwrap();
    store.create_closure(NewClosure { start_date: day(25), end_date: day(25), name: "Later".into() }).await.unwrap();
    let kept = store.create_sessions(booking(day(2), at(9, 0), at(10, 0), &[anna]), STAFF).await;
    assert_eq!(conflict(kept), "therapist_unavailable", "closed, and her day off");
    let mut cancelled = booking(day(8), at(9, 0), at(10, 0), &[anna]);
    cancelled.status = SessionStatus::Cancelled;
    store.create_sessions(cancelled, STAFF).await.unwrap();
    let booked = store.create_sessions(booking(day(8), at(10, 0), at(11, 0), &[anna]), STAFF).await.unwrap().remove(0);
    store.create_sessions(booking(day(15), at(10, 0), at(11, 0), &[anna]), STAFF).await.unwrap();
    let calendar = store.calendar(&[anna], day(3), day(10)).await.unwrap();
    assert_eq!(calendar.working_hours[&anna], [weekly(1, at(9, 0), at(17, 0))]);
    assert_eq!(calendar.time_off, [inside], "time off touching the range, hers only");
    assert_eq!(calendar.closures, [across], "a closure that began before the range");
    assert_eq!(
        calendar.booked,
        [BookedSlot { therapist: anna, session: booked.id, date: day(8), start: at(10, 0), end: at(11, 0) }],
        "not the cancelled one, not the one after the range"
    );
    assert!(matches!(store.calendar(&[anna, TherapistId(999)], day(3), day(10)).await, Err(StoreError::NotFound)));
}

async fn a_booking_is_refused_for_every_reason_at_once_and_writes_nothing(db: &TestDb) {
    let store = db.store();
    let anna = therapist(store.as_ref(), "Anna").await;
    let bram = therapist(store.as_ref(), "Bram").await;
    store.set_working_hours(anna, vec![weekly(1, at(9, 0), at(12, 0))]).await.unwrap();
    let course = NewTimeOff {
        start_date: day(1),
        end_date: day(1),
        start_time: Some(at(11, 0)),
        end_time: Some(at(12, 0)),
        reason: None,
    };
    store.create_time_off(bram, course).await.unwrap();
    let busy = store.create_sessions(booking(day(1), at(11, 30), at(12, 30), &[anna]), STAFF).await;
    assert_eq!(conflict(busy), "therapist_unavailable", "past her hours");
    let mut late = booking(day(1), at(11, 30), at(12, 30), &[anna]);
    late.outside_working_hours = true;
    let late = store.create_sessions(late, STAFF).await.unwrap().remove(0);
    let refused = store.create_sessions(booking(day(1), at(11, 0), at(12, 0), &[anna, bram]), STAFF).await;
    let Err(StoreError::Conflict { constraint, conflicts, .. }) = refused else { panic!("{refused:?}") };
    assert_eq!(constraint, "therapist_unavailable");
    let reasons: Vec<_> = conflicts.iter().map(|c| (c.therapist_id, c.reason)).collect();
    assert_eq!(
        reasons,
        [(bram, Obstacle::TimeOff), (anna, Obstacle::Booked { session: late.id, start: at(11, 30), end: at(12, 30) })],
        "by date; within a day, closures, hours and time off first, then overlaps by their start"
    );
    let all = store.sessions(SessionScope::All, SessionFilter::default(), PageRequest::first(50)).await.unwrap();
    assert_eq!(all.items.len(), 1, "nothing was written");
}

async fn a_booking_reads_its_therapists_calendar_in_one_statement_and_nothing_back(db: &TestDb) {
    let store = db.store();
    let anna = therapist(store.as_ref(), "Anna").await;
    let bram = therapist(store.as_ref(), "Bram").await;
    let mondays = vec![weekly(1, at(8, 0), at(18, 0))];
    store.set_working_hours(anna, mondays.clone()).await.unwrap();
    store.set_working_hours(bram, mondays).await.unwrap();
    let round_trips = |date| {
        let store = store.clone();
        async move {
            let before = db.inspect().statements();
            let booked = store.create_sessions(booking(date, at(9, 0), at(10, 0), &[bram, anna]), STAFF).await.unwrap();
            let statements = db.inspect().statements() - before;
            let stored = store.session(SessionScope::All, booked[0].id).await.unwrap();
            assert_eq!(booked, [stored], "the booking answers the session as stored, without reading it back");
            statements
        }
    };
    let on_an_empty_calendar = round_trips(day(1)).await;
    assert_eq!(
        on_an_empty_calendar, 6,
        "BEGIN, the therapists locked, their calendar, the insert, their links, COMMIT"
    );

    let week =
        (1..=5).flat_map(|weekday| [weekly(weekday, at(8, 0), at(12, 0)), weekly(weekday, at(13, 0), at(18, 0))]);
    store.set_working_hours(anna, week.clone().collect()).await.unwrap();
    store.set_working_hours(bram, week.collect()).await.unwrap();
    for (who, date) in [(anna, day(8)), (bram, day(8)), (anna, day(9))] {
        let part = NewTimeOff {
            start_date: date,
            end_date: date,
            start_time: Some(at(16, 0)),
            end_time: Some(at(17, 0)),
            reason: Some("course".into()),
        };
        store.create_time_off(who, part).await.unwrap();
    }
    store.create_closure(NewClosure { start_date: day(7), end_date: day(7), name: "Sunday".into() }).await.unwrap();
    for hour in [10, 11, 13, 14] {
        store.create_sessions(booking(day(8), at(hour, 0), at(hour + 1, 0), &[anna, bram]), STAFF).await.unwrap();
    }
    assert_eq!(round_trips(day(8)).await, on_an_empty_calendar, "hours, time off, a closure and sessions cost no more");
}

on_both_backends!(
    a_booking_reads_its_therapists_calendar_in_one_statement_and_nothing_back,
    a_weekly_pattern_is_replaced_whole_and_goes_with_its_therapist,
    the_calendar_holds_only_what_falls_in_its_range_for_its_therapists,
    a_booking_is_refused_for_every_reason_at_once_and_writes_nothing,
);
