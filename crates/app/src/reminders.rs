//! Session reminders: a family's choice, and the sender that works through the outbox.
//!
//! The store plans outbox rows in the transaction of every change that implies them. The
//! sender claims due rows under a lease, asks the domain rule again whether each is still
//! implied by its session as it is now, writes the email in the family's language, sends it,
//! and records the outcome only if its claim still holds. A failed send is retried with
//! backoff up to a limit, then marked failed and counted.
//!
//! Delivery is at least once with one narrow exception to "exactly": a sender that dies after
//! the mail server accepted a message and before the database recorded it leaves the row
//! claimed; when the lease runs out the row is sent again. Every other interruption (before
//! or during the SMTP conversation) leaves nothing delivered, and the one resend delivers it.
//! Each message carries the same `Message-ID` on every attempt, so a mail server or client
//! that deduplicates by it shows even that case once.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use async_trait::async_trait;
use carenest_domain::reminders::{DueReminder, ReminderOutcome};
use chrono::Utc;

use crate::calendar::{render, Calendar};
use crate::dates::{clock, long_date};
use crate::feeds::family_event;
use crate::{App, AppResult, Caller};

/// A family's notification choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notifications {
    pub session_reminders: bool,
}

impl App {
    pub async fn notifications(&self, caller: &Caller) -> AppResult<Notifications> {
        Ok(Notifications { session_reminders: self.store.session_reminders(caller.id()).await? })
    }

    /// Plans every session that has not started again if the practice's offsets changed since
    /// the outbox was last planned; the number of rows written.
    pub async fn plan_all_reminders(&self) -> AppResult<u64> {
        Ok(self.store.plan_all_reminders().await?)
    }

    /// Turns the family's session reminders on or off; off stops every reminder not yet sent.
    pub async fn set_notifications(&self, caller: &Caller, session_reminders: bool) -> AppResult<Notifications> {
        let session_reminders = self.store.set_session_reminders(caller.id(), session_reminders).await?;
        tracing::info!(user_id = caller.id().0, session_reminders, "notification choices changed");
        Ok(Notifications { session_reminders })
    }
}

/// One email, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    pub to_address: String,
    pub to_name: String,
    /// The same on every attempt of one reminder.
    pub message_id: String,
    /// `nl` or `en`: the language the email is written in.
    pub language: &'static str,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The session as an iCalendar document, with the UID its calendar feeds give it.
    pub calendar: String,
}

/// Why a send failed; `permanent` when trying again can't help (the server refused the
/// recipient or the message for good).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

/// Delivers email. The service's is SMTP ([`crate::mail::SmtpMailer`]).
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: &Email) -> Result<(), SendError>;
}

/// How the sender works.
#[derive(Debug, Clone, Copy)]
pub struct SenderSettings {
    /// How long a claim holds a row. A send is abandoned (and retried) after half of it, so a
    /// row is never sent by two senders because one was slow.
    pub lease: Duration,
    /// Attempts before a reminder is marked failed.
    pub max_attempts: i32,
    /// The wait after the first failed attempt; it doubles with each attempt, up to an hour.
    pub retry_after: Duration,
    /// How often the outbox is looked at when nothing was due.
    pub poll: Duration,
    /// Rows claimed (and sent side by side) at once.
    pub batch: u32,
}

impl Default for SenderSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(120),
            max_attempts: 8,
            retry_after: Duration::from_secs(60),
            poll: Duration::from_secs(1),
            batch: 16,
        }
    }
}

const LONGEST_RETRY_WAIT: Duration = Duration::from_secs(3600);

impl SenderSettings {
    /// The wait before attempt `attempt + 1`.
    pub fn backoff(&self, attempt: i32) -> Duration {
        let doublings = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(16);
        self.retry_after.saturating_mul(1 << doublings).min(LONGEST_RETRY_WAIT)
    }
}

/// What one pass of the sender did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub superseded: usize,
}

impl SendReport {
    pub fn claimed(&self) -> usize {
        self.sent + self.retried + self.failed + self.superseded
    }
}

impl App {
    /// Claims the reminders that are due and sends them: one pass of the sender.
    pub async fn send_due_reminders(&self, mailer: &dyn Mailer, settings: &SenderSettings) -> AppResult<SendReport> {
        let lease = chrono::Duration::from_std(settings.lease).unwrap_or(chrono::Duration::minutes(2));
        let claimed = self.store.claim_reminders(lease, settings.batch).await?;
        let outcomes =
            futures::future::join_all(claimed.into_iter().map(|due| self.deliver(mailer, settings, due))).await;
        let mut report = SendReport::default();
        for outcome in outcomes {
            match outcome? {
                ReminderOutcome::Sent => report.sent += 1,
                ReminderOutcome::Retry { .. } => report.retried += 1,
                ReminderOutcome::Failed { .. } => report.failed += 1,
                ReminderOutcome::Superseded { .. } => report.superseded += 1,
            }
        }
        Ok(report)
    }

    async fn deliver(
        &self,
        mailer: &dyn Mailer,
        settings: &SenderSettings,
        due: DueReminder,
    ) -> AppResult<ReminderOutcome> {
        let (id, attempt, session_id) = (due.reminder.id, due.reminder.attempts, due.reminder.session_id.0);
        let outcome = match due.still_due(&self.settings.reminders, self.now()) {
            Err(why) => ReminderOutcome::Superseded { why: why.to_owned() },
            // A sender died mid-send on every earlier attempt.
            Ok(()) if attempt > settings.max_attempts => ReminderOutcome::Failed {
                error: format!("gave up after {} attempts that did not finish", settings.max_attempts),
            },
            Ok(()) => {
                let email = self.reminder_email(&due);
                match tokio::time::timeout(settings.lease / 2, mailer.send(&email)).await {
                    Ok(Ok(())) => ReminderOutcome::Sent,
                    Ok(Err(error)) => self.after_failure(settings, attempt, error),
                    Err(_) => self.after_failure(
                        settings,
                        attempt,
                        SendError { permanent: false, message: "the mail server did not answer in time".to_owned() },
                    ),
                }
            }
        };
        let recorded = self.store.finish_reminder(id, attempt, outcome.clone()).await?;
        let result = match &outcome {
            ReminderOutcome::Sent => "sent",
            ReminderOutcome::Retry { .. } => "retry",
            ReminderOutcome::Failed { .. } => "failed",
            ReminderOutcome::Superseded { .. } => "superseded",
        };
        metrics::counter!("carenest_reminders_total", "result" => result).increment(1);
        match &outcome {
            ReminderOutcome::Failed { error } | ReminderOutcome::Retry { error, .. } => {
                tracing::warn!(reminder_id = id, session_id, attempt, result, error = %error, "reminder not delivered");
            }
            _ => tracing::info!(reminder_id = id, session_id, attempt, result, recorded, "reminder handled"),
        }
        Ok(outcome)
    }

    fn after_failure(&self, settings: &SenderSettings, attempt: i32, error: SendError) -> ReminderOutcome {
        if error.permanent || attempt >= settings.max_attempts {
            ReminderOutcome::Failed { error: error.message }
        } else {
            let wait = chrono::Duration::from_std(settings.backoff(attempt)).unwrap_or(chrono::Duration::hours(1));
            ReminderOutcome::Retry { at: self.now() + wait, error: error.message }
        }
    }

    /// The email of a reminder, in the family's language: the date, the time, the therapists
    /// and a link; no notes, no needs, and of the child only the first name.
    pub fn reminder_email(&self, due: &DueReminder) -> Email {
        let session = due.session.as_ref().expect("a reminder that is still due has its session");
        let dutch = due.recipient.language.starts_with("nl");
        let words = if dutch { &DUTCH } else { &ENGLISH };
        let child = due.child.as_ref().map_or("", |(_, _, first_name)| first_name.as_str());
        let therapists: Vec<&str> = session.therapists.iter().map(|t| t.name.as_str()).collect();
        let day = long_date(session.date, words.language);
        let (start, end) = (clock(session.start_time), clock(session.end_time));
        let subject = format!("{} {day} {} {start}", words.subject, words.at);
        let mut summary =
            format!("{} {child} {} {day}, {} {start} {} {end}", words.session_of, words.on, words.from, words.to);
        if !therapists.is_empty() {
            summary.push_str(&format!(", {} {}", words.with, joined(&therapists, words.and)));
        }
        summary.push('.');
        let link = session_link(self.settings.public_url.as_deref().unwrap_or("http://127.0.0.1:8080"), session.id.0);
        let greeting = format!("{} {},", words.dear, due.recipient.name);
        let text = format!("{greeting}\n\n{summary}\n\n{}: {link}\n\n{}\n", words.view, words.footer);
        let html = ReminderHtml {
            language: words.language,
            subject: &subject,
            greeting: &greeting,
            summary: &summary,
            link: &link,
            view: words.view,
            footer: words.footer,
        }
        .render()
        .expect("the reminder template renders any text");
        let host = url_host(self.settings.public_url.as_deref()).unwrap_or_else(|| "carenest.localhost".to_owned());
        let zone = self.settings.practice_time_zone;
        let calendar = Calendar { name: "CareNest".to_owned(), zone, events: vec![family_event(session, dutch)] };
        Email {
            to_address: due.recipient.email.clone(),
            to_name: due.recipient.name.clone(),
            message_id: format!("<reminder-{}@{host}>", due.reminder.id),
            language: words.language,
            subject,
            text,
            html,
            calendar: render(&calendar, Utc::now().date_naive()),
        }
    }
}

/// Where a family opens a session: its page in the web app.
fn session_link(public_url: &str, session: i64) -> String {
    format!("{}/session/{session}", public_url.trim_end_matches('/'))
}

fn url_host(url: Option<&str>) -> Option<String> {
    let rest = url?.split_once("://")?.1;
    let host = rest.split(['/', ':', '?']).next()?;
    (!host.is_empty()).then(|| host.to_owned())
}

#[derive(Template)]
#[template(path = "reminder.html")]
struct ReminderHtml<'a> {
    language: &'a str,
    subject: &'a str,
    greeting: &'a str,
    summary: &'a str,
    link: &'a str,
    view: &'a str,
    footer: &'a str,
}

/// The words of a reminder in one language.
struct Words {
    language: &'static str,
    subject: &'static str,
    at: &'static str,
    dear: &'static str,
    session_of: &'static str,
    on: &'static str,
    from: &'static str,
    to: &'static str,
    with: &'static str,
    and: &'static str,
    view: &'static str,
    footer: &'static str,
}

const DUTCH: Words = Words {
    language: "nl",
    subject: "Herinnering: sessie op",
    at: "om",
    dear: "Beste",
    session_of: "Een herinnering aan de sessie van",
    on: "op",
    from: "van",
    to: "tot",
    with: "met",
    and: "en",
    view: "Bekijk de sessie",
    footer: "U krijgt deze e-mail omdat herinneringen aanstaan in CareNest; u kunt ze daar uitzetten.",
};

const ENGLISH: Words = Words {
    language: "en",
    subject: "Reminder: session on",
    at: "at",
    dear: "Dear",
    session_of: "A reminder of the session of",
    on: "on",
    from: "from",
    to: "to",
    with: "with",
    and: "and",
    view: "View the session",
    footer: "You get this email because reminders are on in CareNest; you can turn them off there.",
};

/// `A`, `A and B`, `A, B and C`.
fn joined(names: &[&str], and: &str) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} {and} {last}", rest.join(", ")),
    }
}

/// Runs the sender until `stop` resolves: a pass whenever something may be due, a short sleep
/// when nothing was. A pass under way finishes first (its sends are bounded by half a lease).
pub async fn run_sender(app: App, mailer: Arc<dyn Mailer>, settings: SenderSettings, stop: impl Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        let busy = match app.send_due_reminders(mailer.as_ref(), &settings).await {
            Ok(report) => report.claimed() > 0,
            Err(error) => {
                tracing::warn!(?error, "the reminder sender could not reach the outbox");
                false
            }
        };
        if busy {
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(settings.poll) => {}
            () = &mut stop => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_joined_the_way_each_language_joins_them() {
        assert_eq!(joined(&["Bram", "Eva", "Sam"], DUTCH.and), "Bram, Eva en Sam");
        assert_eq!(joined(&["Bram", "Eva"], ENGLISH.and), "Bram and Eva");
    }

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_an_hour() {
        let settings = SenderSettings { retry_after: Duration::from_secs(60), ..SenderSettings::default() };
        assert_eq!(settings.backoff(1), Duration::from_secs(60));
        assert_eq!(settings.backoff(3), Duration::from_secs(240));
        assert_eq!(settings.backoff(30), LONGEST_RETRY_WAIT);
    }
}
