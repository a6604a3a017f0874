//! Registration, login, the caller's own account, export and erase, and user admin.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use carenest_domain::accounts::{
    check_email, check_password, check_picture, Attempts, NewToken, NewUser, Registration, Role, ThrottleKey,
    ThrottlePolicy, TokenInfo, User, UserChanges,
};
use carenest_domain::audit::{AuditEntry, AuditFilter};
use carenest_domain::family::Family;
use carenest_domain::ids::UserId;
use carenest_domain::page::{Page, PageRequest};
use carenest_domain::reminders::Reminder;
use carenest_domain::scheduling::{Session, SessionFilter, SessionScope, Therapist};
use carenest_domain::validation::{Choice, Errors, FieldError};

use crate::passwords::{is_token_shaped, new_token, token_hash};
use crate::{all_pages, App, AppError, AppResult, Caller, Permission};

/// A user and the bearer token they were just given.
#[derive(Debug)]
pub struct LoggedIn {
    pub user: User,
    pub token: String,
}

/// The caller with their whole family.
#[derive(Debug)]
pub struct Me {
    pub user: User,
    pub family: Family,
}

/// Everything the service holds about a user (GDPR article 15).
#[derive(Debug)]
pub struct Export {
    pub exported_at: chrono::DateTime<chrono::Utc>,
    pub me: Me,
    /// Sessions of the user's children.
    pub sessions: Vec<Session>,
    /// Who read or changed this user's family data.
    pub access_log: Vec<AuditEntry>,
    /// What the user read or changed, as the audit log records it.
    pub actions: Vec<AuditEntry>,
    /// The user's live login tokens, as metadata.
    pub tokens: Vec<TokenInfo>,
    /// The therapist record linked to the user, if any, and that therapist's sessions as a
    /// schedule: times and colleagues, without the children and notes, which are the families'.
    pub therapist: Option<(Therapist, Vec<Session>)>,
    /// The family's session reminders: planned, sent, failed or superseded.
    pub reminders: Vec<Reminder>,
}

/// Changes a user makes to their own account; a new password needs the current one.
#[derive(Debug, Default)]
pub struct AccountUpdate {
    pub email: Option<String>,
    /// `Some(None)` removes the picture.
    pub profile_picture: Option<Option<String>>,
    pub password: Option<String>,
    pub current_password: Option<String>,
}

impl AccountUpdate {
    /// Every field that breaks a rule.
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Errors::new();
        if let Some(email) = &self.email {
            check_email(&mut errors, "email", email);
        }
        if let Some(Some(picture)) = &self.profile_picture {
            check_picture(&mut errors, "profilePicture", picture);
        }
        if let Some(password) = &self.password {
            check_password(&mut errors, "password", password);
            if self.current_password.is_none() {
                errors.add("currentPassword", "together", "currentPassword is required to set a new password");
            }
        }
        errors.finish(()).err().unwrap_or_default()
    }
}

/// Refuses an attempt that one key's counter puts past its policy.
fn refuse_when_locked(attempts: Attempts, policy: ThrottlePolicy, now: DateTime<Utc>) -> AppResult<()> {
    match attempts.locked_until(policy) {
        Some(until) => {
            Err(AppError::TooManyRequests { retry_after_seconds: (until - now).num_seconds().max(1) as u64 })
        }
        None => Ok(()),
    }
}

/// A client address as counters and remembered clients know it.
fn client_text(client: Option<IpAddr>) -> String {
    client.map_or_else(|| "unknown".to_owned(), |address| address.to_string())
}

impl App {
    /// Creates an account (role `parent`) and logs it in, in one write. Registrations are
    /// counted per client address, before any password is hashed.
    pub async fn register(&self, registration: Registration, client: Option<IpAddr>) -> AppResult<LoggedIn> {
        let registration = registration.validate()?;
        let now = self.now();
        let policy = self.settings.throttle_registrations;
        let key = ThrottleKey::registrations(&client_text(client));
        refuse_when_locked(self.store.count_attempt(&key, policy, now).await?, policy, now)?;
        let password_hash = self.hasher.hash(registration.password).await?;
        let (token, hash) = new_token();
        let user = self
            .store
            .create_user(NewUser {
                username: registration.username,
                email: registration.email,
                password_hash,
                profile_picture: registration.profile_picture,
                role: Role::Parent,
                first_token: Some(NewToken { hash: hash.to_vec(), expires_at: now + self.settings.token_ttl }),
            })
            .await?;
        tracing::info!(user_id = user.id.0, "registered");
        Ok(LoggedIn { user, token })
    }

    async fn issue_token(&self, user: User) -> AppResult<LoggedIn> {
        let (token, hash) = new_token();
        self.store.insert_token(user.id, &hash, self.now() + self.settings.token_ttl).await?;
        Ok(LoggedIn { user, token })
    }

    /// Logs in with a username or email and a password. Each attempt is counted, before the
    /// password is verified, against the account (whatever spelling or alias was typed) and
    /// against the client address; a success clears the account's count and takes back only
    /// its own from the client's. While an account is locked, a client that has logged into it
    /// before may still try: strangers typing a name can't lock its owner out.
    pub async fn login(&self, login: &str, password: String, client: Option<IpAddr>) -> AppResult<LoggedIn> {
        let settings = &self.settings;
        let now = self.now();
        // A name with a control character (a NUL among them, which PostgreSQL can't even
        // compare) belongs to no account.
        let possible = login.len() <= 254 && !login.chars().any(char::is_control);
        let credentials = if possible { self.store.credentials_by_login(login).await? } else { None };
        let account_key =
            credentials.as_ref().map_or_else(|| ThrottleKey::username(login), |c| ThrottleKey::account(c.user.id));
        let client = client_text(client);
        let client_key = ThrottleKey::client(&client);
        let account = self.store.count_attempt(&account_key, settings.throttle_per_account, now).await?;
        let from_client = self.store.count_attempt(&client_key, settings.throttle_per_client, now).await?;
        refuse_when_locked(from_client, settings.throttle_per_client, now)?;
        if account.locked_until(settings.throttle_per_account).is_some() {
            let known = match &credentials {
                Some(c) => self.store.is_known_client(c.user.id, &token_hash(&client)).await?,
                None => false,
            };
            if !known {
                refuse_when_locked(account, settings.throttle_per_account, now)?;
            }
        }
        let stored_hash = credentials.as_ref().map(|c| c.password_hash.clone());
        if !self.hasher.verify(password, stored_hash).await? {
            return Err(AppError::Unauthorized);
        }
        let user = credentials.expect("a verified password has a user").user;
        self.store.clear_attempts(&[account_key]).await?;
        self.store.forgive_attempt(&client_key).await?;
        self.store.remember_client(user.id, &token_hash(&client), now).await?;
        tracing::info!(user_id = user.id.0, "logged in");
        self.issue_token(user).await
    }

    /// Checks the caller's own password (to change or erase their account), counted against
    /// the account like a login, so that a stolen token can't be used to guess it.
    async fn check_own_password(&self, caller: &Caller, password: String, field: &str, wrong: &str) -> AppResult<()> {
        let (now, policy) = (self.now(), self.settings.throttle_per_account);
        let key = ThrottleKey::account(caller.id());
        refuse_when_locked(self.store.count_attempt(&key, policy, now).await?, policy, now)?;
        let stored = self.store.credentials(caller.id()).await?.password_hash;
        if !self.hasher.verify(password, Some(stored)).await? {
            return Err(AppError::invalid(field, "incorrect", wrong));
        }
        Ok(self.store.clear_attempts(&[key]).await?)
    }

    /// The caller a bearer token belongs to: `Unauthorized` for a malformed, unknown, expired
    /// or revoked one.
    pub async fn authenticate(&self, token: &str) -> AppResult<Caller> {
        if !is_token_shaped(token) {
            return Err(AppError::Unauthorized);
        }
        let credential = token_hash(token);
        let holder = self.store.user_by_token(&credential, self.now()).await?.ok_or(AppError::Unauthorized)?;
        Ok(Caller { user: holder.user, credential, therapist: holder.therapist })
    }

    /// Revokes the caller's token.
    pub async fn logout(&self, caller: &Caller) -> AppResult<()> {
        Ok(self.store.revoke_token(&caller.credential).await?)
    }

    /// The caller with their family: one query per level.
    pub async fn me(&self, caller: &Caller) -> AppResult<Me> {
        let family = self.store.family(caller.id()).await?;
        Ok(Me { user: caller.user.clone(), family })
    }

    /// Changes the caller's email, picture or password. A new password needs the current one
    /// and revokes every other token.
    pub async fn update_account(&self, caller: &Caller, update: AccountUpdate) -> AppResult<User> {
        let failed = update.check();
        if !failed.is_empty() {
            return Err(AppError::Invalid(failed));
        }
        let password_hash = match (update.password, update.current_password) {
            (Some(password), Some(current_password)) => {
                let wrong = "currentPassword is not your current password";
                self.check_own_password(caller, current_password, "currentPassword", wrong).await?;
                Some(self.hasher.hash(password).await?)
            }
            _ => None,
        };
        let changes = UserChanges { email: update.email, profile_picture: update.profile_picture, password_hash };
        Ok(self.store.update_user(caller.id(), changes, Some(&caller.credential)).await?)
    }

    /// Erases the caller's account and everything that belongs to it, once they give their
    /// password. Audit rows stay.
    pub async fn erase(&self, caller: &Caller, password: String) -> AppResult<()> {
        self.check_own_password(caller, password, "password", "password is not your password").await?;
        self.store.erase_user(caller.id()).await?;
        tracing::info!(user_id = caller.id().0, "account erased");
        Ok(())
    }

    /// Every record held about the caller.
    pub async fn export(&self, caller: &Caller) -> AppResult<Export> {
        let scope = SessionScope::Parent(caller.id());
        let sessions = all_pages(|page| self.store.sessions(scope, SessionFilter::default(), page)).await?;
        let access_log = all_pages(|page| self.store.audit_entries(caller.id(), page)).await?;
        let actions = all_pages(|page| self.store.audit_by_actor(caller.id(), page)).await?;
        let therapist = match self.store.therapist_for_user(caller.id()).await? {
            Some(therapist) => {
                let scope = SessionScope::Therapist(therapist.id);
                let mut schedule = all_pages(|page| self.store.sessions(scope, SessionFilter::default(), page)).await?;
                for session in &mut schedule {
                    session.notes = None;
                    session.child_profile_id = None;
                }
                Some((therapist, schedule))
            }
            None => None,
        };
        Ok(Export {
            exported_at: self.now(),
            me: self.me(caller).await?,
            sessions,
            access_log: access_log.into_iter().map(|(_, entry)| entry).collect(),
            actions: actions.into_iter().map(|(_, entry)| entry).collect(),
            tokens: self.store.tokens(caller.id()).await?,
            therapist,
            reminders: self.store.reminders_of(caller.id()).await?,
        })
    }

    /// Who read or changed the caller's family data, newest first.
    pub async fn access_log(&self, caller: &Caller, page: PageRequest<i64>) -> AppResult<Page<AuditEntry, i64>> {
        Ok(self.store.audit_entries(caller.id(), page).await?.map(|(_, entry)| entry))
    }

    /// Admin: the audit log, filtered, newest first, with each entry's id; the reading is
    /// itself recorded.
    pub async fn audit_log(
        &self,
        caller: &Caller,
        filter: AuditFilter,
        page: PageRequest<i64>,
    ) -> AppResult<Page<(i64, AuditEntry), i64>> {
        caller.require(Permission::ReadAuditLog)?;
        filter.validate()?;
        Ok(self.store.audit_search(caller.actor(), &filter, page).await?)
    }

    /// Admin: every user, by id.
    pub async fn users(&self, caller: &Caller, page: PageRequest<UserId>) -> AppResult<Page<User, UserId>> {
        caller.require(Permission::ManageUsers)?;
        Ok(self.store.list_users(page).await?)
    }

    /// Admin: changes a user's role. The last admin can't stop being one.
    pub async fn set_role(&self, caller: &Caller, id: UserId, role: &str) -> AppResult<User> {
        caller.require(Permission::ManageUsers)?;
        let role = Role::parse(role).ok_or_else(|| {
            AppError::invalid("role", "one_of", format!("role must be one of: {}", Role::ALL.join(", ")))
        })?;
        let user = self.store.set_role(id, role).await?;
        tracing::info!(user_id = id.0, actor_user_id = caller.id().0, role = role.as_str(), "role changed");
        Ok(user)
    }
}
