//! The reminder outbox, on both backends: what each change plans, supersedes or leaves alone,
//! and how senders claim rows.

use std::collections::HashSet;
use std::sync::Arc;

use carenest_domain::accounts::User;
use carenest_domain::family::NewChild;
use carenest_domain::ids::{ChildId, SessionId};
use carenest_domain::reminders::{Reminder, ReminderOutcome, ReminderPolicy, ReminderState};
use carenest_domain::scheduling::{Session, SessionChanges, SessionScope, SessionStatus};
use carenest_domain::Store;
use carenest_store_tests::fixtures::{at, booking, parent, therapist, STAFF};
use carenest_store_tests::{on_both_backends, TestDb};
use chrono::{DateTime, Duration, NaiveDate, Utc};

/// Mondays 11:00 in Amsterdam (10:00 UTC, winter time) is "now" in these tests.
fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2030-03-04T10:00:00Z").unwrap().with_timezone(&Utc)
}

fn day(offset_days: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2030, 3, 4).unwrap() + Duration::days(offset_days)
}

fn an_hour_ahead() -> ReminderPolicy {
    ReminderPolicy::parse("1h", chrono_tz::Europe::Amsterdam).unwrap()
}

struct Practice {
    store: Arc<dyn Store>,
    family: User,
    child: ChildId,
    therapist: carenest_domain::ids::TherapistId,
}

/// A store reminding an hour ahead, at `now()`, with a family whose child sees a therapist.
async fn practice(db: &TestDb) -> Practice {
    db.clock().set(now());
    let store = db.store_reminding(an_hour_ahead()).await;
    let (family, _) = parent(store.as_ref(), "anna").await;
    let child = store.create_child(family.id, NewChild::new("Noor Jansen", 4)).await.unwrap().id;
    let therapist = therapist(store.as_ref(), "Bram").await;
    Practice { store, family, child, therapist }
}

impl Practice {
    /// Books the child at `h:m` local time on `date`, for 45 minutes.
    async fn book(&self, date: NaiveDate, h: u32, m: u32) -> Session {
        let mut new = booking(date, at(h, m), at(h, m) + Duration::minutes(45), &[self.therapist]);
        new.child_profile_id = Some(self.child);
        self.store.create_sessions(new, STAFF).await.unwrap().remove(0)
    }

    async fn change(&self, session: SessionId, changes: SessionChanges) -> Session {
        self.store.update_session(SessionScope::All, session, changes, STAFF).await.unwrap()
    }

    async fn reminders(&self) -> Vec<Reminder> {
        self.store.reminders_of(self.family.id).await.unwrap()
    }

    async fn in_state(&self, state: ReminderState) -> Vec<Reminder> {
        self.reminders().await.into_iter().filter(|r| r.state == state).collect()
    }

    /// Claims what is due now and returns the claimed rows' session ids.
    async fn claim(&self) -> Vec<SessionId> {
        let claimed = self.store.claim_reminders(Duration::minutes(2), 50).await.unwrap();
        claimed.iter().map(|due| due.reminder.session_id).collect()
    }
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

async fn a_session_booked_at_short_notice_is_due_at_once_and_one_a_week_ahead_later(db: &TestDb) {
    let practice = practice(db).await;
    let soon = practice.book(day(0), 11, 30).await;
    let next_week = practice.book(day(7), 11, 30).await;
    let planned = practice.reminders().await;
    assert_eq!(planned.len(), 2, "{planned:?}");
    let due: Vec<_> = planned.iter().map(|r| (r.session_id, r.due_at)).collect();
    assert!(due.contains(&(soon.id, utc("2030-03-04T09:30:00Z"))), "{due:?}");
    assert!(due.contains(&(next_week.id, utc("2030-03-11T09:30:00Z"))), "{due:?}");
    let claimed = practice.store.claim_reminders(Duration::minutes(2), 50).await.unwrap();
    assert_eq!(claimed.len(), 1, "only the session half an hour ahead is due");
    assert_eq!(claimed[0].reminder.session_id, soon.id);
    practice.store.finish_reminder(claimed[0].reminder.id, 1, ReminderOutcome::Sent).await.unwrap();
    db.clock().set(utc("2030-03-11T09:30:00Z"));
    assert_eq!(practice.claim().await, [next_week.id]);
}

async fn moving_a_session_supersedes_the_old_time_and_plans_the_new_one(db: &TestDb) {
    let practice = practice(db).await;
    let session = practice.book(day(7), 11, 30).await;
    practice.change(session.id, SessionChanges { date: Some(day(8)), ..Default::default() }).await;
    let superseded = practice.in_state(ReminderState::Superseded).await;
    let pending = practice.in_state(ReminderState::Pending).await;
    assert_eq!(superseded.len(), 1);
    assert_eq!(superseded[0].due_at, utc("2030-03-11T09:30:00Z"));
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].due_at, utc("2030-03-12T09:30:00Z"));
    assert!(pending[0].session_version > superseded[0].session_version);
    db.clock().set(utc("2030-03-11T10:00:00Z"));
    assert!(practice.claim().await.is_empty(), "the old time's reminder is never sent");
    db.clock().set(utc("2030-03-12T09:31:00Z"));
    assert_eq!(practice.claim().await, [session.id]);
}

async fn editing_notes_or_therapists_plans_nothing_new(db: &TestDb) {
    let practice = practice(db).await;
    let session = practice.book(day(0), 11, 30).await;
    let due = practice.store.claim_reminders(Duration::minutes(2), 50).await.unwrap().remove(0);
    assert!(practice.store.finish_reminder(due.reminder.id, 1, ReminderOutcome::Sent).await.unwrap());
    let notes =
        SessionChanges { notes: Some(Some("went well".into())), end_time: Some(at(12, 30)), ..Default::default() };
    practice.change(session.id, notes).await;
    let other = therapist(practice.store.as_ref(), "Eva").await;
    practice.store.add_session_therapist(session.id, other, false, STAFF).await.unwrap();
    let reminders = practice.reminders().await;
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    assert_eq!(reminders[0].state, ReminderState::Sent);
    assert!(practice.claim().await.is_empty());
}

async fn cancelling_or_unlinking_the_child_leaves_nothing_to_send_and_undoing_it_plans_again(db: &TestDb) {
    let practice = practice(db).await;
    let session = practice.book(day(7), 11, 30).await;
    practice.change(session.id, SessionChanges { status: Some(SessionStatus::Cancelled), ..Default::default() }).await;
    assert!(practice.in_state(ReminderState::Pending).await.is_empty());
    practice.change(session.id, SessionChanges { status: Some(SessionStatus::Scheduled), ..Default::default() }).await;
    assert_eq!(practice.in_state(ReminderState::Pending).await.len(), 1, "un-cancelling plans it again");
    practice.change(session.id, SessionChanges { child_profile_id: Some(None), ..Default::default() }).await;
    assert!(practice.in_state(ReminderState::Pending).await.is_empty());
    practice
        .change(session.id, SessionChanges { child_profile_id: Some(Some(practice.child)), ..Default::default() })
        .await;
    assert_eq!(practice.in_state(ReminderState::Pending).await.len(), 1);
    practice.store.delete_child(practice.family.id, practice.child).await.unwrap();
    assert!(practice.in_state(ReminderState::Pending).await.is_empty(), "a deleted child's sessions are not reminded");
    db.clock().set(utc("2030-03-11T10:00:00Z"));
    assert!(practice.claim().await.is_empty());
}

async fn turning_reminders_off_stops_them_and_on_plans_them_again(db: &TestDb) {
    let practice = practice(db).await;
    let user = practice.family.id;
    assert!(practice.store.session_reminders(user).await.unwrap());
    practice.book(day(7), 11, 30).await;
    assert!(!practice.store.set_session_reminders(user, false).await.unwrap());
    assert!(!practice.store.session_reminders(user).await.unwrap());
    assert!(practice.in_state(ReminderState::Pending).await.is_empty());
    practice.book(day(8), 11, 30).await;
    assert!(practice.in_state(ReminderState::Pending).await.is_empty(), "nothing is planned while off");
    practice.store.set_session_reminders(user, true).await.unwrap();
    assert_eq!(practice.in_state(ReminderState::Pending).await.len(), 2);
    assert_eq!(practice.reminders().await.len(), 2, "the superseded row came back instead of a second one");
}

async fn sessions_that_started_or_have_no_child_are_not_reminded(db: &TestDb) {
    let practice = practice(db).await;
    practice.book(day(0), 10, 30).await; // began half an hour ago, local time
    let no_child = booking(day(1), at(9, 0), at(10, 0), &[practice.therapist]);
    practice.store.create_sessions(no_child, STAFF).await.unwrap();
    let stored = practice.store.reminder_counts().await.unwrap();
    assert!(stored.is_empty(), "{stored:?}");
}

async fn a_claim_holds_a_row_until_its_lease_runs_out_and_only_the_current_claim_finishes_it(db: &TestDb) {
    let practice = practice(db).await;
    practice.book(day(0), 11, 30).await;
    let first = practice.store.claim_reminders(Duration::minutes(2), 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].reminder.attempts, 1);
    assert_eq!(first[0].child.as_ref().map(|(_, _, name)| name.as_str()), Some("Noor"), "the first name only");
    assert!(practice.claim().await.is_empty(), "a claimed row is not claimed again while its lease lasts");
    db.clock().advance(Duration::minutes(3));
    let second = practice.store.claim_reminders(Duration::minutes(2), 10).await.unwrap();
    assert_eq!(second[0].reminder.attempts, 2, "a sender that died mid-send is taken over");
    let id = second[0].reminder.id;
    assert!(!practice.store.finish_reminder(id, 1, ReminderOutcome::Sent).await.unwrap(), "a stale claim");
    assert!(practice.store.finish_reminder(id, 2, ReminderOutcome::Sent).await.unwrap());
    assert_eq!(practice.in_state(ReminderState::Sent).await.len(), 1);
}

async fn a_retry_waits_for_its_time_and_a_failure_stays_visible(db: &TestDb) {
    let practice = practice(db).await;
    practice.book(day(0), 11, 30).await;
    let id = practice.store.claim_reminders(Duration::minutes(2), 10).await.unwrap()[0].reminder.id;
    let retry = ReminderOutcome::Retry { at: now() + Duration::minutes(5), error: "421 closing".into() };
    assert!(practice.store.finish_reminder(id, 1, retry).await.unwrap());
    assert!(practice.claim().await.is_empty());
    db.clock().advance(Duration::minutes(6));
    let due = practice.store.claim_reminders(Duration::minutes(2), 10).await.unwrap();
    assert_eq!(due[0].reminder.last_error.as_deref(), Some("421 closing"));
    let failed = ReminderOutcome::Failed { error: "550 no such mailbox".into() };
    assert!(practice.store.finish_reminder(id, 2, failed).await.unwrap());
    let listed = practice.store.failed_reminders(10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(practice.store.reminder_counts().await.unwrap(), [(ReminderState::Failed, 1)]);
}

async fn two_senders_claiming_at_once_never_share_a_row(db: &TestDb) {
    let practice = practice(db).await;
    for days in 1..=3 {
        for hour in 9..17 {
            practice.book(day(days), hour, 0).await;
        }
    }
    db.clock().set(utc("2030-03-07T14:30:00Z"));
    let other = db.store_reminding(an_hour_ahead()).await;
    let claim_all = |store: Arc<dyn Store>| async move {
        let mut mine = Vec::new();
        loop {
            let batch = store.claim_reminders(Duration::minutes(2), 3).await.unwrap();
            if batch.is_empty() {
                return mine;
            }
            mine.extend(batch.into_iter().map(|due| due.reminder.id));
        }
    };
    let (a, b) = tokio::join!(tokio::spawn(claim_all(practice.store.clone())), tokio::spawn(claim_all(other)));
    let (a, b) = (a.unwrap(), b.unwrap());
    let both: HashSet<_> = a.iter().chain(&b).collect();
    assert_eq!(a.len() + b.len(), both.len(), "a row was claimed twice: {a:?} {b:?}");
    let planned = practice.reminders().await.len();
    assert_eq!(both.len(), planned);
}

async fn the_outbox_is_planned_again_once_when_the_offsets_change(db: &TestDb) {
    let practice = practice(db).await;
    practice.book(day(7), 11, 30).await;
    assert_eq!(practice.store.plan_all_reminders().await.unwrap(), 0, "a database without a mark is planned once");
    assert_eq!(practice.store.plan_all_reminders().await.unwrap(), 0, "the same offsets plan nothing again");
    let two = db.store_reminding(ReminderPolicy::parse("48h,2h", chrono_tz::Europe::Amsterdam).unwrap()).await;
    assert!(two.plan_all_reminders().await.unwrap() > 0);
    let pending = practice.in_state(ReminderState::Pending).await;
    let offsets: HashSet<_> = pending.iter().map(|r| r.offset_minutes).collect();
    assert_eq!(offsets, HashSet::from([2880, 120]), "the one-hour reminder was superseded");
    assert_eq!(two.plan_all_reminders().await.unwrap(), 0);
}

async fn erasing_the_account_removes_its_reminders(db: &TestDb) {
    let practice = practice(db).await;
    practice.book(day(7), 11, 30).await;
    practice.store.erase_user(practice.family.id).await.unwrap();
    assert!(practice.store.reminder_counts().await.unwrap().is_empty());
}

on_both_backends!(
    a_session_booked_at_short_notice_is_due_at_once_and_one_a_week_ahead_later,
    moving_a_session_supersedes_the_old_time_and_plans_the_new_one,
    editing_notes_or_therapists_plans_nothing_new,
    cancelling_or_unlinking_the_child_leaves_nothing_to_send_and_undoing_it_plans_again,
    turning_reminders_off_stops_them_and_on_plans_them_again,
    sessions_that_started_or_have_no_child_are_not_reminded,
    a_claim_holds_a_row_until_its_lease_runs_out_and_only_the_current_claim_finishes_it,
    a_retry_waits_for_its_time_and_a_failure_stays_visible,
    two_senders_claiming_at_once_never_share_a_row,
    the_outbox_is_planned_again_once_when_the_offsets_change,
    erasing_the_account_removes_its_reminders,
);
