//! `GET/PATCH /api/v1/me/notifications` and the reminders in the export, on both backends.

mod common;

use carenest_store_tests::{on_both_backends, TestDb};
use common::TestApp;
use serde_json::json;

async fn families_are_reminded_by_default_and_can_turn_it_off_and_on(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, anna) = app.parent("anna").await;
    let answer = app.get("/api/v1/me/notifications", &anna).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json(), json!({"sessionReminders": true}));
    let off = app.patch("/api/v1/me/notifications", &anna, json!({"sessionReminders": false})).await;
    assert_eq!(off.json(), json!({"sessionReminders": false}));
    assert_eq!(app.get("/api/v1/me/notifications", &anna).await.json(), json!({"sessionReminders": false}));
    let (_, bob) = app.parent("bob").await;
    assert_eq!(app.get("/api/v1/me/notifications", &bob).await.json(), json!({"sessionReminders": true}), "per family");
}

async fn a_bad_notifications_body_is_refused_and_changes_nothing(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, anna) = app.parent("anna").await;
    for body in [json!({"sessionReminders": "no"}), json!({"sessionReminder": false}), json!({}), json!([false])] {
        let answer = app.patch("/api/v1/me/notifications", &anna, body.clone()).await;
        assert!(answer.status.is_client_error(), "{body}: {}", answer.text);
        assert_eq!(answer.content_type(), "application/problem+json", "{body}");
    }
    assert_eq!(app.get("/api/v1/me/notifications", &anna).await.json(), json!({"sessionReminders": true}));
    let anonymous = app.send(axum::http::Method::GET, "/api/v1/me/notifications", None, None).await;
    anonymous.problem(401);
}

async fn the_export_lists_the_family_reminders_without_their_content(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "admin").await;
    let (_, anna) = app.parent("anna").await;
    let child = app.post("/api/v1/children", &anna, json!({"name": "Noor", "age": 4})).await.json()["id"].clone();
    let therapist = app.post("/api/v1/therapists", &admin, json!({"name": "Bram"})).await.json()["id"].clone();
    let date = (chrono::Utc::now() + chrono::Duration::days(10)).date_naive().to_string();
    let booked = app
        .post(
            "/api/v1/sessions",
            &admin,
            json!({"date": date, "startTime": "10:00", "endTime": "10:45", "therapistIds": [therapist],
                   "childProfileId": child, "notes": "private"}),
        )
        .await;
    assert_eq!(booked.status, 201, "{}", booked.text);
    let export = app.get("/api/v1/me/export", &anna).await.json();
    let reminders = export["reminders"].as_array().unwrap();
    assert_eq!(reminders.len(), 1, "{export}");
    assert_eq!(reminders[0]["sessionId"], booked.json()["id"]);
    assert_eq!(reminders[0]["offsetMinutes"], 1440);
    assert_eq!(reminders[0]["state"], "pending");
    assert!(!reminders[0].to_string().contains("private"));
}

on_both_backends!(
    families_are_reminded_by_default_and_can_turn_it_off_and_on,
    a_bad_notifications_body_is_refused_and_changes_nothing,
    the_export_lists_the_family_reminders_without_their_content,
);
