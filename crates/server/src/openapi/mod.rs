//! The OpenAPI 3.1 document, generated from the handlers' annotations and the types they use,
//! so it can't drift from the code.

use std::sync::OnceLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

mod contract;

use crate::dto::{self, enums};
use crate::routes::{accounts, audit, availability, family, ops, scheduling};

#[derive(OpenApi)]
#[openapi(
    info(title = "CareNest API", version = "1", description = "Families, their children and goals, and the therapy practice's schedule. Every error is application/problem+json (RFC 9457). Lists answer `{items, nextCursor}`; `limit` is 1-200 (default 50)."),
    paths(
        ops::healthz, ops::readyz, ops::openapi, ops::metrics,
        accounts::register, accounts::login, accounts::logout, accounts::me, accounts::update_me, accounts::erase_me,
                accounts::export, accounts::access_log, accounts::notifications, accounts::set_notifications, accounts::list_users, accounts::change_role, audit::audit_log,
        family::get_profile, family::create_profile, family::update_profile, family::delete_profile,
        family::get_onboarding, family::update_onboarding,
        family::list_children, family::create_child, family::get_child, family::update_child, family::delete_child,
        family::list_goals, family::create_goal, family::get_goal, family::update_goal, family::delete_goal,
        family::suggestions,
        scheduling::list_therapists, scheduling::create_therapist, scheduling::get_therapist, scheduling::update_therapist,
        scheduling::delete_therapist, scheduling::therapist_sessions, scheduling::therapist_calendar,
        scheduling::list_sessions, scheduling::create_sessions, scheduling::get_session, scheduling::update_session,
        scheduling::delete_session, scheduling::add_therapist, scheduling::remove_therapist,
        availability::get_working_hours, availability::put_working_hours, availability::list_time_off,
        availability::create_time_off, availability::delete_time_off, availability::list_closures,
        availability::create_closure, availability::delete_closure, availability::availability,
        availability::new_therapist_feed, availability::revoke_therapist_feed, availability::new_family_feed,
        availability::revoke_family_feed, availability::feed,
    ),
    components(schemas(
        crate::error::Problem, dto::FieldError, dto::AuditEntry, dto::BookingConflict, scheduling::SessionSeries,
        enums::Role, enums::AuditAction, enums::StressLevel, enums::ExperienceLevel, enums::GoalStatus,
        enums::SessionStatus, enums::RepeatEvery, enums::ConflictReason,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "accounts", description = "Registration, login, the current user, user admin"),
        (name = "family", description = "The current user's parent profile, onboarding, children and goals"),
        (name = "scheduling", description = "Therapists and therapy sessions"),
        (name = "availability", description = "Working hours, time off, closures, free slots, calendar feeds by secret URL"),
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
    JSON.get_or_init(|| {
        let mut document = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises");
        contract::refine(&mut document);
        serde_json::to_string_pretty(&document).expect("the OpenAPI document serialises")
    })
}
