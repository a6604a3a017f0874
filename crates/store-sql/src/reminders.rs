//! The reminder outbox. Rows are planned inside the transaction of the change that implies
//! them (a booking, a move, a cancellation, a family's choice), claimed by senders under a
//! lease, and finished only by the claim that holds them.

use std::collections::HashMap;

use async_trait::async_trait;
use carenest_domain::error::parse_stored;
use carenest_domain::ids::{ChildId, SessionId, UserId};
use carenest_domain::reminders::{
    DueReminder, Recipient, Reminder, ReminderOutcome, ReminderPolicy, ReminderState, ReminderStore,
};
use carenest_domain::scheduling::SessionStatus;
use carenest_domain::StoreResult;
use chrono::{DateTime, Duration, Utc};

use crate::rows::{self, Columns};
use crate::{Dialect, Link, Sql, SqlStore};

const REMINDER: &str = "id, session_id, recipient_user_id, offset_minutes, session_version, due_at, state, attempts, \
                        last_error, sent_at, created_at";

fn reminder<D: Dialect>(row: &D::Row) -> StoreResult<Reminder> {
    Ok(Reminder {
        id: row.int("id")?,
        session_id: SessionId(row.int("session_id")?),
        recipient: UserId(row.int("recipient_user_id")?),
        offset_minutes: row.int32("offset_minutes")?,
        session_version: row.int32("session_version")?,
        due_at: row.timestamp("due_at")?,
        state: parse_stored(&row.text("state")?)?,
        attempts: row.int32("attempts")?,
        last_error: row.opt_text("last_error")?,
        sent_at: row.opt_timestamp("sent_at")?,
        created_at: row.timestamp("created_at")?,
    })
}

/// One reminder a session implies: to whom, at which offset, when, for which version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Planned {
    session: i64,
    recipient: i64,
    offset: i32,
    due_at: DateTime<Utc>,
    version: i32,
}

/// Sessions planned per transaction when every session is planned again.
const PLAN_BATCH: i64 = 500;
/// The longest error text kept on a row.
const ERROR_MAX: usize = 500;

/// Sessions whose date is this close to today may not have started yet in any time zone.
fn earliest_unstarted_date(now: DateTime<Utc>) -> chrono::NaiveDate {
    (now - Duration::days(1)).date_naive()
}

impl<D: Dialect> SqlStore<D> {
    /// Brings the outbox rows of `sessions` in line with what the sessions imply now: rows
    /// they no longer imply and that still wait are superseded, missing ones are written (a
    /// row superseded earlier comes back rather than twice). A row already sent for the same
    /// moment stands for the new one, so a session is never reminded twice of one time.
    /// `fresh`: the sessions were created in this transaction and have no rows yet.
    pub(crate) async fn plan_reminders(&self, conn: &mut Link<D>, sessions: &[i64], fresh: bool) -> StoreResult<u64> {
        if sessions.is_empty() {
            return Ok(0);
        }
        let now = self.now();
        let sql = Sql::new(format!(
            "SELECT s.id, s.date, s.start_time, s.status, s.version, p.user_id, u.session_reminders
             FROM sessions s JOIN child_profiles c ON c.id = s.child_profile_id
             JOIN parent_profiles p ON p.id = c.parent_profile_id JOIN users u ON u.id = p.user_id
             WHERE {}",
            D::in_list("s.id", 1)
        ));
        let mut wanted = Vec::new();
        for row in self.all(conn, sql.arg(sessions.to_vec())).await? {
            let status: SessionStatus = parse_stored(&row.text("status")?)?;
            if status != SessionStatus::Scheduled || !row.flag("session_reminders")? {
                continue;
            }
            let starts_at = self.reminders.starts_at(row.date("date")?, row.time("start_time")?);
            let (session, recipient, version) = (row.int("id")?, row.int("user_id")?, row.int32("version")?);
            for (offset, due_at) in self.reminders.plan(starts_at, now) {
                wanted.push(Planned { session, recipient, offset, due_at, version });
            }
        }
        let mut superseded = Vec::new();
        if !fresh {
            let sql = Sql::new(format!(
                "SELECT id, session_id, recipient_user_id, offset_minutes, due_at, state FROM reminders
                 WHERE {} AND state <> 'superseded'",
                D::in_list("session_id", 1)
            ));
            for row in self.all(conn, sql.arg(sessions.to_vec())).await? {
                let key = (row.int("session_id")?, row.int("recipient_user_id")?, row.int32("offset_minutes")?);
                let due_at = row.timestamp("due_at")?;
                let before = wanted.len();
                wanted.retain(|p| (p.session, p.recipient, p.offset, p.due_at) != (key.0, key.1, key.2, due_at));
                let state: ReminderState = parse_stored(&row.text("state")?)?;
                // A row being sent finishes (or, on a retry, is re-checked by its sender).
                if wanted.len() == before && state == ReminderState::Pending {
                    superseded.push(row.int("id")?);
                }
            }
        }
        let mut written = 0;
        if !superseded.is_empty() {
            let sql = Sql::new(format!(
                "UPDATE reminders SET state = 'superseded', updated_at = $2 WHERE {}",
                D::in_list("id", 1)
            ));
            written += self.execute(conn, sql.arg(superseded).arg(now)).await?;
        }
        for chunk in wanted.chunks(D::BULK_INSERT_VALUES / 5) {
            written += self.insert_reminders(conn, chunk, now).await?;
        }
        Ok(written)
    }

    async fn insert_reminders(&self, conn: &mut Link<D>, rows: &[Planned], now: DateTime<Utc>) -> StoreResult<u64> {
        // `$1` is the time of writing; each row's values follow.
        let mut sql = Sql::new(
            "INSERT INTO reminders (session_id, recipient_user_id, offset_minutes, session_version, due_at,
                next_attempt_at, created_at, updated_at) VALUES ",
        )
        .arg(now);
        for (i, row) in rows.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.push_arg(row.session).push(", ").push_arg(row.recipient).push(", ").push_arg(row.offset);
            sql.push(", ").push_arg(row.version).push(", ").push_arg(row.due_at);
            let due = format!("${}", sql.args.len());
            sql.push(&format!(", {due}, $1, $1)"));
        }
        sql.push(
            " ON CONFLICT (session_id, recipient_user_id, offset_minutes, session_version) DO UPDATE
              SET state = 'pending', due_at = excluded.due_at, next_attempt_at = excluded.next_attempt_at,
                  last_error = NULL, updated_at = excluded.updated_at
              WHERE reminders.state = 'superseded'",
        );
        let sql = if rows.len() > 2 { sql.uncached() } else { sql };
        self.execute(conn, sql).await
    }

    /// Supersedes a family's waiting rows for sessions no longer of its children (after a
    /// child or the parent profile is deleted, which unlinks their sessions).
    pub(crate) async fn supersede_unlinked_reminders(&self, conn: &mut Link<D>, user: UserId) -> StoreResult<u64> {
        let sql = Sql::new(
            "UPDATE reminders SET state = 'superseded', updated_at = $2
             WHERE recipient_user_id = $1 AND state = 'pending' AND session_id NOT IN (
                SELECT s.id FROM sessions s JOIN child_profiles c ON c.id = s.child_profile_id
                JOIN parent_profiles p ON p.id = c.parent_profile_id WHERE p.user_id = $1)",
        );
        self.execute(conn, sql.arg(user).arg(self.now())).await
    }

    /// The sessions of a family's children that may not have started.
    async fn family_sessions_ahead(&self, conn: &mut Link<D>, user: UserId) -> StoreResult<Vec<i64>> {
        let sql = Sql::new(
            "SELECT s.id FROM sessions s JOIN child_profiles c ON c.id = s.child_profile_id
             JOIN parent_profiles p ON p.id = c.parent_profile_id WHERE p.user_id = $1 AND s.date >= $2",
        )
        .arg(user)
        .arg(earliest_unstarted_date(self.now()));
        self.all(conn, sql).await?.iter().map(|row| row.int("id")).collect()
    }

    /// The policy the outbox was last planned with, as `offsets@zone`.
    fn policy_mark(policy: &ReminderPolicy) -> String {
        let offsets: Vec<String> = policy.offsets().iter().map(i32::to_string).collect();
        format!("{}@{}", offsets.join(","), policy.zone.name())
    }
}

#[async_trait]
impl<D: Dialect> ReminderStore for SqlStore<D> {
    async fn session_reminders(&self, user: UserId) -> StoreResult<bool> {
        self.read_one(Sql::new("SELECT session_reminders FROM users WHERE id = $1").arg(user))
            .await?
            .flag("session_reminders")
    }

    async fn set_session_reminders(&self, user: UserId, on: bool) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let sql = Sql::new(
            "UPDATE users SET session_reminders = $2, updated_at = $3 WHERE id = $1 AND session_reminders <> $2",
        );
        if self.execute(&mut tx, sql.arg(user).arg(on).arg(self.now())).await? > 0 {
            if on {
                let sessions = self.family_sessions_ahead(&mut tx, user).await?;
                self.plan_reminders(&mut tx, &sessions, false).await?;
            } else {
                let sql = Sql::new(
                    "UPDATE reminders SET state = 'superseded', updated_at = $2
                     WHERE recipient_user_id = $1 AND state = 'pending'",
                );
                self.execute(&mut tx, sql.arg(user).arg(self.now())).await?;
            }
        }
        self.commit(tx).await?;
        Ok(on)
    }

    async fn plan_all_reminders(&self) -> StoreResult<u64> {
        let mark = Self::policy_mark(&self.reminders);
        let sql = Sql::new("SELECT policy FROM reminder_policy WHERE id = 1");
        if self.read_optional(sql).await?.map(|row| row.text("policy")).transpose()?.as_deref() == Some(mark.as_str()) {
            return Ok(0);
        }
        let (mut after, mut written) = (0, 0);
        loop {
            let mut tx = self.write().await?;
            // Sessions with a child, and any other with a row still waiting (its child was
            // unlinked since).
            let sql = Sql::new(
                "SELECT id FROM sessions WHERE date >= $1 AND id > $2
                   AND (child_profile_id IS NOT NULL OR id IN (SELECT session_id FROM reminders WHERE state = 'pending'))
                 ORDER BY id LIMIT $3",
            )
            .arg(earliest_unstarted_date(self.now()))
            .arg(after)
            .arg(PLAN_BATCH);
            let batch =
                self.all(&mut tx, sql).await?.iter().map(|row| row.int("id")).collect::<StoreResult<Vec<_>>>()?;
            let Some(&last) = batch.last() else {
                let sql = Sql::new(
                    "INSERT INTO reminder_policy (id, policy, planned_at, created_at, updated_at) VALUES (1, $1, $2, $2, $2)
                     ON CONFLICT (id) DO UPDATE SET policy = excluded.policy, planned_at = excluded.planned_at,
                        updated_at = excluded.updated_at",
                );
                self.execute(&mut tx, sql.arg(&mark).arg(self.now())).await?;
                self.commit(tx).await?;
                return Ok(written);
            };
            written += self.plan_reminders(&mut tx, &batch, false).await?;
            self.commit(tx).await?;
            after = last;
        }
    }

    async fn claim_reminders(&self, lease: Duration, limit: u32) -> StoreResult<Vec<DueReminder>> {
        let now = self.now();
        let mut tx = self.write().await?;
        let sql = Sql::new(format!(
            "UPDATE reminders SET state = 'sending', attempts = attempts + 1, next_attempt_at = $1, updated_at = $2
             WHERE id IN (SELECT id FROM reminders WHERE state IN ('pending', 'sending') AND next_attempt_at <= $2
                          ORDER BY next_attempt_at, id LIMIT $3{})
             RETURNING {REMINDER}",
            D::SKIP_LOCKED
        ))
        .arg(now + lease)
        .arg(now)
        .arg(i64::from(limit));
        let claimed = rows::all::<D, _>(&self.all(&mut tx, sql).await?, reminder::<D>)?;
        if claimed.is_empty() {
            self.commit(tx).await?;
            return Ok(Vec::new());
        }
        let session_ids: Vec<i64> = claimed.iter().map(|r| r.session_id.0).collect();
        let sessions = self.sessions_by_id(&mut tx, &session_ids).await?;
        let sql = Sql::new(format!(
            "SELECT u.id, u.username, u.email, u.session_reminders, p.name, p.email AS profile_email,
                    p.preferred_language
             FROM users u LEFT JOIN parent_profiles p ON p.user_id = u.id WHERE {}",
            D::in_list("u.id", 1)
        ));
        let mut recipients = HashMap::new();
        for row in self.all(&mut tx, sql.arg(claimed.iter().map(|r| r.recipient.0).collect::<Vec<_>>())).await? {
            let user = UserId(row.int("id")?);
            let recipient = Recipient {
                user,
                email: row.opt_text("profile_email")?.unwrap_or(row.text("email")?),
                name: row.opt_text("name")?.unwrap_or(row.text("username")?),
                language: row.opt_text("preferred_language")?.unwrap_or_else(|| "nl".to_owned()),
                session_reminders: row.flag("session_reminders")?,
            };
            recipients.insert(user, recipient);
        }
        let children: Vec<i64> = sessions.iter().filter_map(|s| s.child_profile_id.map(|c| c.0)).collect();
        let sql = Sql::new(format!(
            "SELECT c.id, c.name, p.user_id FROM child_profiles c JOIN parent_profiles p ON p.id = c.parent_profile_id
             WHERE {}",
            D::in_list("c.id", 1)
        ));
        let mut families = HashMap::new();
        for row in self.all(&mut tx, sql.arg(children)).await? {
            families.insert(ChildId(row.int("id")?), (UserId(row.int("user_id")?), row.text("name")?));
        }
        self.commit(tx).await?;
        let mut due = Vec::with_capacity(claimed.len());
        for reminder in claimed {
            let session = sessions.iter().find(|s| s.id == reminder.session_id).cloned();
            let child = session.as_ref().and_then(|s| s.child_profile_id).and_then(|id| {
                families.get(&id).map(|(family, name)| {
                    let first_name = name.split_whitespace().next().unwrap_or_default().to_owned();
                    (id, *family, first_name)
                })
            });
            // The recipient's row goes with the reminder's (cascade): it is there.
            let Some(recipient) = recipients.get(&reminder.recipient).cloned() else { continue };
            due.push(DueReminder { reminder, session, recipient, child });
        }
        Ok(due)
    }

    async fn finish_reminder(&self, id: i64, attempt: i32, outcome: ReminderOutcome) -> StoreResult<bool> {
        let now = self.now();
        let kept = |error: &str| error.chars().take(ERROR_MAX).collect::<String>();
        let (state, next, error, sent_at) = match &outcome {
            ReminderOutcome::Sent => (ReminderState::Sent, now, None, Some(now)),
            ReminderOutcome::Retry { at, error } => (ReminderState::Pending, *at, Some(kept(error)), None),
            ReminderOutcome::Failed { error } => (ReminderState::Failed, now, Some(kept(error)), None),
            ReminderOutcome::Superseded { why } => (ReminderState::Superseded, now, Some(kept(why)), None),
        };
        let sql = Sql::new(
            "UPDATE reminders SET state = $3, next_attempt_at = $4, last_error = $5, sent_at = $6, updated_at = $7
             WHERE id = $1 AND attempts = $2 AND state = 'sending'",
        )
        .arg(id)
        .arg(attempt)
        .arg(state.as_str())
        .arg(next)
        .arg(error.as_deref())
        .arg(sent_at)
        .arg(now);
        Ok(self.run(sql).await? == 1)
    }

    async fn reminders_of(&self, user: UserId) -> StoreResult<Vec<Reminder>> {
        let sql = Sql::new(format!(
            "SELECT {REMINDER} FROM reminders WHERE recipient_user_id = $1 ORDER BY due_at DESC, id DESC"
        ));
        rows::all::<D, _>(&self.read_all(sql.arg(user)).await?, reminder::<D>)
    }

    async fn reminder_counts(&self) -> StoreResult<Vec<(ReminderState, i64)>> {
        let sql = Sql::new("SELECT state, count(*) AS n FROM reminders GROUP BY state ORDER BY state");
        let rows = self.read_all(sql).await?;
        rows.iter().map(|row| Ok((parse_stored(&row.text("state")?)?, row.int("n")?))).collect()
    }

    async fn failed_reminders(&self, limit: u32) -> StoreResult<Vec<Reminder>> {
        let sql = Sql::new(format!(
            "SELECT {REMINDER} FROM reminders WHERE state = 'failed' ORDER BY updated_at DESC, id DESC LIMIT $1"
        ));
        rows::all::<D, _>(&self.read_all(sql.arg(i64::from(limit))).await?, reminder::<D>)
    }
}
