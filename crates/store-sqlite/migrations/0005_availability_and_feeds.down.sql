DROP TABLE calendar_feeds;
DROP TABLE closures;
DROP TABLE time_off;
DROP TRIGGER working_hours_no_overlap_update;
DROP TRIGGER working_hours_no_overlap_insert;
DROP TABLE working_hours;
ALTER TABLE therapists DROP COLUMN working_hours_updated_at;
ALTER TABLE sessions DROP COLUMN version;
