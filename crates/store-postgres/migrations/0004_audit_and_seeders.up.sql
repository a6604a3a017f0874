-- Who read or changed a family's data. Rows outlive the users they name (no foreign keys),
-- and a trigger refuses every UPDATE and DELETE: the log is append-only.
CREATE TABLE audit_log (
    id              bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT audit_log_pkey PRIMARY KEY,
    at              timestamptz NOT NULL,
    actor_user_id   bigint NOT NULL,
    actor_role      text NOT NULL CONSTRAINT audit_log_actor_role_check CHECK (actor_role IN ('parent', 'therapist', 'admin')),
    action          text NOT NULL CONSTRAINT audit_log_action_check CHECK (action IN ('read', 'create', 'update', 'delete')),
    resource_type   text NOT NULL,
    resource_id     bigint NOT NULL,
    subject_user_id bigint NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_subject_user_id_idx ON audit_log (subject_user_id, id);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();

-- Which named seeders have run, so that running one twice does not duplicate its data.
CREATE TABLE seeders (
    id         bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT seeders_pkey PRIMARY KEY,
    name       text NOT NULL CONSTRAINT seeders_name_key UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
