//! Calendar subscriptions: calendar apps can't send a bearer token, so a feed is reached by a
//! secret URL. Only the SHA-256 of a secret is stored.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ids::{TherapistId, UserId};
use crate::StoreResult;

/// Whose sessions a feed holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedOwner {
    /// The sessions a therapist is on.
    Therapist(TherapistId),
    /// The sessions of a family's children.
    Family(UserId),
}

#[async_trait]
pub trait FeedStore {
    /// Gives the owner a feed with this secret; any earlier one stops working. When it was made.
    async fn set_feed(&self, owner: FeedOwner, secret_hash: &[u8]) -> StoreResult<DateTime<Utc>>;
    /// The owner's feed stops working (if it had one).
    async fn revoke_feed(&self, owner: FeedOwner) -> StoreResult<()>;
    /// Whose live feed a secret opens; notes its use.
    async fn feed_owner(&self, secret_hash: &[u8], now: DateTime<Utc>) -> StoreResult<Option<FeedOwner>>;
}
