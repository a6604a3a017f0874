use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use carenest_domain::family::NewParentProfile;
use carenest_domain::ids::{ParentProfileId, TemplateId};
use carenest_domain::suggestions::{
    family_document, Embedder, GoalTemplate, NewGoalTemplate, SuggestionStore, CANDIDATES,
};
use carenest_domain::StoreResult;

use crate::rows::{self, Columns, CHILD, PROFILE, TEMPLATE};
use crate::{Dialect, Link, Sql, SqlStore};

impl<D: Dialect> SqlStore<D> {
    /// Recomputes a family's embedding and neighbour buckets from its profile (`fields`, or as
    /// stored) and children, inside the caller's transaction, and returns the stored text.
    pub(crate) async fn refresh_embedding(
        &self,
        conn: &mut Link<D>,
        profile: ParentProfileId,
        fields: Option<&NewParentProfile>,
    ) -> StoreResult<String> {
        let fields = match fields {
            Some(fields) => fields.clone(),
            None => {
                let sql = Sql::new(format!("SELECT {PROFILE} FROM parent_profiles WHERE id = $1")).arg(profile);
                rows::parent_profile::<D>(&self.one(conn, sql).await?)?.fields()
            }
        };
        let sql = Sql::new(format!("SELECT {CHILD} FROM child_profiles WHERE parent_profile_id = $1 ORDER BY id"));
        let children = rows::all::<D, _>(&self.all(conn, sql.arg(profile)).await?, rows::child::<D>)?;
        let embedding = self.embedder.embed(&family_document(&fields, &children));
        let text = embedding.to_text(self.embedder.model());
        let sql = Sql::new("UPDATE parent_profiles SET profile_embedding = $2 WHERE id = $1");
        self.execute(conn, sql.arg(profile).arg(&text)).await?;
        // A bucket's band is its place in the list.
        let sql = Sql::new(format!(
            "INSERT INTO profile_neighbour_buckets (parent_profile_id, band, bucket, created_at, updated_at)
             SELECT $1, b.position - 1, b.value, $3, $3 FROM {} WHERE true
             ON CONFLICT (parent_profile_id, band) DO UPDATE SET bucket = excluded.bucket, updated_at = excluded.updated_at",
            D::list_table(2, "b")
        ))
        .arg(profile)
        .arg(embedding.buckets().into_iter().map(i64::from).collect::<Vec<_>>())
        .arg(self.now());
        self.execute(conn, sql).await?;
        Ok(text)
    }
}

#[async_trait]
impl<D: Dialect> SuggestionStore for SqlStore<D> {
    fn embedder(&self) -> &dyn Embedder {
        self.embedder.as_ref()
    }

    async fn goal_templates(&self) -> StoreResult<Vec<GoalTemplate>> {
        let rows = self.read_all(Sql::new(format!("SELECT {TEMPLATE} FROM goal_templates ORDER BY id"))).await?;
        rows::all::<D, _>(&rows, rows::goal_template::<D>)
    }

    async fn upsert_goal_templates(&self, templates: &[NewGoalTemplate]) -> StoreResult<usize> {
        let mut tx = self.write().await?;
        let keys: Vec<String> = templates.iter().map(|t| t.key.clone()).collect();
        let sql = Sql::new(format!("SELECT key FROM goal_templates WHERE {}{}", D::in_list("key", 1), D::FOR_UPDATE));
        let existing = self
            .all(&mut tx, sql.arg(keys))
            .await?
            .iter()
            .map(|row| row.text("key"))
            .collect::<StoreResult<BTreeSet<_>>>()?;
        for t in templates {
            let sql = Sql::new(
                "INSERT INTO goal_templates (key, category, title, description, title_nl, description_nl, tags, min_age,
                    max_age, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
                 ON CONFLICT (key) DO UPDATE SET category = excluded.category, title = excluded.title,
                    description = excluded.description, title_nl = excluded.title_nl,
                    description_nl = excluded.description_nl, tags = excluded.tags, min_age = excluded.min_age,
                    max_age = excluded.max_age, updated_at = excluded.updated_at",
            )
            .arg(&t.key)
            .arg(&t.category)
            .arg(&t.title)
            .arg(&t.description)
            .arg(&t.title_nl)
            .arg(&t.description_nl)
            .arg(&t.tags)
            .arg(t.min_age)
            .arg(t.max_age)
            .arg(self.now());
            self.execute(&mut tx, sql).await?;
        }
        self.commit(tx).await?;
        Ok(templates.iter().filter(|t| !existing.contains(&t.key)).count())
    }

    async fn delete_goal_templates(&self, keys: &[String]) -> StoreResult<()> {
        let sql = Sql::new(format!("DELETE FROM goal_templates WHERE {}", D::in_list("key", 1))).arg(keys);
        self.run(sql).await.map(drop)
    }

    async fn neighbour_candidates(
        &self,
        profile: ParentProfileId,
        buckets: &[i32],
    ) -> StoreResult<Vec<(ParentProfileId, String)>> {
        let sql = Sql::new(format!(
            "SELECT p.id, p.profile_embedding FROM (
                SELECT b.parent_profile_id, count(*) AS shared
                FROM profile_neighbour_buckets b JOIN {} ON b.band = q.position - 1 AND b.bucket = q.value
                WHERE b.parent_profile_id <> $1
                GROUP BY b.parent_profile_id ORDER BY shared DESC, b.parent_profile_id LIMIT $3
             ) c JOIN parent_profiles p ON p.id = c.parent_profile_id
             WHERE p.profile_embedding IS NOT NULL ORDER BY c.shared DESC, p.id",
            D::list_table(2, "q")
        ))
        .arg(profile)
        .arg(buckets.iter().copied().map(i64::from).collect::<Vec<_>>())
        .arg(CANDIDATES);
        self.read_all(sql)
            .await?
            .iter()
            .map(|row| Ok((ParentProfileId(row.int("id")?), row.text("profile_embedding")?)))
            .collect()
    }

    async fn template_adoption(&self, families: &[ParentProfileId]) -> StoreResult<BTreeMap<TemplateId, i64>> {
        let sql = Sql::new(format!(
            "SELECT t.id, count(DISTINCT g.parent_profile_id) AS families FROM parenting_goals g
             JOIN goal_templates t ON t.id = g.template_id OR lower(g.title) = lower(t.title)
                OR lower(g.title) = lower(t.title_nl)
             WHERE {} GROUP BY t.id",
            D::in_list("g.parent_profile_id", 1)
        ))
        .arg(families.iter().map(|f| f.0).collect::<Vec<_>>());
        self.read_all(sql).await?.iter().map(|row| Ok((TemplateId(row.int("id")?), row.int("families")?))).collect()
    }
}
