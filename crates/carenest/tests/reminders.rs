//! Reminders end to end, through a real SMTP conversation with a sink this test starts: the
//! email itself, retries while the mail server is down, a sender killed mid-send, and two server
//! processes sharing one outbox.

mod support;

use std::sync::Arc;
use std::time::Duration;

use carenest_app::mail::SmtpMailer;
use carenest_app::reminders::SenderSettings;
use carenest_app::{App, Settings};
use carenest_domain::family::{NewChild, ParentProfileChanges};
use carenest_domain::ids::{ChildId, TherapistId};
use carenest_domain::reminders::ReminderPolicy;
use carenest_domain::scheduling::{Session, SessionChanges, SessionScope, SessionStatus};
use carenest_domain::Store;
use carenest_store_tests::fixtures::{at, booking, parent, therapist, STAFF};
use carenest_store_tests::{on_both_backends, TestDb};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use support::smtp::{message_id, readable, Mode, SmtpSink};
use support::Server;

const ZONE: chrono_tz::Tz = chrono_tz::Europe::Amsterdam;
const PUBLIC_URL: &str = "https://care.example.org";

fn an_hour_ahead() -> ReminderPolicy {
    ReminderPolicy::parse("1h", ZONE).unwrap()
}

/// Monday 4 March 2030, 11:00 in Amsterdam: "now" for the tests that set the clock.
fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, 4, 10, 0, 0).unwrap()
}

fn march(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2030, 3, day).unwrap()
}

/// A family with a child, and the store and application that remind it an hour ahead.
struct Family {
    store: Arc<dyn Store>,
    app: App,
    user: carenest_domain::ids::UserId,
    child: ChildId,
}

async fn family(db: &TestDb, username: &str, language: &str) -> Family {
    let store = db.store_reminding(an_hour_ahead()).await;
    let (user, _) = parent(store.as_ref(), username).await;
    let changes = ParentProfileChanges { preferred_language: Some(language.to_owned()), ..Default::default() };
    store.update_parent_profile(user.id, changes).await.unwrap();
    let mut child = NewChild::new(&format!("{username}kid Jansen"), 4);
    child.special_needs = vec!["sensory processing".into()];
    let child = store.create_child(user.id, child).await.unwrap().id;
    let settings = Settings {
        public_url: Some(PUBLIC_URL.to_owned()),
        reminders: an_hour_ahead(),
        practice_time_zone: ZONE,
        ..Settings::default()
    };
    let app = App::new(store.clone(), settings).with_clock(db.clock());
    Family { store, app, user: user.id, child }
}

async fn book(
    store: &dyn Store,
    child: ChildId,
    therapists: &[TherapistId],
    date: NaiveDate,
    start: NaiveTime,
) -> Session {
    let mut new = booking(date, start, start + chrono::Duration::minutes(45), therapists);
    new.child_profile_id = Some(child);
    new.notes = Some("private note about the session".into());
    store.create_sessions(new, STAFF).await.unwrap().remove(0)
}

fn mailer(sink: &SmtpSink) -> SmtpMailer {
    SmtpMailer::new(&sink.url(), "CareNest <care@example.org>", Duration::from_secs(5)).unwrap()
}

fn quick() -> SenderSettings {
    SenderSettings { retry_after: Duration::from_secs(60), lease: Duration::from_secs(20), ..SenderSettings::default() }
}

async fn each_family_is_emailed_once_in_its_own_language_without_health_data(db: &TestDb) {
    db.clock().set(monday());
    let anna = family(db, "anna", "nl").await;
    let ben = family(db, "ben", "en").await;
    let (bram, eva) = (therapist(anna.store.as_ref(), "Bram").await, therapist(anna.store.as_ref(), "Eva").await);
    let dutch = book(anna.store.as_ref(), anna.child, &[bram, eva], march(4), at(11, 30)).await;
    let english = book(ben.store.as_ref(), ben.child, &[bram, eva], march(4), at(12, 15)).await;
    book(ben.store.as_ref(), ben.child, &[bram], march(11), at(11, 30)).await;
    let sink = SmtpSink::start().await;
    // 11:20 in Amsterdam: both sessions are within the hour.
    db.clock().set(monday() + chrono::Duration::minutes(20));
    let report = anna.app.send_due_reminders(&mailer(&sink), &quick()).await.unwrap();
    assert_eq!(report.sent, 2, "{report:?}");
    let delivered = sink.delivered();
    let nl = readable(delivered.iter().find(|m| m.contains("To: anna")).expect("anna's email"));
    let en = readable(delivered.iter().find(|m| m.contains("To: ben")).expect("ben's email"));
    assert!(nl.contains("Subject: Herinnering: sessie op maandag 4 maart 2030 om 11:30"), "{nl}");
    assert!(
        nl.contains("de sessie van annakid op maandag 4 maart 2030, van 11:30 tot 12:15, met Bram en Eva."),
        "{nl}"
    );
    assert!(nl.contains(&format!("{PUBLIC_URL}/session/{}", dutch.id.0)), "{nl}");
    assert!(nl.contains("<html lang=\"nl\">"), "{nl}");
    assert!(en.contains("Subject: Reminder: session on Monday 4 March 2030 at 12:15"), "{en}");
    assert!(
        en.contains("the session of benkid on Monday 4 March 2030, from 12:15 to 13:00, with Bram and Eva."),
        "{en}"
    );
    for (email, session) in [(&nl, &dutch), (&en, &english)] {
        assert!(email.contains("BEGIN:VCALENDAR"), "the session is attached: {email}");
        assert!(email.contains(&format!("UID:session-{}@carenest.dev", session.id.0)), "the feed's UID: {email}");
        assert!(email.contains("TZID=Europe/Amsterdam"), "{email}");
        for secret in ["Jansen", "private note", "sensory"] {
            assert!(!email.contains(secret), "{secret} leaked into {email}");
        }
        assert!(message_id(email).starts_with("<reminder-"));
    }
    let again = anna.app.send_due_reminders(&mailer(&sink), &quick()).await.unwrap();
    assert_eq!(again.claimed(), 0, "nothing is sent twice");
    assert_eq!(sink.delivered().len(), 2);
}

async fn a_moved_session_is_reminded_of_its_new_time_only_and_a_cancelled_one_not_at_all(db: &TestDb) {
    db.clock().set(monday());
    let anna = family(db, "anna", "en").await;
    let bram = therapist(anna.store.as_ref(), "Bram").await;
    let moved = book(anna.store.as_ref(), anna.child, &[bram], march(4), at(11, 30)).await;
    let cancelled = book(anna.store.as_ref(), anna.child, &[bram], march(4), at(14, 0)).await;
    let later = SessionChanges { start_time: Some(at(11, 40)), end_time: Some(at(12, 25)), ..Default::default() };
    anna.store.update_session(SessionScope::All, moved.id, later, STAFF).await.unwrap();
    let cancel = SessionChanges { status: Some(SessionStatus::Cancelled), ..Default::default() };
    anna.store.update_session(SessionScope::All, cancelled.id, cancel, STAFF).await.unwrap();
    let sink = SmtpSink::start().await;
    let report = anna.app.send_due_reminders(&mailer(&sink), &quick()).await.unwrap();
    assert_eq!((report.sent, report.claimed()), (1, 1), "{report:?}");
    // 13:30 in Amsterdam: the cancelled session's hour has come.
    db.clock().set(monday() + chrono::Duration::minutes(150));
    let report = anna.app.send_due_reminders(&mailer(&sink), &quick()).await.unwrap();
    assert_eq!(report.claimed(), 0, "{report:?}");
    assert_eq!(sink.delivered().len(), 1);
    let email = readable(&sink.delivered()[0]);
    assert!(email.contains("at 11:40"), "{email}");
    assert!(!email.contains("11:30") && !email.contains("14:00"), "{email}");
}

async fn a_mail_server_that_is_down_gets_the_reminder_once_it_is_back(db: &TestDb) {
    db.clock().set(monday());
    let anna = family(db, "anna", "nl").await;
    let bram = therapist(anna.store.as_ref(), "Bram").await;
    book(anna.store.as_ref(), anna.child, &[bram], march(4), at(11, 30)).await;
    let sink = SmtpSink::start().await;
    sink.set_mode(Mode::TurnAway);
    let down = anna.app.send_due_reminders(&mailer(&sink), &quick()).await.unwrap();
    assert_eq!(down.retried, 1, "{down:?}");
    sink.set_mode(Mode::Accept);
    let waiting = anna.app.send_due_reminders(&mailer(&sink), &quick()).await.unwrap();
    assert_eq!(waiting.claimed(), 0, "the retry waits for its backoff");
    db.clock().advance(chrono::Duration::seconds(61));
    let back = anna.app.send_due_reminders(&mailer(&sink), &quick()).await.unwrap();
    assert_eq!(back.sent, 1, "{back:?}");
    assert_eq!(sink.delivered().len(), 1);
    let stored = anna.store.reminders_of(anna.user).await.unwrap();
    assert_eq!((stored[0].attempts, stored[0].sent_at.is_some()), (2, true));
}

async fn a_family_that_turned_reminders_off_gets_nothing(db: &TestDb) {
    db.clock().set(monday());
    let anna = family(db, "anna", "nl").await;
    let bram = therapist(anna.store.as_ref(), "Bram").await;
    book(anna.store.as_ref(), anna.child, &[bram], march(4), at(11, 30)).await;
    anna.store.set_session_reminders(anna.user, false).await.unwrap();
    let sink = SmtpSink::start().await;
    let report = anna.app.send_due_reminders(&mailer(&sink), &quick()).await.unwrap();
    assert_eq!(report.claimed(), 0);
    assert!(sink.delivered().is_empty());
}

/// The practice's wall-clock date and time about `minutes` from now, for a 45-minute session
/// whose hour-ahead reminder is then due. A session may not run past midnight, so late in the
/// evening it starts at the day's last start (while that is at least 10 minutes ahead) or at
/// midnight: always in the future and within the hour.
fn soon(minutes: i64) -> (NaiveDate, NaiveTime) {
    let now = Utc::now().with_timezone(&ZONE).naive_local();
    let wanted = now + chrono::Duration::minutes(minutes);
    let start = wanted.time().with_second(0).unwrap().with_nanosecond(0).unwrap();
    let last_start = at(23, 14);
    if wanted.date() > now.date() || start <= last_start {
        return (wanted.date(), start);
    }
    if now.time() <= at(23, 4) {
        return (now.date(), last_start);
    }
    (now.date() + chrono::Duration::days(1), at(0, 0))
}

/// The configuration a server process sends reminders with.
fn sending_to(sink: &SmtpSink) -> Vec<(&'static str, String)> {
    vec![
        ("CARENEST_SMTP_URL", sink.url()),
        ("CARENEST_PUBLIC_URL", PUBLIC_URL.to_owned()),
        ("CARENEST_REMINDER_OFFSETS", "1h".to_owned()),
        ("CARENEST_REMINDER_LEASE_SECONDS", "10".to_owned()),
    ]
}

async fn serving(url: &str, env: &[(&'static str, String)]) -> Server {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start(url, &env, false).await
}

async fn reminder_rows(db: &TestDb) -> (String, String) {
    let mut raw = db.raw().await;
    let state = raw.text("SELECT state FROM reminders").await.unwrap();
    let attempts = raw.text("SELECT CAST(attempts AS TEXT) FROM reminders").await.unwrap();
    (state, attempts)
}

async fn a_sender_killed_mid_send_delivers_the_reminder_once_after_a_restart(db: &TestDb) {
    let anna = family(db, "anna", "nl").await;
    let bram = therapist(anna.store.as_ref(), "Bram").await;
    let (date, start) = soon(30);
    book(anna.store.as_ref(), anna.child, &[bram], date, start).await;
    let sink = SmtpSink::start().await;
    sink.set_mode(Mode::Stall);
    let mut server = serving(db.url(), &sending_to(&sink)).await;
    sink.wait_for_stall(Duration::from_secs(20)).await;
    // The message's data is on the wire and the server never acknowledged it: the first send
    // did not complete. The sender dies now, with the row claimed.
    server.kill_hard();
    assert_eq!(reminder_rows(db).await, ("sending".to_owned(), "1".to_owned()));
    sink.set_mode(Mode::Accept);
    server.restart().await;
    sink.wait_for(1, Duration::from_secs(40)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sink.delivered().len(), 1, "delivered exactly once");
    assert_eq!(reminder_rows(db).await, ("sent".to_owned(), "2".to_owned()));
}

on_both_backends!(
    each_family_is_emailed_once_in_its_own_language_without_health_data,
    a_moved_session_is_reminded_of_its_new_time_only_and_a_cancelled_one_not_at_all,
    a_mail_server_that_is_down_gets_the_reminder_once_it_is_back,
    a_family_that_turned_reminders_off_gets_nothing,
    a_sender_killed_mid_send_delivers_the_reminder_once_after_a_restart,
);

/// Two `serve` processes on one PostgreSQL database, both sending: every reminder arrives once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_deliver_every_reminder_exactly_once() {
    let Some(db) = TestDb::postgres().await else { return };
    let anna = family(&db, "anna", "nl").await;
    let (date, start) = soon(20);
    for n in 0..30 {
        let someone = therapist(anna.store.as_ref(), &format!("Therapist {n}")).await;
        book(anna.store.as_ref(), anna.child, &[someone], date, start).await;
    }
    let sink = SmtpSink::start().await;
    let env = sending_to(&sink);
    let (first, second) = tokio::join!(serving(db.url(), &env), serving(db.url(), &env));
    let delivered = sink.wait_for(30, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let delivered = sink.delivered().len().max(delivered.len());
    assert_eq!(delivered, 30, "every reminder once, none twice");
    let ids: std::collections::HashSet<String> = sink.delivered().iter().map(|m| message_id(m)).collect();
    assert_eq!(ids.len(), 30);
    drop((first, second));
}
