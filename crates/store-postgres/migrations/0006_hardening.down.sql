DROP INDEX audit_log_actor_user_id_idx;
DROP INDEX audit_log_at_idx;
DROP TRIGGER audit_log_no_truncate ON audit_log;
CREATE OR REPLACE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
DROP TABLE audit_log_pruning;
DROP TABLE known_clients;
