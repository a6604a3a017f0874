//! Secrets never reach a response or a log line, on both backends.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use carenest_store_tests::{on_both_backends, TestDb};
use common::{TestApp, PASSWORD};
use serde_json::json;

/// Every log line the process writes, from a subscriber installed once for the whole binary:
/// a thread-scoped subscriber misses events when other tests run in parallel.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

fn captured_logs() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(move || writer.clone()).init();
        captured
    })
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn tokens_passwords_and_hashes_never_reach_a_response_or_a_log_line(db: &TestDb) {
    let captured = captured_logs();
    let app = TestApp::new(db);
    let (_, token) = app.parent("anna").await;
    let second = app.login("anna", PASSWORD).await;
    app.login("anna", "a wrong password").await;
    app.patch("/api/v1/me", &token, json!({"password": "another secret", "currentPassword": PASSWORD})).await;
    app.get("/api/v1/me", &token).await;
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("logged in"), "the capture works: {logs}");
    let hash = db.store().credentials_by_login("anna").await.unwrap().unwrap().password_hash;
    for secret in [
        token.as_str(),
        second.json()["token"].as_str().unwrap(),
        PASSWORD,
        "a wrong password",
        "another secret",
        hash.as_str(),
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs");
        assert!(!second.text.contains(&hash));
    }
}

on_both_backends!(tokens_passwords_and_hashes_never_reach_a_response_or_a_log_line);
