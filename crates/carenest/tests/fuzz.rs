//! Schemathesis against the served OpenAPI document, as an admin and as a parent, on both
//! backends, with every check it has. Two of its checks run through `fuzz/hooks.py`, which says
//! exactly which refusals they let through and why. Each run is bounded by
//! `CARENEST_FUZZ_SECONDS` (default 40) per role and backend.

mod support;

use std::path::PathBuf;
use std::process::Command;

use carenest_store_tests::ScratchDatabase;
use support::{login, setup, Server, DEMO_PASSWORD};

/// The schemathesis command next to `CARENEST_PYTHON`, or `None` (after saying so) outside CI.
fn schemathesis() -> Option<PathBuf> {
    let python = std::env::var("CARENEST_PYTHON").map(PathBuf::from).ok();
    let command = python.and_then(|p| p.parent().map(|dir| dir.join("schemathesis"))).filter(|c| c.exists());
    if command.is_none() {
        assert!(std::env::var("CI").is_err(), "CI must install schemathesis next to CARENEST_PYTHON");
        eprintln!("skipped: the schemathesis run (install it next to CARENEST_PYTHON)");
    }
    command
}

async fn fuzz(url: &str) {
    let Some(schemathesis) = schemathesis() else { return };
    setup(url);
    let server = Server::start(url, &[], true).await;
    // No idle connections kept: the server closes them after its header deadline.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let seconds = std::env::var("CARENEST_FUZZ_SECONDS").unwrap_or_else(|_| "40".to_owned());
    let hooks = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz/hooks.py");
    // Both log in first: the fuzzing of /auth/login soon has this client throttled.
    let mut sessions = Vec::new();
    for user in ["demo.admin", "demo.eva"] {
        sessions.push((user, login(&client, &server, user, DEMO_PASSWORD).await));
    }
    // Its example database goes in a folder of its own, not into the source tree.
    let workdir = tempfile::tempdir().unwrap();
    for (user, token) in sessions {
        let run = Command::new(&schemathesis)
            .current_dir(workdir.path())
            .arg("run")
            .arg(server.url("/api/openapi.json"))
            .args(["--checks", "all"])
            // Replaced by the hooks' versions, which run these and then judge their verdicts.
            .args(["--exclude-checks", "positive_data_acceptance,negative_data_rejection"])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            // Logging out and erasing the account would end the run's own session; the HTTP
            // tests cover both.
            .args(["--exclude-operation-id", "logout", "--exclude-operation-id", "erase_me"])
            // One worker: CPython 3.11 can raise a spurious SystemError parsing in threads.
            .args(["--workers", "1", "--max-time", &seconds, "--no-color"])
            .env("SCHEMATHESIS_HOOKS", hooks)
            .output()
            .expect("schemathesis runs");
        let report = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "schemathesis as {user} on {url}:\n{report}\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(report.contains("passed"), "{report}");
    }
}

#[tokio::test]
async fn schemathesis_finds_nothing_on_sqlite() {
    fuzz(&ScratchDatabase::sqlite().url).await;
}

#[tokio::test]
async fn schemathesis_finds_nothing_on_postgres() {
    let Some(database) = ScratchDatabase::postgres().await else { return };
    fuzz(&database.url).await;
}
