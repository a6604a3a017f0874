//! The "Availability and calendar subscriptions" section of the API contract, through the
//! real router, on both backends. The app's clock stands on Monday 1 March 2027, 08:00 in
//! Amsterdam, unless a test moves it.

mod common;

use carenest_store_tests::{on_both_backends, TestDb};
use chrono::{DateTime, Utc};
use common::TestApp;
use futures::future::join_all;
use serde_json::{json, Value};

const MONDAY: &str = "2027-03-01";
const TUESDAY: &str = "2027-03-02";

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// An app whose clock reads Monday 1 March 2027, 08:00 local (07:00 UTC), with an admin.
async fn practice(db: &TestDb) -> (TestApp, String) {
    db.clock().set(at("2027-03-01T07:00:00Z"));
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "admin").await;
    (app, admin)
}

async fn therapist(app: &TestApp, admin: &str, name: &str) -> i64 {
    let response = app.post("/api/v1/therapists", admin, json!({"name": name})).await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.json()["id"].as_i64().unwrap()
}

/// Sets a therapist's week: `(weekday, start, end)` intervals.
async fn works(app: &TestApp, admin: &str, therapist: i64, intervals: &[(i64, &str, &str)]) {
    let weekly: Vec<Value> =
        intervals.iter().map(|(d, s, e)| json!({"weekday": d, "startTime": s, "endTime": e})).collect();
    let response =
        app.put(&format!("/api/v1/therapists/{therapist}/working-hours"), admin, json!({"weekly": weekly})).await;
    assert_eq!(response.status, 200, "{}", response.text);
}

/// The start times of the free slots, as `date HH:MM`, or only `HH:MM` when every slot is on
/// one date.
async fn slots(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let response = app.get(&format!("/api/v1/availability?{query}&limit=200"), token).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let items = response.json()["items"].as_array().unwrap().clone();
    let dates: std::collections::BTreeSet<_> = items.iter().map(|s| s["date"].as_str().unwrap().to_owned()).collect();
    items
        .iter()
        .map(|s| {
            let time = &s["startTime"].as_str().unwrap()[..5];
            if dates.len() == 1 {
                time.to_owned()
            } else {
                format!("{} {time}", s["date"].as_str().unwrap())
            }
        })
        .collect()
}

async fn book(app: &TestApp, admin: &str, body: Value) -> Value {
    let response = app.post("/api/v1/sessions", admin, body).await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.json()
}

async fn a_slot_that_ends_at_closing_time_is_offered_and_one_that_runs_past_it_is_not(db: &TestDb) {
    let (app, admin) = practice(db).await;
    let anna = therapist(&app, &admin, "Anna").await;
    works(&app, &admin, anna, &[(1, "09:00", "12:00")]).await;
    let day = format!("therapistIds={anna}&from={MONDAY}&to={MONDAY}");
    assert_eq!(slots(&app, &admin, &format!("{day}&duration=60&step=60")).await, ["09:00", "10:00", "11:00"]);
    assert_eq!(slots(&app, &admin, &format!("{day}&duration=90&step=30")).await, ["09:00", "09:30", "10:00", "10:30"]);
}

async fn a_session_inside_a_slot_blocks_it_and_back_to_back_is_fine(db: &TestDb) {
    let (app, admin) = practice(db).await;
    let anna = therapist(&app, &admin, "Anna").await;
    let bram = therapist(&app, &admin, "Bram").await;
    works(&app, &admin, anna, &[(1, "09:00", "12:00")]).await;
    works(&app, &admin, bram, &[(1, "09:00", "12:00")]).await;
    book(&app, &admin, json!({"date": MONDAY, "startTime": "10:15", "endTime": "10:30", "therapistIds": [anna]})).await;
    book(&app, &admin, json!({"date": MONDAY, "startTime": "10:00", "endTime": "11:00", "therapistIds": [bram]})).await;
    let hourly = |id| format!("therapistIds={id}&from={MONDAY}&to={MONDAY}&duration=60&step=60");
    assert_eq!(
        slots(&app, &admin, &hourly(anna)).await,
        ["09:00", "11:00"],
        "a session strictly inside blocks the slot"
    );
    assert_eq!(slots(&app, &admin, &hourly(bram)).await, ["09:00", "11:00"], "back to back on both sides is fine");
}

async fn fifty_minute_sessions_start_on_every_quarter_hour_that_fits(db: &TestDb) {
    let (app, admin) = practice(db).await;
    let anna = therapist(&app, &admin, "Anna").await;
    works(&app, &admin, anna, &[(1, "09:00", "11:00")]).await;
    let query = format!("therapistIds={anna}&from={MONDAY}&to={MONDAY}&duration=50&step=15");
    assert_eq!(slots(&app, &admin, &query).await, ["09:00", "09:15", "09:30", "09:45", "10:00"]);
}

async fn therapists_with_no_common_free_time_get_nothing_and_three_share_only_their_overlap(db: &TestDb) {
    let (app, admin) = practice(db).await;
    let anna = therapist(&app, &admin, "Anna").await;
    let bram = therapist(&app, &admin, "Bram").await;
    let cleo = therapist(&app, &admin, "Cleo").await;
    works(&app, &admin, anna, &[(1, "09:00", "12:00"), (2, "09:00", "13:00")]).await;
    works(&app, &admin, bram, &[(1, "13:00", "17:00"), (2, "10:00", "15:00")]).await;
    works(&app, &admin, cleo, &[(2, "11:00", "17:00")]).await;
    let monday = format!("from={MONDAY}&to={MONDAY}&duration=60&step=60");
    assert!(
        slots(&app, &admin, &format!("therapistIds={anna},{bram}&{monday}")).await.is_empty(),
        "not the first one's hours"
    );
    let tuesday = format!("from={TUESDAY}&to={TUESDAY}&duration=60&step=60");
    assert_eq!(slots(&app, &admin, &format!("therapistIds={anna},{bram},{cleo}&{tuesday}")).await, ["11:00", "12:00"]);
    assert_eq!(
        slots(&app, &admin, &format!("therapistIds={anna},{bram}&{tuesday}")).await,
        ["10:00", "11:00", "12:00"]
    );
}

async fn part_of_a_day_off_takes_out_only_those_hours(db: &TestDb) {
    let (app, admin) = practice(db).await;
    let anna = therapist(&app, &admin, "Anna").await;
    works(&app, &admin, anna, &[(1, "09:00", "17:00")]).await;
    let off =
        json!({"startDate": MONDAY, "endDate": MONDAY, "startTime": "12:00", "endTime": "14:00", "reason": "dentist"});
    assert_eq!(app.post(&format!("/api/v1/therapists/{anna}/time-off"), &admin, off).await.status, 201);
    let query = format!("therapistIds={anna}&from={MONDAY}&to={MONDAY}&duration=60&step=60");
    assert_eq!(slots(&app, &admin, &query).await, ["09:00", "10:00", "11:00", "14:00", "15:00", "16:00"]);
}

async fn a_closure_applies_to_everyone_with_or_without_working_hours(db: &TestDb) {
    let (app, admin) = practice(db).await;
    let anna = therapist(&app, &admin, "Anna").await;
    let cleo = therapist(&app, &admin, "Cleo").await;
    works(&app, &admin, anna, &[(1, "09:00", "10:00"), (2, "09:00", "10:00")]).await;
    let closure = json!({"startDate": TUESDAY, "endDate": TUESDAY, "name": "Studiedag"});
    assert_eq!(app.post("/api/v1/closures", &admin, closure).await.status, 201);
    let both_days = format!("from={MONDAY}&to={TUESDAY}&duration=60&step=60");
    assert_eq!(slots(&app, &admin, &format!("therapistIds={anna}&{both_days}")).await, ["09:00"]);
    let cleos = slots(&app, &admin, &format!("therapistIds={cleo}&{both_days}")).await;
    let rest_of_monday: Vec<_> = (9..=22).map(|h| format!("{h:02}:00")).collect();
    assert_eq!(
        cleos, rest_of_monday,
        "no hours set: any time from now to the day's end, and nothing on the closed day"
    );
    let (_, parent) = app.parent("parent").await;
    assert_eq!(
        app.get("/api/v1/closures", &parent).await.json()["items"][0]["name"],
        "Studiedag",
        "anyone signed in sees them"
    );
}

async fn time_off_across_a_month_boundary_covers_every_day_of_it(db: &TestDb) {
    let (app, admin) = practice(db).await;
    let anna = therapist(&app, &admin, "Anna").await;
    let weekdays: Vec<_> = (1..=5).map(|d| (d, "09:00", "10:00")).collect();
    works(&app, &admin, anna, &weekdays).await;
    let off = json!({"startDate": "2027-03-30", "endDate": "2027-04-02"});
    assert_eq!(app.post(&format!("/api/v1/therapists/{anna}/time-off"), &admin, off).await.status, 201);
    let query = format!("therapistIds={anna}&from=2027-03-29&to=2027-04-06&duration=60&step=60");
    assert_eq!(slots(&app, &admin, &query).await, ["2027-03-29 09:00", "2027-04-05 09:00", "2027-04-06 09:00"]);
}

async fn slots_that_have_started_are_never_offered(db: &TestDb) {
    let (app, admin) = practice(db).await;
    let anna = therapist(&app, &admin, "Anna").await;
    works(&app, &admin, anna, &[(7, "09:00", "12:00"), (1, "09:00", "12:00")]).await;
    db.clock().set(at("2027-03-01T09:07:00Z"));
    let query = format!("therapistIds={anna}&from=2027-02-28&to={MONDAY}&duration=30&step=15");
    assert_eq!(
        slots(&app, &admin, &query).await,
        ["10:15", "10:30", "10:45", "11:00", "11:15", "11:30"],
        "nothing yesterday, nothing today before 10:07"
    );
}

async fn a_listed_slot_can_be_booked_and_then_is_listed_no_more(db: &TestDb) {
    let (app, admin) = practice(db).await;
    let anna = therapist(&app, &admin, "Anna").await;
    let bram = therapist(&app, &admin, "Bram").await;
    works(&app, &admin, anna, &[(1, "09:00", "12:00")]).await;
    works(&app, &admin, bram, &[(1, "10:00", "12:00")]).await;
    let query = format!("therapistIds={anna},{bram}&from={MONDAY}&to={MONDAY}&duration=45&step=15");
    let before = app.get(&format!("/api/v1/availability?{query}"), &admin).await.json()["items"].clone();
    let first = &before[0];
    assert_eq!(first, &json!({"date": MONDAY, "startTime": "10:00:00", "endTime": "10:45:00"}));
    book(&app, &admin, json!({"date": first["date"], "startTime": first["startTime"], "endTime": first["endTime"], "therapistIds": [anna, bram]})).await;
    let after = slots(&app, &admin, &query).await;
    assert_eq!(after, ["10:45", "11:00", "11:15"], "the booked slot and those overlapping it are gone");
}

async fn of_32_simultaneous_bookings_of_one_listed_slot_exactly_one_wins(db: &TestDb) {
    let (app, admin) = practice(db).await;
    let anna = therapist(&app, &admin, "Anna").await;
    works(&app, &admin, anna, &[(1, "09:00", "12:00")]).await;
    let query = format!("therapistIds={anna}&from={MONDAY}&to={MONDAY}&duration=60&step=60");
    assert_eq!(slots(&app, &admin, &query).await[0], "09:00");
    let body = json!({"date": MONDAY, "startTime": "09:00", "endTime": "10:00", "therapistIds": [anna]});
    let answers = join_all((0..32).map(|_| app.post("/api/v1/sessions", &admin, body.clone()))).await;
    let won = answers.iter().filter(|a| a.status == 201).count();
    assert_eq!(won, 1, "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    for lost in answers.iter().filter(|a| a.status != 201) {
        assert_eq!(lost.problem(409)["conflicts"][0]["reason"], "booked");
    }
}

async fn paging_visits_every_slot_once_across_weeks_of_calendar(db: &TestDb) {
    let (app, admin) = practice(db).await;
    let anna = therapist(&app, &admin, "Anna").await;
    works(&app, &admin, anna, &[(1, "09:00", "12:00")]).await;
    let query = format!("therapistIds={anna}&from={MONDAY}&to=2027-04-30&duration=60&step=60&limit=2");
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app.get(&format!("/api/v1/availability?{query}{cursor}"), &admin).await.json();
        seen.extend(page["items"].as_array().unwrap().iter().map(|s| format!("{} {}", s["date"], s["startTime"])));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 9 * 3, "three slots on each of the nine Mondays, each once");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "in order, no repeats");
    assert!(seen.last().unwrap().starts_with("\"2027-04-26\""), "{seen:?}");
}

async fn bookings_obey_working_hours_time_off_and_closures_and_admins_may_override_only_hours(db: &TestDb) {
    let (app, admin) = practice(db).await;
    let anna = therapist(&app, &admin, "Anna").await;
    let cleo = therapist(&app, &admin, "Cleo").await;
    works(&app, &admin, anna, &[(1, "09:00", "12:00"), (2, "09:00", "12:00")]).await;
    let off = json!({"startDate": "2027-03-03", "endDate": "2027-03-03"});
    app.post(&format!("/api/v1/therapists/{anna}/time-off"), &admin, off).await;
    app.post("/api/v1/closures", &admin, json!({"startDate": "2027-03-04", "endDate": "2027-03-04", "name": "Closed"}))
        .await;
    let reasons = |answer: &common::Response| -> Vec<String> {
        answer.problem(409)["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["reason"].as_str().unwrap().to_owned())
            .collect()
    };
    let evening = json!({"date": MONDAY, "startTime": "18:00", "endTime": "19:00", "therapistIds": [anna, cleo]});
    let refused = app.post("/api/v1/sessions", &admin, evening.clone()).await;
    assert_eq!(reasons(&refused), ["outside_working_hours"], "Cleo has no hours set: bookable at any time");
    let conflict = &refused.json()["conflicts"][0];
    assert_eq!(conflict["therapistId"], anna);
    assert_eq!(conflict["date"], MONDAY);
    let mut overridden = evening.clone();
    overridden["outsideWorkingHours"] = json!(true);
    let evening_session = book(&app, &admin, overridden).await;
    let off_day = json!({"date": "2027-03-03", "startTime": "09:00", "endTime": "10:00", "therapistIds": [anna], "outsideWorkingHours": true});
    assert_eq!(
        reasons(&app.post("/api/v1/sessions", &admin, off_day).await),
        ["time_off"],
        "time off is never overridden"
    );
    let closed = json!({"date": "2027-03-04", "startTime": "09:00", "endTime": "10:00", "therapistIds": [cleo], "outsideWorkingHours": true});
    assert_eq!(
        reasons(&app.post("/api/v1/sessions", &admin, closed).await),
        ["closed"],
        "closures are never overridden"
    );
    let session =
        book(&app, &admin, json!({"date": MONDAY, "startTime": "09:00", "endTime": "10:00", "therapistIds": [cleo]}))
            .await;
    let id = &session["id"];
    let moved = app
        .patch(
            &format!("/api/v1/sessions/{id}"),
            &admin,
            json!({"startTime": "20:00", "endTime": "21:00", "therapistIds": [cleo, anna]}),
        )
        .await;
    assert_eq!(reasons(&moved), ["outside_working_hours"], "moving is checked like booking");
    let added = app
        .send(
            axum::http::Method::PUT,
            &format!("/api/v1/sessions/{}/therapists/{anna}", evening_session["id"]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(added.status, 200, "already on it: idempotent, {}", added.text);
    let series = json!({"date": MONDAY, "startTime": "11:00", "endTime": "12:00", "therapistIds": [anna], "repeat": {"every": "week", "count": 3}});
    assert_eq!(book(&app, &admin, series).await["items"].as_array().unwrap().len(), 3, "every Monday is within hours");
    let nightly = json!({"date": TUESDAY, "startTime": "06:00", "endTime": "07:00", "therapistIds": [anna], "repeat": {"every": "week", "count": 2}});
    let refused = app.post("/api/v1/sessions", &admin, nightly).await;
    assert_eq!(reasons(&refused), ["outside_working_hours", "outside_working_hours"], "each occurrence is listed");
    // A therapist's notes are not a move: hours changed since the booking don't stand in the way.
    works(&app, &admin, anna, &[(2, "09:00", "12:00")]).await;
    let notes = app.patch(&format!("/api/v1/sessions/{}", evening_session["id"]), &admin, json!({"notes": "ok"})).await;
    assert_eq!(notes.status, 200, "{}", notes.text);
}

async fn working_hours_are_for_staff_and_each_therapist_changes_only_their_own(db: &TestDb) {
    let (app, admin) = practice(db).await;
    let (anna_user, anna_token) = app.register("anna").await;
    let anna = app.post("/api/v1/therapists", &admin, json!({"name": "Anna", "userId": anna_user})).await.json()["id"]
        .as_i64()
        .unwrap();
    let bram = therapist(&app, &admin, "Bram").await;
    let (_, parent) = app.parent("parent").await;
    let hours = format!("/api/v1/therapists/{anna}/working-hours");
    let week = json!({"weekly": [{"weekday": 1, "startTime": "09:00", "endTime": "12:00"}]});
    assert_eq!(app.get(&hours, &anna_token).await.json(), json!({"weekly": [], "updatedAt": null}));
    let set = app.put(&hours, &anna_token, week.clone()).await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.json()["weekly"], json!([{"weekday": 1, "startTime": "09:00:00", "endTime": "12:00:00"}]));
    assert!(set.json()["updatedAt"].is_string());
    app.put(&format!("/api/v1/therapists/{bram}/working-hours"), &anna_token, week.clone()).await.problem(403);
    app.get(&hours, &parent).await.problem(403);
    app.put(&hours, &parent, week).await.problem(403);
    app.get(&format!("/api/v1/availability?therapistIds={anna}&duration=30"), &parent).await.problem(403);
    app.post(&format!("/api/v1/therapists/{anna}/time-off"), &parent, json!({"startDate": MONDAY, "endDate": MONDAY}))
        .await
        .problem(403);
    app.post("/api/v1/closures", &anna_token, json!({"startDate": MONDAY, "endDate": MONDAY, "name": "x"}))
        .await
        .problem(403);
    assert_eq!(
        app.get(&format!("/api/v1/therapists/{bram}/working-hours"), &anna_token).await.status,
        200,
        "staff read all"
    );
    app.get("/api/v1/therapists/999/working-hours", &admin).await.problem(404);
    let bad = json!({"weekly": [
        {"weekday": 1, "startTime": "09:00", "endTime": "12:00"},
        {"weekday": 1, "startTime": "11:00", "endTime": "13:00"},
        {"weekday": 0, "startTime": "09:00", "endTime": "10:00"},
        {"weekday": 2, "startTime": "12:00", "endTime": "11:00"},
    ]});
    assert_eq!(
        app.put(&hours, &admin, bad).await.invalid_fields(),
        ["weekly[2].weekday", "weekly[3].endTime", "weekly[1]"]
    );
    assert_eq!(app.put(&hours, &admin, json!({"weekly": []})).await.json()["weekly"], json!([]), "cleared");
}

async fn time_off_and_closures_are_listed_removed_and_validated(db: &TestDb) {
    let (app, admin) = practice(db).await;
    let anna = therapist(&app, &admin, "Anna").await;
    let path = format!("/api/v1/therapists/{anna}/time-off");
    let bad = json!({"startDate": TUESDAY, "endDate": MONDAY, "startTime": "10:00"});
    assert_eq!(app.post(&path, &admin, bad).await.invalid_fields(), ["endDate", "endTime"]);
    let two_days = json!({"startDate": MONDAY, "endDate": TUESDAY, "startTime": "10:00", "endTime": "11:00"});
    assert_eq!(app.post(&path, &admin, two_days).await.invalid_fields(), ["endDate"], "part of a day is one day");
    let later = app.post(&path, &admin, json!({"startDate": "2027-04-01", "endDate": "2027-04-03"})).await.json();
    let earlier =
        app.post(&path, &admin, json!({"startDate": TUESDAY, "endDate": TUESDAY, "reason": "course"})).await.json();
    assert_eq!(earlier["reason"], "course");
    assert_eq!(earlier["startTime"], json!(null));
    let listed = app.get(&path, &admin).await.json();
    assert_eq!(
        listed["items"].as_array().unwrap().iter().map(|t| t["id"].clone()).collect::<Vec<_>>(),
        [earlier["id"].clone(), later["id"].clone()]
    );
    assert_eq!(app.delete(&format!("{path}/{}", earlier["id"]), &admin).await.status, 204);
    app.delete(&format!("{path}/{}", earlier["id"]), &admin).await.problem(404);
    let closure = app.post("/api/v1/closures", &admin, json!({"startDate": MONDAY, "endDate": MONDAY})).await;
    assert_eq!(closure.invalid_fields(), ["name"]);
    let closure = app
        .post("/api/v1/closures", &admin, json!({"startDate": MONDAY, "endDate": MONDAY, "name": "Dicht"}))
        .await
        .json();
    assert_eq!(app.delete(&format!("/api/v1/closures/{}", closure["id"]), &admin).await.status, 204);
    app.get(&format!("/api/v1/availability?therapistIds={anna},{anna}&duration=30"), &admin).await.problem(400);
    let missing = app
        .get(
            &format!("/api/v1/availability?therapistIds={anna}&duration=3&step=500&from=2027-03-05&to=2027-03-01"),
            &admin,
        )
        .await;
    let problem = missing.problem(400);
    let fields: Vec<_> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["duration", "step", "to"], "every bad parameter at once");
    app.get("/api/v1/availability?therapistIds=1,x&duration=30", &admin).await.problem(400);
    app.get("/api/v1/availability?therapistIds=999&duration=30", &admin).await.problem(404);
}

/// Runs Python's `icalendar` over a feed and returns what it read.
fn parse_calendar(feed: &str) -> Option<Value> {
    let python = common::python_with("icalendar")?;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), feed).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/check_calendar.py");
    let output = std::process::Command::new(python).arg(script).arg(file.path()).output().unwrap();
    assert!(output.status.success(), "icalendar refused the feed: {}", String::from_utf8_lossy(&output.stderr));
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

/// The path of a feed's URL.
fn feed_path(link: &Value) -> String {
    let url = link["url"].as_str().unwrap();
    url[url.find("/feeds/").unwrap()..].to_owned()
}

async fn fetch_feed(app: &TestApp, path: &str) -> common::Response {
    app.send(axum::http::Method::GET, path, None, None).await
}

async fn a_therapists_secret_feed_keeps_uids_raises_sequence_shows_cancellations_and_stops_when_revoked(db: &TestDb) {
    let (app, admin) = practice(db).await;
    let (_, parent) = app.parent("parent").await;
    let noor = app
        .post("/api/v1/children", &parent, json!({"name": "Noortje", "age": 4, "specialNeeds": ["dyslexia"]}))
        .await
        .json()["id"]
        .clone();
    let anna = therapist(&app, &admin, "Anna").await;
    let bram = therapist(&app, &admin, "Bram").await;
    let session = book(&app, &admin, json!({"date": TUESDAY, "startTime": "09:00", "endTime": "10:00", "therapistIds": [anna, bram], "childProfileId": noor, "notes": "Private note"})).await;
    let link = app.post(&format!("/api/v1/therapists/{anna}/feed"), &admin, json!(null)).await;
    assert_eq!(link.status, 201, "{}", link.text);
    let path = feed_path(&link.json());
    let first = fetch_feed(&app, &path).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.content_type(), "text/calendar; charset=utf-8");
    for secret in ["Noortje", "dyslexia", "Private note"] {
        assert!(!first.text.contains(secret), "the feed holds no {secret}");
    }
    assert!(
        first.text.contains("SUMMARY:Session\r\n") && first.text.contains("DESCRIPTION:With: Bram\r\n"),
        "{}",
        first.text
    );
    let etag = first.headers.get("etag").unwrap().to_str().unwrap().to_owned();
    let again = app
        .raw(axum::http::Request::get(&path).header("if-none-match", &etag).body(axum::body::Body::empty()).unwrap())
        .await;
    assert_eq!(again.status, 304);
    let id = session["id"].as_i64().unwrap();
    assert_eq!(
        app.patch(&format!("/api/v1/sessions/{id}"), &admin, json!({"startTime": "09:30", "endTime": "10:30"}))
            .await
            .status,
        200
    );
    let moved = fetch_feed(&app, &path).await;
    assert_ne!(moved.headers.get("etag").unwrap().to_str().unwrap(), etag, "a change changes the ETag");
    assert_eq!(app.patch(&format!("/api/v1/sessions/{id}"), &admin, json!({"status": "cancelled"})).await.status, 200);
    let cancelled = fetch_feed(&app, &path).await.text;
    if let (Some(before), Some(after)) = (parse_calendar(&first.text), parse_calendar(&cancelled)) {
        let (before, after) = (&before["events"][0], &after["events"][0]);
        assert_eq!(before["uid"], after["uid"], "the UID is kept");
        assert_eq!(before["uid"], format!("session-{id}@carenest.dev"));
        assert_eq!(before["sequence"], 0);
        assert_eq!(after["sequence"], 2, "a move and a cancellation raised it twice");
        assert_eq!(after["status"], "CANCELLED");
        assert_eq!(after["start"], "2027-03-02T09:30:00+01:00");
    }
    let rotated = app.post(&format!("/api/v1/therapists/{anna}/feed"), &admin, json!(null)).await.json();
    fetch_feed(&app, &path).await.problem(404);
    let new_path = feed_path(&rotated);
    assert_eq!(fetch_feed(&app, &new_path).await.status, 200);
    assert_eq!(app.delete(&format!("/api/v1/therapists/{anna}/feed"), &admin).await.status, 204);
    fetch_feed(&app, &new_path).await.problem(404);
    fetch_feed(&app, "/feeds/not-a-secret.ics").await.problem(404);
    app.post(&format!("/api/v1/therapists/{anna}/feed"), &parent, json!(null)).await.problem(403);
}

async fn a_family_feed_names_the_therapists_and_no_child(db: &TestDb) {
    let (app, admin) = practice(db).await;
    let (_, parent) = app.parent("parent").await;
    let (_, stranger) = app.parent("stranger").await;
    let noor = app.post("/api/v1/children", &parent, json!({"name": "Noortje", "age": 4})).await.json()["id"].clone();
    let anna = therapist(&app, &admin, "Anna").await;
    book(&app, &admin, json!({"date": TUESDAY, "startTime": "09:00", "endTime": "10:00", "therapistIds": [anna], "childProfileId": noor})).await;
    book(&app, &admin, json!({"date": TUESDAY, "startTime": "11:00", "endTime": "12:00", "therapistIds": [anna]}))
        .await;
    let link = app.post("/api/v1/me/feed", &parent, json!(null)).await;
    assert_eq!(link.status, 201, "{}", link.text);
    let feed = fetch_feed(&app, &feed_path(&link.json())).await.text;
    assert_eq!(feed.matches("BEGIN:VEVENT").count(), 1, "only the family's child's session");
    assert!(
        feed.contains("DESCRIPTION:Therapeuten: Anna") && feed.contains("SUMMARY:Therapiesessie"),
        "in Dutch: {feed}"
    );
    assert!(!feed.contains("Noortje"));
    let strangers = app.post("/api/v1/me/feed", &stranger, json!(null)).await.json();
    assert_eq!(fetch_feed(&app, &feed_path(&strangers)).await.text.matches("BEGIN:VEVENT").count(), 0);
    assert_eq!(app.delete("/api/v1/me/feed", &parent).await.status, 204);
    fetch_feed(&app, &feed_path(&link.json())).await.problem(404);
}

async fn feed_events_around_both_summer_time_changes_carry_the_right_offset(db: &TestDb) {
    let (app, admin) = practice(db).await;
    let anna = therapist(&app, &admin, "Anna").await;
    for date in ["2027-03-26", "2027-03-29", "2027-10-29", "2027-11-01"] {
        book(&app, &admin, json!({"date": date, "startTime": "10:00", "endTime": "11:00", "therapistIds": [anna]}))
            .await;
    }
    let link = app.post(&format!("/api/v1/therapists/{anna}/feed"), &admin, json!(null)).await.json();
    let feed = fetch_feed(&app, &feed_path(&link)).await.text;
    let Some(parsed) = parse_calendar(&feed) else { return };
    let offsets: Vec<_> =
        parsed["events"].as_array().unwrap().iter().map(|e| e["utc_offset_seconds"].as_f64().unwrap()).collect();
    assert_eq!(offsets, [3600.0, 7200.0, 7200.0, 3600.0], "CET, CEST after 28 March, CEST until 31 October, CET");
    assert_eq!(parsed["timezones"], json!(["Europe/Amsterdam"]));
}

on_both_backends!(
    a_slot_that_ends_at_closing_time_is_offered_and_one_that_runs_past_it_is_not,
    a_session_inside_a_slot_blocks_it_and_back_to_back_is_fine,
    fifty_minute_sessions_start_on_every_quarter_hour_that_fits,
    therapists_with_no_common_free_time_get_nothing_and_three_share_only_their_overlap,
    part_of_a_day_off_takes_out_only_those_hours,
    a_closure_applies_to_everyone_with_or_without_working_hours,
    time_off_across_a_month_boundary_covers_every_day_of_it,
    slots_that_have_started_are_never_offered,
    a_listed_slot_can_be_booked_and_then_is_listed_no_more,
    paging_visits_every_slot_once_across_weeks_of_calendar,
    of_32_simultaneous_bookings_of_one_listed_slot_exactly_one_wins,
    bookings_obey_working_hours_time_off_and_closures_and_admins_may_override_only_hours,
    working_hours_are_for_staff_and_each_therapist_changes_only_their_own,
    time_off_and_closures_are_listed_removed_and_validated,
    a_therapists_secret_feed_keeps_uids_raises_sequence_shows_cancellations_and_stops_when_revoked,
    a_family_feed_names_the_therapists_and_no_child,
    feed_events_around_both_summer_time_changes_carry_the_right_offset,
);
