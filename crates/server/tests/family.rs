//! The Family section of the API contract, through the real router, on both backends.

mod common;

use carenest_store_tests::{on_both_backends, TestDb};
use common::TestApp;
use serde_json::json;

async fn a_parent_profile_is_created_read_changed_and_deleted(db: &TestDb) {
    let app = TestApp::new(db);
    let (anna, token) = app.register("anna").await;
    app.get("/api/v1/parent-profile", &token).await.problem(404);
    let created = app
        .post("/api/v1/parent-profile", &token, json!({"name": "Anna", "stressLevel": "high", "experienceLevel": "first_time", "primaryConcerns": ["sleep"], "bio": "Hello"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let profile = created.json();
    assert_eq!(profile["userId"], anna);
    assert_eq!(profile["preferredLanguage"], "nl");
    assert_eq!(profile["supportNetwork"], json!([]));
    assert_eq!(profile["onboardingData"], json!({}));
    assert!(profile.get("profileEmbedding").is_none(), "the embedding is internal");
    app.post(
        "/api/v1/parent-profile",
        &token,
        json!({"name": "Again", "stressLevel": "low", "experienceLevel": "experienced"}),
    )
    .await
    .problem(409);
    let changed =
        app.patch("/api/v1/parent-profile", &token, json!({"bio": null, "stressLevel": "moderate"})).await.json();
    assert_eq!(changed["bio"], json!(null));
    assert_eq!(changed["stressLevel"], "moderate");
    assert_eq!(changed["name"], "Anna", "absent fields stay");
    assert_eq!(changed["createdAt"], profile["createdAt"]);
    assert_eq!(app.delete("/api/v1/parent-profile", &token).await.status, 204);
    app.get("/api/v1/parent-profile", &token).await.problem(404);
}

async fn a_profile_with_many_mistakes_reports_every_one(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, token) = app.register("anna").await;
    let response = app
        .post("/api/v1/parent-profile", &token, json!({"stressLevel": "extreme", "experienceLevel": "guru", "primaryConcerns": ["ok", "x".repeat(201)], "preferredLanguage": "Dutch!", "email": "not-an-email"}))
        .await;
    let mut fields = response.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["email", "experienceLevel", "name", "preferredLanguage", "primaryConcerns[1]", "stressLevel"]);
    app.get("/api/v1/parent-profile", &token).await.problem(404);
}

async fn onboarding_moves_on_and_merges_its_data(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, token) = app.parent("anna").await;
    let start = app.get("/api/v1/onboarding", &token).await.json();
    assert_eq!(start, json!({"completedOnboarding": false, "currentOnboardingStep": 0, "onboardingData": {}}));
    app.patch(
        "/api/v1/onboarding",
        &token,
        json!({"onboardingData": {"kids": 2, "goals": ["sleep"]}, "currentOnboardingStep": 1}),
    )
    .await;
    let after = app
        .patch(
            "/api/v1/onboarding",
            &token,
            json!({"onboardingData": {"goals": ["school"]}, "completedOnboarding": true}),
        )
        .await
        .json();
    assert_eq!(
        after,
        json!({"completedOnboarding": true, "currentOnboardingStep": 1, "onboardingData": {"kids": 2, "goals": ["school"]}})
    );
    let bad =
        app.patch("/api/v1/onboarding", &token, json!({"onboardingData": [1], "currentOnboardingStep": -1})).await;
    assert_eq!(bad.invalid_fields(), ["currentOnboardingStep", "onboardingData"]);
    let deep = (0..12).fold(json!(1), |inner, _| json!({"a": inner}));
    assert_eq!(
        app.patch("/api/v1/onboarding", &token, json!({"onboardingData": deep})).await.invalid_fields(),
        ["onboardingData"]
    );
}

async fn children_need_a_profile_and_are_validated_field_by_field(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, lonely) = app.register("lonely").await;
    app.post("/api/v1/children", &lonely, json!({"name": "Noor", "age": 3})).await.problem(409);
    let (_, token) = app.parent("anna").await;
    let bad = app
        .post("/api/v1/children", &token, json!({"name": "", "age": 26, "routines": "bedtime", "specialNeeds": [""]}))
        .await;
    assert_eq!(bad.invalid_fields(), ["name", "age", "specialNeeds[0]", "routines"]);
    assert_eq!(app.post("/api/v1/children", &token, json!({})).await.invalid_fields(), ["name", "age"]);
    let created = app
        .post(
            "/api/v1/children",
            &token,
            json!({"name": "Noor", "age": 0, "routines": [{"at": "19:00"}], "lastAssessment": "2026-10-01T10:00:00Z"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let child = created.json();
    assert_eq!(child["routines"], json!([{"at": "19:00"}]));
    assert_eq!(child["lastAssessment"], "2026-10-01T10:00:00Z");
    let id = child["id"].as_i64().unwrap();
    let changed = app
        .patch(&format!("/api/v1/children/{id}"), &token, json!({"age": 1, "developmentNotes": "Crawls."}))
        .await
        .json();
    assert_eq!((changed["age"].as_i64(), changed["developmentNotes"].as_str()), (Some(1), Some("Crawls.")));
    assert_eq!(app.get(&format!("/api/v1/children/{id}"), &token).await.json(), changed);
    assert_eq!(app.delete(&format!("/api/v1/children/{id}"), &token).await.status, 204);
    app.get(&format!("/api/v1/children/{id}"), &token).await.problem(404);
}

async fn another_family_gets_404_on_every_id_and_empty_lists(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, anna) = app.parent("anna").await;
    let (_, bob) = app.parent("bob").await;
    let child =
        app.post("/api/v1/children", &anna, json!({"name": "Noor", "age": 3})).await.json()["id"].as_i64().unwrap();
    let goal = app.post("/api/v1/goals", &anna, json!({"title": "Sleep", "childProfileId": child})).await.json()["id"]
        .as_i64()
        .unwrap();
    for path in [format!("/api/v1/children/{child}"), format!("/api/v1/goals/{goal}")] {
        app.get(&path, &bob).await.problem(404);
        app.patch(&path, &bob, json!({})).await.problem(404);
        app.delete(&path, &bob).await.problem(404);
    }
    for path in ["/api/v1/children", "/api/v1/goals"] {
        assert_eq!(app.get(path, &bob).await.json(), json!({"items": [], "nextCursor": null}));
    }
    let stolen = app.post("/api/v1/goals", &bob, json!({"title": "Mine now", "childProfileId": child})).await;
    assert_eq!(stolen.invalid_fields(), ["childProfileId"]);
    assert_eq!(app.get(&format!("/api/v1/children/{child}"), &anna).await.status, 200, "still there");
}

async fn goals_are_validated_filtered_and_paged(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, token) = app.parent("anna").await;
    let bad = app
        .post(
            "/api/v1/goals",
            &token,
            json!({"title": " ", "progress": 101, "status": "done", "targetDate": "2026-02-30"}),
        )
        .await;
    assert_eq!(
        bad.invalid_fields(),
        ["targetDate", "title", "status", "progress"],
        "a date that does not exist is reported together with the rules the other fields break"
    );
    let bad = app.post("/api/v1/goals", &token, json!({"title": " ", "progress": 101, "status": "done"})).await;
    assert_eq!(bad.invalid_fields(), ["title", "status", "progress"]);
    for (title, status) in [("A", "active"), ("B", "paused"), ("C", "active"), ("D", "completed")] {
        let created = app
            .post("/api/v1/goals", &token, json!({"title": title, "status": status, "targetDate": "2027-01-31"}))
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
    }
    let active = app.get("/api/v1/goals?status=active&limit=1", &token).await.json();
    assert_eq!(active["items"][0]["title"], "A");
    let cursor = active["nextCursor"].as_str().unwrap();
    let next = app.get(&format!("/api/v1/goals?status=active&limit=1&cursor={cursor}"), &token).await.json();
    assert_eq!(next["items"][0]["title"], "C");
    assert_eq!(next["nextCursor"], json!(null));
    let goal = &next["items"][0];
    assert_eq!(goal["progress"], 0);
    assert_eq!(goal["targetDate"], "2027-01-31");
}

async fn me_nests_the_whole_family_at_the_same_cost_whatever_its_size(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, token) = app.parent("anna").await;
    let round_trips = || async {
        let before = db.inspect().statements();
        let me = app.get("/api/v1/me", &token).await.json();
        (me, db.inspect().statements() - before)
    };
    // The token's first use is noted once; measure after it.
    round_trips().await;
    let (_, for_no_children) = round_trips().await;
    let child = app.post("/api/v1/children", &token, json!({"name": "Noor", "age": 3})).await.json();
    for n in 0..8 {
        let goal = json!({"title": format!("Goal {n}"), "childProfileId": child["id"]});
        app.post("/api/v1/goals", &token, goal).await;
    }
    for n in 0..3 {
        app.post("/api/v1/children", &token, json!({"name": format!("Kid {n}"), "age": n})).await;
    }
    let (me, for_four_children_and_eight_goals) = round_trips().await;
    assert_eq!(me["parentProfile"]["name"], "anna");
    assert_eq!(me["childProfiles"][0], child);
    assert_eq!(me["childProfiles"].as_array().unwrap().len(), 4);
    assert_eq!(me["parentingGoals"][0]["childProfileId"], child["id"]);
    assert_eq!(me["parentingGoals"].as_array().unwrap().len(), 8);
    assert_eq!(for_four_children_and_eight_goals, for_no_children, "no query per child or goal");
    let expected = if db.backend() == "sqlite" { 6 } else { 2 };
    assert_eq!(for_no_children, expected, "the token; then the family in one statement, or on SQLite in five");
}

async fn the_familys_own_changes_appear_in_its_access_log(db: &TestDb) {
    let app = TestApp::new(db);
    let (anna, token) = app.parent("anna").await;
    let child =
        app.post("/api/v1/children", &token, json!({"name": "Noor", "age": 3})).await.json()["id"].as_i64().unwrap();
    app.patch(&format!("/api/v1/children/{child}"), &token, json!({"age": 4})).await;
    let log = app.get("/api/v1/me/access-log", &token).await.json();
    let entries = log["items"].as_array().unwrap();
    let actions: Vec<_> =
        entries.iter().map(|e| (e["action"].as_str().unwrap(), e["resourceType"].as_str().unwrap())).collect();
    assert_eq!(
        actions,
        [("update", "child_profile"), ("create", "child_profile"), ("create", "parent_profile")],
        "newest first"
    );
    assert!(entries.iter().all(|e| e["actorUserId"] == anna && e["subjectUserId"] == anna));
    assert!(!log.to_string().contains("Noor"), "no content in the log");
}

on_both_backends!(
    a_parent_profile_is_created_read_changed_and_deleted,
    a_profile_with_many_mistakes_reports_every_one,
    onboarding_moves_on_and_merges_its_data,
    children_need_a_profile_and_are_validated_field_by_field,
    another_family_gets_404_on_every_id_and_empty_lists,
    goals_are_validated_filtered_and_paged,
    me_nests_the_whole_family_at_the_same_cost_whatever_its_size,
    the_familys_own_changes_appear_in_its_access_log,
);
