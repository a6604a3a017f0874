-- Clients (by the SHA-256 of their address) that have logged into an account: during a lock
-- of that account they may still try its password, so that strangers typing a username can't
-- lock its owner out.
CREATE TABLE known_clients (
    id            INTEGER NOT NULL CONSTRAINT known_clients_pkey PRIMARY KEY,
    user_id       INTEGER NOT NULL CONSTRAINT known_clients_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    client_hash   BLOB NOT NULL CONSTRAINT known_clients_client_hash_length CHECK (length(client_hash) = 32),
    last_login_at TEXT NOT NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
) STRICT;
CREATE UNIQUE INDEX known_clients_user_id_client_hash_key ON known_clients (user_id, client_hash);

-- SQLite has no TRUNCATE: a DELETE without WHERE runs the delete trigger like any other.
-- Retention pruning is the log's only delete path: inside its transaction it leaves a mark
-- here, and only rows older than the mark may go; the mark is gone before it commits.
CREATE TABLE audit_log_pruning (
    id         INTEGER NOT NULL CONSTRAINT audit_log_pruning_pkey PRIMARY KEY,
    before     TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
) STRICT;

DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM audit_log_pruning p WHERE OLD.at < p.before)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_actor_user_id_idx ON audit_log (actor_user_id, id);
