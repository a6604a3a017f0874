//! A family's own pages: the overview, the parent profile, children and goals.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use carenest_app::AppError;
use carenest_domain::family::{ChildInput, ChildProfile, GoalInput, ParentProfile, ParentProfileInput, ParentingGoal};
use carenest_domain::ids::{ChildId, GoalId};
use carenest_domain::time::parse_date;
use serde::Deserialize;

use super::{error_page, filled, page, About, Chrome, CsrfOnly, FormErrors, Member, Refusal};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/home", get(home))
        .route("/profile", get(profile_form).post(save_profile))
        .route("/children/new", get(child_form))
        .route("/children", post(add_child))
        .route("/children/{id}/edit", get(edit_child_form))
        .route("/children/{id}", post(edit_child))
        .route("/children/{id}/delete", post(remove_child))
        .route("/goals/new", get(goal_form))
        .route("/goals", post(add_goal))
        .route("/goals/{id}/progress", post(goal_progress))
}

#[derive(askama::Template)]
#[template(path = "pages/home.html")]
struct HomePage {
    chrome: Chrome,
    welcome: String,
    profile: Option<ParentProfile>,
    children: Vec<ChildProfile>,
    goals: Vec<ParentingGoal>,
}

impl HomePage {
    fn age(&self, child: &ChildProfile) -> String {
        self.chrome.lang.text_with("child-age", &[("age", child.age.to_string())])
    }

    fn remove_label(&self, child: &ChildProfile) -> String {
        self.chrome.lang.text_with("child-remove", &[("name", child.name.clone())])
    }

    fn progress_label(&self, goal: &ParentingGoal) -> String {
        self.chrome.lang.text_with("goal-progress-of", &[("title", goal.title.clone())])
    }

    fn status(&self, goal: &ParentingGoal) -> String {
        self.chrome.t(&format!("status-{}", goal.status.as_str()))
    }

    /// The statuses a goal can take, with whether it has it.
    fn statuses(&self, goal: &ParentingGoal) -> Vec<(&'static str, String, bool)> {
        ["active", "paused", "completed", "archived"]
            .map(|status| (status, self.chrome.t(&format!("status-{status}")), goal.status.as_str() == status))
            .to_vec()
    }

    fn edit_label(&self, child: &ChildProfile) -> String {
        self.chrome.lang.text_with("child-edit", &[("name", child.name.clone())])
    }
}

async fn home(State(state): State<AppState>, member: Member) -> Response {
    let me = match state.app.me(&member.caller).await {
        Ok(me) => me,
        Err(error) => return error_page(member.lang, &error),
    };
    let name = me.family.profile.as_ref().map_or(me.user.username.clone(), |p| p.name.clone());
    let welcome = member.lang.text_with("home-welcome", &[("name", name)]);
    let home = HomePage {
        chrome: member.chrome("home-title"),
        welcome,
        profile: me.family.profile,
        children: me.family.children,
        goals: me.family.goals,
    };
    page(&home, StatusCode::OK)
}

/// The profile form's values, as typed.
#[derive(Deserialize, Default)]
struct ProfileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default, rename = "stressLevel")]
    stress_level: String,
    #[serde(default, rename = "experienceLevel")]
    experience_level: String,
    #[serde(default, rename = "preferredLanguage")]
    preferred_language: String,
}

#[derive(askama::Template)]
#[template(path = "pages/profile.html")]
struct ProfilePage {
    chrome: Chrome,
    about: About,
    form: ProfileForm,
    errors: FormErrors,
}

impl ProfilePage {
    fn new(member: &Member, form: ProfileForm, errors: FormErrors) -> Self {
        let about = About::new(member.lang, &form.name, &form.stress_level, &form.experience_level);
        Self { chrome: member.chrome("profile-title"), about, form, errors }
    }
}

async fn profile_form(State(state): State<AppState>, member: Member) -> Response {
    let form = match state.app.parent_profile(&member.caller).await {
        Ok(profile) => ProfileForm {
            name: profile.name,
            stress_level: profile.stress_level.as_str().to_owned(),
            experience_level: profile.experience_level.as_str().to_owned(),
            preferred_language: profile.preferred_language,
            ..ProfileForm::default()
        },
        Err(AppError::NotFound) => {
            ProfileForm { preferred_language: member.lang.code().to_owned(), ..ProfileForm::default() }
        }
        Err(error) => return error_page(member.lang, &error),
    };
    page(&ProfilePage::new(&member, form, FormErrors::default()), StatusCode::OK)
}

async fn save_profile(State(state): State<AppState>, member: Member, Form(form): Form<ProfileForm>) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    let input = || ParentProfileInput {
        name: filled(&form.name),
        stress_level: filled(&form.stress_level),
        experience_level: filled(&form.experience_level),
        preferred_language: filled(&form.preferred_language),
        ..ParentProfileInput::default()
    };
    let saved = match state.app.update_parent_profile(&member.caller, input()).await {
        Err(AppError::NotFound) => state.app.create_parent_profile(&member.caller, input()).await,
        other => other,
    };
    match saved {
        Ok(_) => Redirect::to("/home").into_response(),
        Err(error) => match Refusal::of(member.lang, error) {
            Refusal::Form(errors) => page(&ProfilePage::new(&member, form, errors), StatusCode::UNPROCESSABLE_ENTITY),
            Refusal::Page(response) => response,
        },
    }
}

#[derive(Deserialize, Default)]
struct ChildForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    age: String,
    #[serde(default, rename = "specialNeeds")]
    special_needs: String,
}

#[derive(askama::Template)]
#[template(path = "pages/child.html")]
struct ChildPage {
    chrome: Chrome,
    /// The child being edited; none while adding one.
    id: Option<i64>,
    form: ChildForm,
    errors: FormErrors,
}

impl ChildPage {
    fn new(member: &Member, id: Option<i64>, form: ChildForm, errors: FormErrors) -> Self {
        let title = if id.is_some() { "child-edit-title" } else { "child-title" };
        Self { chrome: member.chrome(title), id, form, errors }
    }

    fn action(&self) -> String {
        self.id.map_or_else(|| "/children".to_owned(), |id| format!("/children/{id}"))
    }
}

async fn child_form(member: Member) -> Response {
    page(&ChildPage::new(&member, None, ChildForm::default(), FormErrors::default()), StatusCode::OK)
}

async fn edit_child_form(State(state): State<AppState>, member: Member, Path(id): Path<i64>) -> Response {
    match state.app.child(&member.caller, ChildId(id)).await {
        Ok(child) => {
            let form = ChildForm {
                name: child.name,
                age: child.age.to_string(),
                special_needs: child.special_needs.join(", "),
                ..ChildForm::default()
            };
            page(&ChildPage::new(&member, Some(id), form, FormErrors::default()), StatusCode::OK)
        }
        Err(error) => error_page(member.lang, &error),
    }
}

/// A child's fields as the application takes them.
fn child_input(form: &ChildForm) -> ChildInput {
    let age = form.age.trim();
    ChildInput {
        name: filled(&form.name),
        age: if age.is_empty() { None } else { Some(age.parse().unwrap_or(-1)) },
        special_needs: Some(form.special_needs.split(',').filter_map(filled).collect()),
        ..ChildInput::default()
    }
}

/// After adding or changing a child: the overview, or the form again with its errors.
fn child_saved<T>(member: &Member, id: Option<i64>, form: ChildForm, outcome: Result<T, AppError>) -> Response {
    match outcome {
        Ok(_) => Redirect::to("/home").into_response(),
        Err(error) => match Refusal::of(member.lang, error) {
            Refusal::Form(errors) => page(&ChildPage::new(member, id, form, errors), StatusCode::UNPROCESSABLE_ENTITY),
            Refusal::Page(response) => response,
        },
    }
}

async fn add_child(State(state): State<AppState>, member: Member, Form(form): Form<ChildForm>) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    let outcome = state.app.create_child(&member.caller, child_input(&form)).await;
    child_saved(&member, None, form, outcome)
}

async fn edit_child(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<i64>,
    Form(form): Form<ChildForm>,
) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    let outcome = state.app.update_child(&member.caller, ChildId(id), child_input(&form)).await;
    child_saved(&member, Some(id), form, outcome)
}

async fn remove_child(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    match state.app.delete_child(&member.caller, ChildId(id)).await {
        Ok(()) => Redirect::to("/home").into_response(),
        Err(error) => error_page(member.lang, &error),
    }
}

#[derive(Deserialize, Default)]
struct GoalForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    category: String,
    #[serde(default, rename = "childProfileId")]
    child_profile_id: String,
    #[serde(default, rename = "targetDate")]
    target_date: String,
}

#[derive(askama::Template)]
#[template(path = "pages/goal.html")]
struct GoalPage {
    chrome: Chrome,
    form: GoalForm,
    children: Vec<ChildProfile>,
    errors: FormErrors,
}

impl GoalPage {
    fn chosen(&self, child: &ChildProfile) -> bool {
        self.form.child_profile_id == child.id.0.to_string()
    }
}

async fn goal_page(
    state: &AppState,
    member: &Member,
    form: GoalForm,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    match state.app.me(&member.caller).await {
        Ok(me) => {
            let goal =
                GoalPage { chrome: member.chrome("goal-title-page"), form, children: me.family.children, errors };
            page(&goal, status)
        }
        Err(error) => error_page(member.lang, &error),
    }
}

async fn goal_form(State(state): State<AppState>, member: Member) -> Response {
    goal_page(&state, &member, GoalForm::default(), FormErrors::default(), StatusCode::OK).await
}

async fn add_goal(State(state): State<AppState>, member: Member, Form(form): Form<GoalForm>) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    let target = filled(&form.target_date);
    let target_date = match target.as_deref().map(parse_date) {
        Some(None) => {
            let errors = FormErrors(vec![("targetDate".into(), member.lang.text("goal-target-hint"))]);
            return goal_page(&state, &member, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Some(date) => Some(date),
        None => None,
    };
    let input = GoalInput {
        title: filled(&form.title),
        category: Some(filled(&form.category)),
        child_profile_id: Some(filled(&form.child_profile_id).and_then(|id| id.parse().ok())),
        target_date,
        ..GoalInput::default()
    };
    match state.app.create_goal(&member.caller, input).await {
        Ok(_) => Redirect::to("/home").into_response(),
        Err(error) => match Refusal::of(member.lang, error) {
            Refusal::Form(errors) => goal_page(&state, &member, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await,
            Refusal::Page(response) => response,
        },
    }
}

#[derive(Deserialize)]
struct ProgressForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    progress: String,
    #[serde(default)]
    status: String,
}

/// Sets a goal's progress and status in one action, from the overview.
async fn goal_progress(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<i64>,
    Form(form): Form<ProgressForm>,
) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    let progress = form.progress.trim().parse::<i64>().unwrap_or(-1);
    let input = GoalInput { progress: Some(progress), status: filled(&form.status), ..GoalInput::default() };
    match state.app.update_goal(&member.caller, GoalId(id), input).await {
        Ok(_) => Redirect::to("/home").into_response(),
        Err(AppError::Invalid(_)) => {
            super::message_page(member.lang, StatusCode::UNPROCESSABLE_ENTITY, "goal-progress-invalid")
        }
        Err(error) => error_page(member.lang, &error),
    }
}
