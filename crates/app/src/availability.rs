//! Working hours, time off, closures, and the free slots of several therapists at once. Staff
//! read them all; a therapist changes their own, an admin anyone's; parents get `Forbidden`.
//! Closures are read by anyone signed in and changed by admins.

use carenest_domain::accounts::Role;
use carenest_domain::availability::*;
use carenest_domain::ids::{ClosureId, TherapistId, TimeOffId};
use carenest_domain::page::{Page, PageRequest};
use carenest_domain::validation::{Errors, FieldError};
use chrono::{Duration, NaiveDate, NaiveTime};

use crate::{App, AppResult, Caller, Permission};

/// What `GET /availability` asks for, as the client wrote it.
#[derive(Debug, Clone, Default)]
pub struct AvailabilityInput {
    pub therapist_ids: Vec<i64>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Minutes, 5 to 480.
    pub duration: Option<i64>,
    /// Minutes, 5 to 120; default 15.
    pub step: Option<i64>,
}

pub const DURATION_MINUTES: (i64, i64) = (5, 480);
pub const STEP_MINUTES: (i64, i64) = (5, 120);
pub const DEFAULT_STEP_MINUTES: i64 = 15;
/// Therapists in one question, at most.
pub const THERAPISTS_MAX: usize = 10;
/// Days one question may span; without `to`, two weeks from `from`.
pub const RANGE_MAX_DAYS: i64 = 366;
pub const DEFAULT_RANGE_DAYS: i64 = 14;
/// Days of calendar read at a time while a page fills.
const WINDOW_DAYS: i64 = 14;

impl AvailabilityInput {
    /// The question, checked, asked at the practice's local time `now`.
    fn validate(&self, now: (NaiveDate, NaiveTime)) -> Result<SlotQuery, Vec<FieldError>> {
        let today = now.0;
        let mut e = Errors::new();
        if self.therapist_ids.is_empty() {
            e.add("therapistIds", "required", "therapistIds must name at least one therapist");
        } else if self.therapist_ids.len() > THERAPISTS_MAX {
            e.add("therapistIds", "too_many", format!("therapistIds may name at most {THERAPISTS_MAX} therapists"));
        }
        for (index, id) in self.therapist_ids.iter().enumerate() {
            if *id < 1 {
                e.add(format!("therapistIds[{index}]"), "positive", "therapist ids are positive integers");
            } else if self.therapist_ids[..index].contains(id) {
                e.add(
                    format!("therapistIds[{index}]"),
                    "duplicate",
                    format!("therapist {id} is listed more than once"),
                );
            }
        }
        let duration = match self.duration {
            Some(minutes) => e.range("duration", minutes, DURATION_MINUTES.0, DURATION_MINUTES.1),
            None => {
                e.add("duration", "required", "duration is required, in minutes");
                None
            }
        };
        let step = e.range("step", self.step.unwrap_or(DEFAULT_STEP_MINUTES), STEP_MINUTES.0, STEP_MINUTES.1);
        let from = e.date("from", self.from.unwrap_or(today));
        let to = from.and_then(|from| e.date("to", self.to.unwrap_or(from + Duration::days(DEFAULT_RANGE_DAYS - 1))));
        if let (Some(from), Some(to)) = (from, to) {
            if to < from {
                e.add("to", "before_from", "to must not be before from");
            } else if (to - from).num_days() >= RANGE_MAX_DAYS {
                e.add("to", "range", format!("from and to may span at most {RANGE_MAX_DAYS} days"));
            }
        }
        e.finish(())?;
        let seconds = |minutes: Option<i64>| u32::try_from(minutes.unwrap_or_default() * 60).unwrap_or_default();
        Ok(SlotQuery {
            therapists: self.therapist_ids.iter().copied().map(TherapistId).collect(),
            from: from.unwrap_or(today),
            to: to.unwrap_or(today),
            duration: seconds(duration),
            step: seconds(step),
            now,
        })
    }
}

impl App {
    /// Admins may change anyone's availability, a therapist only their own.
    async fn may_change_availability(&self, caller: &Caller, therapist: TherapistId) -> AppResult<()> {
        caller.require(Permission::ReadAvailability)?;
        if caller.role() == Role::Admin {
            return Ok(());
        }
        if caller.therapist == Some(therapist) {
            Ok(())
        } else {
            Err(crate::AppError::Forbidden)
        }
    }

    pub async fn working_hours(&self, caller: &Caller, therapist: TherapistId) -> AppResult<WorkingHours> {
        caller.require(Permission::ReadAvailability)?;
        Ok(self.store.working_hours(therapist).await?)
    }

    /// Replaces the whole weekly pattern; an empty one clears it (bookable at any time).
    pub async fn set_working_hours(
        &self,
        caller: &Caller,
        therapist: TherapistId,
        weekly: &[WeeklyIntervalInput],
    ) -> AppResult<WorkingHours> {
        self.may_change_availability(caller, therapist).await?;
        let weekly = validate_weekly(weekly)?;
        Ok(self.store.set_working_hours(therapist, weekly).await?)
    }

    pub async fn time_off(
        &self,
        caller: &Caller,
        therapist: TherapistId,
        page: PageRequest<(NaiveDate, i64)>,
    ) -> AppResult<Page<TimeOff, (NaiveDate, i64)>> {
        caller.require(Permission::ReadAvailability)?;
        Ok(self.store.time_off(therapist, page).await?)
    }

    pub async fn add_time_off(
        &self,
        caller: &Caller,
        therapist: TherapistId,
        input: TimeOffInput,
    ) -> AppResult<TimeOff> {
        self.may_change_availability(caller, therapist).await?;
        let time_off = input.validate()?;
        Ok(self.store.create_time_off(therapist, time_off).await?)
    }

    pub async fn remove_time_off(&self, caller: &Caller, therapist: TherapistId, id: TimeOffId) -> AppResult<()> {
        self.may_change_availability(caller, therapist).await?;
        Ok(self.store.delete_time_off(therapist, id).await?)
    }

    /// Days the practice is closed: anyone signed in may see them.
    pub async fn closures(
        &self,
        _caller: &Caller,
        page: PageRequest<(NaiveDate, i64)>,
    ) -> AppResult<Page<Closure, (NaiveDate, i64)>> {
        Ok(self.store.closures(page).await?)
    }

    pub async fn add_closure(&self, caller: &Caller, input: ClosureInput) -> AppResult<Closure> {
        caller.require(Permission::ManageClosures)?;
        let closure = input.validate()?;
        Ok(self.store.create_closure(closure).await?)
    }

    pub async fn remove_closure(&self, caller: &Caller, id: ClosureId) -> AppResult<()> {
        caller.require(Permission::ManageClosures)?;
        Ok(self.store.delete_closure(id).await?)
    }

    /// The free slots where every listed therapist is within working hours, not on time off,
    /// the practice is open, and no non-cancelled session of theirs overlaps; earliest first,
    /// never one that has started. The rules are the ones every booking is checked by.
    pub async fn availability(
        &self,
        caller: &Caller,
        input: &AvailabilityInput,
        page: PageRequest<SlotKey>,
    ) -> AppResult<Page<Slot, SlotKey>> {
        caller.require(Permission::ReadAvailability)?;
        let query = input.validate(self.local_now())?;
        // Days before today (or the cursor) can hold no slot. A page is usually full within a
        // day or two, so the calendar is read two weeks at a time until it is.
        let wanted = page.fetch_limit() as usize;
        let mut slots = Vec::new();
        let mut from = query.from.max(query.now.0).max(page.after.map_or(query.from, |(date, _)| date));
        while from <= query.to && slots.len() < wanted {
            let to = (from + Duration::days(WINDOW_DAYS - 1)).min(query.to);
            let calendar = self.store.calendar(&query.therapists, from, to).await?;
            let window = SlotQuery { from, to, ..query.clone() };
            slots.extend(free_slots(&calendar, &window, page.after, wanted - slots.len()));
            from = to + Duration::days(1);
        }
        Ok(Page::from_overfetch(slots, &page, |slot| (slot.date, slot.start)))
    }
}
