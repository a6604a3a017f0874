//! Onboarding as a wizard: about you, what worries you, who supports you, your children. Each
//! step is saved as it is sent (`currentOnboardingStep`, and the answers in `onboardingData` as
//! well as in the profile), so a parent who leaves comes back to the step they reached.

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use carenest_app::AppError;
use carenest_domain::family::{OnboardingInput, ParentProfile, ParentProfileInput};
use serde::Deserialize;
use serde_json::json;

use super::{error_page, filled, page, About, Chrome, FormErrors, Member, Refusal};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/onboarding", get(show).post(save))
}

/// The steps, in order; the last one only finishes.
const STEPS: [&str; 4] = ["about", "concerns", "support", "children"];
const CONCERNS: [&str; 7] = ["sleep", "behaviour", "school", "social", "speech", "sensory", "routine"];
const SUPPORT: [&str; 5] = ["partner", "family", "friends", "school", "professional"];

#[derive(askama::Template)]
#[template(path = "pages/onboarding.html")]
struct OnboardingPage {
    chrome: Chrome,
    step: usize,
    about: About,
    profile: Option<ParentProfile>,
    errors: FormErrors,
}

impl OnboardingPage {
    fn new(member: &Member, step: usize, profile: Option<ParentProfile>, errors: FormErrors) -> Self {
        let about = match &profile {
            Some(p) => About::new(member.lang, &p.name, p.stress_level.as_str(), p.experience_level.as_str()),
            None => About::new(member.lang, "", "", ""),
        };
        Self { chrome: member.chrome("onboarding-title"), step, about, profile, errors }
    }

    fn progress(&self) -> String {
        self.chrome.lang.text_with(
            "onboarding-progress",
            &[("step", (self.step + 1).to_string()), ("steps", STEPS.len().to_string())],
        )
    }

    fn step_title(&self) -> String {
        self.chrome.t(&format!("onboarding-{}", STEPS[self.step]))
    }

    /// The choices of a list step: value, label, and whether the profile holds it.
    fn options(
        &self,
        kind: &str,
        values: &[&'static str],
        held: fn(&ParentProfile) -> &[String],
    ) -> Vec<(&'static str, String, bool)> {
        values
            .iter()
            .map(|value| {
                let on = self.profile.as_ref().is_some_and(|p| held(p).iter().any(|v| v == value));
                (*value, self.chrome.t(&format!("{kind}-{value}")), on)
            })
            .collect()
    }

    fn concerns(&self) -> Vec<(&'static str, String, bool)> {
        self.options("concern", &CONCERNS, |p| &p.primary_concerns)
    }

    fn support(&self) -> Vec<(&'static str, String, bool)> {
        self.options("support", &SUPPORT, |p| &p.support_network)
    }
}

#[derive(Deserialize)]
struct StepQuery {
    step: Option<usize>,
}

/// Where the parent is: the step they reached (or an earlier one they go back to).
async fn show(State(state): State<AppState>, member: Member, Query(query): Query<StepQuery>) -> Response {
    let (profile, reached) = match state.app.parent_profile(&member.caller).await {
        Ok(profile) => {
            let reached = usize::try_from(profile.current_onboarding_step).unwrap_or(0).min(STEPS.len() - 1);
            (Some(profile), reached)
        }
        Err(AppError::NotFound) => (None, 0),
        Err(error) => return error_page(member.lang, &error),
    };
    let step = query.step.map_or(reached, |asked| asked.min(reached));
    let wizard = OnboardingPage::new(&member, step, profile, FormErrors::default());
    page(&wizard, StatusCode::OK)
}

/// A step as sent: checkboxes come as repeated fields, so the form is read as pairs.
async fn save(State(state): State<AppState>, member: Member, Form(fields): Form<Vec<(String, String)>>) -> Response {
    let value = |name: &str| fields.iter().find(|(key, _)| key == name).map_or("", |(_, v)| v.as_str());
    let values = |name: &str| fields.iter().filter(|(key, _)| key == name).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    if let Some(refused) = member.forged(value("csrf")) {
        return refused;
    }
    let Some(step) = STEPS.iter().position(|s| *s == value("step")) else {
        return error_page(member.lang, &AppError::NotFound);
    };
    let app = &state.app;
    let caller = &member.caller;
    let answers = match STEPS[step] {
        "about" => json!({"stressLevel": value("stressLevel"), "experienceLevel": value("experienceLevel")}),
        "concerns" => json!(values("concerns")),
        "support" => json!(values("support")),
        _ => json!(true),
    };
    let saved = match STEPS[step] {
        "about" => {
            let input = || ParentProfileInput {
                name: filled(value("name")),
                stress_level: filled(value("stressLevel")),
                experience_level: filled(value("experienceLevel")),
                preferred_language: Some(member.lang.code().to_owned()),
                ..ParentProfileInput::default()
            };
            match app.update_parent_profile(caller, input()).await {
                Err(AppError::NotFound) => app.create_parent_profile(caller, input()).await.map(drop),
                other => other.map(drop),
            }
        }
        "concerns" => {
            let input =
                ParentProfileInput { primary_concerns: Some(values("concerns")), ..ParentProfileInput::default() };
            app.update_parent_profile(caller, input).await.map(drop)
        }
        "support" => {
            let input =
                ParentProfileInput { support_network: Some(values("support")), ..ParentProfileInput::default() };
            app.update_parent_profile(caller, input).await.map(drop)
        }
        _ => Ok(()),
    };
    let done = step + 1 == STEPS.len();
    let progress = OnboardingInput {
        current_onboarding_step: Some((step + 1).min(STEPS.len() - 1) as i64),
        onboarding_data: Some(json!({ STEPS[step]: answers })),
        completed_onboarding: done.then_some(true),
    };
    let saved = match saved {
        Ok(()) => app.update_onboarding(caller, progress).await.map(drop),
        Err(error) => Err(error),
    };
    match saved {
        Ok(()) if done => Redirect::to("/home").into_response(),
        Ok(()) => Redirect::to("/onboarding").into_response(),
        Err(error) => match Refusal::of(member.lang, error) {
            Refusal::Form(errors) => {
                let profile = app.parent_profile(caller).await.ok();
                let wizard = OnboardingPage::new(&member, step, profile, errors);
                page(&wizard, StatusCode::UNPROCESSABLE_ENTITY)
            }
            Refusal::Page(response) => response,
        },
    }
}
