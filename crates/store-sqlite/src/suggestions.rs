use std::collections::BTreeMap;

use async_trait::async_trait;
use carenest_domain::ids::{ParentProfileId, TemplateId};
use carenest_domain::suggestions::{
    family_document, Embedder, GoalTemplate, NewGoalTemplate, SuggestionStore, CANDIDATES,
};
use carenest_domain::time::now;
use carenest_domain::{rows, StoreResult};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use crate::family::{child_from_row, profile_from_row, CHILD_COLUMNS, PROFILE_COLUMNS};
use crate::rows::Cols;
use crate::{json_list, ts, ResultExt, SqliteStore};
use sqlx::types::Json;

impl SqliteStore {
    /// Recomputes a family's embedding and neighbour buckets from its profile and children,
    /// inside the caller's transaction, and returns the stored text.
    pub(crate) async fn refresh_embedding(
        &self,
        conn: &mut SqliteConnection,
        profile: ParentProfileId,
    ) -> StoreResult<String> {
        let row = sqlx::query(&format!("SELECT {PROFILE_COLUMNS} FROM parent_profiles WHERE id = ?1"))
            .bind(profile.0)
            .fetch_one(&mut *conn)
            .await
            .store()?;
        let children = sqlx::query(&format!(
            "SELECT {CHILD_COLUMNS} FROM child_profiles c WHERE c.parent_profile_id = ?1 ORDER BY c.id"
        ))
        .bind(profile.0)
        .fetch_all(&mut *conn)
        .await
        .store()?;
        let children = children.iter().map(child_from_row).collect::<StoreResult<Vec<_>>>()?;
        let embedding = self.embedder.embed(&family_document(&profile_from_row(&row)?.fields(), &children));
        let text = embedding.to_text(self.embedder.model());
        sqlx::query("UPDATE parent_profiles SET profile_embedding = ?2 WHERE id = ?1")
            .bind(profile.0)
            .bind(&text)
            .execute(&mut *conn)
            .await
            .store()?;
        // `WHERE true` lets SQLite parse the upsert after a SELECT; json_each's key is the index.
        sqlx::query(
            "INSERT INTO profile_neighbour_buckets (parent_profile_id, band, bucket, created_at, updated_at)
             SELECT ?1, b.key, b.value, ?3, ?3 FROM json_each(?2) AS b WHERE true
             ON CONFLICT (parent_profile_id, band) DO UPDATE SET bucket = excluded.bucket, updated_at = excluded.updated_at",
        )
        .bind(profile.0)
        .bind(json_list(&embedding.buckets()))
        .bind(ts(now()))
        .execute(&mut *conn)
        .await
        .store()?;
        Ok(text)
    }
}

fn template_from_row(row: &SqliteRow) -> StoreResult<GoalTemplate> {
    rows::goal_template(&Cols(row))
}

#[async_trait]
impl SuggestionStore for SqliteStore {
    fn embedder(&self) -> &dyn Embedder {
        self.embedder.as_ref()
    }

    async fn goal_templates(&self) -> StoreResult<Vec<GoalTemplate>> {
        let rows = sqlx::query(
            "SELECT id, key, category, title, description, title_nl, description_nl, tags, min_age, max_age FROM goal_templates ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .store()?;
        rows.iter().map(template_from_row).collect()
    }

    async fn upsert_goal_templates(&self, templates: &[NewGoalTemplate]) -> StoreResult<usize> {
        let mut tx = self.write().await?;
        let mut added = 0;
        for t in templates {
            let existed: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM goal_templates WHERE key = ?1)")
                .bind(&t.key)
                .fetch_one(&mut *tx)
                .await
                .store()?;
            sqlx::query(
                "INSERT INTO goal_templates (key, category, title, description, title_nl, description_nl, tags, min_age, max_age,
                    created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
                 ON CONFLICT (key) DO UPDATE SET category = excluded.category, title = excluded.title,
                    description = excluded.description, title_nl = excluded.title_nl, description_nl = excluded.description_nl,
                    tags = excluded.tags, min_age = excluded.min_age, max_age = excluded.max_age, updated_at = excluded.updated_at",
            )
            .bind(&t.key)
            .bind(&t.category)
            .bind(&t.title)
            .bind(&t.description)
            .bind(&t.title_nl)
            .bind(&t.description_nl)
            .bind(Json(&t.tags))
            .bind(t.min_age)
            .bind(t.max_age)
            .bind(ts(now()))
            .execute(&mut *tx)
            .await
            .store()?;
            added += usize::from(!existed);
        }
        tx.commit().await.store()?;
        Ok(added)
    }

    async fn delete_goal_templates(&self, keys: &[String]) -> StoreResult<()> {
        sqlx::query("DELETE FROM goal_templates WHERE key IN (SELECT value FROM json_each(?1))")
            .bind(json_list(keys))
            .execute(&self.pool)
            .await
            .store()
            .map(drop)
    }

    async fn neighbour_candidates(
        &self,
        profile: ParentProfileId,
        buckets: &[i32],
    ) -> StoreResult<Vec<(ParentProfileId, String)>> {
        let rows = sqlx::query(
            "SELECT p.id, p.profile_embedding FROM (
                SELECT b.parent_profile_id, count(*) AS shared
                FROM profile_neighbour_buckets b
                JOIN json_each(?2) AS q ON b.band = q.key AND b.bucket = q.value
                WHERE b.parent_profile_id <> ?1
                GROUP BY b.parent_profile_id ORDER BY shared DESC, b.parent_profile_id LIMIT ?3
             ) c JOIN parent_profiles p ON p.id = c.parent_profile_id
             WHERE p.profile_embedding IS NOT NULL ORDER BY c.shared DESC, p.id",
        )
        .bind(profile.0)
        .bind(json_list(buckets))
        .bind(CANDIDATES)
        .fetch_all(&self.pool)
        .await
        .store()?;
        rows.iter()
            .map(|row| Ok((ParentProfileId(row.try_get("id").store()?), row.try_get("profile_embedding").store()?)))
            .collect()
    }

    async fn template_adoption(&self, families: &[ParentProfileId]) -> StoreResult<BTreeMap<TemplateId, i64>> {
        let ids: Vec<i64> = families.iter().map(|f| f.0).collect();
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT t.id, count(DISTINCT g.parent_profile_id) FROM parenting_goals g
             JOIN goal_templates t ON t.id = g.template_id OR lower(g.title) = lower(t.title) OR lower(g.title) = lower(t.title_nl)
             WHERE g.parent_profile_id IN (SELECT value FROM json_each(?1)) GROUP BY t.id",
        )
        .bind(json_list(&ids))
        .fetch_all(&self.pool)
        .await
        .store()?;
        Ok(rows.into_iter().map(|(id, count)| (TemplateId(id), count)).collect())
    }
}
