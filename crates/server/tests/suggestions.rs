//! `GET /suggestions` with the real catalogue, through the real router, on both backends.

mod common;

use carenest_domain::suggestions::NewGoalTemplate;
use carenest_store_tests::{on_both_backends, TestDb};
use common::TestApp;
use serde_json::{json, Value};

async fn with_catalogue(db: &TestDb) -> TestApp {
    let catalogue: Vec<NewGoalTemplate> =
        serde_json::from_str(include_str!("../../carenest/seeds/goal-templates.json")).unwrap();
    db.store().upsert_goal_templates(&catalogue).await.unwrap();
    TestApp::new(db)
}

/// A family with a profile, some concerns, and children of the given ages and needs.
async fn family(app: &TestApp, name: &str, language: &str, concerns: &[&str], children: &[(i64, &[&str])]) -> String {
    let (_, token) = app.register(name).await;
    let created = app
        .post(
            "/api/v1/parent-profile",
            &token,
            json!({"name": name, "stressLevel": "moderate", "experienceLevel": "experienced", "primaryConcerns": concerns, "preferredLanguage": language}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    for (age, needs) in children {
        let child = app
            .post(
                "/api/v1/children",
                &token,
                json!({"name": format!("{name} child"), "age": age, "specialNeeds": needs}),
            )
            .await;
        assert_eq!(child.status, 201, "{}", child.text);
    }
    token
}

async fn suggest(app: &TestApp, token: &str) -> Vec<Value> {
    let response = app.get("/api/v1/suggestions", token).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.json()["items"].as_array().unwrap().clone()
}

fn categories(items: &[Value]) -> Vec<&str> {
    items.iter().map(|i| i["category"].as_str().unwrap()).collect()
}

async fn a_family_worried_about_sleep_gets_sleep_goals_at_the_top(db: &TestDb) {
    let app = with_catalogue(db).await;
    let token = family(&app, "anna", "en", &["sleep", "night waking"], &[(2, &[])]).await;
    let items = suggest(&app, &token).await;
    assert_eq!(&categories(&items)[..3], ["sleep", "sleep", "sleep"], "{items:#?}");
    assert!(
        items[0]["reasons"].as_array().unwrap().iter().any(|r| r == "matches your concern: sleep"),
        "{:#?}",
        items[0]
    );
    assert!(items.windows(2).all(|w| w[0]["score"].as_f64() >= w[1]["score"].as_f64()), "best first");
}

async fn a_family_worried_about_speech_gets_communication_goals(db: &TestDb) {
    let app = with_catalogue(db).await;
    let token = family(&app, "bram", "en", &["speech"], &[(3, &["speech delay"])]).await;
    let items = suggest(&app, &token).await;
    assert_eq!(&categories(&items)[..3], ["communication", "communication", "communication"], "{items:#?}");
    assert!(items[0]["reasons"].to_string().contains("speech delay"), "{:#?}", items[0]);
}

async fn a_teenagers_family_gets_no_toddler_goals(db: &TestDb) {
    let app = with_catalogue(db).await;
    let token = family(&app, "carla", "en", &["sleep", "tantrums"], &[(15, &[])]).await;
    let items = suggest(&app, &token).await;
    assert!(!items.is_empty());
    let catalogue: Vec<NewGoalTemplate> =
        serde_json::from_str(include_str!("../../carenest/seeds/goal-templates.json")).unwrap();
    for item in &items {
        let template = catalogue.iter().find(|t| t.title == item["title"]).expect("an English title of the catalogue");
        if let (Some(lo), Some(hi)) = (template.min_age, template.max_age) {
            assert!((lo..=hi).contains(&15), "{} is for ages {lo}-{hi}", template.key);
        }
    }
    assert!(categories(&items).contains(&"sleep"), "{items:#?}");
}

async fn a_dutch_family_is_answered_in_dutch_and_others_fall_back_to_english(db: &TestDb) {
    let app = with_catalogue(db).await;
    let dutch = family(&app, "daan", "nl", &["slaap", "doorslapen"], &[(2, &[])]).await;
    let items = suggest(&app, &dutch).await;
    assert_eq!(categories(&items)[0], "sleep", "{items:#?}");
    assert!(items[0]["reasons"].to_string().contains("past bij je zorg: slaap"), "{:#?}", items[0]);
    let catalogue: Vec<NewGoalTemplate> =
        serde_json::from_str(include_str!("../../carenest/seeds/goal-templates.json")).unwrap();
    assert!(catalogue.iter().any(|t| t.title_nl == items[0]["title"]), "a Dutch title");
    let french = family(&app, "eloise", "fr", &["sleep"], &[(2, &[])]).await;
    let items = suggest(&app, &french).await;
    assert!(catalogue.iter().any(|t| t.title == items[0]["title"]), "English for a language without translations");
}

async fn goals_the_family_has_are_left_out_and_adopting_links_the_template(db: &TestDb) {
    let app = with_catalogue(db).await;
    let token = family(&app, "anna", "en", &["sleep"], &[(2, &[])]).await;
    let first = suggest(&app, &token).await[0].clone();
    let adopted =
        app.post("/api/v1/goals", &token, json!({"title": first["title"], "templateId": first["templateId"]})).await;
    assert_eq!(adopted.status, 201, "{}", adopted.text);
    assert_eq!(adopted.json()["templateId"], first["templateId"]);
    let second = suggest(&app, &token).await[1].clone();
    app.post("/api/v1/goals", &token, json!({"title": second["title"]})).await;
    let after = suggest(&app, &token).await;
    assert!(
        after.iter().all(|i| i["templateId"] != first["templateId"] && i["templateId"] != second["templateId"]),
        "adopted by id or by title"
    );
    assert_eq!(
        app.post("/api/v1/goals", &token, json!({"title": "x", "templateId": 999_999})).await.invalid_fields(),
        ["templateId"]
    );
}

async fn adoption_by_similar_families_counts_only_from_three_and_names_nobody(db: &TestDb) {
    let app = with_catalogue(db).await;
    let catalogue = db.store().goal_templates().await.unwrap();
    let screens = catalogue.iter().find(|t| t.template.key == "sleep-screens-off").unwrap();
    let mut adopters = Vec::new();
    for name in ["fam1", "fam2"] {
        let token = family(&app, name, "en", &["sleep", "screens"], &[(6, &[])]).await;
        app.post("/api/v1/goals", &token, json!({"title": screens.template.title, "templateId": screens.id.0, "description": format!("secret of {name}")})).await;
        adopters.push(token);
    }
    let me = family(&app, "viewer", "en", &["sleep", "screens"], &[(6, &[])]).await;
    let shown = |items: &[Value]| {
        items.iter().find(|i| i["templateId"] == screens.id.0).map(|i| i["reasons"].to_string()).unwrap_or_default()
    };
    let two = suggest(&app, &me).await;
    assert!(!shown(&two).contains("families like yours"), "two adopters are not shown: {}", shown(&two));
    let token = family(&app, "fam3", "en", &["sleep", "screens"], &[(6, &[])]).await;
    app.post("/api/v1/goals", &token, json!({"title": screens.template.title})).await;
    let three = suggest(&app, &me).await;
    assert!(shown(&three).contains("chosen by 3 families like yours"), "{three:#?}");
    let text = serde_json::to_string(&three).unwrap();
    for private in ["fam1", "fam2", "fam3", "secret of"] {
        assert!(!text.contains(private), "{private} leaked");
    }
}

async fn asking_for_suggestions_sets_last_suggestion_check_and_needs_a_profile(db: &TestDb) {
    let app = with_catalogue(db).await;
    let (_, lonely) = app.register("lonely").await;
    app.get("/api/v1/suggestions", &lonely).await.problem(409);
    let token = family(&app, "anna", "en", &["sleep"], &[]).await;
    assert_eq!(app.get("/api/v1/parent-profile", &token).await.json()["lastSuggestionCheck"], json!(null));
    let answer = app.get("/api/v1/suggestions", &token).await.json();
    let checked = app.get("/api/v1/parent-profile", &token).await.json()["lastSuggestionCheck"].clone();
    assert_eq!(checked, answer["generatedAt"]);
}

async fn the_embedding_follows_every_change_to_the_profile_and_children(db: &TestDb) {
    let app = with_catalogue(db).await;
    let token = family(&app, "anna", "en", &["sleep"], &[]).await;
    let me = app.get("/api/v1/me", &token).await.json();
    let user = carenest_domain::ids::UserId(me["id"].as_i64().unwrap());
    let embedding =
        || async { db.store().parent_profile(user).await.unwrap().profile_embedding.expect("always stored") };
    let first = embedding().await;
    assert!(first.starts_with("ngram-v1:256:"), "{first}");
    let child =
        app.post("/api/v1/children", &token, json!({"name": "Noor", "age": 4})).await.json()["id"].as_i64().unwrap();
    let with_child = embedding().await;
    assert_ne!(with_child, first);
    app.patch(&format!("/api/v1/children/{child}"), &token, json!({"specialNeeds": ["speech delay"]})).await;
    let with_need = embedding().await;
    assert_ne!(with_need, with_child);
    app.patch("/api/v1/parent-profile", &token, json!({"bio": "We love the outdoors"})).await;
    assert_ne!(embedding().await, with_need);
    app.delete(&format!("/api/v1/children/{child}"), &token).await;
    let mut raw = db.raw().await;
    let buckets = raw.text("SELECT CAST(count(*) AS TEXT) FROM profile_neighbour_buckets").await;
    assert_eq!(buckets.as_deref(), Some(carenest_domain::suggestions::BANDS.to_string().as_str()));
}

on_both_backends!(
    a_family_worried_about_sleep_gets_sleep_goals_at_the_top,
    a_family_worried_about_speech_gets_communication_goals,
    a_teenagers_family_gets_no_toddler_goals,
    a_dutch_family_is_answered_in_dutch_and_others_fall_back_to_english,
    goals_the_family_has_are_left_out_and_adopting_links_the_template,
    adoption_by_similar_families_counts_only_from_three_and_names_nobody,
    asking_for_suggestions_sets_last_suggestion_check_and_needs_a_profile,
    the_embedding_follows_every_change_to_the_profile_and_children,
);
