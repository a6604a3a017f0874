-- Clients (by the SHA-256 of their address) that have logged into an account: during a lock
-- of that account they may still try its password, so that strangers typing a username can't
-- lock its owner out.
CREATE TABLE known_clients (
    id            bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT known_clients_pkey PRIMARY KEY,
    user_id       bigint NOT NULL CONSTRAINT known_clients_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    client_hash   bytea NOT NULL CONSTRAINT known_clients_client_hash_length CHECK (octet_length(client_hash) = 32),
    last_login_at timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT known_clients_user_id_client_hash_key UNIQUE (user_id, client_hash)
);

-- The audit log refuses TRUNCATE as well as UPDATE and DELETE. Retention pruning is its only
-- delete path: inside its transaction it leaves a mark here, and only rows older than the mark
-- may go; the mark is gone again before that transaction commits.
CREATE TABLE audit_log_pruning (
    id         bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT audit_log_pruning_pkey PRIMARY KEY,
    before     timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_log_pruning p WHERE OLD.at < p.before) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_actor_user_id_idx ON audit_log (actor_user_id, id);
