//! The accounts store contract, on both backends.

use carenest_domain::accounts::{NewUser, Role, ThrottleKey, ThrottlePolicy, UserChanges};
use carenest_domain::family::NewChild;
use carenest_domain::scheduling::{NewSession, SessionScope, SessionStatus};
use carenest_domain::time::now;
use carenest_domain::StoreError;
use carenest_store_tests::fixtures::STAFF;
use carenest_store_tests::fixtures::{parent, user};
use carenest_store_tests::{conflict, on_both_backends, TestDb};
use chrono::{Duration, NaiveDate, NaiveTime};

fn conflict_name(error: StoreError) -> &'static str {
    match error {
        StoreError::Conflict { constraint, .. } => constraint,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn usernames_and_emails_are_unique_regardless_of_case(db: &TestDb) {
    let store = db.store();
    user(store.as_ref(), "Anna", Role::Parent).await;
    let mut again = carenest_domain::accounts::NewUser {
        username: "anna".into(),
        email: "other@example.org".into(),
        password_hash: carenest_store_tests::fixtures::FAKE_HASH.into(),
        profile_picture: None,
        role: Role::Parent,
        first_token: None,
    };
    assert_eq!(conflict_name(store.create_user(again.clone()).await.unwrap_err()), "users_username_key");
    again.username = "bob".into();
    again.email = "ANNA@example.org".into();
    assert_eq!(conflict_name(store.create_user(again).await.unwrap_err()), "users_email_key");
}

async fn a_user_is_found_by_username_or_email_in_any_case(db: &TestDb) {
    let store = db.store();
    let anna = user(store.as_ref(), "Anna", Role::Parent).await;
    for login in ["anna", "ANNA", "Anna@Example.org"] {
        let found = store.credentials_by_login(login).await.unwrap().expect(login);
        assert_eq!(found.user.id, anna.id);
    }
    assert!(store.credentials_by_login("nobody").await.unwrap().is_none());
}

async fn tokens_work_until_they_expire_or_are_revoked(db: &TestDb) {
    let store = db.store();
    let anna = user(store.as_ref(), "anna", Role::Parent).await;
    let live = [1u8; 32];
    let expired = [2u8; 32];
    store.insert_token(anna.id, &live, now() + Duration::days(30)).await.unwrap();
    store.insert_token(anna.id, &expired, now() - Duration::seconds(1)).await.unwrap();
    assert_eq!(store.user_by_token(&live, now()).await.unwrap().map(|holder| holder.user.id), Some(anna.id));
    assert!(store.user_by_token(&expired, now()).await.unwrap().is_none());
    assert!(store.user_by_token(&[3u8; 32], now()).await.unwrap().is_none());
    store.revoke_token(&live).await.unwrap();
    assert!(store.user_by_token(&live, now()).await.unwrap().is_none());
}

async fn a_new_password_revokes_every_other_token(db: &TestDb) {
    let store = db.store();
    let anna = user(store.as_ref(), "anna", Role::Parent).await;
    let (this, other) = ([4u8; 32], [5u8; 32]);
    for token in [this, other] {
        store.insert_token(anna.id, &token, now() + Duration::days(1)).await.unwrap();
    }
    let changes = UserChanges {
        password_hash: Some(carenest_store_tests::fixtures::FAKE_HASH.replace("YWJj", "QUJD")),
        ..Default::default()
    };
    store.update_user(anna.id, changes, Some(&this)).await.unwrap();
    assert!(store.user_by_token(&this, now()).await.unwrap().is_some());
    assert!(store.user_by_token(&other, now()).await.unwrap().is_none());
}

async fn the_last_admin_can_neither_be_demoted_nor_erased(db: &TestDb) {
    let store = db.store();
    let admin = user(store.as_ref(), "admin", Role::Admin).await;
    assert_eq!(conflict_name(store.set_role(admin.id, Role::Parent).await.unwrap_err()), "last_admin");
    assert_eq!(conflict_name(store.erase_user(admin.id).await.unwrap_err()), "last_admin");
    let second = user(store.as_ref(), "second", Role::Parent).await;
    store.set_role(second.id, Role::Admin).await.unwrap();
    assert_eq!(store.set_role(admin.id, Role::Parent).await.unwrap().role, Role::Parent);
}

async fn erasing_a_user_leaves_no_row_of_theirs_and_unlinks_their_childrens_sessions(db: &TestDb) {
    let store = db.store();
    let (anna, _) = parent(store.as_ref(), "anna").await;
    let child = store.create_child(anna.id, NewChild::new("Noor", 4)).await.unwrap();
    store.insert_token(anna.id, &[6u8; 32], now() + Duration::days(1)).await.unwrap();
    let therapist = store.create_therapist("Bram".into(), None).await.unwrap();
    let session = store
        .create_sessions(
            NewSession {
                date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                start_time: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
                end_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
                notes: None,
                status: SessionStatus::Scheduled,
                therapist_ids: vec![therapist.id],
                child_profile_id: Some(child.id),
                repeat: None,
                outside_working_hours: false,
            },
            STAFF,
        )
        .await
        .unwrap()
        .remove(0);
    store.erase_user(anna.id).await.unwrap();
    let mut raw = db.raw().await;
    for (table, column) in [("users", "id"), ("parent_profiles", "user_id"), ("auth_tokens", "user_id")] {
        let count = raw.text(&format!("SELECT CAST(count(*) AS TEXT) FROM {table} WHERE {column} = {}", anna.id)).await;
        assert_eq!(count.as_deref(), Some("0"), "{table} still holds a row of the erased user");
    }
    assert_eq!(raw.text("SELECT CAST(count(*) AS TEXT) FROM child_profiles").await.as_deref(), Some("0"));
    let kept = store.session(SessionScope::All, session.id).await.unwrap();
    assert_eq!(kept.child_profile_id, None, "the session stays, unlinked");
}

async fn failed_logins_lock_a_key_across_processes_until_its_window_ends(db: &TestDb) {
    let (first, second) = (db.store(), db.second_store().await);
    let policy = ThrottlePolicy { max_failures: 3, window: Duration::minutes(15) };
    let key = ThrottleKey::username("Anna");
    let start = now();
    for (n, store) in [&first, &second, &first].into_iter().enumerate() {
        let attempts = store.count_attempt(&key, policy, start).await.unwrap();
        assert_eq!(attempts.count, n as i64 + 1);
        assert!(attempts.locked_until(policy).is_none(), "three attempts are allowed");
    }
    let fourth = second.count_attempt(&key, policy, start).await.unwrap();
    assert_eq!(fourth.locked_until(policy), Some(start + policy.window), "the fourth is one too many");
    let same = first.count_attempt(&ThrottleKey::username("anna"), policy, start).await.unwrap();
    assert_eq!(same.count, 5, "keys ignore case");
    let later = first.count_attempt(&key, policy, start + Duration::minutes(16)).await.unwrap();
    assert_eq!((later.count, later.locked_until(policy)), (1, None), "the window ends, and a new one begins");
    first.clear_attempts(std::slice::from_ref(&key)).await.unwrap();
    assert_eq!(second.count_attempt(&key, policy, start).await.unwrap().count, 1);
}

async fn simultaneous_attempts_are_each_counted_once(db: &TestDb) {
    let (first, second) = (db.store(), db.second_store().await);
    let policy = ThrottlePolicy { max_failures: 5, window: Duration::minutes(15) };
    let key = ThrottleKey::username("anna");
    let start = now();
    let attempts = futures::future::join_all((0..30).map(|n| {
        let (store, key) = (if n % 2 == 0 { first.clone() } else { second.clone() }, key.clone());
        async move { store.count_attempt(&key, policy, start).await.unwrap().count }
    }))
    .await;
    let mut counts = attempts.clone();
    counts.sort_unstable();
    assert_eq!(counts, (1..=30).collect::<Vec<_>>(), "no attempt lost or counted twice");
    assert_eq!(attempts.iter().filter(|n| **n <= policy.max_failures).count(), 5, "five may go on to be verified");
    first.forgive_attempt(&key).await.unwrap();
    assert_eq!(first.count_attempt(&key, policy, start).await.unwrap().count, 30, "one taken back, one more counted");
}

async fn a_client_that_logged_in_is_remembered_per_account(db: &TestDb) {
    let store = db.store();
    let anna = user(store.as_ref(), "anna", Role::Parent).await;
    let bram = user(store.as_ref(), "bram", Role::Parent).await;
    let client = [7u8; 32];
    assert!(!store.is_known_client(anna.id, &client).await.unwrap());
    store.remember_client(anna.id, &client, now()).await.unwrap();
    store.remember_client(anna.id, &client, now()).await.unwrap();
    assert!(store.is_known_client(anna.id, &client).await.unwrap());
    assert!(!store.is_known_client(bram.id, &client).await.unwrap(), "per account");
}

async fn users_are_listed_by_id_a_page_at_a_time(db: &TestDb) {
    let store = db.store();
    for name in ["user1", "user2", "user3", "user4", "user5"] {
        user(store.as_ref(), name, Role::Parent).await;
    }
    let mut seen = Vec::new();
    let mut page = carenest_domain::page::PageRequest::first(2);
    loop {
        let batch = store.list_users(page.clone()).await.unwrap();
        seen.extend(batch.items.iter().map(|u| u.username.clone()));
        match batch.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["user1", "user2", "user3", "user4", "user5"]);
}

async fn a_user_and_its_first_token_are_written_together_or_not_at_all(db: &TestDb) {
    let store = db.store();
    let new = |username: &str, hash: u8| carenest_domain::accounts::NewUser {
        username: username.into(),
        email: format!("{username}@example.org"),
        password_hash: carenest_store_tests::fixtures::FAKE_HASH.into(),
        profile_picture: None,
        role: Role::Parent,
        first_token: Some(carenest_domain::accounts::NewToken {
            hash: vec![hash; 32],
            expires_at: now() + Duration::days(1),
        }),
    };
    let anna = store.create_user(new("anna", 7)).await.unwrap();
    assert_eq!(store.user_by_token(&[7u8; 32], now()).await.unwrap().map(|holder| holder.user.id), Some(anna.id));
    let taken = NewUser { email: "someone.else@example.org".into(), ..new("ANNA", 8) };
    assert_eq!(conflict(store.create_user(taken).await), "users_username_key", "the username is taken");
    assert!(store.user_by_token(&[8u8; 32], now()).await.unwrap().is_none(), "the refused registration left no token");
    let mut raw = db.raw().await;
    assert_eq!(raw.text("SELECT CAST(count(*) AS TEXT) FROM auth_tokens").await.as_deref(), Some("1"));
}

on_both_backends!(
    a_user_and_its_first_token_are_written_together_or_not_at_all,
    usernames_and_emails_are_unique_regardless_of_case,
    a_user_is_found_by_username_or_email_in_any_case,
    tokens_work_until_they_expire_or_are_revoked,
    a_new_password_revokes_every_other_token,
    the_last_admin_can_neither_be_demoted_nor_erased,
    erasing_a_user_leaves_no_row_of_theirs_and_unlinks_their_childrens_sessions,
    failed_logins_lock_a_key_across_processes_until_its_window_ends,
    simultaneous_attempts_are_each_counted_once,
    a_client_that_logged_in_is_remembered_per_account,
    users_are_listed_by_id_a_page_at_a_time,
);
