DROP INDEX audit_log_actor_user_id_idx;
DROP INDEX audit_log_at_idx;
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
DROP TABLE audit_log_pruning;
DROP TABLE known_clients;
