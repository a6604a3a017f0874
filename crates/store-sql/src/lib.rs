//! SQL that reads the same on both backends. `QueryBuilder` writes each database's own
//! placeholders, so a statement built here serves PostgreSQL and SQLite alike; statements
//! whose text differs (arrays against JSON lists, row locks) stay in the backend crates.

use carenest_domain::page::PageRequest;
use carenest_domain::scheduling::{SessionFilter, SessionKey, SessionScope};
use chrono::{NaiveDate, NaiveTime};
use sqlx::{Database, Encode, QueryBuilder, Type};

/// The columns of a session, for `carenest_domain::rows::session`.
pub const SESSION_COLUMNS: &str =
    "s.id, s.date, s.start_time, s.end_time, s.notes, s.status, s.child_profile_id, s.series_id, s.created_at, s.updated_at";

/// The statement behind `sessions()`; `prefix` turns it into an EXPLAIN.
pub fn sessions_query<'a, DB>(
    prefix: &str,
    scope: SessionScope,
    filter: &SessionFilter,
    page: &PageRequest<SessionKey>,
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB>,
    NaiveDate: Encode<'a, DB> + Type<DB>,
    NaiveTime: Encode<'a, DB> + Type<DB>,
{
    let mut query = QueryBuilder::new(format!("{prefix}SELECT {SESSION_COLUMNS} FROM sessions s WHERE TRUE"));
    push_scope(&mut query, scope);
    if let Some(from) = filter.from {
        query.push(" AND s.date >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        query.push(" AND s.date <= ").push_bind(to);
    }
    if let Some(therapist) = filter.therapist_id {
        // The date bounds repeat inside, so the (therapist_id, date) index bounds the search.
        query.push(" AND s.id IN (SELECT f.session_id FROM session_therapists f WHERE f.therapist_id = ");
        query.push_bind(therapist.0);
        if let Some(from) = filter.from {
            query.push(" AND f.date >= ").push_bind(from);
        }
        if let Some(to) = filter.to {
            query.push(" AND f.date <= ").push_bind(to);
        }
        query.push(")");
    }
    if let Some(child) = filter.child_profile_id {
        query.push(" AND s.child_profile_id = ").push_bind(child.0);
    }
    if let Some((date, start, id)) = page.after {
        query.push(" AND (s.date, s.start_time, s.id) > (").push_bind(date);
        query.push(", ").push_bind(start).push(", ").push_bind(id.0).push(")");
    }
    query.push(" ORDER BY s.date, s.start_time, s.id LIMIT ").push_bind(page.fetch_limit());
    query
}

/// Narrows a sessions query (`s`) to what `scope` may see.
pub fn push_scope<'a, DB>(query: &mut QueryBuilder<'a, DB>, scope: SessionScope)
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB>,
{
    match scope {
        SessionScope::All => {}
        SessionScope::Nothing => {
            query.push(" AND FALSE");
        }
        SessionScope::Therapist(therapist) => {
            query.push(
                " AND EXISTS (SELECT 1 FROM session_therapists v WHERE v.session_id = s.id AND v.therapist_id = ",
            );
            query.push_bind(therapist.0).push(")");
        }
        SessionScope::Parent(user) => {
            query.push(
                " AND s.child_profile_id IN (SELECT c.id FROM child_profiles c JOIN parent_profiles p ON p.id = c.parent_profile_id WHERE p.user_id = ",
            );
            query.push_bind(user.0).push(")");
        }
    }
}
