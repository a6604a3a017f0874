//! The family store contract, on both backends.

use std::collections::BTreeSet;

use carenest_domain::family::*;
use carenest_domain::ids::{ChildId, GoalId};
use carenest_domain::page::PageRequest;
use carenest_domain::StoreError;
use carenest_store_tests::fixtures::{parent, user};
use carenest_store_tests::{conflict, invalid, on_both_backends, TestDb};
use serde_json::json;

async fn a_user_has_at_most_one_parent_profile(db: &TestDb) {
    let store = db.store();
    let (anna, _) = parent(store.as_ref(), "anna").await;
    let again = store
        .create_parent_profile(anna.id, NewParentProfile::new("Anna", StressLevel::Low, ExperienceLevel::Experienced))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict { constraint: "parent_profiles_user_id_key", .. })), "{again:?}");
}

async fn a_new_profile_gets_the_seed_defaults(db: &TestDb) {
    let store = db.store();
    let (_, profile) = parent(store.as_ref(), "anna").await;
    assert_eq!(profile.preferred_language, "nl");
    assert!(profile.primary_concerns.is_empty() && profile.support_network.is_empty());
    assert_eq!(profile.onboarding_data, json!({}));
    assert!(!profile.completed_onboarding);
    assert_eq!(profile.current_onboarding_step, 0);
    assert_eq!(profile.created_at, profile.updated_at);
}

async fn children_and_goals_need_a_parent_profile_first(db: &TestDb) {
    let store = db.store();
    let anna = user(store.as_ref(), "anna", carenest_domain::accounts::Role::Parent).await;
    let child = store.create_child(anna.id, NewChild::new("Noor", 3)).await;
    assert!(matches!(child, Err(StoreError::Conflict { constraint: "parent_profile_required", .. })), "{child:?}");
    let goal = store.create_goal(anna.id, NewGoal::new("Sleep")).await;
    assert!(matches!(goal, Err(StoreError::Conflict { constraint: "parent_profile_required", .. })), "{goal:?}");
}

async fn another_family_sees_none_of_this_familys_records(db: &TestDb) {
    let store = db.store();
    let (anna, _) = parent(store.as_ref(), "anna").await;
    let (bob, _) = parent(store.as_ref(), "bob").await;
    let child = store.create_child(anna.id, NewChild::new("Noor", 3)).await.unwrap();
    let goal = store.create_goal(anna.id, NewGoal::new("Sleep")).await.unwrap();
    assert!(matches!(store.child(bob.id, child.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.goal(bob.id, goal.id).await, Err(StoreError::NotFound)));
    assert!(matches!(
        store.update_child(bob.id, child.id, ChildChanges { age: Some(4), ..Default::default() }).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.update_goal(bob.id, goal.id, GoalChanges { progress: Some(5), ..Default::default() }).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(store.delete_child(bob.id, child.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete_goal(bob.id, goal.id).await, Err(StoreError::NotFound)));
    assert!(store.children(bob.id, PageRequest::first(50)).await.unwrap().items.is_empty());
    assert!(store.goals(bob.id, None, PageRequest::first(50)).await.unwrap().items.is_empty());
    assert_eq!(store.child(anna.id, child.id).await.unwrap().age, 3, "nothing changed");
}

async fn a_goal_may_only_point_at_the_familys_own_child(db: &TestDb) {
    let store = db.store();
    let (anna, _) = parent(store.as_ref(), "anna").await;
    let (bob, _) = parent(store.as_ref(), "bob").await;
    let bobs_child = store.create_child(bob.id, NewChild::new("Daan", 6)).await.unwrap();
    let mut goal = NewGoal::new("Sleep");
    goal.child_profile_id = Some(bobs_child.id);
    let unknown_child = vec![("childProfileId".to_owned(), "unknown_child")];
    assert_eq!(invalid(store.create_goal(anna.id, goal.clone()).await), unknown_child);
    goal.child_profile_id = Some(ChildId(999_999));
    assert_eq!(invalid(store.create_goal(anna.id, goal).await), unknown_child);
    let own = store.create_child(anna.id, NewChild::new("Noor", 3)).await.unwrap();
    let created = store.create_goal(anna.id, NewGoal::new("Sleep")).await.unwrap();
    let moved = store
        .update_goal(
            anna.id,
            created.id,
            GoalChanges { child_profile_id: Some(Some(bobs_child.id)), ..Default::default() },
        )
        .await;
    assert_eq!(invalid(moved), unknown_child);
    let linked = store
        .update_goal(anna.id, created.id, GoalChanges { child_profile_id: Some(Some(own.id)), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(linked.child_profile_id, Some(own.id));
}

async fn updated_at_moves_on_a_real_change_and_only_then(db: &TestDb) {
    let store = db.store();
    let (anna, profile) = parent(store.as_ref(), "anna").await;
    let same = store
        .update_parent_profile(anna.id, ParentProfileChanges { name: Some(profile.name.clone()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(same.updated_at, profile.updated_at);
    db.clock().advance(chrono::Duration::seconds(1));
    let changed = store
        .update_parent_profile(anna.id, ParentProfileChanges { bio: Some(Some("Hi".into())), ..Default::default() })
        .await
        .unwrap();
    assert!(changed.updated_at > profile.updated_at);
    assert_eq!(changed.created_at, profile.created_at);

    let child = store.create_child(anna.id, NewChild::new("Noor", 3)).await.unwrap();
    let unchanged =
        store.update_child(anna.id, child.id, ChildChanges { age: Some(3), ..Default::default() }).await.unwrap();
    assert_eq!(unchanged.updated_at, child.updated_at);
    db.clock().advance(chrono::Duration::seconds(1));
    let older =
        store.update_child(anna.id, child.id, ChildChanges { age: Some(4), ..Default::default() }).await.unwrap();
    assert!(older.updated_at > child.updated_at);
    assert_eq!(older.created_at, child.created_at);

    let onboarded = store.update_onboarding(anna.id, OnboardingChanges::default()).await.unwrap();
    assert_eq!(onboarded.updated_at, changed.updated_at, "an empty onboarding change changes nothing");
}

async fn every_profile_field_round_trips(db: &TestDb) {
    let store = db.store();
    let anna = user(store.as_ref(), "anna", carenest_domain::accounts::Role::Parent).await;
    let mut new = NewParentProfile::new("Anna Jansen", StressLevel::VeryHigh, ExperienceLevel::MultipleChildren);
    new.email = Some("anna@example.org".into());
    new.primary_concerns = vec!["slaap".into(), "driftbuien".into()];
    new.support_network = vec!["oma".into()];
    new.bio = Some("Twee kinderen, één hond.".into());
    new.preferred_language = "en-GB".into();
    new.communication_preference = Some("email".into());
    let created = store.create_parent_profile(anna.id, new.clone()).await.unwrap();
    assert_eq!(created.fields(), new);
    assert_eq!(store.parent_profile(anna.id).await.unwrap(), created);

    let mut child = NewChild::new("Noor", 0);
    child.special_needs = vec!["allergie".into()];
    child.routines = json!([{"time": "19:00", "what": "bad"}]);
    child.development_notes = Some("Loopt sinds kort.".into());
    child.last_assessment = Some(carenest_domain::time::now());
    let created_child = store.create_child(anna.id, child.clone()).await.unwrap();
    assert_eq!(created_child.fields(), child);
    assert_eq!(store.child(anna.id, created_child.id).await.unwrap(), created_child);
}

async fn onboarding_data_merges_key_by_key_even_when_two_writers_race(db: &TestDb) {
    let (first, second) = (db.store(), db.second_store().await);
    let (anna, _) = parent(first.as_ref(), "anna").await;
    first
        .update_onboarding(
            anna.id,
            OnboardingChanges {
                onboarding_data: json!({"kept": 1, "nested": {"a": 1}}).as_object().cloned(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let writes = (0..20).map(|i| {
        let store = if i % 2 == 0 { first.clone() } else { second.clone() };
        async move {
            let mut data = serde_json::Map::new();
            data.insert(format!("key{i}"), json!(i));
            store
                .update_onboarding(anna.id, OnboardingChanges { onboarding_data: Some(data), ..Default::default() })
                .await
                .unwrap();
        }
    });
    futures::future::join_all(writes).await;
    let profile = first
        .update_onboarding(
            anna.id,
            OnboardingChanges {
                onboarding_data: json!({"nested": {"b": 2}}).as_object().cloned(),
                current_onboarding_step: Some(3),
                completed_onboarding: Some(true),
            },
        )
        .await
        .unwrap();
    let data = profile.onboarding_data.as_object().unwrap();
    for i in 0..20 {
        assert_eq!(data.get(&format!("key{i}")), Some(&json!(i)), "key{i} was lost");
    }
    assert_eq!(data["kept"], json!(1));
    assert_eq!(data["nested"], json!({"b": 2}), "a given key replaces its value whole");
    assert_eq!((profile.current_onboarding_step, profile.completed_onboarding), (3, true));
}

async fn a_family_stops_at_its_children_limit_even_when_two_servers_add_at_once(db: &TestDb) {
    let (first, second) = (db.store(), db.second_store().await);
    let (anna, _) = parent(first.as_ref(), "anna").await;
    let attempts = (0..CHILDREN_MAX + 6).map(|i| {
        let store = if i % 2 == 0 { first.clone() } else { second.clone() };
        async move { store.create_child(anna.id, NewChild::new(&format!("Kind {i}"), 3)).await }
    });
    let results = futures::future::join_all(attempts).await;
    let refused: Vec<_> = results.into_iter().filter(Result::is_err).map(invalid).collect();
    assert_eq!(refused, vec![vec![("children".to_owned(), "too_many")]; 6]);
    let stored = first.children(anna.id, PageRequest::first(100)).await.unwrap().items;
    assert_eq!(stored.len() as i64, CHILDREN_MAX);
    let (bob, _) = parent(first.as_ref(), "bob").await;
    assert!(first.create_child(bob.id, NewChild::new("Daan", 6)).await.is_ok(), "the limit is per family");
}

async fn a_family_stops_at_its_goals_limit(db: &TestDb) {
    let store = db.store();
    let (anna, _) = parent(store.as_ref(), "anna").await;
    for i in 0..GOALS_MAX {
        store.create_goal(anna.id, NewGoal::new(&format!("Doel {i}"))).await.unwrap();
    }
    assert_eq!(invalid(store.create_goal(anna.id, NewGoal::new("Eén te veel")).await), [("goals".into(), "too_many")]);
    let first = store.goals(anna.id, None, PageRequest::first(1)).await.unwrap().items[0].id;
    store.delete_goal(anna.id, first).await.unwrap();
    assert!(store.create_goal(anna.id, NewGoal::new("Weer ruimte")).await.is_ok(), "deleting one makes room");
}

async fn onboarding_data_stops_growing_at_its_cap_and_a_refused_write_changes_nothing(db: &TestDb) {
    let store = db.store();
    let (anna, _) = parent(store.as_ref(), "anna").await;
    let chunk = |key: &str| {
        let mut data = serde_json::Map::new();
        data.insert(key.to_owned(), json!("x".repeat(40 * 1024)));
        OnboardingChanges { onboarding_data: Some(data), current_onboarding_step: Some(2), ..Default::default() }
    };
    store.update_onboarding(anna.id, chunk("first")).await.unwrap();
    let refused = store.update_onboarding(anna.id, chunk("second")).await;
    assert_eq!(invalid(refused), [("onboardingData".into(), "too_large")], "40 KiB + 40 KiB passes the 64 KiB cap");
    let profile = store.parent_profile(anna.id).await.unwrap();
    assert_eq!(profile.onboarding_data.as_object().unwrap().keys().collect::<Vec<_>>(), ["first"]);
    assert_eq!(profile.current_onboarding_step, 2, "the step of the refused write was not kept either");
    assert!(store.update_onboarding(anna.id, chunk("first")).await.is_ok(), "replacing a key does not grow the data");
}

async fn extreme_json_numbers_read_back_exactly_as_written(db: &TestDb) {
    let store = db.store();
    let (anna, _) = parent(store.as_ref(), "anna").await;
    let numbers = json!({"largest": f64::MAX, "lowest": -1.7976931348623155e308, "tiny": 5e-324, "long": [-544490629, 1.1243035774439972e228]});
    let changes = OnboardingChanges { onboarding_data: numbers.as_object().cloned(), ..Default::default() };
    store.update_onboarding(anna.id, changes).await.unwrap();
    // PostgreSQL writes numbers out in full (309 digits for f64::MAX); they must parse back.
    assert_eq!(store.parent_profile(anna.id).await.unwrap().onboarding_data, numbers);
}

async fn paging_visits_every_child_exactly_once_while_rows_are_inserted(db: &TestDb) {
    let store = db.store();
    let (anna, _) = parent(store.as_ref(), "anna").await;
    let mut expected = BTreeSet::new();
    for i in 0..7 {
        expected.insert(store.create_child(anna.id, NewChild::new(&format!("Child {i}"), 3)).await.unwrap().id);
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let batch = store.children(anna.id, page.clone()).await.unwrap();
        seen.extend(batch.items.iter().map(|c| c.id));
        // Someone adds a child between pages: it is visited once, at the end.
        expected.insert(store.create_child(anna.id, NewChild::new("Late", 1)).await.unwrap().id);
        match batch.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
        assert!(seen.len() < 100, "paging does not end");
    }
    let unique: BTreeSet<_> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a row was visited twice");
    let last_added = *expected.iter().max().unwrap();
    let expected_seen: BTreeSet<_> = expected.into_iter().filter(|id| *id != last_added).collect();
    assert_eq!(unique, expected_seen);
}

async fn goals_filter_by_status_and_page_by_id(db: &TestDb) {
    let store = db.store();
    let (anna, _) = parent(store.as_ref(), "anna").await;
    let mut ids = Vec::new();
    for (title, status) in
        [("A", GoalStatus::Active), ("B", GoalStatus::Paused), ("C", GoalStatus::Active), ("D", GoalStatus::Completed)]
    {
        let mut goal = NewGoal::new(title);
        goal.status = status;
        ids.push(store.create_goal(anna.id, goal).await.unwrap().id);
    }
    let active = store.goals(anna.id, Some(GoalStatus::Active), PageRequest::first(1)).await.unwrap();
    assert_eq!(active.items.iter().map(|g| g.id).collect::<Vec<_>>(), [ids[0]]);
    let rest =
        store.goals(anna.id, Some(GoalStatus::Active), PageRequest { after: active.next, limit: 1 }).await.unwrap();
    assert_eq!(rest.items.iter().map(|g| g.id).collect::<Vec<GoalId>>(), [ids[2]]);
    assert!(rest.next.is_none());
    assert_eq!(store.goals(anna.id, None, PageRequest::first(50)).await.unwrap().items.len(), 4);
}

async fn deleting_a_profile_takes_its_children_and_goals_and_a_child_unlinks_its_goals(db: &TestDb) {
    let store = db.store();
    let (anna, _) = parent(store.as_ref(), "anna").await;
    let child = store.create_child(anna.id, NewChild::new("Noor", 3)).await.unwrap();
    let mut goal = NewGoal::new("Sleep");
    goal.child_profile_id = Some(child.id);
    let goal = store.create_goal(anna.id, goal).await.unwrap();
    store.delete_child(anna.id, child.id).await.unwrap();
    assert_eq!(store.goal(anna.id, goal.id).await.unwrap().child_profile_id, None);
    store.create_child(anna.id, NewChild::new("Daan", 5)).await.unwrap();
    store.delete_parent_profile(anna.id).await.unwrap();
    let family = store.family(anna.id).await.unwrap();
    assert!(family.profile.is_none() && family.children.is_empty() && family.goals.is_empty());
    let mut raw = db.raw().await;
    assert_eq!(raw.text("SELECT CAST(count(*) AS TEXT) FROM child_profiles").await.as_deref(), Some("0"));
    assert_eq!(raw.text("SELECT CAST(count(*) AS TEXT) FROM parenting_goals").await.as_deref(), Some("0"));
}

async fn a_family_is_read_whole_in_the_same_statements_whatever_its_size(db: &TestDb) {
    let store = db.store();
    let (anna, profile) = parent(store.as_ref(), "anna").await;
    let round_trips = || async {
        let before = db.inspect().statements();
        store.family(anna.id).await.unwrap();
        db.inspect().statements() - before
    };
    let for_an_empty_family = round_trips().await;
    // One statement over the network; on SQLite, in the process, three narrow ones on one
    // snapshot cost less than one wide one.
    let expected = if db.backend() == "sqlite" { 5 } else { 1 };
    assert_eq!(
        for_an_empty_family, expected,
        "PostgreSQL: one UNION ALL; SQLite: BEGIN, profile, children, goals, COMMIT"
    );
    let (ben, _) = parent(store.as_ref(), "ben").await;
    let bens_child = store.create_child(ben.id, NewChild::new("Sem", 2)).await.unwrap();
    let mut bens_goal = NewGoal::new("Ben's goal");
    bens_goal.child_profile_id = Some(bens_child.id);
    store.create_goal(ben.id, bens_goal).await.unwrap();
    for i in 0..5 {
        let child = store.create_child(anna.id, NewChild::new(&format!("Kid {i}"), i)).await.unwrap();
        let mut goal = NewGoal::new(&format!("Goal {i}"));
        goal.child_profile_id = Some(child.id);
        store.create_goal(anna.id, goal).await.unwrap();
    }
    assert_eq!(round_trips().await, for_an_empty_family, "five children and five goals cost no more");
    let family = store.family(anna.id).await.unwrap();
    assert_eq!(family.profile.map(|p| p.id), Some(profile.id));
    assert_eq!(family.children.len(), 5, "anna's children, not ben's");
    assert_eq!(family.goals.len(), 5, "anna's goals, not ben's");
    assert!(family.goals.iter().all(|g| g.parent_profile_id == profile.id && g.child_profile_id.is_some()));
    assert_eq!(family.goals[4].title, "Goal 4");
    assert!(family.children.windows(2).all(|w| w[0].id < w[1].id));
    assert!(family.goals.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(store.child_owner(family.children[0].id).await.unwrap(), Some(anna.id));
}

async fn every_change_a_family_makes_is_audited_in_its_own_transaction(db: &TestDb) {
    let store = db.store();
    let anna = user(store.as_ref(), "anna", carenest_domain::accounts::Role::Parent).await;
    assert_eq!(conflict(store.create_child(anna.id, NewChild::new("Noor", 3)).await), "parent_profile_required");
    let entries = |store: std::sync::Arc<dyn carenest_domain::Store>| async move {
        store
            .audit_entries(anna.id, PageRequest::first(50))
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|(_, e)| (e.action.as_str(), e.resource_type, e.actor_user_id, e.subject_user_id))
            .collect::<Vec<_>>()
    };
    assert!(entries(store.clone()).await.is_empty(), "a refused change leaves no record");
    store
        .create_parent_profile(anna.id, NewParentProfile::new("Anna", StressLevel::Low, ExperienceLevel::FirstTime))
        .await
        .unwrap();
    let child = store.create_child(anna.id, NewChild::new("Noor", 3)).await.unwrap();
    store.update_child(anna.id, child.id, ChildChanges { age: Some(3), ..Default::default() }).await.unwrap();
    store.update_child(anna.id, child.id, ChildChanges { age: Some(4), ..Default::default() }).await.unwrap();
    let goal = store.create_goal(anna.id, NewGoal::new("Sleep")).await.unwrap();
    store.delete_goal(anna.id, goal.id).await.unwrap();
    store
        .update_onboarding(anna.id, OnboardingChanges { completed_onboarding: Some(true), ..Default::default() })
        .await
        .unwrap();
    store.delete_parent_profile(anna.id).await.unwrap();
    let actions: Vec<_> =
        entries(store.clone()).await.iter().map(|(action, kind, ..)| format!("{action} {kind}")).collect();
    assert_eq!(
        actions,
        [
            "delete parent_profile",
            "update parent_profile",
            "delete parenting_goal",
            "create parenting_goal",
            "update child_profile",
            "create child_profile",
            "create parent_profile",
        ],
        "newest first; the no-op update left no row"
    );
    assert!(entries(store).await.iter().all(|(_, _, actor, subject)| *actor == anna.id && *subject == anna.id));
}

on_both_backends!(
    every_change_a_family_makes_is_audited_in_its_own_transaction,
    a_user_has_at_most_one_parent_profile,
    a_new_profile_gets_the_seed_defaults,
    children_and_goals_need_a_parent_profile_first,
    another_family_sees_none_of_this_familys_records,
    a_goal_may_only_point_at_the_familys_own_child,
    updated_at_moves_on_a_real_change_and_only_then,
    every_profile_field_round_trips,
    onboarding_data_merges_key_by_key_even_when_two_writers_race,
    paging_visits_every_child_exactly_once_while_rows_are_inserted,
    goals_filter_by_status_and_page_by_id,
    deleting_a_profile_takes_its_children_and_goals_and_a_child_unlinks_its_goals,
    a_family_is_read_whole_in_the_same_statements_whatever_its_size,
    a_family_stops_at_its_children_limit_even_when_two_servers_add_at_once,
    a_family_stops_at_its_goals_limit,
    onboarding_data_stops_growing_at_its_cap_and_a_refused_write_changes_nothing,
    extreme_json_numbers_read_back_exactly_as_written,
);
