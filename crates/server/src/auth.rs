//! Passwords, bearer tokens, and the one place a token becomes the current user.

use std::sync::OnceLock;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use carenest_domain::accounts::{Role, User};
use carenest_domain::ids::UserId;
use carenest_domain::time::now;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::AppState;

/// Argon2id with OWASP's recommended minimum: 19 MiB, 2 iterations, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("static Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string. Runs on the blocking pool: it costs tens of
/// milliseconds of CPU by design.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_password_now(&password)).await.map_err(|_| ApiError::Internal)?
}

pub fn hash_password_now(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string()).map_err(|_| ApiError::Internal)
}

/// A hash of a random password, verified against when the user does not exist, so an unknown
/// username costs the same work as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let mut random = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut random);
        hash_password_now(&URL_SAFE_NO_PAD.encode(random)).expect("hashing a random password works")
    })
}

/// Verifies a password against a stored hash, or against the decoy when there is none.
pub async fn verify_password(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| decoy_hash().to_owned());
        let Ok(parsed) = PasswordHash::new(&hash) else { return false };
        argon2().verify_password(password.as_bytes(), &parsed).is_ok() && known
    })
    .await
    .map_err(|_| ApiError::Internal)
}

/// A new bearer token: 256 random bits, base64url. Only its SHA-256 is stored.
pub fn new_token() -> (String, [u8; 32]) {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = URL_SAFE_NO_PAD.encode(secret);
    let hash = token_hash(&token);
    (token, hash)
}

/// SHA-256 suffices here: a token has 256 bits of entropy, so unlike a password it can't be
/// guessed from its hash.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The authenticated caller. Extracting it answers 401 for a missing, malformed, expired or
/// revoked token.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub token_hash: [u8; 32],
}

impl CurrentUser {
    pub fn id(&self) -> UserId {
        self.user.id
    }

    pub fn role(&self) -> Role {
        self.user.role
    }

    /// The caller as the store records them in an audit row.
    pub fn actor(&self) -> carenest_domain::audit::Actor {
        carenest_domain::audit::Actor { user: self.user.id, role: self.user.role }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| token.len() == 43 && URL_SAFE_NO_PAD.decode(token).is_ok_and(|b| b.len() == 32))
            .ok_or(ApiError::Unauthorized)?;
        let token_hash = token_hash(token);
        let user = state.store.user_by_token(&token_hash, now()).await?.ok_or(ApiError::Unauthorized)?;
        tracing::Span::current().record("user_id", user.id.0);
        Ok(CurrentUser { user, token_hash })
    }
}

/// What a role may do, from the API contract's role table. Family-owned data is always the
/// caller's own, so it needs no rule here; sessions are scoped per role in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ManageTherapists,
    ManageSessions,
    EditSessionNotes,
    ManageUsers,
}

pub fn allows(role: Role, permission: Permission) -> bool {
    match permission {
        Permission::ManageTherapists | Permission::ManageSessions | Permission::ManageUsers => role == Role::Admin,
        Permission::EditSessionNotes => matches!(role, Role::Admin | Role::Therapist),
    }
}

impl CurrentUser {
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if allows(self.role(), permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
}
