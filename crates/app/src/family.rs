//! The caller's own family: parent profile, onboarding, children, goals and suggestions. Every
//! id is looked up within the caller's family, so another family's ids are `NotFound`.

use carenest_domain::family::*;
use carenest_domain::ids::{ChildId, GoalId};
use carenest_domain::page::{Page, PageRequest};
use carenest_domain::suggestions::{family_document, nearest, rank, Embedding, RankingInput, Suggestions};
use carenest_domain::StoreError;

use crate::{App, AppResult, Caller};

impl App {
    pub async fn parent_profile(&self, caller: &Caller) -> AppResult<ParentProfile> {
        Ok(self.store.parent_profile(caller.id()).await?)
    }

    /// `name`, `stressLevel` and `experienceLevel` are required.
    pub async fn create_parent_profile(&self, caller: &Caller, input: ParentProfileInput) -> AppResult<ParentProfile> {
        let profile = input.validate_new()?;
        Ok(self.store.create_parent_profile(caller.id(), profile).await?)
    }

    pub async fn update_parent_profile(&self, caller: &Caller, input: ParentProfileInput) -> AppResult<ParentProfile> {
        let changes = input.validate_changes()?;
        Ok(self.store.update_parent_profile(caller.id(), changes).await?)
    }

    /// Removes the profile with its children and goals.
    pub async fn delete_parent_profile(&self, caller: &Caller) -> AppResult<()> {
        Ok(self.store.delete_parent_profile(caller.id()).await?)
    }

    pub async fn onboarding(&self, caller: &Caller) -> AppResult<Onboarding> {
        Ok(Onboarding::from(&self.store.parent_profile(caller.id()).await?))
    }

    /// Moves through onboarding; `onboardingData` keys are merged into what is stored.
    pub async fn update_onboarding(&self, caller: &Caller, input: OnboardingInput) -> AppResult<Onboarding> {
        let changes = input.validate()?;
        Ok(Onboarding::from(&self.store.update_onboarding(caller.id(), changes).await?))
    }

    pub async fn children(
        &self,
        caller: &Caller,
        page: PageRequest<ChildId>,
    ) -> AppResult<Page<ChildProfile, ChildId>> {
        Ok(self.store.children(caller.id(), page).await?)
    }

    pub async fn child(&self, caller: &Caller, id: ChildId) -> AppResult<ChildProfile> {
        Ok(self.store.child(caller.id(), id).await?)
    }

    pub async fn create_child(&self, caller: &Caller, input: ChildInput) -> AppResult<ChildProfile> {
        let child = input.validate_new()?;
        Ok(self.store.create_child(caller.id(), child).await?)
    }

    pub async fn update_child(&self, caller: &Caller, id: ChildId, input: ChildInput) -> AppResult<ChildProfile> {
        let changes = input.validate_changes()?;
        Ok(self.store.update_child(caller.id(), id, changes).await?)
    }

    /// Removes a child; their goals and sessions stay, unlinked.
    pub async fn delete_child(&self, caller: &Caller, id: ChildId) -> AppResult<()> {
        Ok(self.store.delete_child(caller.id(), id).await?)
    }

    pub async fn goals(
        &self,
        caller: &Caller,
        status: Option<GoalStatus>,
        page: PageRequest<GoalId>,
    ) -> AppResult<Page<ParentingGoal, GoalId>> {
        Ok(self.store.goals(caller.id(), status, page).await?)
    }

    pub async fn goal(&self, caller: &Caller, id: GoalId) -> AppResult<ParentingGoal> {
        Ok(self.store.goal(caller.id(), id).await?)
    }

    /// `childProfileId` must be one of the caller's own children.
    pub async fn create_goal(&self, caller: &Caller, input: GoalInput) -> AppResult<ParentingGoal> {
        let goal = input.validate_new()?;
        Ok(self.store.create_goal(caller.id(), goal).await?)
    }

    pub async fn update_goal(&self, caller: &Caller, id: GoalId, input: GoalInput) -> AppResult<ParentingGoal> {
        let changes = input.validate_changes()?;
        Ok(self.store.update_goal(caller.id(), id, changes).await?)
    }

    pub async fn delete_goal(&self, caller: &Caller, id: GoalId) -> AppResult<()> {
        Ok(self.store.delete_goal(caller.id(), id).await?)
    }

    /// Goals suggested for the caller's family: templates of the catalogue ranked by fit to
    /// the family's profile and children, the children's ages, and adoption by the most similar
    /// families. Sets `lastSuggestionCheck`.
    pub async fn suggestions(&self, caller: &Caller) -> AppResult<Suggestions> {
        let family = self.store.family(caller.id()).await?;
        let profile =
            family.profile.ok_or_else(|| StoreError::conflict("parent_profile_required", "no parent profile yet"))?;
        let embedder = self.store.embedder();
        let fields = profile.fields();
        // A profile always has its embedding; one of another model is recomputed rather than misread.
        let embedding = profile
            .profile_embedding
            .as_deref()
            .and_then(|text| Embedding::from_text(text, embedder.model()))
            .unwrap_or_else(|| embedder.embed(&family_document(&fields, &family.children)));
        let candidates = self.store.neighbour_candidates(profile.id, &embedding.buckets()).await?;
        let neighbours = nearest(&embedding, embedder.model(), &candidates);
        let adoption =
            if neighbours.is_empty() { Default::default() } else { self.store.template_adoption(&neighbours).await? };
        let templates = self.store.goal_templates().await?;
        let input = RankingInput {
            profile: &fields,
            family: &embedding,
            children: &family.children,
            goals: &family.goals,
            templates: &templates,
            adoption: &adoption,
            neighbours: neighbours.len(),
        };
        let suggestions = rank(embedder, &input, self.now());
        self.store.touch_suggestion_check(caller.id(), suggestions.generated_at).await?;
        Ok(suggestions)
    }
}
