use std::collections::BTreeMap;

use async_trait::async_trait;
use carenest_domain::availability::*;
use carenest_domain::ids::{ClosureId, SessionId, TherapistId, TimeOffId};
use carenest_domain::page::{Page, PageRequest};
use carenest_domain::scheduling::{unavailable_error, BookingConflict};
use carenest_domain::{StoreError, StoreResult};
use chrono::{NaiveDate, NaiveTime};

use crate::rows::{self, Columns, CLOSURE, TIME_OFF};
use crate::{Dialect, Link, Sql, SqlStore};

/// The dates a calendar is read for: a range, or the occurrences of a booking.
pub(crate) enum Dates<'a> {
    Range(NaiveDate, NaiveDate),
    Each(&'a [NaiveDate]),
}

impl Dates<'_> {
    fn bounds(&self) -> (NaiveDate, NaiveDate) {
        match self {
            Dates::Range(from, to) => (*from, *to),
            Dates::Each(dates) => {
                (dates.iter().min().copied().unwrap_or_default(), dates.iter().max().copied().unwrap_or_default())
            }
        }
    }
}

fn ids(therapists: &[TherapistId]) -> Vec<i64> {
    therapists.iter().map(|t| t.0).collect()
}

/// Where the non-cancelled sessions of the therapists bound at `$1` lie on the dates bound by
/// `calendar_args`: one range of the `(therapist_id, date)` index per therapist, whatever the
/// size of the table. The dates bound the sessions side too, so no plan reads more than those
/// days.
fn booked_from<D: Dialect>(dates: &Dates<'_>) -> String {
    let on = match dates {
        Dates::Range(..) => "st.date BETWEEN $2 AND $3 AND s.date BETWEEN $2 AND $3".to_owned(),
        Dates::Each(_) => format!("{} AND {}", D::in_list("st.date", 4), D::in_list("s.date", 4)),
    };
    format!(
        "FROM session_therapists st JOIN sessions s ON s.id = st.session_id
         WHERE {} AND {on} AND s.status <> 'cancelled'",
        D::in_list("st.therapist_id", 1)
    )
}

/// Binds the therapists (`$1`), the first and last date (`$2`, `$3`) and, for a booking, each
/// of its dates (`$4`).
fn calendar_args<'a>(sql: Sql<'a>, therapists: &[TherapistId], dates: &Dates<'_>) -> Sql<'a> {
    let (first, last) = dates.bounds();
    let sql = sql.arg(ids(therapists)).arg(first).arg(last);
    match dates {
        Dates::Range(..) => sql,
        Dates::Each(each) => sql.arg(each.to_vec()),
    }
}

/// The sessions part of the calendar on its own, for looking at its plan.
pub(crate) fn booked_query<'a, D: Dialect>(therapists: &[TherapistId], dates: &Dates<'_>) -> Sql<'a> {
    let sql = format!(
        "SELECT st.therapist_id, s.id, s.date, s.start_time, s.end_time {} ORDER BY s.date, s.start_time, s.id, st.therapist_id",
        booked_from::<D>(dates)
    );
    calendar_args(Sql::new(sql), therapists, dates)
}

/// Everything the availability rules read about these therapists on these dates, in one
/// statement: their working hours (`kind` 1), their time off (2), the practice's closures (3)
/// and their sessions (4), each row with its own table's columns and NULL in the others'.
/// PostgreSQL types a UNION pairwise from the left, so a column NULL in both of the first two
/// parts is cast there to its type. Working hours come in weekday and time order, sessions in
/// date and time order.
fn calendar_query<'a, D: Dialect>(therapists: &[TherapistId], dates: &Dates<'_>) -> Sql<'a> {
    let sql = format!(
        "SELECT 1 AS kind, therapist_id, weekday, NULL AS id, NULL AS start_date, NULL AS end_date, start_time,
                end_time, NULL AS reason, NULL AS created_at, CAST(NULL AS text) AS name, CAST(NULL AS date) AS date
         FROM working_hours WHERE {therapists}
         UNION ALL
         SELECT 2, therapist_id, NULL, id, start_date, end_date, start_time, end_time, reason, created_at, NULL, NULL
         FROM time_off WHERE {therapists} AND end_date >= $2 AND start_date <= $3
         UNION ALL
         SELECT 3, NULL, NULL, id, start_date, end_date, NULL, NULL, NULL, created_at, name, NULL
         FROM closures WHERE end_date >= $2 AND start_date <= $3
         UNION ALL
         SELECT 4, st.therapist_id, NULL, s.id, NULL, NULL, s.start_time, s.end_time, NULL, NULL, NULL, s.date {booked}
         ORDER BY kind, date, weekday, start_time, id, therapist_id",
        therapists = D::in_list("therapist_id", 1),
        booked = booked_from::<D>(dates),
    );
    calendar_args(Sql::new(sql), therapists, dates)
}

impl<D: Dialect> SqlStore<D> {
    /// What the availability rules read about these therapists on these dates, on `conn`.
    pub(crate) async fn calendar_on(
        &self,
        conn: &mut Link<D>,
        therapists: &[TherapistId],
        dates: Dates<'_>,
    ) -> StoreResult<Calendar> {
        let mut working_hours: BTreeMap<TherapistId, Vec<WeeklyInterval>> = BTreeMap::new();
        let (mut time_off, mut closures, mut booked) = (Vec::new(), Vec::new(), Vec::new());
        for row in self.all(conn, calendar_query::<D>(therapists, &dates)).await? {
            match row.int32("kind")? {
                1 => {
                    let (therapist, interval) = rows::weekly_interval::<D>(&row)?;
                    working_hours.entry(therapist).or_default().push(interval);
                }
                2 => time_off.push(rows::time_off::<D>(&row)?),
                3 => closures.push(rows::closure::<D>(&row)?),
                _ => booked.push(rows::booked_slot::<D>(&row)?),
            }
        }
        Ok(Calendar { working_hours, time_off, closures, booked })
    }

    /// Refuses a slot on these dates for these therapists unless every one of them is free
    /// then by the same rules `GET /availability` lists slots by; `except` is the session being
    /// moved. Runs after the therapists are locked, so nothing can slip in meanwhile.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn refuse_unavailable(
        &self,
        conn: &mut Link<D>,
        therapists: &[TherapistId],
        dates: &[NaiveDate],
        start: NaiveTime,
        end: NaiveTime,
        except: Option<SessionId>,
        outside_hours_allowed: bool,
    ) -> StoreResult<()> {
        let calendar = self.calendar_on(conn, therapists, Dates::Each(dates)).await?;
        let days = calendar.days(except);
        let slot = Interval::of(start, end);
        let mut conflicts = Vec::new();
        for date in dates {
            for therapist in therapists {
                let obstacles = days.day(*therapist, *date).obstacles(slot, outside_hours_allowed);
                conflicts.extend(obstacles.into_iter().map(|reason| BookingConflict {
                    therapist_id: *therapist,
                    date: *date,
                    reason,
                }));
            }
        }
        if conflicts.is_empty() {
            return Ok(());
        }
        conflicts.sort_by_key(|c| match c.reason {
            Obstacle::Booked { session, start, .. } => (c.date, Some((start, session)), c.therapist_id),
            _ => (c.date, None, c.therapist_id),
        });
        Err(unavailable_error(conflicts))
    }

    async fn therapist_exists(&self, conn: &mut Link<D>, therapist: TherapistId) -> StoreResult<()> {
        self.one(conn, Sql::new("SELECT id FROM therapists WHERE id = $1").arg(therapist)).await.map(drop)
    }
}

#[async_trait]
impl<D: Dialect> AvailabilityStore for SqlStore<D> {
    async fn working_hours(&self, therapist: TherapistId) -> StoreResult<WorkingHours> {
        let mut tx = self.snapshot().await?;
        let sql = Sql::new("SELECT working_hours_updated_at FROM therapists WHERE id = $1").arg(therapist);
        let updated_at = self.one(&mut tx, sql).await?.opt_timestamp("working_hours_updated_at")?;
        let sql = Sql::new(
            "SELECT therapist_id, weekday, start_time, end_time FROM working_hours WHERE therapist_id = $1
             ORDER BY weekday, start_time",
        );
        let rows = self.all(&mut tx, sql.arg(therapist)).await?;
        self.commit(tx).await?;
        let weekly =
            rows.iter().map(|row| rows::weekly_interval::<D>(row).map(|(_, w)| w)).collect::<StoreResult<_>>()?;
        Ok(WorkingHours { weekly, updated_at })
    }

    async fn set_working_hours(
        &self,
        therapist: TherapistId,
        weekly: Vec<WeeklyInterval>,
    ) -> StoreResult<WorkingHours> {
        let mut tx = self.write().await?;
        // Updating the therapist's row locks it, so two replacements of one pattern queue.
        let sql = Sql::new("UPDATE therapists SET working_hours_updated_at = $2 WHERE id = $1");
        if self.execute(&mut tx, sql.arg(therapist).arg(self.now())).await? == 0 {
            return Err(StoreError::NotFound);
        }
        self.execute(&mut tx, Sql::new("DELETE FROM working_hours WHERE therapist_id = $1").arg(therapist)).await?;
        if !weekly.is_empty() {
            let mut sql =
                Sql::new("INSERT INTO working_hours (therapist_id, weekday, start_time, end_time, created_at, updated_at) VALUES ");
            let now = self.now();
            for (index, interval) in weekly.iter().enumerate() {
                sql.push(if index == 0 { "(" } else { ", (" }).push_arg(therapist).push(", ");
                sql.push_arg(i64::from(interval.weekday)).push(", ").push_arg(interval.start).push(", ");
                sql.push_arg(interval.end).push(", ").push_arg(now).push(", ").push_arg(now).push(")");
            }
            self.execute(&mut tx, sql).await?;
        }
        self.commit(tx).await?;
        self.working_hours(therapist).await
    }

    async fn time_off(
        &self,
        therapist: TherapistId,
        page: PageRequest<(NaiveDate, i64)>,
    ) -> StoreResult<Page<TimeOff, (NaiveDate, i64)>> {
        let mut conn = self.connection().await?;
        self.therapist_exists(&mut conn, therapist).await?;
        let (after_date, after_id) = page.after.map_or((None, 0), |(date, id)| (Some(date), id));
        let sql = Sql::new(format!(
            "SELECT {TIME_OFF} FROM time_off WHERE therapist_id = $1 AND ($2 IS NULL OR (start_date, id) > ($2, $3))
             ORDER BY start_date, id LIMIT $4"
        ))
        .arg(therapist)
        .arg(after_date)
        .arg(after_id)
        .arg(page.fetch_limit());
        let items = rows::all::<D, _>(&self.all(&mut conn, sql).await?, rows::time_off::<D>)?;
        Ok(Page::from_overfetch(items, &page, |t| (t.start_date, t.id.0)))
    }

    async fn create_time_off(&self, therapist: TherapistId, new: NewTimeOff) -> StoreResult<TimeOff> {
        let mut tx = self.write().await?;
        self.therapist_exists(&mut tx, therapist).await?;
        let sql = Sql::new(format!(
            "INSERT INTO time_off (therapist_id, start_date, end_date, start_time, end_time, reason, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {TIME_OFF}"
        ))
        .arg(therapist)
        .arg(new.start_date)
        .arg(new.end_date)
        .arg(new.start_time)
        .arg(new.end_time)
        .arg(&new.reason)
        .arg(self.now());
        let created = rows::time_off::<D>(&self.one(&mut tx, sql).await?)?;
        self.commit(tx).await?;
        Ok(created)
    }

    async fn delete_time_off(&self, therapist: TherapistId, id: TimeOffId) -> StoreResult<()> {
        let sql = Sql::new("DELETE FROM time_off WHERE id = $1 AND therapist_id = $2").arg(id.0).arg(therapist);
        match self.run(sql).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn closures(&self, page: PageRequest<(NaiveDate, i64)>) -> StoreResult<Page<Closure, (NaiveDate, i64)>> {
        let (after_date, after_id) = page.after.map_or((None, 0), |(date, id)| (Some(date), id));
        let sql = Sql::new(format!(
            "SELECT {CLOSURE} FROM closures WHERE ($1 IS NULL OR (start_date, id) > ($1, $2))
             ORDER BY start_date, id LIMIT $3"
        ))
        .arg(after_date)
        .arg(after_id)
        .arg(page.fetch_limit());
        let items = rows::all::<D, _>(&self.read_all(sql).await?, rows::closure::<D>)?;
        Ok(Page::from_overfetch(items, &page, |c| (c.start_date, c.id.0)))
    }

    async fn create_closure(&self, new: NewClosure) -> StoreResult<Closure> {
        let sql = Sql::new(format!(
            "INSERT INTO closures (start_date, end_date, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
             RETURNING {CLOSURE}"
        ))
        .arg(new.start_date)
        .arg(new.end_date)
        .arg(&new.name)
        .arg(self.now());
        rows::closure::<D>(&self.read_one(sql).await?)
    }

    async fn delete_closure(&self, id: ClosureId) -> StoreResult<()> {
        match self.run(Sql::new("DELETE FROM closures WHERE id = $1").arg(id.0)).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn calendar(&self, therapists: &[TherapistId], from: NaiveDate, to: NaiveDate) -> StoreResult<Calendar> {
        let mut tx = self.snapshot().await?;
        let sql = Sql::new(format!("SELECT count(*) AS found FROM therapists WHERE {}", D::in_list("id", 1)));
        let found = self.one(&mut tx, sql.arg(ids(therapists))).await?.int("found")?;
        if usize::try_from(found).ok() != Some(therapists.len()) {
            return Err(StoreError::NotFound);
        }
        let calendar = self.calendar_on(&mut tx, therapists, Dates::Range(from, to)).await?;
        self.commit(tx).await?;
        Ok(calendar)
    }
}
