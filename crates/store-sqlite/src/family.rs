use async_trait::async_trait;
use carenest_domain::family::*;
use carenest_domain::ids::{ChildId, GoalId, ParentProfileId, TemplateId, UserId};
use carenest_domain::page::{Page, PageRequest};
use carenest_domain::time::now;
use carenest_domain::{rows, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::SqliteConnection;

use crate::audit::audit_own_change;
use crate::rows::Cols;
use crate::{ts, ResultExt, SqliteStore};
use sqlx::types::Json;

pub(crate) const PROFILE_COLUMNS: &str =
    "id, user_id, name, email, stress_level, experience_level, primary_concerns, support_network, bio,
    preferred_language, communication_preference, completed_onboarding, current_onboarding_step, onboarding_data,
    last_suggestion_check, created_at, updated_at, profile_embedding";
pub(crate) const CHILD_COLUMNS: &str =
    "c.id, c.parent_profile_id, c.name, c.age, c.special_needs, c.routines, c.development_notes,
    c.last_assessment, c.created_at, c.updated_at";
const GOAL_COLUMNS: &str =
    "g.id, g.parent_profile_id, g.child_profile_id, g.title, g.description, g.category, g.status,
    g.progress, g.target_date, g.template_id, g.created_at, g.updated_at";

pub(crate) fn profile_from_row(row: &SqliteRow) -> StoreResult<ParentProfile> {
    rows::parent_profile(&Cols(row))
}

pub(crate) fn child_from_row(row: &SqliteRow) -> StoreResult<ChildProfile> {
    rows::child(&Cols(row))
}

fn goal_from_row(row: &SqliteRow) -> StoreResult<ParentingGoal> {
    rows::goal(&Cols(row))
}

fn all<T>(rows: &[SqliteRow], f: fn(&SqliteRow) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect()
}

async fn profile_id(conn: &mut SqliteConnection, owner: UserId) -> StoreResult<ParentProfileId> {
    sqlx::query_scalar("SELECT id FROM parent_profiles WHERE user_id = ?1")
        .bind(owner.0)
        .fetch_optional(conn)
        .await
        .store()?
        .map(ParentProfileId)
        .ok_or_else(|| StoreError::conflict("parent_profile_required", "create a parent profile first"))
}

/// A goal may only point at a child of the same family; the child row is share-locked so it
/// can't vanish before the goal is written.
async fn check_own_child(
    conn: &mut SqliteConnection,
    profile: ParentProfileId,
    child: Option<ChildId>,
) -> StoreResult<()> {
    let Some(child) = child else { return Ok(()) };
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM child_profiles WHERE id = ?1 AND parent_profile_id = ?2")
            .bind(child.0)
            .bind(profile.0)
            .fetch_optional(conn)
            .await
            .store()?;
    found.map(drop).ok_or_else(foreign_child_error)
}

/// A goal's template must exist.
async fn check_template(conn: &mut SqliteConnection, template: Option<TemplateId>) -> StoreResult<()> {
    let Some(template) = template else { return Ok(()) };
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM goal_templates WHERE id = ?1")
        .bind(template.0)
        .fetch_optional(conn)
        .await
        .store()?;
    found.map(drop).ok_or_else(unknown_template_error)
}

#[async_trait]
impl FamilyStore for SqliteStore {
    async fn parent_profile(&self, owner: UserId) -> StoreResult<ParentProfile> {
        let row = sqlx::query(&format!("SELECT {PROFILE_COLUMNS} FROM parent_profiles WHERE user_id = ?1"))
            .bind(owner.0)
            .fetch_one(&self.pool)
            .await
            .store()?;
        profile_from_row(&row)
    }

    async fn create_parent_profile(&self, owner: UserId, p: NewParentProfile) -> StoreResult<ParentProfile> {
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "INSERT INTO parent_profiles (user_id, name, email, stress_level, experience_level, primary_concerns, support_network,
                bio, preferred_language, communication_preference, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11) RETURNING *",
        )
        .bind(owner.0)
        .bind(&p.name)
        .bind(&p.email)
        .bind(p.stress_level.as_str())
        .bind(p.experience_level.as_str())
        .bind(Json(&p.primary_concerns))
        .bind(Json(&p.support_network))
        .bind(&p.bio)
        .bind(&p.preferred_language)
        .bind(&p.communication_preference)
        .bind(ts(now()))
        .fetch_one(&mut *tx)
        .await
        .store()?;
        let mut profile = profile_from_row(&row)?;
        profile.profile_embedding = Some(self.refresh_embedding(&mut tx, profile.id).await?);
        audit_own_change(&mut tx, owner, carenest_domain::audit::AuditAction::Create, "parent_profile", profile.id.0)
            .await?;
        tx.commit().await.store()?;
        Ok(profile)
    }

    async fn update_parent_profile(&self, owner: UserId, changes: ParentProfileChanges) -> StoreResult<ParentProfile> {
        let mut tx = self.write().await?;
        let row = sqlx::query(&format!("SELECT {PROFILE_COLUMNS} FROM parent_profiles WHERE user_id = ?1"))
            .bind(owner.0)
            .fetch_one(&mut *tx)
            .await
            .store()?;
        let current = profile_from_row(&row)?;
        let Some(p) = current.changed_fields(changes) else {
            return Ok(current);
        };
        let row = sqlx::query(
            "UPDATE parent_profiles SET name = ?2, email = ?3, stress_level = ?4, experience_level = ?5, primary_concerns = ?6,
                support_network = ?7, bio = ?8, preferred_language = ?9, communication_preference = ?10, updated_at = ?11
             WHERE id = ?1 RETURNING *",
        )
        .bind(current.id.0)
        .bind(&p.name)
        .bind(&p.email)
        .bind(p.stress_level.as_str())
        .bind(p.experience_level.as_str())
        .bind(Json(&p.primary_concerns))
        .bind(Json(&p.support_network))
        .bind(&p.bio)
        .bind(&p.preferred_language)
        .bind(&p.communication_preference)
        .bind(ts(now()))
        .fetch_one(&mut *tx)
        .await
        .store()?;
        let mut profile = profile_from_row(&row)?;
        profile.profile_embedding = Some(self.refresh_embedding(&mut tx, profile.id).await?);
        audit_own_change(&mut tx, owner, carenest_domain::audit::AuditAction::Update, "parent_profile", profile.id.0)
            .await?;
        tx.commit().await.store()?;
        Ok(profile)
    }

    async fn delete_parent_profile(&self, owner: UserId) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let profile: i64 = sqlx::query_scalar("DELETE FROM parent_profiles WHERE user_id = ?1 RETURNING id")
            .bind(owner.0)
            .fetch_one(&mut *tx)
            .await
            .store()?;
        audit_own_change(&mut tx, owner, carenest_domain::audit::AuditAction::Delete, "parent_profile", profile)
            .await?;
        tx.commit().await.store()
    }

    async fn update_onboarding(&self, owner: UserId, changes: OnboardingChanges) -> StoreResult<ParentProfile> {
        // Read and write inside one BEGIN IMMEDIATE transaction: SQLite runs one writer at a
        // time, so a concurrent PATCH merges into this one's result rather than overwriting it.
        let mut tx = self.write().await?;
        let row = sqlx::query(&format!("SELECT {PROFILE_COLUMNS} FROM parent_profiles WHERE user_id = ?1"))
            .bind(owner.0)
            .fetch_one(&mut *tx)
            .await
            .store()?;
        let current = profile_from_row(&row)?;
        let after = current.onboarding_after(&changes);
        if after == Onboarding::from(&current) {
            return Ok(current);
        }
        let row = sqlx::query(
            "UPDATE parent_profiles SET current_onboarding_step = ?2, completed_onboarding = ?3, onboarding_data = ?4, updated_at = ?5
             WHERE id = ?1 RETURNING *",
        )
        .bind(current.id.0)
        .bind(after.current_onboarding_step)
        .bind(after.completed_onboarding)
        .bind(Json(&after.onboarding_data))
        .bind(ts(now()))
        .fetch_one(&mut *tx)
        .await
        .store()?;
        audit_own_change(&mut tx, owner, carenest_domain::audit::AuditAction::Update, "parent_profile", current.id.0)
            .await?;
        tx.commit().await.store()?;
        profile_from_row(&row)
    }

    async fn touch_suggestion_check(&self, owner: UserId, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE parent_profiles SET last_suggestion_check = ?2 WHERE user_id = ?1")
            .bind(owner.0)
            .bind(ts(at))
            .execute(&self.pool)
            .await
            .store()
            .map(drop)
    }

    async fn children(&self, owner: UserId, page: PageRequest<ChildId>) -> StoreResult<Page<ChildProfile, ChildId>> {
        let rows = sqlx::query(&format!(
            "SELECT {CHILD_COLUMNS} FROM child_profiles c JOIN parent_profiles p ON p.id = c.parent_profile_id
             WHERE p.user_id = ?1 AND c.id > ?2 ORDER BY c.id LIMIT ?3"
        ))
        .bind(owner.0)
        .bind(page.after.map_or(0, |id| id.0))
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await
        .store()?;
        Ok(Page::from_overfetch(all(&rows, child_from_row)?, &page, |c| c.id))
    }

    async fn child(&self, owner: UserId, id: ChildId) -> StoreResult<ChildProfile> {
        let row = sqlx::query(&format!(
            "SELECT {CHILD_COLUMNS} FROM child_profiles c JOIN parent_profiles p ON p.id = c.parent_profile_id
             WHERE p.user_id = ?1 AND c.id = ?2"
        ))
        .bind(owner.0)
        .bind(id.0)
        .fetch_one(&self.pool)
        .await
        .store()?;
        child_from_row(&row)
    }

    async fn create_child(&self, owner: UserId, child: NewChild) -> StoreResult<ChildProfile> {
        let mut tx = self.write().await?;
        let profile = profile_id(&mut tx, owner).await?;
        let row = sqlx::query(
            "INSERT INTO child_profiles (parent_profile_id, name, age, special_needs, routines, development_notes, last_assessment,
                created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) RETURNING *",
        )
        .bind(profile.0)
        .bind(&child.name)
        .bind(child.age)
        .bind(Json(&child.special_needs))
        .bind(Json(&child.routines))
        .bind(&child.development_notes)
        .bind(child.last_assessment.map(ts))
        .bind(ts(now()))
        .fetch_one(&mut *tx)
        .await
        .store()?;
        self.refresh_embedding(&mut tx, profile).await?;
        audit_own_change(
            &mut tx,
            owner,
            carenest_domain::audit::AuditAction::Create,
            "child_profile",
            child_from_row(&row)?.id.0,
        )
        .await?;
        tx.commit().await.store()?;
        child_from_row(&row)
    }

    async fn update_child(&self, owner: UserId, id: ChildId, changes: ChildChanges) -> StoreResult<ChildProfile> {
        let mut tx = self.write().await?;
        let row = sqlx::query(&format!(
            "SELECT {CHILD_COLUMNS} FROM child_profiles c JOIN parent_profiles p ON p.id = c.parent_profile_id
             WHERE p.user_id = ?1 AND c.id = ?2"
        ))
        .bind(owner.0)
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await
        .store()?;
        let current = child_from_row(&row)?;
        let Some(c) = current.changed_fields(changes) else {
            return Ok(current);
        };
        let row = sqlx::query(
            "UPDATE child_profiles SET name = ?2, age = ?3, special_needs = ?4, routines = ?5, development_notes = ?6,
                last_assessment = ?7, updated_at = ?8
             WHERE id = ?1 RETURNING *",
        )
        .bind(id.0)
        .bind(&c.name)
        .bind(c.age)
        .bind(Json(&c.special_needs))
        .bind(Json(&c.routines))
        .bind(&c.development_notes)
        .bind(c.last_assessment.map(ts))
        .bind(ts(now()))
        .fetch_one(&mut *tx)
        .await
        .store()?;
        self.refresh_embedding(&mut tx, current.parent_profile_id).await?;
        audit_own_change(&mut tx, owner, carenest_domain::audit::AuditAction::Update, "child_profile", id.0).await?;
        tx.commit().await.store()?;
        child_from_row(&row)
    }

    async fn delete_child(&self, owner: UserId, id: ChildId) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let profile: i64 = sqlx::query_scalar(
            "DELETE FROM child_profiles WHERE id = ?2 AND parent_profile_id IN (SELECT id FROM parent_profiles WHERE user_id = ?1)
             RETURNING parent_profile_id",
        )
        .bind(owner.0)
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await
        .store()?;
        self.refresh_embedding(&mut tx, ParentProfileId(profile)).await?;
        audit_own_change(&mut tx, owner, carenest_domain::audit::AuditAction::Delete, "child_profile", id.0).await?;
        tx.commit().await.store()
    }

    async fn goals(
        &self,
        owner: UserId,
        status: Option<GoalStatus>,
        page: PageRequest<GoalId>,
    ) -> StoreResult<Page<ParentingGoal, GoalId>> {
        let rows = sqlx::query(&format!(
            "SELECT {GOAL_COLUMNS} FROM parenting_goals g JOIN parent_profiles p ON p.id = g.parent_profile_id
             WHERE p.user_id = ?1 AND g.id > ?2 AND (?3 IS NULL OR g.status = ?3) ORDER BY g.id LIMIT ?4"
        ))
        .bind(owner.0)
        .bind(page.after.map_or(0, |id| id.0))
        .bind(status.map(GoalStatus::as_str))
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await
        .store()?;
        Ok(Page::from_overfetch(all(&rows, goal_from_row)?, &page, |g| g.id))
    }

    async fn goal(&self, owner: UserId, id: GoalId) -> StoreResult<ParentingGoal> {
        let row = sqlx::query(&format!(
            "SELECT {GOAL_COLUMNS} FROM parenting_goals g JOIN parent_profiles p ON p.id = g.parent_profile_id
             WHERE p.user_id = ?1 AND g.id = ?2"
        ))
        .bind(owner.0)
        .bind(id.0)
        .fetch_one(&self.pool)
        .await
        .store()?;
        goal_from_row(&row)
    }

    async fn create_goal(&self, owner: UserId, goal: NewGoal) -> StoreResult<ParentingGoal> {
        let mut tx = self.write().await?;
        let profile = profile_id(&mut tx, owner).await?;
        check_own_child(&mut tx, profile, goal.child_profile_id).await?;
        check_template(&mut tx, goal.template_id).await?;
        let row = sqlx::query(
            "INSERT INTO parenting_goals (parent_profile_id, child_profile_id, title, description, category, status, progress,
                target_date, template_id, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?10, ?9, ?9) RETURNING *",
        )
        .bind(profile.0)
        .bind(goal.child_profile_id.map(|c| c.0))
        .bind(&goal.title)
        .bind(&goal.description)
        .bind(&goal.category)
        .bind(goal.status.as_str())
        .bind(goal.progress)
        .bind(goal.target_date)
        .bind(ts(now()))
        .bind(goal.template_id.map(|t| t.0))
        .fetch_one(&mut *tx)
        .await
        .store()?;
        audit_own_change(
            &mut tx,
            owner,
            carenest_domain::audit::AuditAction::Create,
            "parenting_goal",
            goal_from_row(&row)?.id.0,
        )
        .await?;
        tx.commit().await.store()?;
        goal_from_row(&row)
    }

    async fn update_goal(&self, owner: UserId, id: GoalId, changes: GoalChanges) -> StoreResult<ParentingGoal> {
        let mut tx = self.write().await?;
        let row = sqlx::query(&format!(
            "SELECT {GOAL_COLUMNS} FROM parenting_goals g JOIN parent_profiles p ON p.id = g.parent_profile_id
             WHERE p.user_id = ?1 AND g.id = ?2"
        ))
        .bind(owner.0)
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await
        .store()?;
        let current = goal_from_row(&row)?;
        let Some(g) = current.changed_fields(changes) else {
            return Ok(current);
        };
        if g.child_profile_id != current.child_profile_id {
            check_own_child(&mut tx, current.parent_profile_id, g.child_profile_id).await?;
        }
        if g.template_id != current.template_id {
            check_template(&mut tx, g.template_id).await?;
        }
        let row = sqlx::query(
            "UPDATE parenting_goals SET child_profile_id = ?2, title = ?3, description = ?4, category = ?5, status = ?6,
                progress = ?7, target_date = ?8, updated_at = ?9, template_id = ?10
             WHERE id = ?1 RETURNING *",
        )
        .bind(id.0)
        .bind(g.child_profile_id.map(|c| c.0))
        .bind(&g.title)
        .bind(&g.description)
        .bind(&g.category)
        .bind(g.status.as_str())
        .bind(g.progress)
        .bind(g.target_date)
        .bind(ts(now()))
        .bind(g.template_id.map(|t| t.0))
        .fetch_one(&mut *tx)
        .await
        .store()?;
        audit_own_change(&mut tx, owner, carenest_domain::audit::AuditAction::Update, "parenting_goal", id.0).await?;
        tx.commit().await.store()?;
        goal_from_row(&row)
    }

    async fn delete_goal(&self, owner: UserId, id: GoalId) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let deleted = sqlx::query(
            "DELETE FROM parenting_goals WHERE id = ?2 AND parent_profile_id IN (SELECT id FROM parent_profiles WHERE user_id = ?1)",
        )
        .bind(owner.0)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .store()?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        audit_own_change(&mut tx, owner, carenest_domain::audit::AuditAction::Delete, "parenting_goal", id.0).await?;
        tx.commit().await.store()
    }

    async fn family(&self, owner: UserId) -> StoreResult<Family> {
        // One deferred (read) transaction: under WAL its reads share one snapshot.
        let mut tx = self.pool.begin().await.store()?;
        let Some(row) = sqlx::query(&format!("SELECT {PROFILE_COLUMNS} FROM parent_profiles WHERE user_id = ?1"))
            .bind(owner.0)
            .fetch_optional(&mut *tx)
            .await
            .store()?
        else {
            return Ok(Family::default());
        };
        let profile = profile_from_row(&row)?;
        let children = sqlx::query(&format!(
            "SELECT {CHILD_COLUMNS} FROM child_profiles c WHERE c.parent_profile_id = ?1 ORDER BY c.id"
        ))
        .bind(profile.id.0)
        .fetch_all(&mut *tx)
        .await
        .store()?;
        let goals = sqlx::query(&format!(
            "SELECT {GOAL_COLUMNS} FROM parenting_goals g WHERE g.parent_profile_id = ?1 ORDER BY g.id"
        ))
        .bind(profile.id.0)
        .fetch_all(&mut *tx)
        .await
        .store()?;
        tx.commit().await.store()?;
        Ok(Family {
            profile: Some(profile),
            children: all(&children, child_from_row)?,
            goals: all(&goals, goal_from_row)?,
        })
    }

    async fn child_owner(&self, id: ChildId) -> StoreResult<Option<UserId>> {
        let owner: Option<i64> = sqlx::query_scalar(
            "SELECT p.user_id FROM child_profiles c JOIN parent_profiles p ON p.id = c.parent_profile_id WHERE c.id = ?1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .store()?;
        Ok(owner.map(UserId))
    }
}
