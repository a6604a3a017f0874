//! `GET /suggestions` at 10,000 families: generated through the real store (so embeddings and
//! buckets are computed as in production), then timed through the real router.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, Request};
use carenest_domain::accounts::{NewUser, Role};
use carenest_domain::family::{ExperienceLevel, NewChild, NewGoal, NewParentProfile, StressLevel};
use carenest_domain::ids::UserId;
use carenest_domain::suggestions::NewGoalTemplate;
use carenest_domain::Store;
use carenest_server::{app, AppState, Settings};
use http_body_util::BodyExt;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use tower::ServiceExt;

use crate::{database_named, ms, Timing};

const CATALOGUE: &str = include_str!("../../carenest/seeds/goal-templates.json");
const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo";

const CONCERNS: &[&str] = &[
    "sleep",
    "slaap",
    "tantrums",
    "driftbuien",
    "speech",
    "spraak",
    "school",
    "huiswerk",
    "sensory overload",
    "overprikkeling",
    "routines",
    "dagritme",
    "siblings",
    "ruzie",
    "screen time",
    "schermtijd",
    "eating",
    "eten",
    "anxiety",
    "angst",
    "independence",
    "zelfstandigheid",
    "friends",
    "vriendjes",
    "stress",
    "moe",
];
const NEEDS: &[&str] =
    &["speech delay", "autism", "ADHD", "dyslexia", "sensory processing", "spraakachterstand", "autisme", "allergy"];

/// One generated family: a user, a profile, one to three children, and two goals taken from
/// templates whose tags meet one of its concerns (so that similar families adopt alike).
async fn add_family(store: &dyn Store, n: usize, catalogue: &[(i64, NewGoalTemplate)]) -> Result<UserId, String> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(n as u64);
    let user = store
        .create_user(NewUser {
            username: format!("family{n}"),
            email: format!("family{n}@bench.carenest.dev"),
            password_hash: PHC.to_owned(),
            profile_picture: None,
            role: Role::Parent,
            first_token: None,
        })
        .await
        .map_err(|e| e.to_string())?;
    let stress = [StressLevel::Low, StressLevel::Moderate, StressLevel::High, StressLevel::VeryHigh][n % 4];
    let mut profile = NewParentProfile::new(&format!("Family {n}"), stress, ExperienceLevel::Experienced);
    profile.primary_concerns = CONCERNS.choose_multiple(&mut rng, 2).map(|c| (*c).to_owned()).collect();
    profile.preferred_language = if n.is_multiple_of(2) { "nl" } else { "en" }.to_owned();
    store.create_parent_profile(user.id, profile.clone()).await.map_err(|e| e.to_string())?;
    for _ in 0..rng.gen_range(1..=3) {
        let mut child = NewChild::new("Kind", rng.gen_range(0..=17));
        if rng.gen_bool(0.3) {
            child.special_needs = vec![(*NEEDS.choose(&mut rng).expect("needs")).to_owned()];
        }
        store.create_child(user.id, child).await.map_err(|e| e.to_string())?;
    }
    let fitting: Vec<&(i64, NewGoalTemplate)> = catalogue
        .iter()
        .filter(|(_, t)| profile.primary_concerns.iter().any(|c| t.tags.iter().any(|tag| tag == c)))
        .collect();
    for (id, template) in fitting.choose_multiple(&mut rng, 2) {
        let mut goal = NewGoal::new(&template.title);
        goal.template_id = Some(carenest_domain::ids::TemplateId(*id));
        store.create_goal(user.id, goal).await.map_err(|e| e.to_string())?;
    }
    Ok(user.id)
}

pub async fn run(server: &str, families: usize, iterations: usize, keep: bool) -> Result<(), String> {
    let name = format!("carenest_bench_{}", rand::thread_rng().gen::<u32>());
    let url = database_named(server, &name);
    carenest_store::create_database(&url).await.map_err(|e| format!("creating {name}: {e}"))?;
    let store =
        carenest_store::connect(&url, carenest_store::PoolSettings::default()).await.map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    let templates: Vec<NewGoalTemplate> = serde_json::from_str(CATALOGUE).map_err(|e| e.to_string())?;
    store.upsert_goal_templates(&templates).await.map_err(|e| e.to_string())?;
    let catalogue: Arc<Vec<(i64, NewGoalTemplate)>> = Arc::new(
        store.goal_templates().await.map_err(|e| e.to_string())?.into_iter().map(|t| (t.id.0, t.template)).collect(),
    );
    println!(
        "scratch database {name}; {} templates; generating {families} families through the store",
        catalogue.len()
    );

    let started = Instant::now();
    let workers = 8;
    let handles: Vec<_> = (0..workers)
        .map(|worker| {
            let (store, catalogue) = (store.clone(), catalogue.clone());
            tokio::spawn(async move {
                let mut users = Vec::new();
                for n in (worker..families).step_by(workers) {
                    users.push(add_family(store.as_ref(), n, &catalogue).await?);
                }
                Ok::<_, String>(users)
            })
        })
        .collect();
    let mut users = Vec::new();
    for handle in handles {
        users.extend(handle.await.map_err(|e| e.to_string())??);
    }
    // The steady state autovacuum keeps: statistics, and a visibility map for index-only scans.
    let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.map_err(|e| e.to_string())?;
    sqlx::query("VACUUM (ANALYZE)").execute(&mut connection).await.map_err(|e| e.to_string())?;
    println!("  {families} families in {:.0} s", started.elapsed().as_secs_f64());

    let router = app(AppState::new(store.clone(), Settings::default()));
    let mut tokens = Vec::new();
    for user in users.choose_multiple(&mut rand::thread_rng(), 100) {
        let (token, hash) = carenest_app::passwords::new_token();
        store
            .insert_token(*user, &hash, carenest_domain::time::now() + chrono::Duration::days(1))
            .await
            .map_err(|e| e.to_string())?;
        tokens.push(token);
    }
    let mut samples = Vec::new();
    let mut items = 0;
    let mut with_adoption = 0;
    for i in 0..iterations + iterations / 5 {
        let request = Request::get("/api/v1/suggestions")
            .header(header::AUTHORIZATION, format!("Bearer {}", tokens[i % tokens.len()]))
            .body(Body::empty())
            .map_err(|e| e.to_string())?;
        let begun = Instant::now();
        let response = router.clone().oneshot(request).await.map_err(|e| e.to_string())?;
        let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        let elapsed = begun.elapsed();
        // The first fifth warms caches and connections.
        if i >= iterations / 5 {
            samples.push(elapsed);
            let answer: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
            let list = answer["items"].as_array().cloned().unwrap_or_default();
            items += list.len();
            with_adoption += usize::from(list.iter().any(|item| {
                item["reasons"].to_string().contains("families like yours")
                    || item["reasons"].to_string().contains("gezinnen zoals")
            }));
        }
    }
    let timing = Timing::of(samples);
    println!("\nGET /suggestions through the router, {iterations} requests over 100 families:");
    println!("  p50 {:.2} ms, p95 {:.2} ms; {:.1} suggestions per answer; {with_adoption} of {iterations} answers cite adoption by similar families",
        ms(timing.p50), ms(timing.p95), items as f64 / iterations as f64);
    store.close().await;
    if keep {
        println!("kept {}", carenest_store::redact(&url));
    } else {
        carenest_store::drop_database(&url).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}
