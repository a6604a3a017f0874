-- Users, their bearer tokens, and failed-login counters (kept here so every server process
-- shares them).
CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT users_pkey PRIMARY KEY,
    username        text NOT NULL CONSTRAINT users_username_format CHECK (username ~ '^[A-Za-z0-9_.-]{3,32}$'),
    email           text NOT NULL CONSTRAINT users_email_format CHECK (length(email) BETWEEN 3 AND 254 AND email LIKE '%_@_%'),
    password        text NOT NULL CONSTRAINT users_password_phc CHECK (password LIKE '$argon2id$%'),
    profile_picture text,
    role            text NOT NULL DEFAULT 'parent' CONSTRAINT users_role_check CHECK (role IN ('parent', 'therapist', 'admin')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- Usernames and emails are unique regardless of case; login looks them up the same way.
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_role_idx ON users (role);

CREATE TABLE auth_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT auth_tokens_pkey PRIMARY KEY,
    user_id      bigint NOT NULL CONSTRAINT auth_tokens_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL CONSTRAINT auth_tokens_token_hash_length CHECK (octet_length(token_hash) = 32),
    expires_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT auth_tokens_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX auth_tokens_user_id_idx ON auth_tokens (user_id);
CREATE INDEX auth_tokens_expires_at_idx ON auth_tokens (expires_at);

CREATE TABLE login_throttles (
    id               bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT login_throttles_pkey PRIMARY KEY,
    throttle_key     text NOT NULL CONSTRAINT login_throttles_throttle_key_key UNIQUE,
    failures         integer NOT NULL CONSTRAINT login_throttles_failures_positive CHECK (failures > 0),
    window_starts_at timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
