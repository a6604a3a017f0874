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

use super::{error_page, filled, page, Chrome, FormErrors, Member, Refusal};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/home", get(home))
        .route("/profile", get(profile_form).post(save_profile))
        .route("/children/new", get(child_form))
        .route("/children", post(add_child))
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
    form: ProfileForm,
    errors: FormErrors,
}

impl ProfilePage {
    fn choices(&self, kind: &str, values: &[&'static str]) -> Vec<(&'static str, String)> {
        values.iter().map(|value| (*value, self.chrome.t(&format!("{kind}-{value}")))).collect()
    }

    fn stress_levels(&self) -> Vec<(&'static str, String)> {
        self.choices("stress", &["low", "moderate", "high", "very_high"])
    }

    fn experience_levels(&self) -> Vec<(&'static str, String)> {
        self.choices("experience", &["first_time", "experienced", "multiple_children"])
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
    page(&ProfilePage { chrome: member.chrome("profile-title"), form, errors: FormErrors::default() }, StatusCode::OK)
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
            Refusal::Form(errors) => page(
                &ProfilePage { chrome: member.chrome("profile-title"), form, errors },
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
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
    form: ChildForm,
    errors: FormErrors,
}

async fn child_form(member: Member) -> Response {
    let empty =
        ChildPage { chrome: member.chrome("child-title"), form: ChildForm::default(), errors: FormErrors::default() };
    page(&empty, StatusCode::OK)
}

async fn add_child(State(state): State<AppState>, member: Member, Form(form): Form<ChildForm>) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    let age = form.age.trim();
    let needs: Vec<String> = form.special_needs.split(',').filter_map(filled).collect();
    let input = ChildInput {
        name: filled(&form.name),
        age: if age.is_empty() { None } else { Some(age.parse().unwrap_or(-1)) },
        special_needs: Some(needs),
        ..ChildInput::default()
    };
    match state.app.create_child(&member.caller, input).await {
        Ok(_) => Redirect::to("/home").into_response(),
        Err(error) => match Refusal::of(member.lang, error) {
            Refusal::Form(errors) => page(
                &ChildPage { chrome: member.chrome("child-title"), form, errors },
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            Refusal::Page(response) => response,
        },
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
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
}

/// Sets a goal's progress in one action, from the overview.
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
    let input = GoalInput { progress: Some(progress), ..GoalInput::default() };
    match state.app.update_goal(&member.caller, GoalId(id), input).await {
        Ok(_) => Redirect::to("/home").into_response(),
        Err(AppError::Invalid(_)) => {
            super::message_page(member.lang, StatusCode::UNPROCESSABLE_ENTITY, "goal-progress-invalid")
        }
        Err(error) => error_page(member.lang, &error),
    }
}
