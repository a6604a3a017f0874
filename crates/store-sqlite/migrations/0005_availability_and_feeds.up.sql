-- Working hours, time off and practice closures; calendar feeds reached by a secret URL; and a
-- version per session that rises with each change (a calendar event's SEQUENCE).
ALTER TABLE sessions ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE therapists ADD COLUMN working_hours_updated_at TEXT;

-- A weekly pattern: several intervals a day (the gaps are breaks), none overlapping.
CREATE TABLE working_hours (
    id           INTEGER NOT NULL CONSTRAINT working_hours_pkey PRIMARY KEY,
    therapist_id INTEGER NOT NULL CONSTRAINT working_hours_therapist_id_fkey REFERENCES therapists (id) ON DELETE CASCADE,
    weekday      INTEGER NOT NULL CONSTRAINT working_hours_weekday_check CHECK (weekday BETWEEN 1 AND 7),
    start_time   TEXT NOT NULL CONSTRAINT working_hours_start_time_format CHECK (start_time IS time(start_time)),
    end_time     TEXT NOT NULL CONSTRAINT working_hours_end_time_format CHECK (end_time IS time(end_time)),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT working_hours_time_order CHECK (end_time > start_time)
) STRICT;
CREATE INDEX working_hours_therapist_id_idx ON working_hours (therapist_id, weekday, start_time);

CREATE TRIGGER working_hours_no_overlap_insert BEFORE INSERT ON working_hours
WHEN EXISTS (SELECT 1 FROM working_hours w
             WHERE w.therapist_id = NEW.therapist_id AND w.weekday = NEW.weekday
               AND w.start_time < NEW.end_time AND NEW.start_time < w.end_time)
BEGIN
    SELECT RAISE(ABORT, 'working_hours_no_overlap');
END;
CREATE TRIGGER working_hours_no_overlap_update BEFORE UPDATE ON working_hours
WHEN EXISTS (SELECT 1 FROM working_hours w
             WHERE w.therapist_id = NEW.therapist_id AND w.weekday = NEW.weekday AND w.id <> NEW.id
               AND w.start_time < NEW.end_time AND NEW.start_time < w.end_time)
BEGIN
    SELECT RAISE(ABORT, 'working_hours_no_overlap');
END;

-- A whole day or days off, or part of one day when the times are given.
CREATE TABLE time_off (
    id           INTEGER NOT NULL CONSTRAINT time_off_pkey PRIMARY KEY,
    therapist_id INTEGER NOT NULL CONSTRAINT time_off_therapist_id_fkey REFERENCES therapists (id) ON DELETE CASCADE,
    start_date   TEXT NOT NULL CONSTRAINT time_off_start_date_format CHECK (start_date IS date(start_date)),
    end_date     TEXT NOT NULL CONSTRAINT time_off_end_date_format CHECK (end_date IS date(end_date)),
    start_time   TEXT CONSTRAINT time_off_start_time_format CHECK (start_time IS NULL OR start_time IS time(start_time)),
    end_time     TEXT CONSTRAINT time_off_end_time_format CHECK (end_time IS NULL OR end_time IS time(end_time)),
    reason       TEXT CONSTRAINT time_off_reason_length CHECK (length(reason) <= 500),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT time_off_date_order CHECK (end_date >= start_date),
    CONSTRAINT time_off_times_together CHECK ((start_time IS NULL) = (end_time IS NULL)),
    CONSTRAINT time_off_time_order CHECK (start_time IS NULL OR end_time > start_time),
    CONSTRAINT time_off_part_day_is_one_day CHECK (start_time IS NULL OR start_date = end_date)
) STRICT;
CREATE INDEX time_off_therapist_id_end_date_idx ON time_off (therapist_id, end_date);
CREATE INDEX time_off_therapist_id_start_date_idx ON time_off (therapist_id, start_date, id);

-- Days the whole practice is closed.
CREATE TABLE closures (
    id         INTEGER NOT NULL CONSTRAINT closures_pkey PRIMARY KEY,
    start_date TEXT NOT NULL CONSTRAINT closures_start_date_format CHECK (start_date IS date(start_date)),
    end_date   TEXT NOT NULL CONSTRAINT closures_end_date_format CHECK (end_date IS date(end_date)),
    name       TEXT NOT NULL CONSTRAINT closures_name_not_blank CHECK (trim(name) <> ''),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT closures_date_order CHECK (end_date >= start_date)
) STRICT;
CREATE INDEX closures_end_date_idx ON closures (end_date);
CREATE INDEX closures_start_date_idx ON closures (start_date, id);

-- One live feed per owner (a therapist, or a family's user); only the SHA-256 of its secret.
CREATE TABLE calendar_feeds (
    id           INTEGER NOT NULL CONSTRAINT calendar_feeds_pkey PRIMARY KEY,
    therapist_id INTEGER CONSTRAINT calendar_feeds_therapist_id_fkey REFERENCES therapists (id) ON DELETE CASCADE,
    user_id      INTEGER CONSTRAINT calendar_feeds_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    secret_hash  BLOB NOT NULL CONSTRAINT calendar_feeds_secret_hash_length CHECK (length(secret_hash) = 32),
    last_used_at TEXT,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT calendar_feeds_one_owner CHECK ((therapist_id IS NULL) <> (user_id IS NULL))
) STRICT;
CREATE UNIQUE INDEX calendar_feeds_secret_hash_key ON calendar_feeds (secret_hash);
CREATE UNIQUE INDEX calendar_feeds_therapist_id_key ON calendar_feeds (therapist_id);
CREATE UNIQUE INDEX calendar_feeds_user_id_key ON calendar_feeds (user_id);
