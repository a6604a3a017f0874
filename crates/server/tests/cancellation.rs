//! Requests whose clients go away are cancelled wherever they are, on both backends: inside a
//! read transaction, inside a write, halfway through a BEGIN. None of that may leave a pooled
//! connection inside a transaction, and no write of a cancelled request may be committed later
//! by someone else's COMMIT.

mod common;

use std::time::Duration;

use carenest_store_tests::{on_both_backends, TestDb};
use common::TestApp;
use futures::future::join_all;
use rand::Rng;
use serde_json::json;

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.raw().await.text(&format!("SELECT CAST(({sql}) AS TEXT)")).await.unwrap().parse().unwrap()
}

async fn cancelled_requests_leave_no_connection_in_a_transaction_and_no_write_behind(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "admin").await;
    let (_, parent) = app.parent("parent").await;
    let child = app.post("/api/v1/children", &parent, json!({"name": "Noor", "age": 4})).await.json()["id"].clone();
    let goal = app.post("/api/v1/goals", &parent, json!({"title": "Sleep"})).await.json()["id"].clone();
    let mut therapists = Vec::new();
    for name in ["Anna", "Bram", "Cleo", "Daan"] {
        therapists.push(app.post("/api/v1/therapists", &admin, json!({"name": name})).await.json()["id"].clone());
    }
    let mut rng = rand::thread_rng();
    let mut booked = 0u32;
    for round in 0..24 {
        let requests = (0..32).map(|n| {
            let cut = Duration::from_micros(rng.gen_range(0..1_500));
            let app = &app;
            let (admin, parent) = (admin.clone(), parent.clone());
            let (child, goal) = (child.clone(), goal.clone());
            booked += 1;
            // Each booking its own slot, so only cancellation can keep one from landing.
            let minute = booked % 600;
            let slot = json!({
                "date": format!("2027-01-{:02}", 1 + round),
                "startTime": format!("{:02}:{:02}", 8 + minute / 60, minute % 60),
                "endTime": format!("{:02}:{:02}", 8 + minute / 60, minute % 60 + 1).replace(":60", ":59"),
                "therapistIds": [therapists[n % 4].clone(), therapists[(n + 1) % 4].clone()],
                "childProfileId": child,
            });
            async move {
                let request = async {
                    match n % 4 {
                        0 => app.get("/api/v1/me", &parent).await,
                        1 => app.post("/api/v1/sessions", &admin, slot).await,
                        2 => app.patch(&format!("/api/v1/goals/{goal}"), &parent, json!({"progress": n})).await,
                        _ => app.get("/api/v1/sessions?limit=20", &admin).await,
                    }
                };
                let _ = tokio::time::timeout(cut, request).await;
            }
        });
        join_all(requests).await;
        let leaked = db.connections_left_in_a_transaction().await;
        assert_eq!(leaked, 0, "after round {round}, a pooled connection stays inside a transaction");
    }
    let half_written =
        count(db, "SELECT count(*) FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM session_therapists st WHERE st.session_id = s.id)").await;
    assert_eq!(half_written, 0, "a session without the therapists it was booked with");
    let before = count(db, "SELECT count(*) FROM sessions").await;
    for n in 0..10 {
        let slot = json!({"date": "2027-02-01", "startTime": format!("{:02}:00", 8 + n), "endTime": format!("{:02}:30", 8 + n), "therapistIds": [therapists[0].clone()]});
        assert_eq!(app.post("/api/v1/sessions", &admin, slot).await.status, 201);
    }
    assert_eq!(
        count(db, "SELECT count(*) FROM sessions").await,
        before + 10,
        "later commits brought no cancelled request's write with them"
    );
    assert_eq!(db.inspect().idle_connections_in_transaction().await.unwrap(), 0);
}

on_both_backends!(cancelled_requests_leave_no_connection_in_a_transaction_and_no_write_behind);
