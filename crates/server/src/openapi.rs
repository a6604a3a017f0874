//! The OpenAPI 3.1 document, generated from the handlers' annotations and the types they use,
//! so it can't drift from the code.

use std::sync::OnceLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{accounts, family, ops, scheduling};

#[derive(OpenApi)]
#[openapi(
    info(title = "CareNest API", version = "1", description = "Families, their children and goals, and the therapy practice's schedule. Every error is application/problem+json (RFC 9457). Lists answer `{items, nextCursor}`; `limit` is 1-200 (default 50)."),
    paths(
        ops::healthz, ops::readyz, ops::openapi, ops::metrics,
        accounts::register, accounts::login, accounts::logout, accounts::me, accounts::update_me, accounts::erase_me,
        accounts::export, accounts::access_log, accounts::list_users, accounts::change_role,
        family::get_profile, family::create_profile, family::update_profile, family::delete_profile,
        family::get_onboarding, family::update_onboarding,
        family::list_children, family::create_child, family::get_child, family::update_child, family::delete_child,
        family::list_goals, family::create_goal, family::get_goal, family::update_goal, family::delete_goal,
        family::suggestions,
        scheduling::list_therapists, scheduling::create_therapist, scheduling::get_therapist, scheduling::update_therapist,
        scheduling::delete_therapist, scheduling::therapist_sessions, scheduling::therapist_calendar,
        scheduling::list_sessions, scheduling::create_sessions, scheduling::get_session, scheduling::update_session,
        scheduling::delete_session, scheduling::add_therapist, scheduling::remove_therapist,
    ),
    components(schemas(
        crate::error::Problem, carenest_domain::validation::FieldError,
        carenest_domain::accounts::Role, carenest_domain::audit::AuditEntry, carenest_domain::audit::AuditAction,
        carenest_domain::family::StressLevel, carenest_domain::family::ExperienceLevel, carenest_domain::family::GoalStatus,
        carenest_domain::scheduling::SessionStatus, carenest_domain::scheduling::RepeatEvery,
        carenest_domain::scheduling::BookingConflict, scheduling::SessionSeries,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "accounts", description = "Registration, login, the current user, user admin"),
        (name = "family", description = "The current user's parent profile, onboarding, children and goals"),
        (name = "scheduling", description = "Therapists and therapy sessions"),
        (name = "ops", description = "Service endpoints, no authentication"),
    ),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as JSON, built once.
pub fn openapi_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| ApiDoc::openapi().to_pretty_json().expect("the OpenAPI document serialises"))
}
