//! Therapists and therapy sessions. Who sees which session follows the role table: parents
//! their children's, therapists their own, admins all; the store applies that scope in SQL.
//! Every read of a child's session by someone other than the child's family is audited.

use carenest_domain::accounts::Role;
use carenest_domain::ids::{SessionId, TherapistId};
use carenest_domain::page::{Page, PageRequest};
use carenest_domain::scheduling::*;

use crate::{all_pages, App, AppError, AppResult, Caller, Permission};

/// What a booking made: one session, or every occurrence of a series.
#[derive(Debug)]
pub enum Booked {
    One(Session),
    Series(Vec<Session>),
}

/// Children listed at most for one booking search.
const CHILD_CHOICES: i64 = 50;

/// A search text: blank is none; control characters (refused before trimming, which would drop
/// some of them) and more than 100 characters are invalid.
fn search_text(search: Option<&str>) -> AppResult<Option<&str>> {
    let refused = || {
        let message = format!("q must be at most {THERAPIST_SEARCH_MAX} characters, without control characters");
        AppError::invalid("q", "search", message)
    };
    if search.is_some_and(|q| q.chars().any(char::is_control)) {
        return Err(refused());
    }
    let search = search.map(str::trim).filter(|q| !q.is_empty());
    if search.is_some_and(|q| q.chars().count() > THERAPIST_SEARCH_MAX) {
        return Err(refused());
    }
    Ok(search)
}

impl App {
    /// Which sessions the caller may see.
    fn scope_of(&self, caller: &Caller) -> SessionScope {
        match caller.role() {
            Role::Admin => SessionScope::All,
            Role::Parent => SessionScope::Parent(caller.id()),
            Role::Therapist => caller.therapist.map_or(SessionScope::Nothing, SessionScope::Therapist),
        }
    }

    /// Therapists ordered by name then id; `search` matches any part of the name, in any case.
    /// A blank search is none; one over 100 characters, or with control characters, is invalid.
    pub async fn therapists(
        &self,
        search: Option<&str>,
        page: PageRequest<TherapistKey>,
    ) -> AppResult<Page<Therapist, TherapistKey>> {
        let search = search_text(search)?;
        Ok(self.store.therapists(search, page).await?)
    }

    /// Staff: children to book a session for, whose name or family's username holds `search`;
    /// every child listed is recorded as read. A blank search lists none.
    pub async fn children_for_booking(&self, caller: &Caller, search: &str) -> AppResult<Vec<ChildChoice>> {
        caller.require(Permission::ManageSessions)?;
        match search_text(Some(search))? {
            Some(search) => Ok(self.store.children_for_booking(search, CHILD_CHOICES, caller.actor()).await?),
            None => Ok(Vec::new()),
        }
    }

    /// The therapist record linked to the caller, if any.
    pub async fn own_therapist(&self, caller: &Caller) -> AppResult<Option<Therapist>> {
        Ok(self.store.therapist_for_user(caller.id()).await?)
    }

    pub async fn therapist(&self, id: TherapistId) -> AppResult<Therapist> {
        Ok(self.store.therapist(id).await?)
    }

    /// Admin: adds a therapist; linking `userId` makes that user a `therapist`.
    pub async fn create_therapist(&self, caller: &Caller, input: TherapistInput) -> AppResult<Therapist> {
        caller.require(Permission::ManageTherapists)?;
        let input = input.validate_new()?;
        let name = input.name.expect("validate_new requires a name");
        Ok(self.store.create_therapist(name, input.user_id.flatten()).await?)
    }

    /// Admin: renames a therapist or changes the linked user.
    pub async fn update_therapist(
        &self,
        caller: &Caller,
        id: TherapistId,
        input: TherapistInput,
    ) -> AppResult<Therapist> {
        caller.require(Permission::ManageTherapists)?;
        let changes = input.validate_changes()?;
        Ok(self.store.update_therapist(id, changes).await?)
    }

    /// Admin: removes a therapist from their sessions and deletes them; the sessions stay.
    pub async fn delete_therapist(&self, caller: &Caller, id: TherapistId) -> AppResult<()> {
        caller.require(Permission::ManageTherapists)?;
        Ok(self.store.delete_therapist(id).await?)
    }

    /// Sessions the caller may see that match `filter`, by date, start time, id.
    pub async fn sessions(
        &self,
        caller: &Caller,
        filter: SessionFilter,
        page: PageRequest<SessionKey>,
    ) -> AppResult<Page<Session, SessionKey>> {
        Ok(self.store.read_sessions(caller.actor(), self.scope_of(caller), filter, page).await?)
    }

    /// One therapist's sessions that the caller may see; `NotFound` for no such therapist.
    pub async fn therapist_sessions(
        &self,
        caller: &Caller,
        therapist: TherapistId,
        filter: SessionFilter,
        page: PageRequest<SessionKey>,
    ) -> AppResult<Page<Session, SessionKey>> {
        self.store.therapist(therapist).await?;
        self.sessions(caller, SessionFilter { therapist_id: Some(therapist), ..filter }, page).await
    }

    /// Every session the caller may see that matches `filter`, for a calendar.
    pub async fn all_sessions(&self, caller: &Caller, filter: SessionFilter) -> AppResult<Vec<Session>> {
        let scope = self.scope_of(caller);
        all_pages(|page| self.store.read_sessions(caller.actor(), scope, filter.clone(), page)).await
    }

    pub async fn session(&self, caller: &Caller, id: SessionId) -> AppResult<Session> {
        Ok(self.store.read_session(caller.actor(), self.scope_of(caller), id).await?)
    }

    /// Admin: books a session, or with `repeat` a whole series (all or nothing).
    pub async fn book(&self, caller: &Caller, input: SessionInput) -> AppResult<Booked> {
        caller.require(Permission::ManageSessions)?;
        let new = input.validate_new()?;
        let series = new.repeat.is_some();
        let mut sessions = self.store.create_sessions(new, caller.actor()).await?;
        Ok(if series { Booked::Series(sessions) } else { Booked::One(sessions.remove(0)) })
    }

    /// Admin: changes anything; a therapist: only the notes of their own sessions.
    pub async fn update_session(&self, caller: &Caller, id: SessionId, input: SessionInput) -> AppResult<Session> {
        let changes = input.validate_changes()?;
        caller.require(if changes.only_notes() { Permission::EditSessionNotes } else { Permission::ManageSessions })?;
        let scope = self.scope_of(caller);
        Ok(self.store.update_session(scope, id, changes, caller.actor()).await?)
    }

    pub async fn delete_session(&self, caller: &Caller, id: SessionId) -> AppResult<()> {
        caller.require(Permission::ManageSessions)?;
        Ok(self.store.delete_session(id, caller.actor()).await?)
    }

    /// Admin: puts a therapist on a session; idempotent. With `outside_working_hours` the
    /// admin books them outside their working hours on purpose.
    pub async fn add_session_therapist(
        &self,
        caller: &Caller,
        id: SessionId,
        therapist: TherapistId,
        outside_working_hours: bool,
    ) -> AppResult<Session> {
        caller.require(Permission::ManageSessions)?;
        Ok(self.store.add_session_therapist(id, therapist, outside_working_hours, caller.actor()).await?)
    }

    pub async fn remove_session_therapist(
        &self,
        caller: &Caller,
        id: SessionId,
        therapist: TherapistId,
    ) -> AppResult<()> {
        caller.require(Permission::ManageSessions)?;
        Ok(self.store.remove_session_therapist(id, therapist, caller.actor()).await?)
    }
}
