//! A family's own data: the parent profile, children, parenting goals and onboarding state.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use crate::ids::{ChildId, GoalId, ParentProfileId, TemplateId, UserId};
use crate::page::{Page, PageRequest};
use crate::validation::{Errors, FieldError, JsonLimits};
use crate::StoreResult;

crate::text_enum!(
    /// How stressed the parent says they are.
    StressLevel { Low = "low", Moderate = "moderate", High = "high", VeryHigh = "very_high" }
);
crate::text_enum!(
    /// How much parenting experience the parent has.
    ExperienceLevel { FirstTime = "first_time", Experienced = "experienced", MultipleChildren = "multiple_children" }
);
crate::text_enum!(
    /// Where a parenting goal stands.
    GoalStatus { Active = "active", Paused = "paused", Completed = "completed", Archived = "archived" }
);

pub const NAME_MAX: usize = 100;
pub const TITLE_MAX: usize = 200;
pub const CATEGORY_MAX: usize = 50;
pub const LONG_TEXT_MAX: usize = 5_000;
pub const NOTES_MAX: usize = 10_000;
pub const LIST_ITEMS_MAX: usize = 50;
pub const LIST_ITEM_MAX: usize = 200;
pub const SHORT_TEXT_MAX: usize = 100;
pub const AGE_MAX: i64 = 25;
pub const ONBOARDING_STEP_MAX: i64 = 1_000;
/// Children a family may have in the service.
pub const CHILDREN_MAX: i64 = 20;
/// Goals a family may have, whatever their status.
pub const GOALS_MAX: i64 = 200;
/// The size the stored onboarding data may grow to, merged, in bytes of JSON.
pub const ONBOARDING_DATA_MAX: usize = 64 * 1024;
pub const JSON_LIMITS: JsonLimits = JsonLimits { max_depth: 8, max_bytes: 64 * 1024 };

#[derive(Debug, Clone, PartialEq)]
pub struct ParentProfile {
    pub id: ParentProfileId,
    pub user_id: UserId,
    pub name: String,
    pub email: Option<String>,
    pub stress_level: StressLevel,
    pub experience_level: ExperienceLevel,
    pub primary_concerns: Vec<String>,
    pub support_network: Vec<String>,
    pub bio: Option<String>,
    pub preferred_language: String,
    pub communication_preference: Option<String>,
    pub completed_onboarding: bool,
    pub current_onboarding_step: i32,
    /// A JSON object.
    pub onboarding_data: Value,
    pub last_suggestion_check: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The family's embedding in its stored text form; internal, never returned.
    pub profile_embedding: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChildProfile {
    pub id: ChildId,
    pub parent_profile_id: ParentProfileId,
    pub name: String,
    pub age: i32,
    pub special_needs: Vec<String>,
    /// A JSON object or array.
    pub routines: Value,
    pub development_notes: Option<String>,
    pub last_assessment: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParentingGoal {
    pub id: GoalId,
    pub parent_profile_id: ParentProfileId,
    pub child_profile_id: Option<ChildId>,
    pub title: String,
    pub description: Option<String>,
    pub category: Option<String>,
    pub status: GoalStatus,
    pub progress: i32,
    pub target_date: Option<NaiveDate>,
    /// The catalogue template this goal was adopted from, if any.
    pub template_id: Option<TemplateId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A family's whole tree, read one level per query.
#[derive(Debug, Clone, Default)]
pub struct Family {
    pub profile: Option<ParentProfile>,
    pub children: Vec<ChildProfile>,
    pub goals: Vec<ParentingGoal>,
}

// ---- parent profile -------------------------------------------------------------------------

/// The fields of a parent profile a client writes. On create, `name`, `stressLevel` and
/// `experienceLevel` are required; on update every field is optional and `null` clears an
/// optional one.
#[derive(Debug, Default)]
pub struct ParentProfileInput {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub stress_level: Option<String>,
    pub experience_level: Option<String>,
    /// At most 50 items of at most 200 characters.
    pub primary_concerns: Option<Vec<String>>,
    /// At most 50 items of at most 200 characters.
    pub support_network: Option<Vec<String>>,
    pub bio: Option<Option<String>>,
    /// A language tag such as `nl` or `en-GB`; default `nl`.
    pub preferred_language: Option<String>,
    pub communication_preference: Option<Option<String>>,
}

/// Validated changes to a parent profile; also what a create is made of.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParentProfileChanges {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub stress_level: Option<StressLevel>,
    pub experience_level: Option<ExperienceLevel>,
    pub primary_concerns: Option<Vec<String>>,
    pub support_network: Option<Vec<String>>,
    pub bio: Option<Option<String>>,
    pub preferred_language: Option<String>,
    pub communication_preference: Option<Option<String>>,
}

/// A parent profile ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct NewParentProfile {
    pub name: String,
    pub email: Option<String>,
    pub stress_level: StressLevel,
    pub experience_level: ExperienceLevel,
    pub primary_concerns: Vec<String>,
    pub support_network: Vec<String>,
    pub bio: Option<String>,
    pub preferred_language: String,
    pub communication_preference: Option<String>,
}

impl NewParentProfile {
    pub fn new(name: &str, stress_level: StressLevel, experience_level: ExperienceLevel) -> Self {
        Self {
            name: name.to_owned(),
            email: None,
            stress_level,
            experience_level,
            primary_concerns: Vec::new(),
            support_network: Vec::new(),
            bio: None,
            preferred_language: "nl".to_owned(),
            communication_preference: None,
        }
    }
}

fn check_language(errors: &mut Errors, field: &str, tag: &str) -> Option<String> {
    let mut parts = tag.split('-');
    let primary_ok =
        parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_lowercase()));
    let rest_ok = parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if primary_ok && rest_ok && tag.len() <= 35 {
        Some(tag.to_owned())
    } else {
        errors.add(field, "language_tag", format!("{field} must be a language tag such as 'nl' or 'en-GB'"));
        None
    }
}

impl ParentProfileInput {
    pub fn validate_changes(&self) -> Result<ParentProfileChanges, Vec<FieldError>> {
        let mut e = Errors::new();
        let mut changes = ParentProfileChanges::default();
        if let Some(name) = &self.name {
            changes.name = e.text("name", name, NAME_MAX);
        }
        if let Some(email) = &self.email {
            if let Some(address) = email {
                crate::accounts::check_email(&mut e, "email", address);
            }
            changes.email = Some(email.clone());
        }
        if let Some(level) = &self.stress_level {
            changes.stress_level = e.choice("stressLevel", level);
        }
        if let Some(level) = &self.experience_level {
            changes.experience_level = e.choice("experienceLevel", level);
        }
        if let Some(list) = &self.primary_concerns {
            changes.primary_concerns = e.text_list("primaryConcerns", list, LIST_ITEMS_MAX, LIST_ITEM_MAX);
        }
        if let Some(list) = &self.support_network {
            changes.support_network = e.text_list("supportNetwork", list, LIST_ITEMS_MAX, LIST_ITEM_MAX);
        }
        if let Some(bio) = &self.bio {
            changes.bio = e.optional_text("bio", bio.as_deref(), LONG_TEXT_MAX);
        }
        if let Some(tag) = &self.preferred_language {
            changes.preferred_language = check_language(&mut e, "preferredLanguage", tag);
        }
        if let Some(preference) = &self.communication_preference {
            changes.communication_preference =
                e.optional_text("communicationPreference", preference.as_deref(), SHORT_TEXT_MAX);
        }
        e.finish(changes)
    }

    pub fn validate_new(&self) -> Result<NewParentProfile, Vec<FieldError>> {
        let mut missing = Errors::new();
        for (field, absent) in [
            ("name", self.name.is_none()),
            ("stressLevel", self.stress_level.is_none()),
            ("experienceLevel", self.experience_level.is_none()),
        ] {
            if absent {
                missing.add(field, "required", format!("{field} is required"));
            }
        }
        let changes = match (self.validate_changes(), missing.finish(())) {
            (Ok(changes), Ok(())) => changes,
            (Err(mut errors), Err(more)) => {
                errors.extend(more);
                return Err(errors);
            }
            (Err(errors), _) | (_, Err(errors)) => return Err(errors),
        };
        let (Some(name), Some(stress), Some(experience)) =
            (changes.name.clone(), changes.stress_level, changes.experience_level)
        else {
            unreachable!("required fields were checked above");
        };
        let mut profile = NewParentProfile::new(&name, stress, experience);
        profile.apply(changes);
        Ok(profile)
    }
}

impl NewParentProfile {
    fn apply(&mut self, c: ParentProfileChanges) {
        if let Some(v) = c.name {
            self.name = v;
        }
        if let Some(v) = c.email {
            self.email = v;
        }
        if let Some(v) = c.stress_level {
            self.stress_level = v;
        }
        if let Some(v) = c.experience_level {
            self.experience_level = v;
        }
        if let Some(v) = c.primary_concerns {
            self.primary_concerns = v;
        }
        if let Some(v) = c.support_network {
            self.support_network = v;
        }
        if let Some(v) = c.bio {
            self.bio = v;
        }
        if let Some(v) = c.preferred_language {
            self.preferred_language = v;
        }
        if let Some(v) = c.communication_preference {
            self.communication_preference = v;
        }
    }
}

impl ParentProfile {
    /// The writable fields, to apply changes to.
    pub fn fields(&self) -> NewParentProfile {
        NewParentProfile {
            name: self.name.clone(),
            email: self.email.clone(),
            stress_level: self.stress_level,
            experience_level: self.experience_level,
            primary_concerns: self.primary_concerns.clone(),
            support_network: self.support_network.clone(),
            bio: self.bio.clone(),
            preferred_language: self.preferred_language.clone(),
            communication_preference: self.communication_preference.clone(),
        }
    }

    /// The fields after `changes`, or `None` when they change nothing.
    pub fn changed_fields(&self, changes: ParentProfileChanges) -> Option<NewParentProfile> {
        let before = self.fields();
        let mut after = before.clone();
        after.apply(changes);
        (after != before).then_some(after)
    }
}

// ---- onboarding -----------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub struct Onboarding {
    pub completed_onboarding: bool,
    pub current_onboarding_step: i32,
    pub onboarding_data: Value,
}

impl From<&ParentProfile> for Onboarding {
    fn from(profile: &ParentProfile) -> Self {
        Self {
            completed_onboarding: profile.completed_onboarding,
            current_onboarding_step: profile.current_onboarding_step,
            onboarding_data: profile.onboarding_data.clone(),
        }
    }
}

#[derive(Debug, Default)]
pub struct OnboardingInput {
    pub current_onboarding_step: Option<i64>,
    /// Merged key by key into the stored object: keys given replace theirs, others stay.
    pub onboarding_data: Option<Value>,
    pub completed_onboarding: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OnboardingChanges {
    pub current_onboarding_step: Option<i32>,
    /// A JSON object whose keys replace the stored ones.
    pub onboarding_data: Option<serde_json::Map<String, Value>>,
    pub completed_onboarding: Option<bool>,
}

impl OnboardingInput {
    pub fn validate(&self) -> Result<OnboardingChanges, Vec<FieldError>> {
        let mut e = Errors::new();
        let mut changes = OnboardingChanges { completed_onboarding: self.completed_onboarding, ..Default::default() };
        if let Some(step) = self.current_onboarding_step {
            changes.current_onboarding_step =
                e.range("currentOnboardingStep", step, 0, ONBOARDING_STEP_MAX).map(|s| s as i32);
        }
        if let Some(data) = &self.onboarding_data {
            match data {
                Value::Object(map) => {
                    if e.json("onboardingData", data, JSON_LIMITS).is_some() {
                        changes.onboarding_data = Some(map.clone());
                    }
                }
                _ => e.add("onboardingData", "object", "onboardingData must be a JSON object"),
            }
        }
        e.finish(changes)
    }
}

// ---- children -------------------------------------------------------------------------------

#[derive(Debug, Default)]
pub struct ChildInput {
    pub name: Option<String>,
    pub age: Option<i64>,
    pub special_needs: Option<Vec<String>>,
    /// A JSON object or array.
    pub routines: Option<Value>,
    pub development_notes: Option<Option<String>>,
    pub last_assessment: Option<Option<DateTime<Utc>>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewChild {
    pub name: String,
    pub age: i32,
    pub special_needs: Vec<String>,
    pub routines: Value,
    pub development_notes: Option<String>,
    pub last_assessment: Option<DateTime<Utc>>,
}

impl NewChild {
    pub fn new(name: &str, age: i32) -> Self {
        Self {
            name: name.to_owned(),
            age,
            special_needs: Vec::new(),
            routines: Value::Object(Default::default()),
            development_notes: None,
            last_assessment: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChildChanges {
    pub name: Option<String>,
    pub age: Option<i32>,
    pub special_needs: Option<Vec<String>>,
    pub routines: Option<Value>,
    pub development_notes: Option<Option<String>>,
    pub last_assessment: Option<Option<DateTime<Utc>>>,
}

impl ChildInput {
    pub fn validate_changes(&self) -> Result<ChildChanges, Vec<FieldError>> {
        let mut e = Errors::new();
        let mut c = ChildChanges::default();
        if let Some(name) = &self.name {
            c.name = e.text("name", name, NAME_MAX);
        }
        if let Some(age) = self.age {
            c.age = e.range("age", age, 0, AGE_MAX).map(|a| a as i32);
        }
        if let Some(list) = &self.special_needs {
            c.special_needs = e.text_list("specialNeeds", list, LIST_ITEMS_MAX, LIST_ITEM_MAX);
        }
        if let Some(routines) = &self.routines {
            if routines.is_object() || routines.is_array() {
                c.routines = e.json("routines", routines, JSON_LIMITS);
            } else {
                e.add("routines", "object_or_array", "routines must be a JSON object or array");
            }
        }
        if let Some(notes) = &self.development_notes {
            c.development_notes = e.optional_text("developmentNotes", notes.as_deref(), NOTES_MAX);
        }
        if let Some(at) = self.last_assessment {
            c.last_assessment = match at {
                None => Some(None),
                Some(at) => e.timestamp("lastAssessment", chrono::SubsecRound::trunc_subsecs(at, 6)).map(Some),
            };
        }
        e.finish(c)
    }

    pub fn validate_new(&self) -> Result<NewChild, Vec<FieldError>> {
        let mut missing = Errors::new();
        if self.name.is_none() {
            missing.add("name", "required", "name is required");
        }
        if self.age.is_none() {
            missing.add("age", "required", "age is required");
        }
        let changes = merge_results(self.validate_changes(), missing.finish(()))?;
        let mut child = NewChild::new("", 0);
        child.apply(changes);
        Ok(child)
    }
}

impl NewChild {
    fn apply(&mut self, c: ChildChanges) {
        if let Some(v) = c.name {
            self.name = v;
        }
        if let Some(v) = c.age {
            self.age = v;
        }
        if let Some(v) = c.special_needs {
            self.special_needs = v;
        }
        if let Some(v) = c.routines {
            self.routines = v;
        }
        if let Some(v) = c.development_notes {
            self.development_notes = v;
        }
        if let Some(v) = c.last_assessment {
            self.last_assessment = v;
        }
    }
}

impl ChildProfile {
    pub fn fields(&self) -> NewChild {
        NewChild {
            name: self.name.clone(),
            age: self.age,
            special_needs: self.special_needs.clone(),
            routines: self.routines.clone(),
            development_notes: self.development_notes.clone(),
            last_assessment: self.last_assessment,
        }
    }

    pub fn changed_fields(&self, changes: ChildChanges) -> Option<NewChild> {
        let before = self.fields();
        let mut after = before.clone();
        after.apply(changes);
        (after != before).then_some(after)
    }
}

// ---- goals ----------------------------------------------------------------------------------

#[derive(Debug, Default)]
pub struct GoalInput {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub category: Option<Option<String>>,
    /// One of the user's own children, or `null`.
    pub child_profile_id: Option<Option<i64>>,
    pub status: Option<String>,
    pub progress: Option<i64>,
    pub target_date: Option<Option<NaiveDate>>,
    /// The suggestion this goal adopts (`templateId` of `GET /suggestions`), or `null`.
    pub template_id: Option<Option<i64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewGoal {
    pub title: String,
    pub description: Option<String>,
    pub category: Option<String>,
    pub child_profile_id: Option<ChildId>,
    pub status: GoalStatus,
    pub progress: i32,
    pub target_date: Option<NaiveDate>,
    pub template_id: Option<TemplateId>,
}

impl NewGoal {
    pub fn new(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            description: None,
            category: None,
            child_profile_id: None,
            status: GoalStatus::Active,
            progress: 0,
            target_date: None,
            template_id: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoalChanges {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub category: Option<Option<String>>,
    pub child_profile_id: Option<Option<ChildId>>,
    pub status: Option<GoalStatus>,
    pub progress: Option<i32>,
    pub target_date: Option<Option<NaiveDate>>,
    pub template_id: Option<Option<TemplateId>>,
}

impl GoalInput {
    pub fn validate_changes(&self) -> Result<GoalChanges, Vec<FieldError>> {
        let mut e = Errors::new();
        let mut c = GoalChanges::default();
        if let Some(title) = &self.title {
            c.title = e.text("title", title, TITLE_MAX);
        }
        if let Some(description) = &self.description {
            c.description = e.optional_text("description", description.as_deref(), LONG_TEXT_MAX);
        }
        if let Some(category) = &self.category {
            c.category = e.optional_text("category", category.as_deref(), CATEGORY_MAX);
        }
        if let Some(child) = self.child_profile_id {
            c.child_profile_id = match child {
                Some(id) if id < 1 => {
                    e.add("childProfileId", "positive", "childProfileId must be a positive id");
                    None
                }
                other => Some(other.map(ChildId)),
            };
        }
        if let Some(status) = &self.status {
            c.status = e.choice("status", status);
        }
        if let Some(progress) = self.progress {
            c.progress = e.range("progress", progress, 0, 100).map(|p| p as i32);
        }
        if let Some(date) = self.target_date {
            c.target_date = match date {
                None => Some(None),
                Some(date) => e.date("targetDate", date).map(Some),
            };
        }
        if let Some(template) = self.template_id {
            match template {
                Some(id) if id < 1 => e.add("templateId", "positive", "templateId must be a positive id"),
                other => c.template_id = Some(other.map(TemplateId)),
            }
        }
        e.finish(c)
    }

    pub fn validate_new(&self) -> Result<NewGoal, Vec<FieldError>> {
        let mut missing = Errors::new();
        if self.title.is_none() {
            missing.add("title", "required", "title is required");
        }
        let changes = merge_results(self.validate_changes(), missing.finish(()))?;
        let mut goal = NewGoal::new("");
        goal.apply(changes);
        Ok(goal)
    }
}

impl NewGoal {
    fn apply(&mut self, c: GoalChanges) {
        if let Some(v) = c.title {
            self.title = v;
        }
        if let Some(v) = c.description {
            self.description = v;
        }
        if let Some(v) = c.category {
            self.category = v;
        }
        if let Some(v) = c.child_profile_id {
            self.child_profile_id = v;
        }
        if let Some(v) = c.status {
            self.status = v;
        }
        if let Some(v) = c.progress {
            self.progress = v;
        }
        if let Some(v) = c.target_date {
            self.target_date = v;
        }
        if let Some(v) = c.template_id {
            self.template_id = v;
        }
    }
}

impl ParentingGoal {
    pub fn fields(&self) -> NewGoal {
        NewGoal {
            title: self.title.clone(),
            description: self.description.clone(),
            category: self.category.clone(),
            child_profile_id: self.child_profile_id,
            status: self.status,
            progress: self.progress,
            target_date: self.target_date,
            template_id: self.template_id,
        }
    }

    pub fn changed_fields(&self, changes: GoalChanges) -> Option<NewGoal> {
        let before = self.fields();
        let mut after = before.clone();
        after.apply(changes);
        (after != before).then_some(after)
    }
}

fn merge_results<T>(
    validated: Result<T, Vec<FieldError>>,
    required: Result<(), Vec<FieldError>>,
) -> Result<T, Vec<FieldError>> {
    match (validated, required) {
        (Ok(value), Ok(())) => Ok(value),
        (Err(mut errors), Err(more)) => {
            errors.extend(more);
            Err(errors)
        }
        (Err(errors), Ok(())) | (Ok(_), Err(errors)) => Err(errors),
    }
}

/// The error a goal gets when its template does not exist.
pub fn unknown_template_error() -> crate::StoreError {
    crate::StoreError::invalid("templateId", "unknown_template", "templateId does not name a goal template")
}

/// The error a goal gets when its child is not one of the family's own.
pub fn foreign_child_error() -> crate::StoreError {
    crate::StoreError::invalid("childProfileId", "unknown_child", "childProfileId must be one of your own children")
}

/// The store side of family data. Every method is scoped to the owning user: another
/// family's ids answer `NotFound`, exactly like ids that do not exist.
#[async_trait]
pub trait FamilyStore {
    async fn parent_profile(&self, owner: UserId) -> StoreResult<ParentProfile>;
    /// `Conflict` (`parent_profiles_user_id_key`) when the user has one already.
    async fn create_parent_profile(&self, owner: UserId, profile: NewParentProfile) -> StoreResult<ParentProfile>;
    async fn update_parent_profile(&self, owner: UserId, changes: ParentProfileChanges) -> StoreResult<ParentProfile>;
    /// Removes the profile with its children and goals.
    async fn delete_parent_profile(&self, owner: UserId) -> StoreResult<()>;
    /// Applies onboarding changes in one statement; `onboarding_data` keys are merged.
    async fn update_onboarding(&self, owner: UserId, changes: OnboardingChanges) -> StoreResult<ParentProfile>;
    async fn touch_suggestion_check(&self, owner: UserId, at: DateTime<Utc>) -> StoreResult<()>;

    /// Children ordered by id.
    async fn children(&self, owner: UserId, page: PageRequest<ChildId>) -> StoreResult<Page<ChildProfile, ChildId>>;
    async fn child(&self, owner: UserId, id: ChildId) -> StoreResult<ChildProfile>;
    /// `Conflict` (`parent_profile_required`) when the user has no parent profile yet.
    async fn create_child(&self, owner: UserId, child: NewChild) -> StoreResult<ChildProfile>;
    async fn update_child(&self, owner: UserId, id: ChildId, changes: ChildChanges) -> StoreResult<ChildProfile>;
    /// Removes a child; its goals and sessions stay, unlinked.
    async fn delete_child(&self, owner: UserId, id: ChildId) -> StoreResult<()>;

    /// Goals ordered by id, optionally only those with `status`.
    async fn goals(
        &self,
        owner: UserId,
        status: Option<GoalStatus>,
        page: PageRequest<GoalId>,
    ) -> StoreResult<Page<ParentingGoal, GoalId>>;
    async fn goal(&self, owner: UserId, id: GoalId) -> StoreResult<ParentingGoal>;
    /// `Conflict` (`parent_profile_required`) without a profile; `Invalid` for another family's child.
    async fn create_goal(&self, owner: UserId, goal: NewGoal) -> StoreResult<ParentingGoal>;
    async fn update_goal(&self, owner: UserId, id: GoalId, changes: GoalChanges) -> StoreResult<ParentingGoal>;
    async fn delete_goal(&self, owner: UserId, id: GoalId) -> StoreResult<()>;

    /// The family's whole tree: one query per level, whatever its size.
    async fn family(&self, owner: UserId) -> StoreResult<Family>;
    /// The user who owns a child, for access checks on sessions.
    async fn child_owner(&self, id: ChildId) -> StoreResult<Option<UserId>>;
}

impl ParentProfile {
    /// The onboarding state after `changes`: given `onboardingData` keys replace stored ones,
    /// others stay (a shallow merge, as PostgreSQL's `jsonb ||`).
    pub fn onboarding_after(&self, changes: &OnboardingChanges) -> Onboarding {
        let mut data = match &self.onboarding_data {
            Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        };
        if let Some(patch) = &changes.onboarding_data {
            for (key, value) in patch {
                data.insert(key.clone(), value.clone());
            }
        }
        Onboarding {
            completed_onboarding: changes.completed_onboarding.unwrap_or(self.completed_onboarding),
            current_onboarding_step: changes.current_onboarding_step.unwrap_or(self.current_onboarding_step),
            onboarding_data: Value::Object(data),
        }
    }
}
