//! How PostgreSQL columns read: arrays, JSON and timestamps are native types.

use carenest_domain::rows::Columns;
use carenest_domain::StoreResult;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::ResultExt;

/// A row for `carenest_domain::rows`.
pub(crate) struct Cols<'r>(pub &'r PgRow);

impl Columns for Cols<'_> {
    fn int(&self, column: &str) -> StoreResult<i64> {
        self.0.try_get(column).store()
    }
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        self.0.try_get(column).store()
    }
    fn int32(&self, column: &str) -> StoreResult<i32> {
        self.0.try_get(column).store()
    }
    fn opt_int32(&self, column: &str) -> StoreResult<Option<i32>> {
        self.0.try_get(column).store()
    }
    fn flag(&self, column: &str) -> StoreResult<bool> {
        self.0.try_get(column).store()
    }
    fn text(&self, column: &str) -> StoreResult<String> {
        self.0.try_get(column).store()
    }
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        self.0.try_get(column).store()
    }
    fn list(&self, column: &str) -> StoreResult<Vec<String>> {
        self.0.try_get(column).store()
    }
    fn json(&self, column: &str) -> StoreResult<Value> {
        self.0.try_get(column).store()
    }
    fn timestamp(&self, column: &str) -> StoreResult<DateTime<Utc>> {
        self.0.try_get(column).store()
    }
    fn opt_timestamp(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        self.0.try_get(column).store()
    }
    fn date(&self, column: &str) -> StoreResult<NaiveDate> {
        self.0.try_get(column).store()
    }
    fn opt_date(&self, column: &str) -> StoreResult<Option<NaiveDate>> {
        self.0.try_get(column).store()
    }
    fn time(&self, column: &str) -> StoreResult<NaiveTime> {
        self.0.try_get(column).store()
    }
}
