//! The migrations themselves, and that the database enforces every constraint on its own.

use carenest_store_tests::{on_both_backends, Raw, TestDb};

async fn migrations_go_down_to_nothing_and_up_again_to_the_same_schema(db: &TestDb) {
    let store = db.store();
    let mut raw = db.raw().await;
    let migrated = raw.schema_objects().await;
    for table in [
        "users",
        "parent_profiles",
        "child_profiles",
        "parenting_goals",
        "goal_templates",
        "therapists",
        "sessions",
        "session_therapists",
        "auth_tokens",
        "audit_log",
        "seeders",
    ] {
        assert!(migrated.contains(&format!("table {table}")), "{table} missing from {migrated:?}");
    }
    let undone = store.rollback(None).await.unwrap();
    assert_eq!(undone.len(), 4);
    assert!(raw.schema_objects().await.is_empty(), "rollback --all leaves nothing");
    assert!(store.migration_status().await.unwrap().pending().count() == 4);
    store.migrate().await.unwrap();
    assert_eq!(raw.schema_objects().await, migrated);
    assert_eq!(store.migration_status().await.unwrap().pending().count(), 0);
}

async fn rolling_back_one_step_undoes_only_the_newest_migration(db: &TestDb) {
    let store = db.store();
    let undone = store.rollback(Some(1)).await.unwrap();
    assert_eq!(undone.iter().map(|m| m.version).collect::<Vec<_>>(), [4]);
    let status = store.migration_status().await.unwrap();
    assert_eq!(status.pending().map(|m| m.version).collect::<Vec<_>>(), [4]);
    assert!(store.migrate().await.unwrap().iter().any(|m| m.version == 4));
}

async fn migrating_a_database_that_a_newer_binary_migrated_is_refused(db: &TestDb) {
    let mut raw = db.raw().await;
    let sql = match raw {
        Raw::Sqlite(_) => "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (9999, 'future', 1, x'00', 0)",
        Raw::Postgres(_) => "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (9999, 'future', true, '\\x00', 0)",
    };
    raw.execute(sql).await.unwrap();
    let error = db.store().migrate().await.unwrap_err();
    assert!(error.to_string().contains("unknown_migration"), "{error}");
    assert_eq!(db.store().migration_status().await.unwrap().unknown_applied, [9999]);
}

const USER: &str = "INSERT INTO users (username, email, password) VALUES ('anna', 'anna@example.org', '$argon2id$x')";
const PROFILE: &str = "INSERT INTO parent_profiles (user_id, name, stress_level, experience_level) VALUES (1, 'Anna', 'low', 'first_time')";
const CHILD: &str = "INSERT INTO child_profiles (parent_profile_id, name, age) VALUES (1, 'Noor', 3)";
const THERAPIST: &str = "INSERT INTO therapists (name) VALUES ('Bram')";
const SESSION: &str = "INSERT INTO sessions (date, start_time, end_time, child_profile_id) VALUES ('2026-12-01', '09:00:00', '10:00:00', 1)";

async fn rejects(raw: &mut Raw, sql: &str, why: &str) {
    assert!(raw.execute(sql).await.is_err(), "the database accepted {why}: {sql}");
}

async fn the_database_enforces_every_constraint_by_itself(db: &TestDb) {
    let mut raw = db.raw().await;
    for sql in [USER, PROFILE, CHILD, THERAPIST, SESSION] {
        raw.execute(sql).await.unwrap();
    }
    rejects(
        &mut raw,
        "INSERT INTO users (username, email, password) VALUES ('ANNA', 'b@example.org', '$argon2id$x')",
        "a username differing only in case",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO users (username, email, password) VALUES ('bob', 'ANNA@example.org', '$argon2id$x')",
        "a duplicate email",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO users (username, email, password, role) VALUES ('bob', 'b@example.org', '$argon2id$x', 'root')",
        "an unknown role",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO users (username, email, password) VALUES ('bob', 'b@example.org', 'plain')",
        "a password that is not an Argon2id hash",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO users (username, email, password) VALUES ('b b', 'b@example.org', '$argon2id$x')",
        "a username with a space",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO users (email, password) VALUES ('b@example.org', '$argon2id$x')",
        "a user without a username",
    )
    .await;
    rejects(&mut raw, PROFILE, "a second parent profile for one user").await;
    rejects(&mut raw, "INSERT INTO parent_profiles (user_id, name, stress_level, experience_level) VALUES (99, 'X', 'low', 'first_time')", "a profile of a missing user").await;
    raw.execute("INSERT INTO users (username, email, password) VALUES ('bob', 'bob@example.org', '$argon2id$x')")
        .await
        .unwrap();
    rejects(&mut raw, "INSERT INTO parent_profiles (user_id, name, stress_level, experience_level) VALUES (2, 'Bob', 'extreme', 'first_time')", "an unknown stress level").await;
    rejects(&mut raw, "INSERT INTO parent_profiles (user_id, name, stress_level, experience_level) VALUES (2, 'Bob', 'low', 'expert')", "an unknown experience level").await;
    rejects(&mut raw, "INSERT INTO parent_profiles (user_id, name, stress_level, experience_level, onboarding_data) VALUES (2, 'Bob', 'low', 'first_time', '[1]')", "onboarding data that is not an object").await;
    rejects(
        &mut raw,
        "INSERT INTO child_profiles (parent_profile_id, name, age) VALUES (1, 'Old', 26)",
        "an age over 25",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO child_profiles (parent_profile_id, name, age) VALUES (1, 'Neg', -1)",
        "a negative age",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO child_profiles (parent_profile_id, name, age) VALUES (42, 'Lost', 3)",
        "a child of a missing profile",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO child_profiles (parent_profile_id, name, age, routines) VALUES (1, 'R', 3, '\"text\"')",
        "routines that are neither object nor array",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO parenting_goals (parent_profile_id, title, progress) VALUES (1, 'Sleep', 101)",
        "progress over 100",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO parenting_goals (parent_profile_id, title, status) VALUES (1, 'Sleep', 'done')",
        "an unknown goal status",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO sessions (date, start_time, end_time) VALUES ('2026-12-01', '10:00:00', '10:00:00')",
        "a session ending when it starts",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO sessions (date, start_time, end_time) VALUES ('2026-12-01', '11:00:00', '10:00:00')",
        "a session ending before it starts",
    )
    .await;
    rejects(&mut raw, "INSERT INTO sessions (date, start_time, end_time, status) VALUES ('2026-12-01', '09:00:00', '10:00:00', 'maybe')", "an unknown session status").await;
    rejects(
        &mut raw,
        "INSERT INTO sessions (date, start_time, end_time) VALUES ('2026-02-30', '09:00:00', '10:00:00')",
        "a date that does not exist",
    )
    .await;
    raw.execute("INSERT INTO session_therapists (session_id, therapist_id, date) VALUES (1, 1, '2026-12-01')")
        .await
        .unwrap();
    rejects(
        &mut raw,
        "INSERT INTO session_therapists (session_id, therapist_id, date) VALUES (1, 1, '2026-12-01')",
        "the same therapist twice on a session",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO session_therapists (session_id, therapist_id, date) VALUES (1, 77, '2026-12-01')",
        "a link to a missing therapist",
    )
    .await;
    raw.execute("UPDATE therapists SET user_id = 1 WHERE id = 1").await.unwrap();
    raw.execute("INSERT INTO therapists (name, user_id) VALUES ('Cleo', NULL)").await.unwrap();
    rejects(&mut raw, "UPDATE therapists SET user_id = 1 WHERE id = 2", "two therapists linked to one user").await;
    rejects(
        &mut raw,
        "INSERT INTO session_therapists (session_id, therapist_id, date) VALUES (1, 2, '2026-12-02')",
        "a link whose date is not its session's",
    )
    .await;
    raw.execute("INSERT INTO session_therapists (session_id, therapist_id, date) VALUES (1, 2, '2026-12-01')")
        .await
        .unwrap();
}

async fn defaults_and_cascades_follow_the_data_model(db: &TestDb) {
    let mut raw = db.raw().await;
    for sql in [
        USER,
        PROFILE,
        CHILD,
        THERAPIST,
        SESSION,
        "INSERT INTO session_therapists (session_id, therapist_id, date) VALUES (1, 1, '2026-12-01')",
    ] {
        raw.execute(sql).await.unwrap();
    }
    raw.execute("INSERT INTO parenting_goals (parent_profile_id, child_profile_id, title) VALUES (1, 1, 'Sleep')")
        .await
        .unwrap();
    assert_eq!(raw.text("SELECT preferred_language FROM parent_profiles").await.as_deref(), Some("nl"));
    assert_eq!(raw.text("SELECT status FROM parenting_goals").await.as_deref(), Some("active"));
    assert_eq!(raw.text("SELECT status FROM sessions").await.as_deref(), Some("scheduled"));
    assert_eq!(raw.text("SELECT role FROM users").await.as_deref(), Some("parent"));

    // Moving a session moves its links' date with it.
    raw.execute("UPDATE sessions SET date = '2026-12-03' WHERE id = 1").await.unwrap();
    assert_eq!(
        raw.text("SELECT CAST(date AS TEXT) FROM session_therapists WHERE session_id = 1").await.as_deref(),
        Some("2026-12-03")
    );
    // Deleting a child unlinks its goals and sessions.
    raw.execute("DELETE FROM child_profiles WHERE id = 1").await.unwrap();
    assert_eq!(
        raw.text("SELECT CAST(count(*) AS TEXT) FROM parenting_goals WHERE child_profile_id IS NULL").await.as_deref(),
        Some("1")
    );
    assert_eq!(
        raw.text("SELECT CAST(count(*) AS TEXT) FROM sessions WHERE child_profile_id IS NULL").await.as_deref(),
        Some("1")
    );
    // Deleting a therapist removes their links, not the session.
    raw.execute("DELETE FROM therapists WHERE id = 1").await.unwrap();
    assert_eq!(raw.text("SELECT CAST(count(*) AS TEXT) FROM session_therapists").await.as_deref(), Some("0"));
    assert_eq!(raw.text("SELECT CAST(count(*) AS TEXT) FROM sessions").await.as_deref(), Some("1"));
    // Deleting a user takes the profile and with it the goals.
    raw.execute("DELETE FROM users WHERE id = 1").await.unwrap();
    assert_eq!(raw.text("SELECT CAST(count(*) AS TEXT) FROM parent_profiles").await.as_deref(), Some("0"));
    assert_eq!(raw.text("SELECT CAST(count(*) AS TEXT) FROM parenting_goals").await.as_deref(), Some("0"));
}

async fn the_audit_log_refuses_updates_and_deletes(db: &TestDb) {
    let mut raw = db.raw().await;
    raw.execute(
        "INSERT INTO audit_log (at, actor_user_id, actor_role, action, resource_type, resource_id, subject_user_id)
         VALUES ('2026-11-21T09:00:00.000000Z', 1, 'admin', 'read', 'session', 1, 2)",
    )
    .await
    .unwrap();
    rejects(&mut raw, "UPDATE audit_log SET actor_user_id = 3", "an edited audit row").await;
    rejects(&mut raw, "DELETE FROM audit_log", "a deleted audit row").await;
    assert_eq!(raw.text("SELECT CAST(count(*) AS TEXT) FROM audit_log").await.as_deref(), Some("1"));
}

on_both_backends!(
    migrations_go_down_to_nothing_and_up_again_to_the_same_schema,
    rolling_back_one_step_undoes_only_the_newest_migration,
    migrating_a_database_that_a_newer_binary_migrated_is_refused,
    the_database_enforces_every_constraint_by_itself,
    defaults_and_cascades_follow_the_data_model,
    the_audit_log_refuses_updates_and_deletes,
);
