-- Users, their bearer tokens, and failed-login counters. Same schema as the PostgreSQL
-- backend: timestamps are UTC text in one fixed format (YYYY-MM-DDTHH:MM:SS.ffffffZ) so that
-- they sort correctly; unique indexes carry the names the store maps errors by.
CREATE TABLE users (
    id              INTEGER NOT NULL CONSTRAINT users_pkey PRIMARY KEY,
    username        TEXT NOT NULL CONSTRAINT users_username_format
                        CHECK (length(username) BETWEEN 3 AND 32 AND username NOT GLOB '*[^A-Za-z0-9_.-]*'),
    email           TEXT NOT NULL CONSTRAINT users_email_format CHECK (length(email) BETWEEN 3 AND 254 AND email LIKE '%_@_%'),
    password        TEXT NOT NULL CONSTRAINT users_password_phc CHECK (password GLOB '$argon2id$*'),
    profile_picture TEXT,
    role            TEXT NOT NULL DEFAULT 'parent' CONSTRAINT users_role_check CHECK (role IN ('parent', 'therapist', 'admin')),
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
) STRICT;
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_role_idx ON users (role);

CREATE TABLE auth_tokens (
    id           INTEGER NOT NULL CONSTRAINT auth_tokens_pkey PRIMARY KEY,
    user_id      INTEGER NOT NULL CONSTRAINT auth_tokens_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    token_hash   BLOB NOT NULL CONSTRAINT auth_tokens_token_hash_length CHECK (length(token_hash) = 32),
    expires_at   TEXT NOT NULL,
    last_used_at TEXT,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
) STRICT;
CREATE UNIQUE INDEX auth_tokens_token_hash_key ON auth_tokens (token_hash);
CREATE INDEX auth_tokens_user_id_idx ON auth_tokens (user_id);
CREATE INDEX auth_tokens_expires_at_idx ON auth_tokens (expires_at);

CREATE TABLE login_throttles (
    id               INTEGER NOT NULL CONSTRAINT login_throttles_pkey PRIMARY KEY,
    throttle_key     TEXT NOT NULL,
    failures         INTEGER NOT NULL CONSTRAINT login_throttles_failures_positive CHECK (failures > 0),
    window_starts_at TEXT NOT NULL,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
) STRICT;
CREATE UNIQUE INDEX login_throttles_throttle_key_key ON login_throttles (throttle_key);
