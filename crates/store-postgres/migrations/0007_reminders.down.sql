DROP TABLE reminder_policy;
DROP TABLE reminders;
ALTER TABLE users DROP COLUMN session_reminders;
