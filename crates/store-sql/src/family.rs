use std::sync::LazyLock;

use async_trait::async_trait;
use carenest_domain::audit::AuditAction;
use carenest_domain::family::*;
use carenest_domain::ids::{ChildId, GoalId, ParentProfileId, TemplateId, UserId};
use carenest_domain::page::{Page, PageRequest};
use carenest_domain::{StoreError, StoreResult};
use chrono::{DateTime, Utc};

use crate::rows::{self, Columns, CHILD, GOAL, PROFILE};
use crate::{Dialect, Link, Sql, SqlStore, Tx};

/// The id of the caller's parent profile, for a statement whose `$1` is the caller.
const OWN_PROFILE: &str = "(SELECT id FROM parent_profiles WHERE user_id = $1)";

/// A family in one statement, so that it comes from one snapshot without a transaction: the
/// profile (`part` 1), its children (2) and its goals (3), each row with its own table's
/// columns and NULL in the others'. PostgreSQL types a UNION pairwise from the left, so a
/// column NULL in both of the first two parts is cast there to the type the third gives it.
static FAMILY: LazyLock<String> = LazyLock::new(|| {
    let parts = [
        (PROFILE, "parent_profiles WHERE user_id = $1".to_owned()),
        (CHILD, format!("child_profiles WHERE parent_profile_id = {OWN_PROFILE}")),
        (GOAL, format!("parenting_goals WHERE parent_profile_id = {OWN_PROFILE}")),
    ];
    let own = |columns: &'static str| columns.split(", ").collect::<Vec<_>>();
    // The columns in the goals' order, then the children's, then the profile's: rows are read
    // by name, each name tried first at the place after the last one read, so a family's goals
    // find every column without a search, and its children most of theirs.
    let mut every: Vec<&str> = Vec::new();
    for column in parts.iter().rev().flat_map(|(columns, _)| own(columns)) {
        if !every.contains(&column) {
            every.push(column);
        }
    }
    let selects = parts.iter().enumerate().map(|(part, (columns, from))| {
        let own = own(columns);
        let list = every.iter().map(|column| match (own.contains(column), part) {
            (true, _) => (*column).to_owned(),
            (false, 0) => match goal_column_type(column) {
                Some(sql_type) => format!("CAST(NULL AS {sql_type}) AS {column}"),
                None => format!("NULL AS {column}"),
            },
            (false, _) => "NULL".to_owned(),
        });
        format!("SELECT {} AS part, {} FROM {from}", part + 1, list.collect::<Vec<_>>().join(", "))
    });
    format!("{} ORDER BY part, id", selects.collect::<Vec<_>>().join(" UNION ALL "))
});

/// The type of a goal's column that neither a profile nor a child has.
fn goal_column_type(column: &str) -> Option<&'static str> {
    match column {
        "child_profile_id" | "template_id" => Some("bigint"),
        "title" | "description" | "category" | "status" => Some("text"),
        "progress" => Some("integer"),
        "target_date" => Some("date"),
        _ => None,
    }
}

impl<D: Dialect> SqlStore<D> {
    /// The family in three narrow statements on one snapshot, where that is cheaper than the
    /// one wide statement (see `Dialect::IN_PROCESS`).
    async fn family_level_by_level(&self, owner: UserId) -> StoreResult<Family> {
        let mut tx = self.snapshot().await?;
        let sql = Sql::new(format!("SELECT {PROFILE} FROM parent_profiles WHERE user_id = $1")).arg(owner);
        let Some(row) = self.optional(&mut tx, sql).await? else {
            return Ok(Family::default());
        };
        let profile = rows::parent_profile::<D>(&row)?;
        let sql = Sql::new(format!("SELECT {CHILD} FROM child_profiles WHERE parent_profile_id = $1 ORDER BY id"));
        let children = self.all(&mut tx, sql.arg(profile.id)).await?;
        let sql = Sql::new(format!("SELECT {GOAL} FROM parenting_goals WHERE parent_profile_id = $1 ORDER BY id"));
        let goals = self.all(&mut tx, sql.arg(profile.id)).await?;
        self.commit(tx).await?;
        Ok(Family {
            profile: Some(profile),
            children: rows::all::<D, _>(&children, rows::child::<D>)?,
            goals: rows::all::<D, _>(&goals, rows::goal::<D>)?,
        })
    }

    /// Runs the insert or update of a profile whose `$1` is bound and whose `$2`..`$11` are the
    /// profile's fields and the time, in the order both statements list them; then refreshes
    /// the embedding, records the change and commits.
    async fn write_profile(
        &self,
        mut tx: Tx<D>,
        owner: UserId,
        action: AuditAction,
        sql: Sql<'_>,
        p: &NewParentProfile,
    ) -> StoreResult<ParentProfile> {
        let sql = sql
            .arg(&p.name)
            .arg(&p.email)
            .arg(p.stress_level.as_str())
            .arg(p.experience_level.as_str())
            .arg(&p.primary_concerns)
            .arg(&p.support_network)
            .arg(&p.bio)
            .arg(&p.preferred_language)
            .arg(&p.communication_preference)
            .arg(self.now());
        let mut profile = rows::parent_profile::<D>(&self.one(&mut tx, sql).await?)?;
        profile.profile_embedding = Some(self.refresh_embedding(&mut tx, profile.id, Some(p)).await?);
        self.audit_own_change(&mut tx, owner, action, "parent_profile", profile.id.0).await?;
        self.commit(tx).await?;
        Ok(profile)
    }

    /// The caller's profile id, locked so that the profile can't vanish before what hangs from
    /// it is written, and so that two additions at once can't both pass the family's limit.
    /// `Invalid` when the family has `max` rows in `table` already.
    async fn profile_with_room(
        &self,
        conn: &mut Link<D>,
        owner: UserId,
        table: &str,
        max: i64,
    ) -> StoreResult<ParentProfileId> {
        let sql = Sql::new(format!("SELECT id FROM parent_profiles WHERE user_id = $1{}", D::FOR_UPDATE)).arg(owner);
        let profile = match self.optional(conn, sql).await? {
            Some(row) => ParentProfileId(row.int("id")?),
            None => return Err(StoreError::conflict("parent_profile_required", "create a parent profile first")),
        };
        let sql = Sql::new(format!("SELECT count(*) AS n FROM {table} WHERE parent_profile_id = $1")).arg(profile);
        if self.one(conn, sql).await?.int("n")? >= max {
            let what = if table == "child_profiles" { "children" } else { "goals" };
            return Err(StoreError::invalid(what, "too_many", format!("a family may have at most {max} {what}")));
        }
        Ok(profile)
    }

    /// A goal may only point at a child of the same family; the child row is share-locked so it
    /// can't vanish before the goal is written.
    async fn check_own_child(
        &self,
        conn: &mut Link<D>,
        profile: ParentProfileId,
        child: Option<ChildId>,
    ) -> StoreResult<()> {
        let Some(child) = child else { return Ok(()) };
        let sql =
            Sql::new(format!("SELECT id FROM child_profiles WHERE id = $1 AND parent_profile_id = $2{}", D::FOR_SHARE));
        let found = self.optional(conn, sql.arg(child).arg(profile)).await?;
        found.map(drop).ok_or_else(foreign_child_error)
    }

    /// A goal's template must exist; its row is share-locked so it can't vanish meanwhile.
    async fn check_template(&self, conn: &mut Link<D>, template: Option<TemplateId>) -> StoreResult<()> {
        let Some(template) = template else { return Ok(()) };
        let sql = Sql::new(format!("SELECT id FROM goal_templates WHERE id = $1{}", D::FOR_SHARE)).arg(template);
        self.optional(conn, sql).await?.map(drop).ok_or_else(unknown_template_error)
    }
}

#[async_trait]
impl<D: Dialect> FamilyStore for SqlStore<D> {
    async fn parent_profile(&self, owner: UserId) -> StoreResult<ParentProfile> {
        let sql = Sql::new(format!("SELECT {PROFILE} FROM parent_profiles WHERE user_id = $1")).arg(owner);
        rows::parent_profile::<D>(&self.read_one(sql).await?)
    }

    async fn create_parent_profile(&self, owner: UserId, p: NewParentProfile) -> StoreResult<ParentProfile> {
        let tx = self.write().await?;
        let sql = Sql::new(format!(
            "INSERT INTO parent_profiles (user_id, name, email, stress_level, experience_level, primary_concerns,
                support_network, bio, preferred_language, communication_preference, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {PROFILE}"
        ))
        .arg(owner);
        self.write_profile(tx, owner, AuditAction::Create, sql, &p).await
    }

    async fn update_parent_profile(&self, owner: UserId, changes: ParentProfileChanges) -> StoreResult<ParentProfile> {
        let mut tx = self.write().await?;
        let sql = Sql::new(format!("SELECT {PROFILE} FROM parent_profiles WHERE user_id = $1{}", D::FOR_UPDATE));
        let current = rows::parent_profile::<D>(&self.one(&mut tx, sql.arg(owner)).await?)?;
        let Some(p) = current.changed_fields(changes) else {
            return Ok(current);
        };
        let sql = Sql::new(format!(
            "UPDATE parent_profiles SET name = $2, email = $3, stress_level = $4, experience_level = $5,
                primary_concerns = $6, support_network = $7, bio = $8, preferred_language = $9,
                communication_preference = $10, updated_at = $11
             WHERE id = $1 RETURNING {PROFILE}"
        ))
        .arg(current.id);
        self.write_profile(tx, owner, AuditAction::Update, sql, &p).await
    }

    async fn delete_parent_profile(&self, owner: UserId) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let sql = Sql::new("DELETE FROM parent_profiles WHERE user_id = $1 RETURNING id").arg(owner);
        let profile = self.one(&mut tx, sql).await?.int("id")?;
        self.audit_own_change(&mut tx, owner, AuditAction::Delete, "parent_profile", profile).await?;
        self.supersede_unlinked_reminders(&mut tx, owner).await?;
        self.commit(tx).await
    }

    async fn update_onboarding(&self, owner: UserId, changes: OnboardingChanges) -> StoreResult<ParentProfile> {
        // The row is locked while the merge is computed, so a concurrent PATCH merges into this
        // one's result rather than overwriting it.
        let mut tx = self.write().await?;
        let sql = Sql::new(format!("SELECT {PROFILE} FROM parent_profiles WHERE user_id = $1{}", D::FOR_UPDATE));
        let current = rows::parent_profile::<D>(&self.one(&mut tx, sql.arg(owner)).await?)?;
        let after = current.onboarding_after(&changes);
        if after == Onboarding::from(&current) {
            return Ok(current);
        }
        if after.onboarding_data.to_string().len() > ONBOARDING_DATA_MAX {
            return Err(StoreError::invalid(
                "onboardingData",
                "too_large",
                format!("the onboarding data, merged, may be at most {} KiB of JSON", ONBOARDING_DATA_MAX / 1024),
            ));
        }
        let sql = Sql::new(format!(
            "UPDATE parent_profiles SET current_onboarding_step = $2, completed_onboarding = $3, onboarding_data = $4,
                updated_at = $5
             WHERE id = $1 RETURNING {PROFILE}"
        ))
        .arg(current.id)
        .arg(after.current_onboarding_step)
        .arg(after.completed_onboarding)
        .arg(&after.onboarding_data)
        .arg(self.now());
        let profile = rows::parent_profile::<D>(&self.one(&mut tx, sql).await?)?;
        self.audit_own_change(&mut tx, owner, AuditAction::Update, "parent_profile", profile.id.0).await?;
        self.commit(tx).await?;
        Ok(profile)
    }

    async fn touch_suggestion_check(&self, owner: UserId, at: DateTime<Utc>) -> StoreResult<()> {
        let sql = Sql::new("UPDATE parent_profiles SET last_suggestion_check = $2 WHERE user_id = $1");
        self.run(sql.arg(owner).arg(at)).await.map(drop)
    }

    async fn children(&self, owner: UserId, page: PageRequest<ChildId>) -> StoreResult<Page<ChildProfile, ChildId>> {
        let sql = Sql::new(format!(
            "SELECT {CHILD} FROM child_profiles WHERE parent_profile_id = {OWN_PROFILE} AND id > $2 ORDER BY id LIMIT $3"
        ))
        .arg(owner)
        .arg(page.after.map_or(0, |id| id.0))
        .arg(page.fetch_limit());
        let children = rows::all::<D, _>(&self.read_all(sql).await?, rows::child::<D>)?;
        Ok(Page::from_overfetch(children, &page, |c| c.id))
    }

    async fn child(&self, owner: UserId, id: ChildId) -> StoreResult<ChildProfile> {
        let sql =
            Sql::new(format!("SELECT {CHILD} FROM child_profiles WHERE parent_profile_id = {OWN_PROFILE} AND id = $2"));
        rows::child::<D>(&self.read_one(sql.arg(owner).arg(id)).await?)
    }

    async fn create_child(&self, owner: UserId, child: NewChild) -> StoreResult<ChildProfile> {
        let mut tx = self.write().await?;
        let profile = self.profile_with_room(&mut tx, owner, "child_profiles", CHILDREN_MAX).await?;
        let sql = Sql::new(format!(
            "INSERT INTO child_profiles (parent_profile_id, name, age, special_needs, routines, development_notes,
                last_assessment, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {CHILD}"
        ))
        .arg(profile)
        .arg(&child.name)
        .arg(child.age)
        .arg(&child.special_needs)
        .arg(&child.routines)
        .arg(&child.development_notes)
        .arg(child.last_assessment)
        .arg(self.now());
        let created = rows::child::<D>(&self.one(&mut tx, sql).await?)?;
        self.refresh_embedding(&mut tx, profile, None).await?;
        self.audit_own_change(&mut tx, owner, AuditAction::Create, "child_profile", created.id.0).await?;
        self.commit(tx).await?;
        Ok(created)
    }

    async fn update_child(&self, owner: UserId, id: ChildId, changes: ChildChanges) -> StoreResult<ChildProfile> {
        let mut tx = self.write().await?;
        let sql = Sql::new(format!(
            "SELECT {CHILD} FROM child_profiles WHERE parent_profile_id = {OWN_PROFILE} AND id = $2{}",
            D::FOR_UPDATE
        ));
        let current = rows::child::<D>(&self.one(&mut tx, sql.arg(owner).arg(id)).await?)?;
        let Some(c) = current.changed_fields(changes) else {
            return Ok(current);
        };
        let sql = Sql::new(format!(
            "UPDATE child_profiles SET name = $2, age = $3, special_needs = $4, routines = $5, development_notes = $6,
                last_assessment = $7, updated_at = $8
             WHERE id = $1 RETURNING {CHILD}"
        ))
        .arg(id)
        .arg(&c.name)
        .arg(c.age)
        .arg(&c.special_needs)
        .arg(&c.routines)
        .arg(&c.development_notes)
        .arg(c.last_assessment)
        .arg(self.now());
        let updated = rows::child::<D>(&self.one(&mut tx, sql).await?)?;
        self.refresh_embedding(&mut tx, current.parent_profile_id, None).await?;
        self.audit_own_change(&mut tx, owner, AuditAction::Update, "child_profile", id.0).await?;
        self.commit(tx).await?;
        Ok(updated)
    }

    async fn delete_child(&self, owner: UserId, id: ChildId) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let sql = Sql::new(format!(
            "DELETE FROM child_profiles WHERE parent_profile_id = {OWN_PROFILE} AND id = $2 RETURNING parent_profile_id"
        ));
        let profile = ParentProfileId(self.one(&mut tx, sql.arg(owner).arg(id)).await?.int("parent_profile_id")?);
        self.refresh_embedding(&mut tx, profile, None).await?;
        self.audit_own_change(&mut tx, owner, AuditAction::Delete, "child_profile", id.0).await?;
        self.supersede_unlinked_reminders(&mut tx, owner).await?;
        self.commit(tx).await
    }

    async fn goals(
        &self,
        owner: UserId,
        status: Option<GoalStatus>,
        page: PageRequest<GoalId>,
    ) -> StoreResult<Page<ParentingGoal, GoalId>> {
        let sql = Sql::new(format!(
            "SELECT {GOAL} FROM parenting_goals WHERE parent_profile_id = {OWN_PROFILE} AND id > $2
                AND ($3 IS NULL OR status = $3)
             ORDER BY id LIMIT $4"
        ))
        .arg(owner)
        .arg(page.after.map_or(0, |id| id.0))
        .arg(status.map(GoalStatus::as_str))
        .arg(page.fetch_limit());
        let goals = rows::all::<D, _>(&self.read_all(sql).await?, rows::goal::<D>)?;
        Ok(Page::from_overfetch(goals, &page, |g| g.id))
    }

    async fn goal(&self, owner: UserId, id: GoalId) -> StoreResult<ParentingGoal> {
        let sql =
            Sql::new(format!("SELECT {GOAL} FROM parenting_goals WHERE parent_profile_id = {OWN_PROFILE} AND id = $2"));
        rows::goal::<D>(&self.read_one(sql.arg(owner).arg(id)).await?)
    }

    async fn create_goal(&self, owner: UserId, goal: NewGoal) -> StoreResult<ParentingGoal> {
        let mut tx = self.write().await?;
        let profile = self.profile_with_room(&mut tx, owner, "parenting_goals", GOALS_MAX).await?;
        self.check_own_child(&mut tx, profile, goal.child_profile_id).await?;
        self.check_template(&mut tx, goal.template_id).await?;
        let sql = Sql::new(format!(
            "INSERT INTO parenting_goals (parent_profile_id, child_profile_id, title, description, category, status,
                progress, target_date, template_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {GOAL}"
        ))
        .arg(profile)
        .arg(goal.child_profile_id)
        .arg(&goal.title)
        .arg(&goal.description)
        .arg(&goal.category)
        .arg(goal.status.as_str())
        .arg(goal.progress)
        .arg(goal.target_date)
        .arg(goal.template_id)
        .arg(self.now());
        let created = rows::goal::<D>(&self.one(&mut tx, sql).await?)?;
        self.audit_own_change(&mut tx, owner, AuditAction::Create, "parenting_goal", created.id.0).await?;
        self.commit(tx).await?;
        Ok(created)
    }

    async fn update_goal(&self, owner: UserId, id: GoalId, changes: GoalChanges) -> StoreResult<ParentingGoal> {
        let mut tx = self.write().await?;
        let sql = Sql::new(format!(
            "SELECT {GOAL} FROM parenting_goals WHERE parent_profile_id = {OWN_PROFILE} AND id = $2{}",
            D::FOR_UPDATE
        ));
        let current = rows::goal::<D>(&self.one(&mut tx, sql.arg(owner).arg(id)).await?)?;
        let Some(g) = current.changed_fields(changes) else {
            return Ok(current);
        };
        if g.child_profile_id != current.child_profile_id {
            self.check_own_child(&mut tx, current.parent_profile_id, g.child_profile_id).await?;
        }
        if g.template_id != current.template_id {
            self.check_template(&mut tx, g.template_id).await?;
        }
        let sql = Sql::new(format!(
            "UPDATE parenting_goals SET child_profile_id = $2, title = $3, description = $4, category = $5, status = $6,
                progress = $7, target_date = $8, template_id = $9, updated_at = $10
             WHERE id = $1 RETURNING {GOAL}"
        ))
        .arg(id)
        .arg(g.child_profile_id)
        .arg(&g.title)
        .arg(&g.description)
        .arg(&g.category)
        .arg(g.status.as_str())
        .arg(g.progress)
        .arg(g.target_date)
        .arg(g.template_id)
        .arg(self.now());
        let updated = rows::goal::<D>(&self.one(&mut tx, sql).await?)?;
        self.audit_own_change(&mut tx, owner, AuditAction::Update, "parenting_goal", id.0).await?;
        self.commit(tx).await?;
        Ok(updated)
    }

    async fn delete_goal(&self, owner: UserId, id: GoalId) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let sql = Sql::new(format!("DELETE FROM parenting_goals WHERE parent_profile_id = {OWN_PROFILE} AND id = $2"));
        if self.execute(&mut tx, sql.arg(owner).arg(id)).await? == 0 {
            return Err(StoreError::NotFound);
        }
        self.audit_own_change(&mut tx, owner, AuditAction::Delete, "parenting_goal", id.0).await?;
        self.commit(tx).await
    }

    async fn family(&self, owner: UserId) -> StoreResult<Family> {
        if D::IN_PROCESS {
            return self.family_level_by_level(owner).await;
        }
        let mut family = Family::default();
        for row in &self.read_all(Sql::new(FAMILY.as_str()).arg(owner)).await? {
            match row.int32("part")? {
                1 => family.profile = Some(rows::parent_profile::<D>(row)?),
                2 => family.children.push(rows::child::<D>(row)?),
                _ => family.goals.push(rows::goal::<D>(row)?),
            }
        }
        Ok(family)
    }

    async fn child_owner(&self, id: ChildId) -> StoreResult<Option<UserId>> {
        let sql = Sql::new(
            "SELECT p.user_id FROM child_profiles c JOIN parent_profiles p ON p.id = c.parent_profile_id WHERE c.id = $1",
        );
        self.read_optional(sql.arg(id)).await?.map(|row| row.int("user_id").map(UserId)).transpose()
    }
}
