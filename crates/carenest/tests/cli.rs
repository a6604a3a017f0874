//! The `carenest` command line, run as a user runs it, against both backends.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use carenest_store_tests::ScratchDatabase;

fn carenest(url: &str, args: &[&str]) -> Output {
    run_with(args, &[("DATABASE_URL", url)], None)
}

fn run_with(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_carenest"));
    command.args(args).env_remove("DATABASE_URL").env_remove("CARENEST_ENV").env("RUST_LOG", "warn");
    for (key, value) in env {
        command.env(key, value);
    }
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("the binary runs");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn ok(output: Output) -> String {
    assert!(output.status.success(), "failed: {}", text(&output));
    text(&output)
}

fn setup_status_rollback_and_migrate_round_trip(url: &str) {
    assert!(ok(carenest(url, &["db", "create"])).contains("created"));
    assert!(ok(carenest(url, &["db", "create"])).contains("already exists"));
    let dry = ok(carenest(url, &["db", "migrate", "--dry-run"]));
    assert!(dry.contains("would apply 1 accounts") && dry.contains("would apply 4 audit and seeders"), "{dry}");
    assert!(ok(carenest(url, &["db", "status"])).contains("pending     1 accounts"), "dry run applied nothing");
    ok(carenest(url, &["db", "setup"]));
    let status = ok(carenest(url, &["db", "status"]));
    assert!(status.contains("applied     4 audit and seeders") && status.contains("not run  demo"), "{status}");
    assert!(status.contains("applied     8 checks without lists"), "{status}");
    assert!(ok(carenest(url, &["db", "rollback"])).contains("rolled back 8"));
    let all = ok(carenest(url, &["db", "rollback", "--all"]));
    assert!(all.contains("rolled back 4") && all.contains("rolled back 1"), "{all}");
    assert!(ok(carenest(url, &["db", "rollback", "--all"])).contains("nothing to roll back"));
    assert!(ok(carenest(url, &["db", "migrate"])).contains("applied migration 8"));
    assert!(ok(carenest(url, &["db", "migrate", "--dry-run"])).contains("nothing to apply"));
    ok(carenest(url, &["db", "reset"]));
    assert!(ok(carenest(url, &["db", "drop"])).contains("dropped"));
    assert!(ok(carenest(url, &["db", "drop"])).contains("does not exist"));
}

fn seeding_twice_adds_the_demo_once_and_undo_takes_it_away(url: &str) {
    ok(carenest(url, &["db", "setup"]));
    let first = ok(carenest(url, &["db", "seed", "demo"]));
    assert!(first.contains("demo: seeded") && first.contains("demo.admin"), "{first}");
    assert!(ok(carenest(url, &["db", "seed"])).contains("already ran"));
    assert!(ok(carenest(url, &["db", "status"])).contains("ran      demo"));
    let duplicate =
        carenest(url, &["user", "create", "--username", "demo.eva", "--email", "x@example.org", "--password-stdin"]);
    assert!(!duplicate.status.success(), "the demo users exist once");
    assert!(ok(carenest(url, &["db", "seed", "--undo", "demo"])).contains("undone"));
    assert!(ok(carenest(url, &["db", "status"])).contains("not run  demo"));
    assert!(ok(carenest(url, &["db", "seed", "demo"])).contains("seeded"), "it can run again after an undo");
    assert!(!carenest(url, &["db", "seed", "nonsense"]).status.success());
    let refused = carenest(url, &["db", "rollback", "--all"]);
    assert!(!refused.status.success() && text(&refused).contains("--force"), "{}", text(&refused));
    assert!(ok(carenest(url, &["db", "status"])).contains("applied     4 audit"), "nothing was undone");
    assert!(ok(carenest(url, &["db", "rollback", "--all", "--force"])).contains("rolled back 4"));
}

fn users_are_created_with_a_password_from_stdin(url: &str) {
    ok(carenest(url, &["db", "setup"]));
    let created = run_with(
        &["user", "create", "--username", "boss", "--email", "boss@example.org", "--role", "admin", "--password-stdin"],
        &[("DATABASE_URL", url)],
        Some("a long password\n"),
    );
    assert!(ok(created).contains("role admin"));
    let short = run_with(
        &["user", "create", "--username", "tiny", "--email", "t@example.org", "--password-stdin"],
        &[("DATABASE_URL", url)],
        Some("short"),
    );
    assert!(!short.status.success());
    assert!(text(&short).contains("password must be"), "{}", text(&short));
    let taken = run_with(
        &["user", "create", "--username", "BOSS", "--email", "b2@example.org", "--password-stdin"],
        &[("DATABASE_URL", url)],
        Some("a long password"),
    );
    assert!(text(&taken).contains("username is taken") || text(&taken).contains("taken"), "{}", text(&taken));
    let no_terminal = run_with(
        &["user", "create", "--username", "nobody", "--email", "n@example.org"],
        &[("DATABASE_URL", url)],
        Some(""),
    );
    assert!(text(&no_terminal).contains("--password-stdin"), "{}", text(&no_terminal));
}

/// Backs up the demo data to a file and to standard output, restores both elsewhere, copies to
/// the other backend, and checks every refusal's sentence and exit status.
fn backups_restore_and_copy_from_the_command_line(url: &str) {
    ok(carenest(url, &["db", "setup"]));
    ok(carenest(url, &["db", "seed"]));
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("practice.carenest-backup.gz");
    let file = file.to_str().unwrap();
    assert!(ok(carenest(url, &["db", "backup", file])).contains("backed up"), "a summary line");
    let piped = carenest(url, &["db", "backup", "-"]);
    assert!(piped.status.success() && piped.stdout.starts_with(&[0x1f, 0x8b]), "gzip on standard output");

    let restored = carenest_store_tests::ScratchDatabase::sqlite();
    assert!(ok(carenest(&restored.url, &["db", "restore", file])).contains("restored"));
    let again = carenest(&restored.url, &["db", "restore", file]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again).contains("error: the database already holds data; restore into an empty one"),
        "{}",
        text(&again)
    );
    let from_stdin = carenest_store_tests::ScratchDatabase::sqlite();
    let mut child = Command::new(env!("CARGO_BIN_EXE_carenest"))
        .args(["db", "restore", "-"])
        .env("DATABASE_URL", &from_stdin.url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&piped.stdout).unwrap();
    assert!(ok(child.wait_with_output().unwrap()).contains("restored"));

    let cut = folder.path().join("cut.gz");
    std::fs::write(&cut, &std::fs::read(file).unwrap()[..2000]).unwrap();
    let empty = carenest_store_tests::ScratchDatabase::sqlite();
    let refused = carenest(&empty.url, &["db", "restore", cut.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused).contains("cut short"), "{}", text(&refused));

    // To the other backend: SQLite to PostgreSQL, and back.
    let target = if url.starts_with("sqlite") {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(carenest_store_tests::ScratchDatabase::postgres())
    } else {
        Some(carenest_store_tests::ScratchDatabase::sqlite())
    };
    let Some(target) = target else { return };
    let copied = ok(carenest(url, &["db", "copy", "--to", &target.url]));
    assert!(copied.contains("restored") && copied.contains("into"), "{copied}");
    let users = ok(carenest(&target.url, &["db", "status"]));
    assert!(users.contains("ran      demo"), "the copy holds the seeders' record too: {users}");

    let young = carenest(url, &["db", "prune-audit", "--older-than", "30d"]);
    assert_eq!(young.status.code(), Some(1));
    assert!(text(&young).contains("at least 365 days"), "{}", text(&young));
    assert!(
        ok(carenest(url, &["db", "prune-audit"])).contains("removed 0 audit entries"),
        "the demo's entries are recent"
    );
}

/// Every session of every therapist, through the store, and the overlaps among them.
async fn double_bookings(store: &dyn carenest_domain::Store, therapists: i64) -> (usize, usize) {
    use carenest_domain::ids::TherapistId;
    use carenest_domain::page::PageRequest;
    use carenest_domain::scheduling::{SessionFilter, SessionScope, SessionStatus};
    let (mut links, mut overlaps) = (0, 0);
    for therapist in 1..=therapists {
        let filter = SessionFilter { therapist_id: Some(TherapistId(therapist)), ..Default::default() };
        let mut page = PageRequest::first(200);
        let mut booked = Vec::new();
        loop {
            let found = store.sessions(SessionScope::All, filter.clone(), page.clone()).await.unwrap();
            booked.extend(found.items.iter().filter(|s| s.status != SessionStatus::Cancelled).cloned());
            links += found.items.len();
            let Some(next) = found.next else { break };
            page = PageRequest { after: Some(next), limit: 200 };
        }
        // In date and start order: an overlap shows between neighbours.
        overlaps += booked.windows(2).filter(|w| w[0].date == w[1].date && w[1].start_time < w[0].end_time).count();
    }
    (links, overlaps)
}

fn synthetic_data_fills_an_empty_database_and_every_generated_user_logs_in(url: &str) {
    ok(carenest(url, &["db", "setup"]));
    let args = ["db", "seed", "synthetic", "--families", "40", "--therapists", "6", "--sessions", "1500"];
    let report = ok(carenest(url, &[&args[..], &["--password", "synthetic-pw"]].concat()));
    assert!(report.contains("40 families") && report.contains("1500 sessions"), "{report}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = carenest_store::open(url, Default::default()).await.unwrap().store;
        let (links, overlaps) = double_bookings(store.as_ref(), 6).await;
        assert_eq!(overlaps, 0, "no therapist is booked twice at once");
        assert!(links >= 1500, "every session has a therapist ({links} links)");
        let all = store
            .sessions(
                carenest_domain::scheduling::SessionScope::All,
                Default::default(),
                carenest_domain::page::PageRequest::first(200),
            )
            .await
            .unwrap();
        assert!(all.items.iter().any(|s| s.child_profile_id.is_some()), "sessions are linked to children");
        for login in ["admin", "therapist.6", "parent.40"] {
            let credentials = store.credentials_by_login(login).await.unwrap().expect("the user exists");
            let hasher = carenest_app::passwords::Hasher::new(Default::default());
            let verified = hasher.verify("synthetic-pw".to_owned(), Some(credentials.password_hash)).await.unwrap();
            assert!(verified, "{login} logs in with the given password");
        }
        let family = store.family(store.credentials_by_login("parent.40").await.unwrap().unwrap().user.id).await;
        assert!(family.unwrap().profile.unwrap().profile_embedding.is_some(), "families are ready for suggestions");
        store.close().await;
    });

    let again = carenest(url, &args);
    assert_eq!(again.status.code(), Some(1), "a second run is refused: {}", text(&again));
    assert!(text(&again).contains("empty database"), "{}", text(&again));
    ok(carenest(url, &["db", "reset"]));
    let nobody = carenest(url, &["db", "seed", "synthetic", "--therapists", "0", "--sessions", "10"]);
    assert_eq!(nobody.status.code(), Some(1), "sessions without therapists are refused, not looped on");
    assert!(text(&nobody).contains("at least one therapist"), "{}", text(&nobody));
    let misplaced = carenest(url, &["db", "seed", "demo", "--families", "3"]);
    assert_eq!(misplaced.status.code(), Some(1));
    assert!(text(&misplaced).contains("are for `db seed synthetic`"), "{}", text(&misplaced));
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { let db = carenest_store_tests::ScratchDatabase::sqlite(); super::$name(&db.url); } )*
        }
        mod postgres {
            $( #[test] fn $name() {
                let runtime = tokio::runtime::Runtime::new().unwrap();
                let Some(db) = runtime.block_on(carenest_store_tests::ScratchDatabase::postgres()) else { return };
                super::$name(&db.url);
            } )*
        }
    };
}

on_both_backends!(
    setup_status_rollback_and_migrate_round_trip,
    seeding_twice_adds_the_demo_once_and_undo_takes_it_away,
    users_are_created_with_a_password_from_stdin,
    backups_restore_and_copy_from_the_command_line,
    synthetic_data_fills_an_empty_database_and_every_generated_user_logs_in,
);

#[test]
fn a_bad_database_url_ends_with_one_sentence_and_never_the_password() {
    for (url, expect) in [
        ("mysql://root:hunter2@localhost/db", "unsupported database URL scheme 'mysql'"),
        (
            "postgres://carenest:hunter2@127.0.0.1:1/db",
            "could not use the database at postgres://carenest:***@127.0.0.1:1/db",
        ),
        ("carenest.db", "has no scheme"),
    ] {
        let output = carenest(url, &["db", "status"]);
        let printed = text(&output);
        assert_eq!(output.status.code(), Some(1), "{printed}");
        assert!(printed.starts_with("error: ") && printed.contains(expect), "{printed}");
        assert_eq!(printed.trim_end().lines().count(), 1, "one sentence, no debug output: {printed}");
        assert!(!printed.contains("hunter2") && !printed.contains("panicked"));
    }
}

#[test]
fn production_refuses_to_start_without_an_explicit_database_url() {
    let output = run_with(&["serve"], &[("CARENEST_ENV", "production")], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).contains("DATABASE_URL"), "{}", text(&output));
}

#[test]
fn the_openapi_command_prints_the_document() {
    let output = run_with(&["openapi"], &[], None);
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert!(document["paths"]["/api/v1/sessions"].is_object());
}

#[cfg(unix)]
#[test]
fn serve_answers_readyz_and_stops_cleanly_on_sigterm() {
    let scratch = ScratchDatabase::sqlite();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bind = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_carenest"))
        .args(["serve", "--demo", "--bind", &bind])
        .env("DATABASE_URL", &scratch.url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let ready = loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(&bind) {
            write!(stream, "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            let mut response = String::new();
            std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
            break response;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let printed = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{printed}");
    assert!(printed.contains("demo logins"), "{printed}");
}

#[test]
fn a_reader_that_stops_early_does_not_make_the_command_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_carenest"))
        .arg("openapi")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    assert_eq!(output.status.code(), Some(0));
}
