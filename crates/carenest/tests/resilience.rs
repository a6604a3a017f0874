//! The whole binary under attack and failure: killed with `kill -9` mid-write, two processes on
//! one database, a flood of registrations, connections that never finish their headers, and
//! oversized requests. On both backends where a backend is involved.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use carenest_store_tests::ScratchDatabase;
use futures::future::join_all;
use serde_json::{json, Value};
use support::{create_user, login, setup, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PASSWORD: &str = "a long enough password";

/// Every client address counts apart when it comes through this (trusted) proxy address.
const BEHIND_A_PROXY: &[(&str, &str)] = &[("CARENEST_TRUSTED_PROXIES", "[\"127.0.0.1\"]")];

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap()
}

/// One number a query answers, on either backend.
async fn count(url: &str, sql: &str) -> i64 {
    use sqlx::Connection;
    if url.starts_with("postgres") {
        let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut connection).await.unwrap()
    } else {
        let mut connection = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut connection).await.unwrap()
    }
}

async fn post(client: &reqwest::Client, server: &Server, path: &str, token: &str, body: Value) -> reqwest::Response {
    client.post(server.url(path)).bearer_auth(token).json(&body).send().await.unwrap()
}

async fn therapists(client: &reqwest::Client, server: &Server, admin: &str, count: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in 0..count {
        let answer = post(client, server, "/api/v1/therapists", admin, json!({"name": format!("Therapist {n}")})).await;
        assert_eq!(answer.status(), 201);
        ids.push(answer.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    ids
}

/// What the load saw answered 2xx before the kill.
#[derive(Default)]
struct Acknowledged {
    users: Vec<String>,
    /// Session id to the therapists it was booked with.
    sessions: HashMap<i64, Vec<i64>>,
    /// Goal id to the last progress answered.
    progress: HashMap<i64, i64>,
}

async fn a_kill_9_mid_write_loses_no_acknowledged_write_and_leaves_nothing_half_done(url: &str) {
    setup(url);
    create_user(url, "boss", "admin", PASSWORD);
    let mut server = Server::start(url, BEHIND_A_PROXY, false).await;
    let client = client();
    let admin = login(&client, &server, "boss", PASSWORD).await;
    let staff = therapists(&client, &server, &admin, 6).await;
    let family = {
        let body = json!({"username": "family", "email": "family@example.org", "password": PASSWORD});
        let answer = client.post(server.url("/api/v1/auth/register")).json(&body).send().await.unwrap();
        answer.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    };
    let profile = json!({"name": "Family", "stressLevel": "low", "experienceLevel": "first_time"});
    assert_eq!(post(&client, &server, "/api/v1/parent-profile", &family, profile).await.status(), 201);
    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let base = server.base.clone();
    // Each lane's goal exists before the clock to the kill starts: on a busy machine creating
    // it could otherwise take longer than the load is given.
    let mut goals = Vec::new();
    for lane in 0..6 {
        let goal = post(&client, &server, "/api/v1/goals", &family, json!({"title": format!("Goal {lane}")})).await;
        goals.push(goal.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    let load = (0..6).map(|lane: i64| {
        let (client, acknowledged, base) = (client.clone(), acknowledged.clone(), base.clone());
        let (admin, family, staff) = (admin.clone(), family.clone(), staff.clone());
        let goal = goals[lane as usize];
        async move {
            for n in 0i64.. {
                let answer = match lane % 3 {
                    0 => {
                        let name = format!("crash{lane}x{n}");
                        let body =
                            json!({"username": name, "email": format!("{name}@example.org"), "password": PASSWORD});
                        let request = client.post(format!("{base}/api/v1/auth/register")).json(&body);
                        let forwarded = format!("198.51.{lane}.{}", n % 250 + 1);
                        match request.header("x-forwarded-for", forwarded).send().await {
                            Ok(answer) if answer.status() == 201 => acknowledged.lock().unwrap().users.push(name),
                            Ok(_) => {}
                            Err(_) => return,
                        }
                        continue;
                    }
                    1 => {
                        let pair = vec![staff[(n % 6) as usize], staff[((n + 1 + lane) % 6) as usize]];
                        let minute = n % 600;
                        let slot = json!({
                            "date": format!("2027-03-{:02}", 1 + (lane + n / 600) % 28),
                            "startTime": format!("{:02}:{:02}", 6 + minute / 60, minute % 60),
                            "endTime": format!("{:02}:{:02}", 6 + (minute + 1) / 60, (minute + 1) % 60),
                            "therapistIds": pair,
                            "outsideWorkingHours": true,
                        });
                        let request = client.post(format!("{base}/api/v1/sessions")).bearer_auth(&admin).json(&slot);
                        match request.send().await {
                            Ok(answer) if answer.status() == 201 => {
                                let id = answer.json::<Value>().await.map(|s| s["id"].as_i64());
                                if let Ok(Some(id)) = id {
                                    acknowledged.lock().unwrap().sessions.insert(id, pair);
                                }
                            }
                            Ok(_) => {}
                            Err(_) => return,
                        }
                        continue;
                    }
                    _ => {
                        client
                            .patch(format!("{base}/api/v1/goals/{goal}"))
                            .bearer_auth(&family)
                            .json(&json!({"progress": n % 101}))
                            .send()
                            .await
                    }
                };
                match answer {
                    Ok(answer) if answer.status() == 200 => {
                        acknowledged.lock().unwrap().progress.insert(goal, n % 101);
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
                if n == 100 {
                    return;
                }
            }
        }
    });
    let killer = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        server.kill_hard();
    };
    tokio::join!(join_all(load), killer);
    server.restart().await;
    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
    assert!(!acknowledged.users.is_empty() && !acknowledged.sessions.is_empty(), "the load wrote before the kill");
    for name in &acknowledged.users {
        let found = count(url, &format!("SELECT count(*) FROM users WHERE username = '{name}'")).await;
        assert_eq!(found, 1, "registration of {name} was answered 201 and must survive");
    }
    for (session, pair) in &acknowledged.sessions {
        let sql = format!(
            "SELECT count(*) FROM session_therapists WHERE session_id = {session} AND therapist_id IN ({}, {})",
            pair[0], pair[1]
        );
        assert_eq!(count(url, &sql).await, 2, "session {session} was answered 201 with both therapists");
    }
    for (goal, progress) in &acknowledged.progress {
        let stored =
            count(url, &format!("SELECT CAST(progress AS BIGINT) FROM parenting_goals WHERE id = {goal}")).await;
        // A later update may have committed without its answer reaching the client.
        assert!(stored >= *progress, "goal {goal} went back from {progress} to {stored}");
    }
    let half_written = "SELECT count(*) FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM session_therapists st WHERE st.session_id = s.id)";
    assert_eq!(count(url, half_written).await, 0, "a session without the therapists it was booked with");
    let users_without_token = "SELECT count(*) FROM users u WHERE u.username LIKE 'crash%' AND NOT EXISTS (SELECT 1 FROM auth_tokens t WHERE t.user_id = u.id)";
    assert_eq!(count(url, users_without_token).await, 0, "a registration is its user and first token, or neither");
    for orphans in [
        "SELECT count(*) FROM session_therapists st WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = st.session_id)",
        "SELECT count(*) FROM auth_tokens t WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id)",
        "SELECT count(*) FROM parenting_goals g WHERE NOT EXISTS (SELECT 1 FROM parent_profiles p WHERE p.id = g.parent_profile_id)",
    ] {
        assert_eq!(count(url, orphans).await, 0, "{orphans}");
    }
    if url.starts_with("sqlite") {
        assert_eq!(count(url, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'").await, 0);
        assert_eq!(count(url, "SELECT count(*) FROM pragma_foreign_key_check").await, 0);
    }
    let answer = client.get(server.url("/api/v1/me")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(answer.status(), 200, "the restarted server serves the old tokens");
}

async fn two_server_processes_on_one_database_book_once_throttle_together_and_share_logouts(url: &str) {
    setup(url);
    create_user(url, "boss", "admin", PASSWORD);
    let first = Server::start(url, &[], false).await;
    let second = Server::start(url, &[], false).await;
    let client = client();
    let admin = login(&client, &first, "boss", PASSWORD).await;
    let therapist = therapists(&client, &first, &admin, 1).await[0];
    let slot = json!({"date": "2027-04-06", "startTime": "10:00", "endTime": "11:00", "therapistIds": [therapist], "outsideWorkingHours": true});
    let bookings = (0..32).map(|n| {
        let server = if n % 2 == 0 { &first } else { &second };
        post(&client, server, "/api/v1/sessions", &admin, slot.clone())
    });
    let mut statuses: Vec<u16> = join_all(bookings).await.iter().map(|a| a.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [vec![201], vec![409; 31]].concat(), "one winner across both processes");

    create_user(url, "anna", "parent", PASSWORD);
    for n in 0..5 {
        let server = if n % 2 == 0 { &first } else { &second };
        let body = json!({"username": "anna", "password": format!("guess {n}")});
        let answer = client.post(server.url("/api/v1/auth/login")).json(&body).send().await.unwrap();
        assert_eq!(answer.status(), 401);
    }
    let body = json!({"username": "anna", "password": PASSWORD});
    let locked = client.post(second.url("/api/v1/auth/login")).json(&body).send().await.unwrap();
    assert_eq!(locked.status(), 429, "five failures counted across the two processes");

    let token = login(&client, &second, "boss", PASSWORD).await;
    let logout = client.post(first.url("/api/v1/auth/logout")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(logout.status(), 204);
    let after = client.get(second.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(after.status(), 401, "a logout in one process is honoured by the other");
}

async fn a_registration_flood_stays_within_a_few_hundred_megabytes(url: &str) {
    setup(url);
    let server = Server::start(url, BEHIND_A_PROXY, false).await;
    let client = client();
    let flood = (0..800).map(|n| {
        let body =
            json!({"username": format!("flood{n}"), "email": format!("flood{n}@example.org"), "password": PASSWORD});
        // Each from an address of its own, so that only the hashing ceiling holds them back.
        let request = client.post(server.url("/api/v1/auth/register")).json(&body);
        request.header("x-forwarded-for", format!("10.{}.{}.{}", n / 65536, n / 256 % 256, n % 256)).send()
    });
    let answers = join_all(flood).await;
    let mut by_status: HashMap<u16, usize> = HashMap::new();
    for answer in answers {
        *by_status.entry(answer.expect("every request is answered").status().as_u16()).or_default() += 1;
    }
    assert!(by_status.keys().all(|s| *s == 201 || *s == 503), "only created or come back later: {by_status:?}");
    assert!(by_status.get(&201).is_some_and(|n| *n > 0), "{by_status:?}");
    let peak_mib = server.peak_memory_kib() / 1024;
    eprintln!("registration flood on {url}: {by_status:?}, peak resident memory {peak_mib} MiB");
    assert!(peak_mib < 300, "peak resident memory {peak_mib} MiB");
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn connections_that_never_finish_their_headers_are_closed_by_the_server() {
    let database = ScratchDatabase::sqlite();
    setup(&database.url);
    let server = Server::start(&database.url, &[("CARENEST_HEADER_READ_TIMEOUT_SECONDS", "1")], false).await;
    let mut slow = Vec::new();
    for _ in 0..900 {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
        stream.write_all(b"GET /api/v1/me HTTP/1.1\r\nHost: carenest\r\nAuthor").await.unwrap();
        slow.push(stream);
    }
    let started = Instant::now();
    for stream in &mut slow {
        let mut buffer = [0u8; 256];
        let closed = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buffer)).await;
        assert!(closed.is_ok(), "the server ends the connection rather than waiting for ever");
    }
    eprintln!("900 half-sent requests closed within {:?}", started.elapsed());
    let health = client().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "and it still serves");
}

#[tokio::test]
async fn very_long_headers_and_query_strings_are_refused_with_a_4xx() {
    let database = ScratchDatabase::sqlite();
    setup(&database.url);
    let server = Server::start(&database.url, &[], false).await;
    let client = client();
    let long_header = client.get(server.url("/healthz")).header("x-padding", "a".repeat(512 * 1024)).send().await;
    let status = long_header.map(|a| a.status().as_u16()).unwrap_or(431);
    assert!((400..500).contains(&status), "a 512 KiB header: {status}");
    let long_query = client.get(server.url(&format!("/api/v1/therapists?q={}", "a".repeat(600 * 1024)))).send().await;
    let status = long_query.map(|a| a.status().as_u16()).unwrap_or(414);
    assert!((400..500).contains(&status), "a 600 KiB query string: {status}");
    let many_headers = (0..200).fold(client.get(server.url("/healthz")), |r, n| r.header(format!("x-h{n}"), "v"));
    let status = many_headers.send().await.map(|a| a.status().as_u16()).unwrap_or(431);
    assert!((400..500).contains(&status), "200 headers: {status}");
    assert_eq!(client.get(server.url("/healthz")).send().await.unwrap().status(), 200);
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let database = carenest_store_tests::ScratchDatabase::sqlite();
                    super::$name(&database.url).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(database) = carenest_store_tests::ScratchDatabase::postgres().await else { return };
                    super::$name(&database.url).await;
                }
            )*
        }
    };
}

on_both_backends!(
    a_kill_9_mid_write_loses_no_acknowledged_write_and_leaves_nothing_half_done,
    two_server_processes_on_one_database_book_once_throttle_together_and_share_logouts,
    a_registration_flood_stays_within_a_few_hundred_megabytes,
);
