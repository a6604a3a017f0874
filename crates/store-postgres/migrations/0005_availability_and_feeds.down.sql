DROP TABLE calendar_feeds;
DROP TABLE closures;
DROP TABLE time_off;
DROP TABLE working_hours;
DROP FUNCTION working_hours_no_overlap();
ALTER TABLE therapists DROP COLUMN working_hours_updated_at;
ALTER TABLE sessions DROP COLUMN version;
