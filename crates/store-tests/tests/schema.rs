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
        "working_hours",
        "time_off",
        "closures",
        "calendar_feeds",
    ] {
        assert!(migrated.contains(&format!("table {table}")), "{table} missing from {migrated:?}");
    }
    let known = store.migration_status().await.unwrap().known.len();
    let undone = store.rollback(None, false).await.unwrap();
    assert_eq!(undone.len(), known);
    assert!(raw.schema_objects().await.is_empty(), "rollback --all leaves nothing");
    assert!(store.migration_status().await.unwrap().pending().count() == known);
    store.migrate().await.unwrap();
    assert_eq!(raw.schema_objects().await, migrated);
    assert_eq!(store.migration_status().await.unwrap().pending().count(), 0);
}

async fn rolling_back_one_step_undoes_only_the_newest_migration(db: &TestDb) {
    let store = db.store();
    let newest = store.migration_status().await.unwrap().known.last().unwrap().version;
    let undone = store.rollback(Some(1), false).await.unwrap();
    assert_eq!(undone.iter().map(|m| m.version).collect::<Vec<_>>(), [newest]);
    let status = store.migration_status().await.unwrap();
    assert_eq!(status.pending().map(|m| m.version).collect::<Vec<_>>(), [newest]);
    assert!(store.migrate().await.unwrap().iter().any(|m| m.version == newest));
}

async fn rolling_back_past_the_audit_migration_is_refused_while_the_log_holds_rows(db: &TestDb) {
    let store = db.store();
    // A family's profile is audited, so the log holds a row.
    carenest_store_tests::fixtures::parent(store.as_ref(), "anna").await;
    let known = store.migration_status().await.unwrap().known.len();
    let refused = store.rollback(None, false).await;
    assert_eq!(carenest_store_tests::conflict(refused), "audit_log_not_empty");
    assert_eq!(store.migration_status().await.unwrap().pending().count(), 0, "nothing was undone");
    let later = store.rollback(Some(known - carenest_domain::ops::AUDIT_MIGRATION as usize), false).await.unwrap();
    assert!(later.iter().all(|m| m.version > carenest_domain::ops::AUDIT_MIGRATION), "later ones may go");
    assert_eq!(store.rollback(None, true).await.unwrap().len(), carenest_domain::ops::AUDIT_MIGRATION as usize);
    assert!(store.migration_status().await.unwrap().known.iter().all(|m| m.applied_at.is_none()));
}

async fn backups_cover_every_table_and_column_of_the_schema_with_its_nullability(db: &TestDb) {
    let mut raw = db.raw().await;
    let sql = match raw {
        Raw::Sqlite(_) => "SELECT group_concat(m.name || '.' || p.name || CASE p.\"notnull\" WHEN 1 THEN '!' ELSE '?' END, ' ')
             FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT IN ('_sqlx_migrations', 'audit_log_pruning')",
        Raw::Postgres(_) => "SELECT string_agg(table_name || '.' || column_name || CASE is_nullable WHEN 'NO' THEN '!' ELSE '?' END, ' ')
             FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name NOT IN ('_sqlx_migrations', 'audit_log_pruning')",
    };
    let mut live: Vec<String> = raw.text(sql).await.unwrap().split(' ').map(str::to_owned).collect();
    live.sort();
    let mut covered: Vec<String> = db
        .store()
        .backup_tables()
        .iter()
        .flat_map(|t| {
            t.columns.iter().map(move |c| format!("{}.{}{}", t.name, c.name, if c.nullable { '?' } else { '!' }))
        })
        .collect();
    covered.sort();
    assert_eq!(covered, live, "a migration changed the schema: update the backup catalogue in store-sql/src/backup.rs");
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

/// The rule a refused statement must be refused by.
enum Broken {
    /// A constraint or unique index, named alike on both backends.
    Rule(&'static str),
    /// A foreign key: PostgreSQL names it; SQLite only says that a foreign key failed.
    ForeignKey(&'static str),
    /// A NOT NULL column, which neither backend names as a constraint; both name the column.
    NotNull(&'static str),
    /// A date that does not exist: PostgreSQL's `date` type refuses it, SQLite's text column
    /// has a named check.
    ImpossibleDate { sqlite_rule: &'static str },
    /// The audit log's triggers.
    AppendOnly,
    /// A unique rule over more columns than a PostgreSQL name can spell out: PostgreSQL names
    /// it; SQLite names the columns.
    UniqueColumns { postgres: &'static str, sqlite_columns: &'static str },
}

async fn rejects(raw: &mut Raw, sql: &str, rule: Broken, why: &str) {
    let refusal = raw.execute(sql).await.expect_err(&format!("the database accepted {why}: {sql}"));
    let sqlite = matches!(raw, Raw::Sqlite(_));
    let named = |name: &str| refusal.constraint.as_deref() == Some(name);
    let refused_by_the_rule = match rule {
        Broken::Rule(name) => named(name),
        Broken::ForeignKey(_) if sqlite => refusal.message == "FOREIGN KEY constraint failed",
        Broken::ForeignKey(name) => named(name),
        Broken::NotNull(column) => refusal.constraint.is_none() && refusal.message.contains(column),
        Broken::ImpossibleDate { sqlite_rule } if sqlite => named(sqlite_rule),
        Broken::ImpossibleDate { .. } => refusal.message.contains("out of range"),
        Broken::AppendOnly => refusal.message.contains("audit_log is append-only"),
        Broken::UniqueColumns { sqlite_columns, .. } if sqlite => refusal.message.contains(sqlite_columns),
        Broken::UniqueColumns { postgres, .. } => named(postgres),
    };
    assert!(refused_by_the_rule, "{why} was refused for another reason: {refusal:?}");
}

async fn the_database_enforces_every_constraint_by_itself(db: &TestDb) {
    let mut raw = db.raw().await;
    for sql in [USER, PROFILE, CHILD, THERAPIST, SESSION] {
        raw.execute(sql).await.unwrap();
    }
    rejects(
        &mut raw,
        "INSERT INTO users (username, email, password) VALUES ('ANNA', 'b@example.org', '$argon2id$x')",
        Broken::Rule("users_username_key"),
        "a username differing only in case",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO users (username, email, password) VALUES ('bob', 'ANNA@example.org', '$argon2id$x')",
        Broken::Rule("users_email_key"),
        "a duplicate email",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO users (username, email, password, role) VALUES ('bob', 'b@example.org', '$argon2id$x', 'root')",
        Broken::Rule("users_role_check"),
        "an unknown role",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO users (username, email, password) VALUES ('bob', 'b@example.org', 'plain')",
        Broken::Rule("users_password_phc"),
        "a password that is not an Argon2id hash",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO users (username, email, password) VALUES ('b b', 'b@example.org', '$argon2id$x')",
        Broken::Rule("users_username_format"),
        "a username with a space",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO users (email, password) VALUES ('b@example.org', '$argon2id$x')",
        Broken::NotNull("username"),
        "a user without a username",
    )
    .await;
    rejects(&mut raw, PROFILE, Broken::Rule("parent_profiles_user_id_key"), "a second parent profile for one user")
        .await;
    rejects(&mut raw, "INSERT INTO parent_profiles (user_id, name, stress_level, experience_level) VALUES (99, 'X', 'low', 'first_time')", Broken::ForeignKey("parent_profiles_user_id_fkey"), "a profile of a missing user").await;
    raw.execute("INSERT INTO users (username, email, password) VALUES ('bob', 'bob@example.org', '$argon2id$x')")
        .await
        .unwrap();
    rejects(&mut raw, "INSERT INTO parent_profiles (user_id, name, stress_level, experience_level) VALUES (2, 'Bob', 'extreme', 'first_time')", Broken::Rule("parent_profiles_stress_level_check"), "an unknown stress level").await;
    rejects(&mut raw, "INSERT INTO parent_profiles (user_id, name, stress_level, experience_level) VALUES (2, 'Bob', 'low', 'expert')", Broken::Rule("parent_profiles_experience_level_check"), "an unknown experience level").await;
    rejects(&mut raw, "INSERT INTO parent_profiles (user_id, name, stress_level, experience_level, onboarding_data) VALUES (2, 'Bob', 'low', 'first_time', '[1]')", Broken::Rule("parent_profiles_onboarding_data_object"), "onboarding data that is not an object").await;
    rejects(
        &mut raw,
        "INSERT INTO child_profiles (parent_profile_id, name, age) VALUES (1, 'Old', 26)",
        Broken::Rule("child_profiles_age_check"),
        "an age over 25",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO child_profiles (parent_profile_id, name, age) VALUES (1, 'Neg', -1)",
        Broken::Rule("child_profiles_age_check"),
        "a negative age",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO child_profiles (parent_profile_id, name, age) VALUES (42, 'Lost', 3)",
        Broken::ForeignKey("child_profiles_parent_profile_id_fkey"),
        "a child of a missing profile",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO child_profiles (parent_profile_id, name, age, routines) VALUES (1, 'R', 3, '\"text\"')",
        Broken::Rule("child_profiles_routines_shape"),
        "routines that are neither object nor array",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO parenting_goals (parent_profile_id, title, progress) VALUES (1, 'Sleep', 101)",
        Broken::Rule("parenting_goals_progress_check"),
        "progress over 100",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO parenting_goals (parent_profile_id, title, status) VALUES (1, 'Sleep', 'done')",
        Broken::Rule("parenting_goals_status_check"),
        "an unknown goal status",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO sessions (date, start_time, end_time) VALUES ('2026-12-01', '10:00:00', '10:00:00')",
        Broken::Rule("sessions_time_order"),
        "a session ending when it starts",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO sessions (date, start_time, end_time) VALUES ('2026-12-01', '11:00:00', '10:00:00')",
        Broken::Rule("sessions_time_order"),
        "a session ending before it starts",
    )
    .await;
    rejects(&mut raw, "INSERT INTO sessions (date, start_time, end_time, status) VALUES ('2026-12-01', '09:00:00', '10:00:00', 'maybe')", Broken::Rule("sessions_status_check"), "an unknown session status").await;
    rejects(
        &mut raw,
        "INSERT INTO sessions (date, start_time, end_time) VALUES ('2026-02-30', '09:00:00', '10:00:00')",
        Broken::ImpossibleDate { sqlite_rule: "sessions_date_format" },
        "a date that does not exist",
    )
    .await;
    raw.execute("INSERT INTO session_therapists (session_id, therapist_id, date) VALUES (1, 1, '2026-12-01')")
        .await
        .unwrap();
    rejects(
        &mut raw,
        "INSERT INTO session_therapists (session_id, therapist_id, date) VALUES (1, 1, '2026-12-01')",
        Broken::Rule("session_therapists_session_id_therapist_id_key"),
        "the same therapist twice on a session",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO session_therapists (session_id, therapist_id, date) VALUES (1, 77, '2026-12-01')",
        Broken::ForeignKey("session_therapists_therapist_id_fkey"),
        "a link to a missing therapist",
    )
    .await;
    raw.execute("UPDATE therapists SET user_id = 1 WHERE id = 1").await.unwrap();
    raw.execute("INSERT INTO therapists (name, user_id) VALUES ('Cleo', NULL)").await.unwrap();
    rejects(
        &mut raw,
        "UPDATE therapists SET user_id = 1 WHERE id = 2",
        Broken::Rule("therapists_user_id_key"),
        "two therapists linked to one user",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO session_therapists (session_id, therapist_id, date) VALUES (1, 2, '2026-12-02')",
        Broken::ForeignKey("session_therapists_session_id_fkey"),
        "a link whose date is not its session's",
    )
    .await;
    raw.execute("INSERT INTO session_therapists (session_id, therapist_id, date) VALUES (1, 2, '2026-12-01')")
        .await
        .unwrap();

    raw.execute(
        "INSERT INTO working_hours (therapist_id, weekday, start_time, end_time) VALUES (1, 1, '09:00:00', '12:00:00')",
    )
    .await
    .unwrap();
    raw.execute(
        "INSERT INTO working_hours (therapist_id, weekday, start_time, end_time) VALUES (1, 1, '12:00:00', '17:00:00')",
    )
    .await
    .unwrap();
    rejects(
        &mut raw,
        "INSERT INTO working_hours (therapist_id, weekday, start_time, end_time) VALUES (1, 1, '11:00:00', '13:00:00')",
        Broken::Rule("working_hours_no_overlap"),
        "working hours overlapping others of the day",
    )
    .await;
    rejects(
        &mut raw,
        "UPDATE working_hours SET start_time = '11:30:00' WHERE start_time = '12:00:00'",
        Broken::Rule("working_hours_no_overlap"),
        "working hours moved onto others",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO working_hours (therapist_id, weekday, start_time, end_time) VALUES (1, 8, '09:00:00', '10:00:00')",
        Broken::Rule("working_hours_weekday_check"),
        "a weekday after Sunday",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO working_hours (therapist_id, weekday, start_time, end_time) VALUES (1, 2, '10:00:00', '09:00:00')",
        Broken::Rule("working_hours_time_order"),
        "working hours ending before they start",
    )
    .await;
    rejects(
        &mut raw,
        "INSERT INTO time_off (therapist_id, start_date, end_date) VALUES (1, '2026-12-02', '2026-12-01')",
        Broken::Rule("time_off_date_order"),
        "time off ending before it starts",
    )
    .await;
    rejects(&mut raw, "INSERT INTO time_off (therapist_id, start_date, end_date, start_time) VALUES (1, '2026-12-01', '2026-12-01', '09:00:00')", Broken::Rule("time_off_times_together"), "part of a day off without its end").await;
    rejects(&mut raw, "INSERT INTO time_off (therapist_id, start_date, end_date, start_time, end_time) VALUES (1, '2026-12-01', '2026-12-02', '09:00:00', '12:00:00')", Broken::Rule("time_off_part_day_is_one_day"), "part of a day off over two days").await;
    rejects(
        &mut raw,
        "INSERT INTO closures (start_date, end_date, name) VALUES ('2026-12-02', '2026-12-01', 'X')",
        Broken::Rule("closures_date_order"),
        "a closure ending before it starts",
    )
    .await;
    let secret = if matches!(raw, Raw::Sqlite(_)) { "zeroblob(32)" } else { "decode(repeat('00', 32), 'hex')" };
    let nobodys_feed = format!("INSERT INTO calendar_feeds (secret_hash) VALUES ({secret})");
    rejects(&mut raw, &nobodys_feed, Broken::Rule("calendar_feeds_one_owner"), "a feed of nobody").await;
    let reminder = |offset: &str, state: &str| {
        format!(
            "INSERT INTO reminders (session_id, recipient_user_id, offset_minutes, session_version, due_at, state,
                next_attempt_at) VALUES (1, 1, {offset}, 0, '2026-11-30T08:00:00Z', '{state}', '2026-11-30T08:00:00Z')"
        )
    };
    raw.execute(&reminder("1440", "pending")).await.unwrap();
    rejects(
        &mut raw,
        &reminder("1440", "superseded"),
        Broken::UniqueColumns {
            postgres: "reminders_once",
            sqlite_columns: "reminders.session_id, reminders.recipient_user_id, reminders.offset_minutes, reminders.session_version",
        },
        "a second reminder of one session version at one offset to one family",
    )
    .await;
    rejects(&mut raw, &reminder("0", "pending"), Broken::Rule("reminders_offset_minutes_check"), "a zero offset").await;
    rejects(&mut raw, &reminder("60", "lost"), Broken::Rule("reminders_state_check"), "an unknown state").await;
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
    rejects(&mut raw, "UPDATE audit_log SET actor_user_id = 3", Broken::AppendOnly, "an edited audit row").await;
    rejects(&mut raw, "DELETE FROM audit_log", Broken::AppendOnly, "a deleted audit row").await;
    assert_eq!(raw.text("SELECT CAST(count(*) AS TEXT) FROM audit_log").await.as_deref(), Some("1"));
}

/// Every value of every row of `table`, in id order, as one text.
async fn rows_of(raw: &mut Raw, table: &str, columns: &str) -> String {
    let row = columns
        .split(", ")
        .map(|c| format!("coalesce(CAST({c} AS TEXT), '-')"))
        .collect::<Vec<_>>()
        .join(" || ',' || ");
    let all = if matches!(raw, Raw::Sqlite(_)) { "group_concat(r, ' | ')" } else { "string_agg(r, ' | ')" };
    raw.text(&format!("SELECT {all} FROM (SELECT {row} AS r FROM {table} ORDER BY id) rows")).await.unwrap_or_default()
}

/// On SQLite, whether `table`'s definition still checks `column` against a list.
async fn checks_a_list(raw: &mut Raw, table: &str, column: &str) -> bool {
    let sql = format!("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '{table}'");
    raw.text(&sql).await.expect("the table exists").contains(&format!("CHECK ({column} IN ("))
}

async fn the_checks_migration_keeps_every_audit_row_and_reminder_and_their_rules_both_ways(db: &TestDb) {
    const AUDIT: &str = "id, at, actor_user_id, actor_role, action, resource_type, resource_id, subject_user_id, \
         created_at, updated_at";
    const REMINDER: &str = "id, session_id, recipient_user_id, offset_minutes, session_version, due_at, state, \
         next_attempt_at, attempts, last_error, sent_at, created_at, updated_at";
    let store = db.store();
    let mut raw = db.raw().await;
    for sql in [USER, PROFILE, CHILD, SESSION] {
        raw.execute(sql).await.unwrap();
    }
    raw.execute(
        "INSERT INTO audit_log (at, actor_user_id, actor_role, action, resource_type, resource_id, subject_user_id)
         VALUES ('2026-11-21T09:00:00.000000Z', 1, 'admin', 'read', 'session', 1, 1),
                ('2026-11-21T09:00:01.000000Z', 2, 'therapist', 'update', 'session', 1, 1)",
    )
    .await
    .unwrap();
    raw.execute(
        "INSERT INTO reminders (session_id, recipient_user_id, offset_minutes, session_version, due_at, state,
            next_attempt_at, attempts, last_error) VALUES
            (1, 1, 1440, 0, '2026-11-30T09:00:00Z', 'failed', '2026-11-30T09:00:00Z', 3, 'mailbox full'),
            (1, 1, 60, 0, '2026-12-01T08:00:00Z', 'pending', '2026-12-01T08:00:00Z', 0, NULL)",
    )
    .await
    .unwrap();
    let audit = rows_of(&mut raw, "audit_log", AUDIT).await;
    let reminders = rows_of(&mut raw, "reminders", REMINDER).await;
    assert!(audit.contains("therapist") && reminders.contains("mailbox full"), "{audit} / {reminders}");
    let sqlite = matches!(raw, Raw::Sqlite(_));

    let undone = store.rollback(Some(1), false).await.unwrap();
    assert_eq!(undone.iter().map(|m| m.version).collect::<Vec<_>>(), [8]);
    assert_eq!(rows_of(&mut raw, "audit_log", AUDIT).await, audit);
    assert_eq!(rows_of(&mut raw, "reminders", REMINDER).await, reminders);
    if sqlite {
        assert!(checks_a_list(&mut raw, "audit_log", "action").await, "migration 8 undone");
    }

    store.migrate().await.unwrap();
    assert_eq!(rows_of(&mut raw, "audit_log", AUDIT).await, audit);
    assert_eq!(rows_of(&mut raw, "reminders", REMINDER).await, reminders);
    if sqlite {
        for (table, column) in [("audit_log", "actor_role"), ("audit_log", "action"), ("reminders", "state")] {
            assert!(!checks_a_list(&mut raw, table, column).await, "{table}.{column} compares values one by one");
        }
    }
    // The rebuilt tables keep their rules, their names and their triggers.
    let audit_row = |role: &str, action: &str| {
        format!(
            "INSERT INTO audit_log (at, actor_user_id, actor_role, action, resource_type, resource_id, subject_user_id)
             VALUES ('2026-11-21T10:00:00.000000Z', 1, '{role}', '{action}', 'session', 1, 1)"
        )
    };
    rejects(&mut raw, &audit_row("visitor", "read"), Broken::Rule("audit_log_actor_role_check"), "an unknown role")
        .await;
    rejects(&mut raw, &audit_row("admin", "print"), Broken::Rule("audit_log_action_check"), "an unknown action").await;
    raw.execute(&audit_row("parent", "delete")).await.unwrap();
    rejects(&mut raw, "UPDATE audit_log SET actor_user_id = 3", Broken::AppendOnly, "an edited audit row").await;
    rejects(&mut raw, "DELETE FROM audit_log", Broken::AppendOnly, "a deleted audit row").await;
    rejects(&mut raw, "UPDATE reminders SET state = 'lost'", Broken::Rule("reminders_state_check"), "an unknown state")
        .await;
    raw.execute("UPDATE reminders SET state = 'superseded' WHERE state = 'pending'").await.unwrap();
    rejects(
        &mut raw,
        "INSERT INTO reminders (session_id, recipient_user_id, offset_minutes, session_version, due_at, next_attempt_at)
         VALUES (1, 1, 60, 0, '2026-12-01T08:00:00Z', '2026-12-01T08:00:00Z')",
        Broken::UniqueColumns {
            postgres: "reminders_once",
            sqlite_columns: "reminders.session_id, reminders.recipient_user_id, reminders.offset_minutes, reminders.session_version",
        },
        "a second reminder of one session version at one offset to one family",
    )
    .await;
    // Deleting the session still takes its reminders with it.
    raw.execute("DELETE FROM sessions").await.unwrap();
    assert_eq!(raw.text("SELECT CAST(count(*) AS TEXT) FROM reminders").await.as_deref(), Some("0"));
}

on_both_backends!(
    migrations_go_down_to_nothing_and_up_again_to_the_same_schema,
    rolling_back_one_step_undoes_only_the_newest_migration,
    rolling_back_past_the_audit_migration_is_refused_while_the_log_holds_rows,
    backups_cover_every_table_and_column_of_the_schema_with_its_nullability,
    migrating_a_database_that_a_newer_binary_migrated_is_refused,
    the_database_enforces_every_constraint_by_itself,
    defaults_and_cascades_follow_the_data_model,
    the_audit_log_refuses_updates_and_deletes,
    the_checks_migration_keeps_every_audit_row_and_reminder_and_their_rules_both_ways,
);
