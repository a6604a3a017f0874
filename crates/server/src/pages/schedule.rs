//! The practice's schedule: a therapist's week as a grid, a session's page (notes for its
//! therapists; moving and cancelling for staff), the whole practice's day or week, booking with
//! every conflict said in words, and free slots for a set of therapists.

use std::collections::HashMap;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use carenest_app::dates::{clock, long_date};
use carenest_app::{AppError, AvailabilityInput, Booked};
use carenest_domain::availability::{Obstacle, Slot};
use carenest_domain::ids::{SessionId, TherapistId};
use carenest_domain::page::{PageRequest, MAX_LIMIT};
use carenest_domain::scheduling::{
    BookingConflict, ChildChoice, RepeatInput, Session, SessionFilter, SessionInput, SessionStatus, Therapist,
};
use carenest_domain::time::parse_date;
use chrono::{Datelike, Duration, NaiveDate};
use serde::Deserialize;

use super::i18n::Lang;
use super::{error_page, filled, page, Chrome, CsrfOnly, FormErrors, Member, Refusal};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/week", get(week))
        .route("/session/{id}", get(session))
        .route("/session/{id}/notes", post(save_notes))
        .route("/session/{id}/move", post(move_session))
        .route("/session/{id}/cancel", post(cancel_session))
        .route("/practice", get(practice))
        .route("/book", get(booking_form).post(book))
        .route("/book/find-child", post(find_child))
        .route("/free", post(free_slots))
        .route("/therapist-calendar", post(therapist_calendar))
}

/// A session as the schedule shows it.
pub struct Entry {
    pub id: i64,
    pub time: String,
    pub therapists: String,
    pub cancelled: bool,
}

impl Entry {
    pub fn of(session: &Session) -> Self {
        Self {
            id: session.id.0,
            time: format!("{}–{}", clock(session.start_time), clock(session.end_time)),
            therapists: session.therapists.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", "),
            cancelled: session.status == SessionStatus::Cancelled,
        }
    }
}

/// One day of a schedule.
pub struct Day {
    pub title: String,
    pub entries: Vec<Entry>,
}

fn days(sessions: &[Session], from: NaiveDate, count: i64, lang: Lang) -> Vec<Day> {
    (0..count)
        .map(|offset| {
            let date = from + Duration::days(offset);
            let entries = sessions.iter().filter(|s| s.date == date).map(Entry::of).collect();
            Day { title: long_date(date, lang.code()), entries }
        })
        .collect()
}

fn monday_of(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

#[derive(Deserialize)]
struct WeekQuery {
    date: Option<String>,
    therapist: Option<i64>,
}

#[derive(askama::Template)]
#[template(path = "pages/week.html")]
struct WeekPage {
    chrome: Chrome,
    heading: String,
    days: Vec<Day>,
    previous: String,
    next: String,
    /// Staff choose whose week; a therapist sees their own.
    therapists: Vec<Therapist>,
    therapist: i64,
    feed_url: Option<String>,
}

async fn week_page(state: &AppState, member: &Member, query: WeekQuery, feed_url: Option<String>) -> Response {
    let (today, _) = state.app.local_now();
    let monday = monday_of(query.date.as_deref().and_then(parse_date).unwrap_or(today));
    let own = match state.app.own_therapist(&member.caller).await {
        Ok(own) => own,
        Err(error) => return error_page(member.lang, &error),
    };
    let staff = carenest_app::allows(member.caller.role(), carenest_app::Permission::ManageSessions);
    let therapists = if staff {
        match state.app.therapists(None, PageRequest::first(MAX_LIMIT)).await {
            Ok(found) => found.items,
            Err(error) => return error_page(member.lang, &error),
        }
    } else {
        Vec::new()
    };
    let chosen = match (staff, query.therapist, &own) {
        (true, Some(id), _) => Some(TherapistId(id)),
        (_, _, Some(own)) => Some(own.id),
        (true, None, None) => therapists.first().map(|t| t.id),
        (false, _, None) => None,
    };
    let Some(therapist) = chosen else {
        return super::message_page(member.lang, StatusCode::NOT_FOUND, "week-no-therapist");
    };
    let filter = SessionFilter { from: Some(monday), to: Some(monday + Duration::days(6)), ..SessionFilter::default() };
    let sessions =
        match state.app.therapist_sessions(&member.caller, therapist, filter, PageRequest::first(MAX_LIMIT)).await {
            Ok(found) => found.items,
            Err(error) => return error_page(member.lang, &error),
        };
    let name =
        therapists.iter().chain(own.iter()).find(|t| t.id == therapist).map_or(String::new(), |t| t.name.clone());
    let heading = member.lang.text_with("week-of", &[("name", name), ("date", long_date(monday, member.lang.code()))]);
    let link = |date: NaiveDate| {
        let whose = if staff { format!("&therapist={}", therapist.0) } else { String::new() };
        format!("/week?date={date}{whose}")
    };
    let week = WeekPage {
        chrome: member.chrome("week-title"),
        heading,
        days: days(&sessions, monday, 7, member.lang),
        previous: link(monday - Duration::days(7)),
        next: link(monday + Duration::days(7)),
        therapists,
        therapist: therapist.0,
        feed_url,
    };
    page(&week, StatusCode::OK)
}

async fn week(State(state): State<AppState>, member: Member, Query(query): Query<WeekQuery>) -> Response {
    week_page(&state, &member, query, None).await
}

/// A new secret calendar link for the therapist's own sessions.
async fn therapist_calendar(
    State(state): State<AppState>,
    member: Member,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    let own = match state.app.own_therapist(&member.caller).await {
        Ok(Some(own)) => own,
        Ok(None) => return error_page(member.lang, &AppError::NotFound),
        Err(error) => return error_page(member.lang, &error),
    };
    match state.app.new_therapist_feed(&member.caller, own.id).await {
        Ok(link) => {
            let url = crate::routes::availability::feed_url(&state, &headers, &link);
            week_page(&state, &member, WeekQuery { date: None, therapist: None }, Some(url)).await
        }
        Err(error) => error_page(member.lang, &error),
    }
}

#[derive(askama::Template)]
#[template(path = "pages/session.html")]
struct SessionPage {
    chrome: Chrome,
    day: String,
    entry: Entry,
    date: String,
    start: String,
    end: String,
    notes: String,
    /// Therapists and staff edit notes; a family reads them.
    editor: bool,
    staff: bool,
    /// What the last change did, said once after it.
    saved: Option<String>,
    errors: FormErrors,
    conflicts: Vec<String>,
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

/// What a session page says besides the session: what the last change did, or why the one
/// just sent was refused.
#[derive(Default)]
struct Said {
    saved: Option<String>,
    errors: FormErrors,
    conflicts: Vec<String>,
}

async fn session_page(state: &AppState, member: &Member, id: i64, said: Said, status: StatusCode) -> Response {
    let session = match state.app.session(&member.caller, SessionId(id)).await {
        Ok(session) => session,
        Err(error) => return error_page(member.lang, &error),
    };
    let view = SessionPage {
        chrome: member.chrome("session-title"),
        day: long_date(session.date, member.lang.code()),
        entry: Entry::of(&session),
        date: session.date.to_string(),
        start: clock(session.start_time),
        end: clock(session.end_time),
        notes: session.notes.clone().unwrap_or_default(),
        editor: carenest_app::allows(member.caller.role(), carenest_app::Permission::EditSessionNotes),
        staff: carenest_app::allows(member.caller.role(), carenest_app::Permission::ManageSessions),
        saved: said.saved,
        errors: said.errors,
        conflicts: said.conflicts,
    };
    page(&view, status)
}

async fn session(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<i64>,
    Query(query): Query<SavedQuery>,
) -> Response {
    let saved = match query.saved.as_deref() {
        Some(what @ ("notes" | "moved" | "cancelled")) => Some(member.lang.text(&format!("session-saved-{what}"))),
        _ => None,
    };
    session_page(&state, &member, id, Said { saved, ..Said::default() }, StatusCode::OK).await
}

#[derive(Deserialize)]
struct NotesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    notes: String,
}

async fn save_notes(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<i64>,
    Form(form): Form<NotesForm>,
) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    let input = SessionInput { notes: Some(filled(&form.notes)), ..SessionInput::default() };
    let outcome = state.app.update_session(&member.caller, SessionId(id), input).await;
    changed(&state, &member, id, "notes", outcome).await
}

#[derive(Deserialize)]
struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    date: String,
    #[serde(default, rename = "startTime")]
    start_time: String,
    #[serde(default, rename = "endTime")]
    end_time: String,
}

async fn move_session(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<i64>,
    Form(form): Form<MoveForm>,
) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    let Some(date) = parse_date(form.date.trim()) else {
        let errors = FormErrors(vec![("date".into(), member.lang.text("book-date-hint"))]);
        return session_page(&state, &member, id, Said { errors, ..Said::default() }, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    };
    let input = SessionInput {
        date: Some(date),
        start_time: filled(&form.start_time),
        end_time: filled(&form.end_time),
        ..SessionInput::default()
    };
    let outcome = state.app.update_session(&member.caller, SessionId(id), input).await;
    changed(&state, &member, id, "moved", outcome).await
}

async fn cancel_session(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    let input = SessionInput { status: Some("cancelled".to_owned()), ..SessionInput::default() };
    let outcome = state.app.update_session(&member.caller, SessionId(id), input).await;
    changed(&state, &member, id, "cancelled", outcome).await
}

/// After a change to a session: its page again, with what was refused and why.
async fn changed(
    state: &AppState,
    member: &Member,
    id: i64,
    what: &str,
    outcome: Result<Session, AppError>,
) -> Response {
    match outcome {
        Ok(_) => Redirect::to(&format!("/session/{id}?saved={what}")).into_response(),
        Err(AppError::Conflict { conflicts, .. }) if !conflicts.is_empty() => {
            let conflicts = conflict_words(state, member.lang, &conflicts).await;
            session_page(state, member, id, Said { conflicts, ..Said::default() }, StatusCode::CONFLICT).await
        }
        Err(error) => match Refusal::of(member.lang, error) {
            Refusal::Form(errors) => {
                session_page(state, member, id, Said { errors, ..Said::default() }, StatusCode::UNPROCESSABLE_ENTITY)
                    .await
            }
            Refusal::Page(response) => response,
        },
    }
}

/// Each conflict as a sentence: who, which day, and what is in the way.
async fn conflict_words(state: &AppState, lang: Lang, conflicts: &[BookingConflict]) -> Vec<String> {
    let names: HashMap<TherapistId, String> = match state.app.therapists(None, PageRequest::first(MAX_LIMIT)).await {
        Ok(found) => found.items.into_iter().map(|t| (t.id, t.name)).collect(),
        Err(_) => HashMap::new(),
    };
    conflicts
        .iter()
        .map(|conflict| {
            let who =
                names.get(&conflict.therapist_id).cloned().unwrap_or_else(|| format!("#{}", conflict.therapist_id.0));
            let day = long_date(conflict.date, lang.code());
            let mut args = vec![("name", who), ("date", day)];
            let key = match &conflict.reason {
                Obstacle::Closed => "conflict-closed",
                Obstacle::OutsideWorkingHours => "conflict-outside-hours",
                Obstacle::TimeOff => "conflict-time-off",
                Obstacle::Booked { start, end, .. } => {
                    args.push(("time", format!("{}–{}", clock(*start), clock(*end))));
                    "conflict-booked"
                }
            };
            lang.text_with(key, &args)
        })
        .collect()
}

#[derive(Deserialize)]
struct PracticeQuery {
    date: Option<String>,
    view: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "pages/practice.html")]
struct PracticePage {
    chrome: Chrome,
    heading: String,
    days: Vec<Day>,
    week: bool,
    date: String,
    previous: String,
    next: String,
}

/// Staff: the whole practice's day or week.
async fn practice(State(state): State<AppState>, member: Member, Query(query): Query<PracticeQuery>) -> Response {
    if let Err(error) = member.caller.require(carenest_app::Permission::ManageSessions) {
        return error_page(member.lang, &error);
    }
    let (today, _) = state.app.local_now();
    let date = query.date.as_deref().and_then(parse_date).unwrap_or(today);
    let week = query.view.as_deref() == Some("week");
    let (from, count) = if week { (monday_of(date), 7) } else { (date, 1) };
    let filter =
        SessionFilter { from: Some(from), to: Some(from + Duration::days(count - 1)), ..SessionFilter::default() };
    let sessions = match state.app.all_sessions(&member.caller, filter).await {
        Ok(sessions) => sessions,
        Err(error) => return error_page(member.lang, &error),
    };
    let view = if week { "week" } else { "day" };
    let link = |date: NaiveDate| format!("/practice?view={view}&date={date}");
    let heading = if week {
        member.lang.text_with("practice-week-of", &[("date", long_date(from, member.lang.code()))])
    } else {
        long_date(date, member.lang.code())
    };
    let practice = PracticePage {
        chrome: member.chrome("practice-title"),
        heading,
        days: days(&sessions, from, count, member.lang),
        week,
        date: date.to_string(),
        previous: link(from - Duration::days(count)),
        next: link(from + Duration::days(count)),
    };
    page(&practice, StatusCode::OK)
}

/// The booking form's values, as typed; also what a free slot's button sends.
#[derive(Deserialize, Default, Clone)]
struct BookingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    child: String,
    #[serde(default, rename = "childProfileId")]
    child_profile_id: String,
    #[serde(default)]
    date: String,
    #[serde(default, rename = "startTime")]
    start_time: String,
    #[serde(default, rename = "endTime")]
    end_time: String,
    #[serde(default)]
    repeat: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    notes: String,
    #[serde(default, rename = "outsideWorkingHours")]
    outside_working_hours: String,
}

#[derive(askama::Template)]
#[template(path = "pages/book.html")]
struct BookingPage {
    chrome: Chrome,
    form: BookingForm,
    chosen: Vec<i64>,
    therapists: Vec<Therapist>,
    children: Vec<ChildChoice>,
    errors: FormErrors,
    conflicts: Vec<String>,
    booked: Option<String>,
}

impl BookingPage {
    fn checked(&self, therapist: &Therapist) -> bool {
        self.chosen.contains(&therapist.id.0)
    }

    fn child_chosen(&self, child: &ChildChoice) -> bool {
        self.form.child_profile_id == child.id.0.to_string()
    }
}

/// Reads a form whose checkboxes repeat a name: the form, and the therapists ticked.
fn booking_fields(fields: &[(String, String)]) -> (BookingForm, Vec<i64>) {
    let value = |name: &str| fields.iter().find(|(key, _)| key == name).map_or(String::new(), |(_, v)| v.clone());
    let chosen = fields.iter().filter(|(key, _)| key == "therapistIds").filter_map(|(_, v)| v.parse().ok()).collect();
    let form = BookingForm {
        csrf: value("csrf"),
        child: value("child"),
        child_profile_id: value("childProfileId"),
        date: value("date"),
        start_time: value("startTime"),
        end_time: value("endTime"),
        repeat: value("repeat"),
        count: value("count"),
        notes: value("notes"),
        outside_working_hours: value("outsideWorkingHours"),
    };
    (form, chosen)
}

struct Outcome {
    errors: FormErrors,
    conflicts: Vec<String>,
    booked: Option<String>,
}

async fn booking_page(
    state: &AppState,
    member: &Member,
    form: BookingForm,
    chosen: Vec<i64>,
    outcome: Outcome,
    status: StatusCode,
) -> Response {
    if let Err(error) = member.caller.require(carenest_app::Permission::ManageSessions) {
        return error_page(member.lang, &error);
    }
    let therapists = match state.app.therapists(None, PageRequest::first(MAX_LIMIT)).await {
        Ok(found) => found.items,
        Err(error) => return error_page(member.lang, &error),
    };
    let children = match state.app.children_for_booking(&member.caller, &form.child).await {
        Ok(children) => children,
        Err(error) => match Refusal::of(member.lang, error) {
            Refusal::Form(_) => Vec::new(),
            Refusal::Page(response) => return response,
        },
    };
    let view = BookingPage {
        chrome: member.chrome("book-title"),
        form,
        chosen,
        therapists,
        children,
        errors: outcome.errors,
        conflicts: outcome.conflicts,
        booked: outcome.booked,
    };
    page(&view, status)
}

async fn booking_form(
    State(state): State<AppState>,
    member: Member,
    Query(fields): Query<Vec<(String, String)>>,
) -> Response {
    let (form, chosen) = booking_fields(&fields);
    let nothing = Outcome { errors: FormErrors::default(), conflicts: Vec::new(), booked: None };
    booking_page(&state, &member, form, chosen, nothing, StatusCode::OK).await
}

/// The booking form again, with the children the search finds to choose from.
async fn find_child(
    State(state): State<AppState>,
    member: Member,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let (form, chosen) = booking_fields(&fields);
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    let nothing = Outcome { errors: FormErrors::default(), conflicts: Vec::new(), booked: None };
    booking_page(&state, &member, form, chosen, nothing, StatusCode::OK).await
}

async fn book(State(state): State<AppState>, member: Member, Form(fields): Form<Vec<(String, String)>>) -> Response {
    let (form, chosen) = booking_fields(&fields);
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    let date = filled(&form.date).map(|text| parse_date(&text));
    if let Some(None) = date {
        let errors = FormErrors(vec![("date".into(), member.lang.text("book-date-hint"))]);
        let outcome = Outcome { errors, conflicts: Vec::new(), booked: None };
        return booking_page(&state, &member, form, chosen, outcome, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let repeat = match form.repeat.as_str() {
        "week" | "2 weeks" => {
            Some(RepeatInput { every: form.repeat.clone(), count: form.count.trim().parse().unwrap_or(0) })
        }
        _ => None,
    };
    let input = SessionInput {
        date: date.flatten(),
        start_time: filled(&form.start_time),
        end_time: filled(&form.end_time),
        notes: Some(filled(&form.notes)),
        therapist_ids: Some(chosen.clone()),
        child_profile_id: Some(filled(&form.child_profile_id).and_then(|id| id.parse().ok())),
        repeat,
        outside_working_hours: Some(form.outside_working_hours == "on"),
        ..SessionInput::default()
    };
    let (outcome, status) = match state.app.book(&member.caller, input).await {
        Ok(booked) => {
            let sessions = match booked {
                Booked::One(session) => vec![session],
                Booked::Series(sessions) => sessions,
            };
            let first =
                sessions.first().map(|s| format!("{} {}", long_date(s.date, member.lang.code()), clock(s.start_time)));
            let message = member
                .lang
                .text_with("book-done", &[("count", sessions.len().to_string()), ("first", first.unwrap_or_default())]);
            (
                Outcome { errors: FormErrors::default(), conflicts: Vec::new(), booked: Some(message) },
                StatusCode::CREATED,
            )
        }
        Err(AppError::Conflict { conflicts, .. }) if !conflicts.is_empty() => {
            let words = conflict_words(&state, member.lang, &conflicts).await;
            (Outcome { errors: FormErrors::default(), conflicts: words, booked: None }, StatusCode::CONFLICT)
        }
        Err(error) => match Refusal::of(member.lang, error) {
            Refusal::Form(errors) => {
                (Outcome { errors, conflicts: Vec::new(), booked: None }, StatusCode::UNPROCESSABLE_ENTITY)
            }
            Refusal::Page(response) => return response,
        },
    };
    booking_page(&state, &member, form, chosen, outcome, status).await
}

#[derive(askama::Template)]
#[template(path = "pages/free.html")]
struct FreePage {
    chrome: Chrome,
    slots: Vec<(String, Slot)>,
    /// The chosen therapists as the booking form's query takes them.
    ids: String,
    errors: FormErrors,
}

/// Staff: the first free slots where every chosen therapist can be booked.
async fn free_slots(
    State(state): State<AppState>,
    member: Member,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let (form, chosen) = booking_fields(&fields);
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    let duration = fields.iter().find(|(k, _)| k == "duration").and_then(|(_, v)| v.parse().ok()).unwrap_or(45);
    let input = AvailabilityInput {
        therapist_ids: chosen.clone(),
        from: parse_date(form.date.trim()),
        to: None,
        duration: Some(duration),
        step: Some(15),
    };
    let (slots, errors, status) = match state.app.availability(&member.caller, &input, PageRequest::first(20)).await {
        Ok(found) => {
            let slots = found.items.into_iter().map(|slot| (long_date(slot.date, member.lang.code()), slot)).collect();
            (slots, FormErrors::default(), StatusCode::OK)
        }
        Err(error) => match Refusal::of(member.lang, error) {
            Refusal::Form(errors) => (Vec::new(), errors, StatusCode::UNPROCESSABLE_ENTITY),
            Refusal::Page(response) => return response,
        },
    };
    let ids: String = chosen.iter().map(|id| format!("&therapistIds={id}")).collect();
    let view = FreePage { chrome: member.chrome("free-title"), slots, ids, errors };
    page(&view, status)
}
