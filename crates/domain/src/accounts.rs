//! Users, credentials, tokens and login throttling.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::ids::UserId;
use crate::page::{Page, PageRequest};
use crate::validation::{Errors, FieldError};
use crate::StoreResult;

crate::text_enum!(
    /// What a user may do; see the role table of the API contract.
    Role { Parent = "parent", Therapist = "therapist", Admin = "admin" }
);

/// The holder of a live token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHolder {
    pub user: User,
    /// The therapist record linked to the user, if any.
    pub therapist: Option<crate::ids::TherapistId>,
}

/// A user as every response shows it: never the password hash, never a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub profile_picture: Option<String>,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A user with the PHC string of their password, for verification only.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

/// A user ready to be written: already validated, password already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub profile_picture: Option<String>,
    pub role: Role,
    /// A token to issue in the same transaction, so that registering and logging in are one
    /// write: there is never an account whose client was told the registration failed.
    pub first_token: Option<NewToken>,
}

/// A bearer token to store: only its hash, and when it expires.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
}

/// Changes to a user's own account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub email: Option<String>,
    pub profile_picture: Option<Option<String>>,
    pub password_hash: Option<String>,
}

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;
pub const EMAIL_MAX: usize = 254;
pub const PICTURE_MAX: usize = 2048;

pub fn check_username(errors: &mut Errors, field: &str, username: &str) {
    let length = username.chars().count();
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&length) {
        errors.add(field, "length", format!("{field} must be {USERNAME_MIN} to {USERNAME_MAX} characters"));
    } else if !username.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        errors.add(field, "format", format!("{field} may hold only letters, digits, '_', '.' and '-'"));
    }
}

/// A pragmatic address check: one `@`, a non-empty local part, a dotted domain, no white space.
pub fn check_email(errors: &mut Errors, field: &str, email: &str) {
    let valid = email.chars().count() <= EMAIL_MAX
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            }
            None => false,
        };
    if !valid {
        errors.add(field, "email", format!("{field} must be a valid e-mail address"));
    }
}

pub fn check_password(errors: &mut Errors, field: &str, password: &str) {
    let length = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&length) {
        errors.add(field, "length", format!("{field} must be {PASSWORD_MIN} to {PASSWORD_MAX} characters"));
    }
}

pub fn check_picture(errors: &mut Errors, field: &str, picture: &str) {
    errors.text(field, picture, PICTURE_MAX);
}

/// `POST /auth/register`.
#[derive(Debug)]
pub struct Registration {
    /// 3–32 letters, digits, `_`, `.` or `-`; unique regardless of case.
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub profile_picture: Option<String>,
}

/// A registration with every field checked.
#[derive(Debug, Clone)]
pub struct ValidRegistration {
    pub username: String,
    pub email: String,
    pub password: String,
    pub profile_picture: Option<String>,
}

impl Registration {
    /// Checks every field; required fields are optional in the type so that all missing ones
    /// are reported together rather than the first.
    pub fn validate(&self) -> Result<ValidRegistration, Vec<FieldError>> {
        let mut errors = Errors::new();
        for (field, value) in [("username", &self.username), ("email", &self.email), ("password", &self.password)] {
            if value.is_none() {
                errors.add(field, "required", format!("{field} is required"));
            }
        }
        if let Some(username) = &self.username {
            check_username(&mut errors, "username", username);
        }
        if let Some(email) = &self.email {
            check_email(&mut errors, "email", email);
        }
        if let Some(password) = &self.password {
            check_password(&mut errors, "password", password);
        }
        if let Some(picture) = &self.profile_picture {
            check_picture(&mut errors, "profilePicture", picture);
        }
        errors.finish(())?;
        Ok(ValidRegistration {
            username: self.username.clone().unwrap_or_default(),
            email: self.email.clone().unwrap_or_default(),
            password: self.password.clone().unwrap_or_default(),
            profile_picture: self.profile_picture.clone(),
        })
    }
}

/// A throttle key: attempts are counted per account (or, for a name no account has, per name
/// typed), per client address, and registrations per client address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleKey(pub String);

impl ThrottleKey {
    /// One counter for an account, whatever spelling or alias of it was typed.
    pub fn account(user: UserId) -> Self {
        Self(format!("account:{user}"))
    }

    /// A name no account has. Very long ones are cut and control characters dropped: no
    /// account has such a name, and the key is stored.
    pub fn username(login: &str) -> Self {
        let name: String = login.chars().filter(|c| !c.is_control()).take(EMAIL_MAX).collect();
        Self(format!("login:{}", name.to_lowercase()))
    }

    pub fn client(address: &str) -> Self {
        Self(format!("client:{address}"))
    }

    pub fn registrations(address: &str) -> Self {
        Self(format!("register:{address}"))
    }
}

/// How many attempts a key may have within a window; past that it is locked until the window
/// ends.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub max_failures: i64,
    pub window: Duration,
}

/// The attempts a key has had in its current window, the one just counted included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    pub count: i64,
    pub window_started: DateTime<Utc>,
}

impl Attempts {
    /// When the key unlocks, if this attempt is one too many.
    pub fn locked_until(&self, policy: ThrottlePolicy) -> Option<DateTime<Utc>> {
        (self.count > policy.max_failures).then(|| self.window_started + policy.window)
    }
}

/// A live bearer token as its owner may see it: never the token or its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The store side of accounts.
#[async_trait]
pub trait AccountStore {
    /// Creates a user, and its first token if given, in one transaction. `Conflict` on
    /// `users_username_key` or `users_email_key`.
    async fn create_user(&self, user: NewUser) -> StoreResult<User>;
    async fn user(&self, id: UserId) -> StoreResult<User>;
    /// The credentials of the user whose username or email is `login`, in any case.
    async fn credentials_by_login(&self, login: &str) -> StoreResult<Option<Credentials>>;
    async fn credentials(&self, id: UserId) -> StoreResult<Credentials>;
    /// Applies changes; a new password also revokes every token but `keep_token_hash`.
    async fn update_user(&self, id: UserId, changes: UserChanges, keep_token_hash: Option<&[u8]>) -> StoreResult<User>;
    /// Changes a role. `Conflict` (`last_admin`) when it would leave no admin.
    async fn set_role(&self, id: UserId, role: Role) -> StoreResult<User>;
    /// Users ordered by id.
    async fn list_users(&self, page: PageRequest<UserId>) -> StoreResult<Page<User, UserId>>;
    /// Erases the user and everything that belongs to them in one transaction: the account,
    /// tokens, profile, children, goals, feed, remembered clients and login counters; the
    /// sessions of their children stay in the practice's schedule, unlinked and without notes.
    /// Audit rows stay, and the erase itself gets one.
    async fn erase_user(&self, id: UserId) -> StoreResult<()>;

    async fn insert_token(&self, user: UserId, token_hash: &[u8], expires_at: DateTime<Utc>) -> StoreResult<()>;
    /// Who a live token belongs to, with the therapist record linked to them (read in the same
    /// statement, so that scoping a therapist's request costs no round trip); notes the token's
    /// use.
    async fn user_by_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<Option<TokenHolder>>;
    async fn revoke_token(&self, token_hash: &[u8]) -> StoreResult<()>;

    /// Counts one attempt against a key, atomically, and answers its attempts in the current
    /// window (a window that has ended starts again at this one).
    async fn count_attempt(
        &self,
        key: &ThrottleKey,
        policy: ThrottlePolicy,
        now: DateTime<Utc>,
    ) -> StoreResult<Attempts>;
    /// Takes one attempt back from a key: a success is not a failure.
    async fn forgive_attempt(&self, key: &ThrottleKey) -> StoreResult<()>;
    async fn clear_attempts(&self, keys: &[ThrottleKey]) -> StoreResult<()>;
    /// Whether a client (the SHA-256 of its address) has logged into this account.
    async fn is_known_client(&self, user: UserId, client: &[u8]) -> StoreResult<bool>;
    async fn remember_client(&self, user: UserId, client: &[u8], now: DateTime<Utc>) -> StoreResult<()>;
    /// A user's live tokens, newest first, as metadata.
    async fn tokens(&self, user: UserId) -> StoreResult<Vec<TokenInfo>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_reports_every_bad_field() {
        let registration = Registration {
            username: Some("a b".into()),
            email: Some("nope".into()),
            password: Some("short".into()),
            profile_picture: Some(" ".into()),
        };
        let fields: Vec<_> = registration.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["username", "email", "password", "profilePicture"]);
    }

    #[test]
    fn usernames_allow_letters_digits_and_three_marks() {
        for (name, ok) in [("anna", true), ("An.na_-1", true), ("an", false), ("anna!", false), ("ännä", false)] {
            let mut errors = Errors::new();
            check_username(&mut errors, "username", name);
            assert_eq!(errors.is_empty(), ok, "{name}");
        }
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        for (email, ok) in [
            ("a@b.nl", true),
            ("a@b", false),
            ("@b.nl", false),
            ("a b@c.nl", false),
            ("a@.nl", false),
            ("a@b..nl", false),
        ] {
            let mut errors = Errors::new();
            check_email(&mut errors, "email", email);
            assert_eq!(errors.is_empty(), ok, "{email}");
        }
    }
}

#[cfg(test)]
mod required_tests {
    use super::*;

    #[test]
    fn every_missing_registration_field_is_reported() {
        let empty = Registration { username: None, email: None, password: None, profile_picture: None };
        let fields: Vec<_> = empty.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["username", "email", "password"]);
    }
}
