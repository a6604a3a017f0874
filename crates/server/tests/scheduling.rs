//! The Scheduling section of the API contract, through the real router, on both backends.

mod common;

use carenest_domain::ids::UserId;
use carenest_store_tests::{on_both_backends, TestDb};
use common::TestApp;
use serde_json::{json, Value};

async fn therapist(app: &TestApp, admin: &str, name: &str) -> i64 {
    let response = app.post("/api/v1/therapists", admin, json!({"name": name})).await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.json()["id"].as_i64().unwrap()
}

async fn book(app: &TestApp, admin: &str, body: Value) -> Value {
    let response = app.post("/api/v1/sessions", admin, body).await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.json()
}

async fn an_admin_books_a_session_and_everyone_reads_it_in_the_contracts_shape(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "admin").await;
    let anna = therapist(&app, &admin, "Anna").await;
    let bram = therapist(&app, &admin, "Bram").await;
    let session = book(&app, &admin, json!({"date": "2026-12-01", "startTime": "09:00", "endTime": "09:45:30", "notes": "Intake", "therapistIds": [bram, anna]})).await;
    assert_eq!(session["startTime"], "09:00:00");
    assert_eq!(session["endTime"], "09:45:30");
    assert_eq!(session["status"], "scheduled");
    assert_eq!(session["seriesId"], json!(null));
    assert_eq!(
        session["therapists"],
        json!([{"id": anna, "name": "Anna"}, {"id": bram, "name": "Bram"}]),
        "ordered by id"
    );
    let id = session["id"].as_i64().unwrap();
    assert_eq!(app.get(&format!("/api/v1/sessions/{id}"), &admin).await.json(), session);
    let listed = app.get("/api/v1/sessions?from=2026-12-01&to=2026-12-01", &admin).await.json();
    assert_eq!(listed["items"][0], session);
    assert_eq!(app.get(&format!("/api/v1/therapists/{anna}/sessions"), &admin).await.json()["items"][0]["id"], id);
}

async fn a_double_booking_is_409_listing_every_conflict_and_writes_nothing(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "admin").await;
    let anna = therapist(&app, &admin, "Anna").await;
    let bram = therapist(&app, &admin, "Bram").await;
    let first = book(
        &app,
        &admin,
        json!({"date": "2026-12-01", "startTime": "09:00", "endTime": "10:00", "therapistIds": [anna]}),
    )
    .await;
    let second = book(
        &app,
        &admin,
        json!({"date": "2026-12-01", "startTime": "10:00", "endTime": "11:00", "therapistIds": [bram]}),
    )
    .await;
    let clash = app
        .post(
            "/api/v1/sessions",
            &admin,
            json!({"date": "2026-12-01", "startTime": "09:30", "endTime": "10:30", "therapistIds": [anna, bram]}),
        )
        .await;
    let problem = clash.problem(409);
    assert_eq!(
        problem["conflicts"],
        json!([
            {"therapistId": anna, "reason": "booked", "sessionId": first["id"], "date": "2026-12-01", "startTime": "09:00:00", "endTime": "10:00:00"},
            {"therapistId": bram, "reason": "booked", "sessionId": second["id"], "date": "2026-12-01", "startTime": "10:00:00", "endTime": "11:00:00"},
        ])
    );
    assert_eq!(app.get("/api/v1/sessions", &admin).await.json()["items"].as_array().unwrap().len(), 2);
}

async fn a_series_is_created_whole_or_refused_whole(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "admin").await;
    let anna = therapist(&app, &admin, "Anna").await;
    let blocker = book(
        &app,
        &admin,
        json!({"date": "2026-12-15", "startTime": "09:30", "endTime": "10:30", "therapistIds": [anna]}),
    )
    .await;
    let body = json!({"date": "2026-12-01", "startTime": "09:00", "endTime": "10:00", "therapistIds": [anna], "repeat": {"every": "week", "count": 4}});
    let refused = app.post("/api/v1/sessions", &admin, body.clone()).await.problem(409);
    assert_eq!(refused["conflicts"][0]["sessionId"], blocker["id"]);
    assert_eq!(app.delete(&format!("/api/v1/sessions/{}", blocker["id"]), &admin).await.status, 204);
    let series = book(&app, &admin, body).await;
    let items = series["items"].as_array().unwrap();
    assert_eq!(
        items.iter().map(|s| s["date"].as_str().unwrap()).collect::<Vec<_>>(),
        ["2026-12-01", "2026-12-08", "2026-12-15", "2026-12-22"]
    );
    assert!(items.iter().all(|s| s["seriesId"] == items[0]["id"]));
    let bad = app.post("/api/v1/sessions", &admin, json!({"date": "2026-12-01", "startTime": "09:00", "endTime": "10:00", "therapistIds": [anna], "repeat": {"every": "month", "count": 60}})).await;
    assert_eq!(bad.invalid_fields(), ["repeat.every", "repeat.count"]);
}

async fn session_input_is_validated_all_at_once(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "admin").await;
    let anna = therapist(&app, &admin, "Anna").await;
    let bad = app.post("/api/v1/sessions", &admin, json!({"date": "2026-12-01", "startTime": "10:00", "endTime": "09:00", "therapistIds": [anna, anna, 0], "notes": "x".repeat(10_001), "status": "maybe"})).await;
    assert_eq!(bad.invalid_fields(), ["endTime", "notes", "status", "therapistIds[1]", "therapistIds[2]"]);
    let missing = app.post("/api/v1/sessions", &admin, json!({})).await;
    assert_eq!(missing.invalid_fields(), ["date", "startTime", "endTime", "therapistIds"]);
    let unknown = app
        .post(
            "/api/v1/sessions",
            &admin,
            json!({"date": "2026-12-01", "startTime": "09:00", "endTime": "10:00", "therapistIds": [anna, 999]}),
        )
        .await;
    assert_eq!(unknown.invalid_fields(), ["therapistIds[1]"]);
    let bad_time = app
        .post(
            "/api/v1/sessions",
            &admin,
            json!({"date": "2026-12-01", "startTime": "9am", "endTime": "25:00", "therapistIds": [anna]}),
        )
        .await;
    assert_eq!(bad_time.invalid_fields(), ["startTime", "endTime"]);
    let bad_child = app.post("/api/v1/sessions", &admin, json!({"date": "2026-12-01", "startTime": "09:00", "endTime": "10:00", "therapistIds": [anna], "childProfileId": 4242})).await;
    assert_eq!(bad_child.invalid_fields(), ["childProfileId"]);
    assert_eq!(app.get("/api/v1/sessions", &admin).await.json()["items"], json!([]));
}

async fn parents_see_their_childrens_sessions_and_therapists_edit_only_their_notes(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "admin").await;
    let (_, anna) = app.parent("anna").await;
    let (_, bob) = app.parent("bob").await;
    let (tess_user, tess) = app.register("tess").await;
    let tess_id = db.store().create_therapist("Tess".into(), Some(UserId(tess_user))).await.unwrap().id.0;
    let other = therapist(&app, &admin, "Other").await;
    let noor =
        app.post("/api/v1/children", &anna, json!({"name": "Noor", "age": 3})).await.json()["id"].as_i64().unwrap();
    let noors = book(&app, &admin, json!({"date": "2026-12-01", "startTime": "09:00", "endTime": "10:00", "therapistIds": [tess_id], "childProfileId": noor})).await;
    let unrelated = book(
        &app,
        &admin,
        json!({"date": "2026-12-01", "startTime": "09:00", "endTime": "10:00", "therapistIds": [other]}),
    )
    .await;
    let ids = |body: Value| body["items"].as_array().unwrap().iter().map(|s| s["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(app.get("/api/v1/sessions", &anna).await.json()), [noors["id"].clone()]);
    assert_eq!(ids(app.get("/api/v1/sessions", &bob).await.json()), Vec::<Value>::new());
    assert_eq!(ids(app.get("/api/v1/sessions", &tess).await.json()), [noors["id"].clone()]);
    app.get(&format!("/api/v1/sessions/{}", noors["id"]), &bob).await.problem(404);
    app.get(&format!("/api/v1/sessions/{}", unrelated["id"]), &tess).await.problem(404);
    let noted = app.patch(&format!("/api/v1/sessions/{}", noors["id"]), &tess, json!({"notes": "Went well."})).await;
    assert_eq!(noted.json()["notes"], "Went well.");
    app.patch(&format!("/api/v1/sessions/{}", noors["id"]), &tess, json!({"startTime": "08:00"})).await.problem(403);
    app.patch(&format!("/api/v1/sessions/{}", unrelated["id"]), &tess, json!({"notes": "Not mine."}))
        .await
        .problem(404);
    app.patch(&format!("/api/v1/sessions/{}", noors["id"]), &anna, json!({"notes": "Parent note"})).await.problem(403);
    // The therapist read and changed a child's data: the family can see that.
    let log = app.get("/api/v1/me/access-log", &anna).await.json();
    let by_tess: Vec<_> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actorUserId"] == tess_user)
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(by_tess.contains(&"read".to_owned()) && by_tess.contains(&"update".to_owned()), "{log}");
}

async fn every_answer_that_hands_a_childs_session_to_staff_is_in_the_familys_access_log(db: &TestDb) {
    let app = TestApp::new(db);
    let (admin_id, admin) = app.admin(db, "admin").await;
    let (_, anna) = app.parent("anna").await;
    let tess = therapist(&app, &admin, "Tess").await;
    let noor =
        app.post("/api/v1/children", &anna, json!({"name": "Noor", "age": 3})).await.json()["id"].as_i64().unwrap();
    let session = book(&app, &admin, json!({"date": "2026-12-01", "startTime": "09:00", "endTime": "10:00", "therapistIds": [tess], "childProfileId": noor, "notes": "Slaapt slecht."})).await;
    let path = format!("/api/v1/sessions/{}", session["id"]);
    let reads_by_admin = || async {
        let log = app.get("/api/v1/me/access-log?limit=200", &anna).await.json();
        let items = log["items"].as_array().unwrap().clone();
        items.iter().filter(|e| e["actorUserId"] == admin_id && e["action"] == "read").count()
    };
    let before = reads_by_admin().await;
    let unchanged = app.patch(&path, &admin, json!({})).await;
    assert_eq!(unchanged.json()["notes"], "Slaapt slecht.", "a no-op change still answers the notes");
    assert_eq!(reads_by_admin().await, before + 1, "the no-op PATCH is a read");
    let again = app.put(&format!("{path}/therapists/{tess}"), &admin, json!({})).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(reads_by_admin().await, before + 2, "adding a therapist who is already there is a read");
    app.get(&path, &admin).await;
    assert_eq!(reads_by_admin().await, before + 3);
}

async fn therapists_are_added_and_removed_one_at_a_time(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "admin").await;
    let anna = therapist(&app, &admin, "Anna").await;
    let bram = therapist(&app, &admin, "Bram").await;
    let session = book(
        &app,
        &admin,
        json!({"date": "2026-12-01", "startTime": "09:00", "endTime": "10:00", "therapistIds": [anna]}),
    )
    .await;
    let path = format!("/api/v1/sessions/{}/therapists/{bram}", session["id"]);
    let added = app.send(axum::http::Method::PUT, &path, Some(&admin), None).await;
    assert_eq!(added.status, 200, "{}", added.text);
    assert_eq!(added.json()["therapists"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.send(axum::http::Method::PUT, &path, Some(&admin), None).await.json()["therapists"],
        added.json()["therapists"],
        "idempotent"
    );
    assert_eq!(app.delete(&path, &admin).await.status, 204);
    app.send(
        axum::http::Method::PUT,
        &format!("/api/v1/sessions/{}/therapists/999", session["id"]),
        Some(&admin),
        None,
    )
    .await
    .problem(404);
    assert_eq!(app.delete(&format!("/api/v1/therapists/{anna}"), &admin).await.status, 204);
    let kept = app.get(&format!("/api/v1/sessions/{}", session["id"]), &admin).await.json();
    assert_eq!(kept["therapists"], json!([]), "the session stays without the therapist");
}

async fn therapists_are_listed_by_name_searched_and_linked_to_users(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "admin").await;
    let (tess_user, tess) = app.register("tess").await;
    for name in ["Zoë", "Anna", "Bram"] {
        therapist(&app, &admin, name).await;
    }
    let linked = app.post("/api/v1/therapists", &admin, json!({"name": "Tess", "userId": tess_user})).await.json();
    assert_eq!(linked["userId"], tess_user);
    assert_eq!(app.get("/api/v1/me", &tess).await.json()["role"], "therapist");
    let names = |body: Value| {
        body["items"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(names(app.get("/api/v1/therapists", &tess).await.json()), ["Anna", "Bram", "Tess", "Zoë"]);
    assert_eq!(names(app.get("/api/v1/therapists?q=an", &tess).await.json()), ["Anna"]);
    // A control character is refused even where trimming would remove it.
    let refused = app.get("/api/v1/therapists?q=O%0B", &tess).await.problem(400);
    assert_eq!(refused["errors"][0]["field"], "q");
    assert_eq!(app.get("/api/v1/therapists?q=%20an%20", &tess).await.status, 200);
    let page = app.get("/api/v1/therapists?limit=3", &tess).await.json();
    let rest = app
        .get(&format!("/api/v1/therapists?limit=3&cursor={}", page["nextCursor"].as_str().unwrap()), &tess)
        .await
        .json();
    assert_eq!(names(rest), ["Zoë"]);
    assert_eq!(app.post("/api/v1/therapists", &admin, json!({"name": ""})).await.invalid_fields(), ["name"]);
    app.post("/api/v1/therapists", &admin, json!({"name": "Twice", "userId": tess_user})).await.problem(409);
}

async fn the_calendar_feed_parses_in_a_real_icalendar_parser_and_keeps_health_data_out(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "admin").await;
    let (_, anna) = app.parent("anna").await;
    let noor =
        app.post("/api/v1/children", &anna, json!({"name": "Noortje", "age": 3})).await.json()["id"].as_i64().unwrap();
    let tess = therapist(&app, &admin, "Tess; de \\ Vries, MSc").await;
    let bram = therapist(&app, &admin, "Bram").await;
    let summer = book(&app, &admin, json!({"date": "2026-07-01", "startTime": "09:00", "endTime": "09:45", "therapistIds": [tess, bram], "childProfileId": noor, "notes": "Secret health note"})).await;
    let winter = book(&app, &admin, json!({"date": "2026-12-01", "startTime": "14:00", "endTime": "15:00", "therapistIds": [tess], "status": "cancelled"})).await;
    let response =
        app.get(&format!("/api/v1/therapists/{tess}/calendar.ics?from=2026-06-01&to=2026-12-31"), &admin).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.content_type(), "text/calendar; charset=utf-8");
    let feed = response.text;
    assert!(feed.ends_with("\r\n") && !feed.replace("\r\n", "").contains('\n'), "every line ends with CRLF");
    assert!(feed.split("\r\n").all(|line| line.len() <= 75), "lines are folded at 75 octets");
    assert!(!feed.contains("Noortje") && !feed.contains("Secret health note"), "no child's name or notes");
    assert!(feed.contains("DESCRIPTION:Therapists: Tess\\; de \\\\ Vries\\, MSc\\, Bram"), "{feed}");
    app.get(&format!("/api/v1/therapists/{tess}/calendar.ics?from=2026-01-01&to=2029-01-01"), &admin)
        .await
        .problem(400);
    app.get("/api/v1/therapists/999/calendar.ics", &admin).await.problem(404);

    let Some(python) = common::python_with("icalendar") else { return };
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &feed).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/check_calendar.py");
    let output = std::process::Command::new(python).arg(script).arg(file.path()).output().unwrap();
    assert!(output.status.success(), "icalendar refused the feed: {}", String::from_utf8_lossy(&output.stderr));
    let parsed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(parsed["timezones"], json!(["Europe/Amsterdam"]));
    let events = parsed["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["uid"], format!("session-{}@carenest.dev", summer["id"]));
    assert_eq!(events[0]["start"], "2026-07-01T09:00:00+02:00", "summer time");
    assert_eq!(events[0]["end"], "2026-07-01T09:45:00+02:00");
    assert_eq!(events[0]["description"], "Therapists: Tess; de \\ Vries, MSc, Bram");
    assert_eq!(events[0]["status"], "CONFIRMED");
    assert_eq!(events[1]["uid"], format!("session-{}@carenest.dev", winter["id"]));
    assert_eq!(events[1]["start"], "2026-12-01T14:00:00+01:00", "winter time");
    assert_eq!(events[1]["status"], "CANCELLED");
    assert_eq!(events[1]["summary"], "Therapy session");
}

async fn dates_beyond_what_every_backend_holds_are_422_not_500(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "admin").await;
    let anna = therapist(&app, &admin, "Anna").await;
    let far = app
        .post(
            "/api/v1/sessions",
            &admin,
            json!({"date": "10000-01-01", "startTime": "09:00", "endTime": "10:00", "therapistIds": [anna]}),
        )
        .await;
    assert_eq!(far.invalid_fields(), ["date"]);
    let old = app
        .post(
            "/api/v1/sessions",
            &admin,
            json!({"date": "0000-12-31", "startTime": "09:00", "endTime": "10:00", "therapistIds": [anna]}),
        )
        .await;
    assert_eq!(old.invalid_fields(), ["date"]);
    let series = json!({"date": "9999-11-01", "startTime": "09:00", "endTime": "10:00", "therapistIds": [anna], "repeat": {"every": "2 weeks", "count": 52}});
    assert_eq!(app.post("/api/v1/sessions", &admin, series).await.invalid_fields(), ["repeat.count"]);
    let edge = app
        .post(
            "/api/v1/sessions",
            &admin,
            json!({"date": "9999-12-31", "startTime": "09:00", "endTime": "10:00", "therapistIds": [anna]}),
        )
        .await;
    assert_eq!(edge.status, 201, "the last day both backends hold: {}", edge.text);
    let (_, parent) = app.parent("anna").await;
    let goal = app.post("/api/v1/goals", &parent, json!({"title": "Far", "targetDate": "12345-01-01"})).await;
    assert_eq!(goal.invalid_fields(), ["targetDate"]);
    let child = app
        .post("/api/v1/children", &parent, json!({"name": "Noor", "age": 3, "lastAssessment": "0000-10-14T09:00:00Z"}))
        .await;
    assert_eq!(child.invalid_fields(), ["lastAssessment"]);
    let shifted = json!({"name": "Noor", "age": 3, "lastAssessment": "0001-01-01T00:30:00+01:00"});
    assert_eq!(
        app.post("/api/v1/children", &parent, shifted).await.invalid_fields(),
        ["lastAssessment"],
        "year 0 in UTC"
    );
    let old = json!({"name": "Noor", "age": 3, "lastAssessment": "1066-10-14T09:00:00Z"});
    let old = app.post("/api/v1/children", &parent, old).await;
    assert_eq!(old.json()["lastAssessment"], "1066-10-14T09:00:00Z", "early years read back alike: {}", old.text);
}

async fn a_therapists_read_costs_no_more_round_trips_than_an_admins(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "admin").await;
    let (tess_user, tess) = app.register("tess").await;
    let therapist = app.post("/api/v1/therapists", &admin, json!({"name": "Tess", "userId": tess_user})).await.json();
    let (_, anna) = app.parent("anna").await;
    let child = app.post("/api/v1/children", &anna, json!({"name": "Noor", "age": 4})).await.json();
    for day in 1..=3 {
        let session = json!({"date": format!("2027-03-0{day}"), "startTime": "09:00", "endTime": "10:00",
                             "therapistIds": [therapist["id"]], "childProfileId": child["id"]});
        assert_eq!(app.post("/api/v1/sessions", &admin, session).await.status, 201);
    }
    let path = "/api/v1/sessions?from=2027-03-01&to=2027-03-07";
    let app = &app;
    let round_trips = |token: String| async move {
        // The token's first use is noted once; count after it.
        app.get(path, &token).await;
        let (statements, checkouts) = (db.inspect().statements(), db.inspect().checkouts());
        let answer = app.get(path, &token).await.json();
        let cost = (db.inspect().statements() - statements, db.inspect().checkouts() - checkouts);
        (answer["items"].as_array().unwrap().len(), cost)
    };
    let (seen_by_admin, for_admin) = round_trips(admin).await;
    let (seen_by_tess, for_tess) = round_trips(tess).await;
    assert_eq!((seen_by_admin, seen_by_tess), (3, 3));
    // The token, the sessions with their therapists, the audit of the reads: the therapist's
    // own scope comes with the token.
    assert_eq!(for_tess, for_admin);
    assert_eq!(for_tess, (3, 2), "three statements on two connections");
}

on_both_backends!(
    a_therapists_read_costs_no_more_round_trips_than_an_admins,
    dates_beyond_what_every_backend_holds_are_422_not_500,
    the_calendar_feed_parses_in_a_real_icalendar_parser_and_keeps_health_data_out,
    an_admin_books_a_session_and_everyone_reads_it_in_the_contracts_shape,
    a_double_booking_is_409_listing_every_conflict_and_writes_nothing,
    a_series_is_created_whole_or_refused_whole,
    session_input_is_validated_all_at_once,
    parents_see_their_childrens_sessions_and_therapists_edit_only_their_notes,
    therapists_are_added_and_removed_one_at_a_time,
    every_answer_that_hands_a_childs_session_to_staff_is_in_the_familys_access_log,
    therapists_are_listed_by_name_searched_and_linked_to_users,
);
