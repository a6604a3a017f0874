-- SQLite rebuilds `audit_log` and `reminders` in this migration so that their checks compare
-- values one by one instead of building a list at every write. PostgreSQL checks a list as a
-- constant array, with nothing built per statement, so its schema stays as it is; the
-- migration exists here to keep both backends at the same version.
SELECT 1;
