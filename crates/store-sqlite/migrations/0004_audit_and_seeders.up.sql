-- Who read or changed a family's data. Rows outlive the users they name (no foreign keys),
-- and triggers refuse every UPDATE and DELETE: the log is append-only.
CREATE TABLE audit_log (
    id              INTEGER NOT NULL CONSTRAINT audit_log_pkey PRIMARY KEY,
    at              TEXT NOT NULL,
    actor_user_id   INTEGER NOT NULL,
    actor_role      TEXT NOT NULL CONSTRAINT audit_log_actor_role_check CHECK (actor_role IN ('parent', 'therapist', 'admin')),
    action          TEXT NOT NULL CONSTRAINT audit_log_action_check CHECK (action IN ('read', 'create', 'update', 'delete')),
    resource_type   TEXT NOT NULL,
    resource_id     INTEGER NOT NULL,
    subject_user_id INTEGER NOT NULL,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
) STRICT;
CREATE INDEX audit_log_subject_user_id_idx ON audit_log (subject_user_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Which named seeders have run, so that running one twice does not duplicate its data.
CREATE TABLE seeders (
    id         INTEGER NOT NULL CONSTRAINT seeders_pkey PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
) STRICT;
CREATE UNIQUE INDEX seeders_name_key ON seeders (name);
