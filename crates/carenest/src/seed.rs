//! Named seeders, tracked in the `seeders` table so that running one twice does not duplicate
//! its data. They write through the store traits, so one seeder serves both backends.

use carenest_domain::accounts::{NewUser, Role};
use carenest_domain::audit::Actor;
use carenest_domain::availability::{NewClosure, NewTimeOff, WeeklyInterval};
use carenest_domain::family::{ExperienceLevel, GoalStatus, NewChild, NewGoal, NewParentProfile, StressLevel};
use carenest_domain::ids::UserId;
use carenest_domain::page::{PageRequest, MAX_LIMIT};
use carenest_domain::scheduling::{NewSession, Repeat, RepeatEvery, SessionFilter, SessionScope, SessionStatus};
use carenest_domain::suggestions::NewGoalTemplate;
use carenest_domain::{Store, StoreError};
use chrono::{Datelike, Duration, NaiveTime, Weekday};

use crate::progress::Progress;

/// Every seeder, in the order `db seed` runs them.
pub const SEEDERS: &[&str] = &["goal-templates", "demo"];

/// The goal-template catalogue, in English and Dutch.
const GOAL_TEMPLATES: &str = include_str!("../seeds/goal-templates.json");

pub(crate) fn goal_template_catalogue() -> Vec<NewGoalTemplate> {
    serde_json::from_str(GOAL_TEMPLATES).expect("the embedded catalogue is valid JSON; a unit test proves it")
}

/// The password of every demo account. Demo data is for trying CareNest out, never production.
pub const DEMO_PASSWORD: &str = "carenest-demo";

pub struct DemoLogin {
    pub username: &'static str,
    pub role: Role,
}

pub const DEMO_ADMIN: &str = "demo.admin";
const DEMO_THERAPIST_USER: &str = "demo.anna";
const DEMO_THERAPISTS: &[&str] = &["Anna de Vries", "Bram Jansen", "Sara Bakker"];
/// A demo therapist's week: the days they work, and their morning and afternoon.
struct DemoWeek {
    weekdays: &'static [u8],
    hours: [(&'static str, &'static str); 2],
}

/// All keep a lunch break; Anna is off on Fridays and Sara on Mondays.
const DEMO_WEEKS: &[DemoWeek] = &[
    DemoWeek { weekdays: &[1, 2, 3, 4], hours: [("08:30", "12:00"), ("13:00", "17:00")] },
    DemoWeek { weekdays: &[1, 2, 3, 4, 5], hours: [("09:00", "12:30"), ("13:30", "17:30")] },
    DemoWeek { weekdays: &[2, 3, 4, 5], hours: [("08:30", "12:00"), ("12:30", "16:00")] },
];
/// The practice is closed on the first demo week's Friday.
const DEMO_CLOSURE: &str = "Teamdag";

struct DemoChild {
    name: &'static str,
    age: i32,
    special_needs: &'static [&'static str],
    notes: Option<&'static str>,
}

struct DemoFamily {
    username: &'static str,
    name: &'static str,
    stress: StressLevel,
    experience: ExperienceLevel,
    concerns: &'static [&'static str],
    language: &'static str,
    children: &'static [DemoChild],
    goals: &'static [(&'static str, &'static str, Option<usize>)],
}

const DEMO_FAMILIES: &[DemoFamily] = &[
    DemoFamily {
        username: "demo.eva",
        name: "Eva Smit",
        stress: StressLevel::High,
        experience: ExperienceLevel::FirstTime,
        concerns: &["slaap", "driftbuien"],
        language: "nl",
        children: &[DemoChild {
            name: "Noor",
            age: 3,
            special_needs: &[],
            notes: Some("Wordt twee keer per nacht wakker."),
        }],
        goals: &[("Bedritueel van 30 minuten", "sleep", Some(0)), ("Rusthoek in de woonkamer", "behaviour", Some(0))],
    },
    DemoFamily {
        username: "demo.jeroen",
        name: "Jeroen Visser",
        stress: StressLevel::Moderate,
        experience: ExperienceLevel::MultipleChildren,
        concerns: &["speech", "school"],
        language: "en",
        children: &[
            DemoChild {
                name: "Daan",
                age: 6,
                special_needs: &["speech delay"],
                notes: Some("Speech therapy since age 4."),
            },
            DemoChild { name: "Lotte", age: 9, special_needs: &[], notes: None },
        ],
        goals: &[("Read together every evening", "communication", Some(0)), ("Homework plan", "school", Some(1))],
    },
    DemoFamily {
        username: "demo.fatima",
        name: "Fatima El Amrani",
        stress: StressLevel::VeryHigh,
        experience: ExperienceLevel::Experienced,
        concerns: &["overprikkeling", "dagritme"],
        language: "nl",
        children: &[DemoChild {
            name: "Sami",
            age: 5,
            special_needs: &["autisme", "prikkelverwerking"],
            notes: Some("Heeft baat bij een visueel dagschema."),
        }],
        goals: &[("Visueel ochtendschema", "routines", Some(0)), ("Elke week tijd voor mezelf", "wellbeing", None)],
    },
];

pub fn demo_logins() -> Vec<DemoLogin> {
    let mut logins = vec![
        DemoLogin { username: DEMO_ADMIN, role: Role::Admin },
        DemoLogin { username: DEMO_THERAPIST_USER, role: Role::Therapist },
    ];
    logins.extend(DEMO_FAMILIES.iter().map(|f| DemoLogin { username: f.username, role: Role::Parent }));
    logins
}

/// Runs a seeder unless it ran before. Returns whether it ran.
pub async fn run(store: &dyn Store, name: &str, password_hash: &str) -> Result<bool, StoreError> {
    if store.seeders_run().await?.iter().any(|(ran, _)| ran == name) {
        return Ok(false);
    }
    match name {
        "goal-templates" => {
            store.upsert_goal_templates(&goal_template_catalogue()).await?;
        }
        "demo" => seed_demo(store, password_hash).await?,
        other => unreachable!("unknown seeder {other} was rejected by the command line"),
    }
    store.mark_seeder(name, true).await?;
    Ok(true)
}

/// Removes what a seeder added and forgets it ran. Returns whether it had run.
pub async fn undo(store: &dyn Store, name: &str) -> Result<bool, StoreError> {
    if !store.seeders_run().await?.iter().any(|(ran, _)| ran == name) {
        return Ok(false);
    }
    match name {
        "goal-templates" => {
            store
                .delete_goal_templates(&goal_template_catalogue().into_iter().map(|t| t.key).collect::<Vec<_>>())
                .await?
        }
        "demo" => undo_demo(store).await?,
        other => unreachable!("unknown seeder {other} was rejected by the command line"),
    }
    store.mark_seeder(name, false).await?;
    Ok(true)
}

/// Creates a demo account, or reuses it when an earlier undo kept it (the last admin stays).
async fn create_user(
    store: &dyn Store,
    username: &str,
    role: Role,
    password_hash: &str,
) -> Result<carenest_domain::accounts::User, StoreError> {
    if let Some(existing) = store.credentials_by_login(username).await? {
        return Ok(existing.user);
    }
    store
        .create_user(NewUser {
            username: username.to_owned(),
            email: format!("{username}@demo.carenest.dev"),
            password_hash: password_hash.to_owned(),
            profile_picture: None,
            role,
            first_token: None,
        })
        .await
}

fn time(text: &str) -> NaiveTime {
    carenest_domain::time::parse_time_of_day(text).expect("demo times are valid")
}

async fn seed_demo(store: &dyn Store, password_hash: &str) -> Result<(), StoreError> {
    let steps = 2 + DEMO_THERAPISTS.len() + DEMO_FAMILIES.len();
    let progress = Progress::new("demo", steps as u64);
    let admin = create_user(store, DEMO_ADMIN, Role::Admin, password_hash).await?;
    // The demo admin books the sessions, as practice staff would.
    let staff = Actor { user: admin.id, role: Role::Admin };
    progress.step("admin");
    let therapist_user = create_user(store, DEMO_THERAPIST_USER, Role::Parent, password_hash).await?;
    progress.step("therapist login");
    let mut therapists = Vec::new();
    for (index, (name, week)) in DEMO_THERAPISTS.iter().zip(DEMO_WEEKS).enumerate() {
        let user = (index == 0).then_some(therapist_user.id);
        let therapist = store.create_therapist((*name).to_owned(), user).await?;
        let weekly = week
            .weekdays
            .iter()
            .flat_map(|day| {
                week.hours.map(|(start, end)| WeeklyInterval { weekday: *day, start: time(start), end: time(end) })
            })
            .collect();
        store.set_working_hours(therapist.id, weekly).await?;
        therapists.push(therapist);
        progress.step("therapist");
    }
    // A month of weekly sessions from next Monday, each child with one or two therapists; a
    // closed day, and time off, where no session falls.
    let today = chrono::Local::now().date_naive();
    let monday = today + Duration::days(7 - i64::from(today.weekday().num_days_from_monday()));
    let friday = monday + Duration::days(4);
    store.create_closure(NewClosure { start_date: friday, end_date: friday, name: DEMO_CLOSURE.to_owned() }).await?;
    let course = NewTimeOff {
        start_date: monday + Duration::days(2),
        end_date: monday + Duration::days(2),
        start_time: Some(time("13:30")),
        end_time: Some(time("17:30")),
        reason: Some("Cursus".to_owned()),
    };
    store.create_time_off(therapists[1].id, course).await?;
    let day_off = monday + Duration::days(10);
    let leave = NewTimeOff { start_date: day_off, end_date: day_off, start_time: None, end_time: None, reason: None };
    store.create_time_off(therapists[2].id, leave).await?;
    let mut slot = 0i64;
    for family in DEMO_FAMILIES {
        let user = create_user(store, family.username, Role::Parent, password_hash).await?;
        let mut profile = NewParentProfile::new(family.name, family.stress, family.experience);
        profile.primary_concerns = family.concerns.iter().map(|c| (*c).to_owned()).collect();
        profile.preferred_language = family.language.to_owned();
        store.create_parent_profile(user.id, profile).await?;
        let mut children = Vec::new();
        for child in family.children {
            let mut new = NewChild::new(child.name, child.age);
            new.special_needs = child.special_needs.iter().map(|n| (*n).to_owned()).collect();
            new.development_notes = child.notes.map(str::to_owned);
            children.push(store.create_child(user.id, new).await?);
        }
        for (title, category, child) in family.goals {
            let mut goal = NewGoal::new(title);
            goal.category = Some((*category).to_owned());
            goal.child_profile_id = child.map(|index| children[index].id);
            goal.status = GoalStatus::Active;
            store.create_goal(user.id, goal).await?;
        }
        for child in &children {
            let weekday = slot % 5;
            let start = NaiveTime::from_hms_opt(9 + (slot / 5 % 7) as u32, 0, 0).expect("a valid hour");
            let lead = &therapists[slot as usize % therapists.len()];
            let mut therapist_ids = vec![lead.id];
            if child.special_needs.len() > 1 {
                therapist_ids.push(therapists[(slot as usize + 1) % therapists.len()].id);
            }
            store
                .create_sessions(
                    NewSession {
                        date: monday + Duration::days(weekday),
                        start_time: start,
                        end_time: start + Duration::minutes(45),
                        notes: None,
                        status: SessionStatus::Scheduled,
                        therapist_ids,
                        child_profile_id: Some(child.id),
                        repeat: Some(Repeat { every: RepeatEvery::Week, count: 4 }),
                        outside_working_hours: false,
                    },
                    staff,
                )
                .await?;
            slot += 1;
        }
        progress.step("family");
    }
    debug_assert_eq!(monday.weekday(), Weekday::Mon);
    progress.finish();
    Ok(())
}

async fn undo_demo(store: &dyn Store) -> Result<(), StoreError> {
    let admin = store.credentials_by_login(DEMO_ADMIN).await?.map_or(UserId(0), |c| c.user.id);
    let staff = Actor { user: admin, role: Role::Admin };
    for name in DEMO_THERAPISTS {
        let found = store.therapists(Some(name), PageRequest::first(MAX_LIMIT)).await?;
        for therapist in found.items.into_iter().filter(|t| t.name == *name) {
            loop {
                let filter = SessionFilter { therapist_id: Some(therapist.id), ..Default::default() };
                let sessions = store.sessions(SessionScope::All, filter, PageRequest::first(MAX_LIMIT)).await?;
                if sessions.items.is_empty() {
                    break;
                }
                for session in sessions.items {
                    store.delete_session(session.id, staff).await?;
                }
            }
            store.delete_therapist(therapist.id).await?;
        }
    }
    let closures = store.closures(PageRequest::first(MAX_LIMIT)).await?;
    for closure in closures.items.into_iter().filter(|c| c.name == DEMO_CLOSURE) {
        store.delete_closure(closure.id).await?;
    }
    for login in demo_logins() {
        if let Some(credentials) = store.credentials_by_login(login.username).await? {
            match store.erase_user(credentials.user.id).await {
                Err(StoreError::Conflict { constraint: "last_admin", .. }) => {
                    eprintln!("kept {} because it is the only admin", login.username);
                }
                other => other?,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn the_catalogue_has_sixty_complete_bilingual_templates_across_every_category() {
        let templates = goal_template_catalogue();
        assert!(templates.len() >= 60, "{} templates", templates.len());
        let keys: BTreeSet<_> = templates.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys.len(), templates.len(), "keys are unique");
        let categories: BTreeSet<_> = templates.iter().map(|t| t.category.as_str()).collect();
        let expected =
            ["behaviour", "communication", "play", "routines", "school", "self-care", "sensory", "sleep", "wellbeing"];
        assert_eq!(categories, expected.into_iter().collect());
        for t in &templates {
            for text in [&t.title, &t.description, &t.title_nl, &t.description_nl] {
                assert!(!text.trim().is_empty() && text.len() <= 200, "{}: {text:?}", t.key);
            }
            assert_ne!(t.title, t.title_nl, "{} is translated", t.key);
            assert!(t.tags.len() >= 4, "{} has tags in both languages", t.key);
            match (t.min_age, t.max_age) {
                (Some(lo), Some(hi)) => assert!(0 <= lo && lo <= hi && hi <= 25, "{}", t.key),
                (None, None) => assert_eq!(t.category, "wellbeing", "only the parent's own goals have no age range"),
                _ => panic!("{} has half an age range", t.key),
            }
        }
    }
}
