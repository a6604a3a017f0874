//! Calendar subscriptions by secret URL: a therapist's sessions, or a family's children's.
//! A feed holds no notes and no child's name or needs; a therapist's says only "Session" and
//! the other therapists' names, a family's names the therapists. It covers 90 days back to a
//! year ahead, cancelled sessions included as cancelled.

use carenest_domain::accounts::Role;
use carenest_domain::feeds::FeedOwner;
use carenest_domain::ids::TherapistId;
use carenest_domain::scheduling::{Session, SessionFilter, SessionScope};
use carenest_domain::StoreError;
use chrono::{DateTime, Duration, Utc};

use crate::calendar::{render, Calendar, Event};
use crate::passwords::{is_token_shaped, new_token, token_hash};
use crate::{all_pages, App, AppError, AppResult, Caller};

/// A new feed: its secret (shown once, as part of the URL) and when it was made.
#[derive(Debug, Clone)]
pub struct FeedLink {
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

pub const DAYS_BACK: i64 = 90;
pub const DAYS_AHEAD: i64 = 365;

fn names(session: &Session, except: Option<TherapistId>) -> Vec<&str> {
    session.therapists.iter().filter(|t| Some(t.id) != except).map(|t| t.name.as_str()).collect()
}

impl App {
    /// Admins manage any therapist's feed, a therapist their own.
    async fn may_manage_feed(&self, caller: &Caller, therapist: TherapistId) -> AppResult<()> {
        self.store.therapist(therapist).await?;
        if caller.role() == Role::Admin {
            return Ok(());
        }
        if caller.therapist == Some(therapist) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    async fn new_feed(&self, owner: FeedOwner) -> AppResult<FeedLink> {
        let (secret, hash) = new_token();
        let created_at = self.store.set_feed(owner, &hash).await?;
        Ok(FeedLink { secret, created_at })
    }

    /// A new secret feed of a therapist's sessions; any earlier URL stops working.
    pub async fn new_therapist_feed(&self, caller: &Caller, therapist: TherapistId) -> AppResult<FeedLink> {
        self.may_manage_feed(caller, therapist).await?;
        let link = self.new_feed(FeedOwner::Therapist(therapist)).await?;
        tracing::info!(therapist_id = therapist.0, actor_user_id = caller.id().0, "calendar feed made");
        Ok(link)
    }

    pub async fn revoke_therapist_feed(&self, caller: &Caller, therapist: TherapistId) -> AppResult<()> {
        self.may_manage_feed(caller, therapist).await?;
        self.store.revoke_feed(FeedOwner::Therapist(therapist)).await?;
        tracing::info!(therapist_id = therapist.0, actor_user_id = caller.id().0, "calendar feed revoked");
        Ok(())
    }

    /// A new secret feed of the sessions of the caller's children.
    pub async fn new_family_feed(&self, caller: &Caller) -> AppResult<FeedLink> {
        let link = self.new_feed(FeedOwner::Family(caller.id())).await?;
        tracing::info!(user_id = caller.id().0, "family calendar feed made");
        Ok(link)
    }

    pub async fn revoke_family_feed(&self, caller: &Caller) -> AppResult<()> {
        self.store.revoke_feed(FeedOwner::Family(caller.id())).await?;
        tracing::info!(user_id = caller.id().0, "family calendar feed revoked");
        Ok(())
    }

    /// The calendar a secret opens, as iCalendar text; `NotFound` for an unknown or revoked
    /// secret.
    pub async fn feed(&self, secret: &str) -> AppResult<String> {
        if !is_token_shaped(secret) {
            return Err(AppError::NotFound);
        }
        let owner = self.store.feed_owner(&token_hash(secret), self.now()).await?.ok_or(AppError::NotFound)?;
        let (today, _) = self.local_now();
        let range = |therapist_id| SessionFilter {
            from: Some(today - Duration::days(DAYS_BACK)),
            to: Some(today + Duration::days(DAYS_AHEAD)),
            therapist_id,
            child_profile_id: None,
        };
        let zone = self.settings.practice_time_zone;
        let calendar = match owner {
            FeedOwner::Therapist(therapist) => {
                let name = self.store.therapist(therapist).await?.name;
                let sessions =
                    all_pages(|page| self.store.sessions(SessionScope::All, range(Some(therapist)), page)).await?;
                let events = sessions
                    .iter()
                    .map(|session| {
                        let others = names(session, Some(therapist));
                        let with = (!others.is_empty()).then(|| format!("With: {}", others.join(", ")));
                        Event::of(session, "Session".to_owned(), with)
                    })
                    .collect();
                Calendar { name: format!("CareNest: {name}"), zone, events }
            }
            FeedOwner::Family(user) => {
                let dutch = match self.store.parent_profile(user).await {
                    Ok(profile) => profile.preferred_language.starts_with("nl"),
                    Err(StoreError::NotFound) => true,
                    Err(other) => return Err(other.into()),
                };
                let title = if dutch { "CareNest: sessies" } else { "CareNest: sessions" };
                let sessions =
                    all_pages(|page| self.store.sessions(SessionScope::Parent(user), range(None), page)).await?;
                let events = sessions.iter().map(|session| family_event(session, dutch)).collect();
                Calendar { name: title.to_owned(), zone, events }
            }
        };
        Ok(render(&calendar, today))
    }
}

/// A session as a family's calendar shows it (the feed, a reminder's attachment): what and
/// with whom, never the child or the notes.
pub(crate) fn family_event(session: &Session, dutch: bool) -> Event {
    let (summary, label) = if dutch { ("Therapiesessie", "Therapeuten") } else { ("Therapy session", "Therapists") };
    let therapists = names(session, None);
    let description = (!therapists.is_empty()).then(|| format!("{label}: {}", therapists.join(", ")));
    Event::of(session, summary.to_owned(), description)
}
