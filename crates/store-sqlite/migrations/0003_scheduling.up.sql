-- Therapists, therapy sessions and the many-to-many link between them. Dates are YYYY-MM-DD
-- and times HH:MM:SS text, checked with date() and time(), so they compare and sort correctly.
CREATE TABLE therapists (
    id         INTEGER NOT NULL CONSTRAINT therapists_pkey PRIMARY KEY,
    name       TEXT NOT NULL CONSTRAINT therapists_name_not_blank CHECK (trim(name) <> ''),
    user_id    INTEGER CONSTRAINT therapists_user_id_fkey REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
) STRICT;
CREATE UNIQUE INDEX therapists_user_id_key ON therapists (user_id);
CREATE INDEX therapists_name_idx ON therapists (name, id);

CREATE TABLE sessions (
    id               INTEGER NOT NULL CONSTRAINT sessions_pkey PRIMARY KEY,
    "date"           TEXT NOT NULL CONSTRAINT sessions_date_format CHECK ("date" IS date("date")),
    start_time       TEXT NOT NULL CONSTRAINT sessions_start_time_format CHECK (start_time IS time(start_time)),
    end_time         TEXT NOT NULL CONSTRAINT sessions_end_time_format CHECK (end_time IS time(end_time)),
    notes            TEXT CONSTRAINT sessions_notes_length CHECK (length(notes) <= 10000),
    status           TEXT NOT NULL DEFAULT 'scheduled'
                         CONSTRAINT sessions_status_check CHECK (status IN ('scheduled', 'completed', 'cancelled', 'no_show')),
    series_id        INTEGER,
    child_profile_id INTEGER CONSTRAINT sessions_child_profile_id_fkey REFERENCES child_profiles (id) ON DELETE SET NULL,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT sessions_time_order CHECK (end_time > start_time)
) STRICT;
CREATE INDEX sessions_date_start_time_idx ON sessions ("date", start_time, id);
-- The target of session_therapists' (session_id, date) key.
CREATE UNIQUE INDEX sessions_id_date_key ON sessions (id, "date");
CREATE INDEX sessions_child_profile_id_idx ON sessions (child_profile_id);
CREATE INDEX sessions_series_id_idx ON sessions (series_id);

-- Each link carries its session's date, kept equal by the composite foreign key (moving a
-- session cascades to its links), so that a therapist's day or week is one range of the
-- (therapist_id, date) index whatever the size of the table.
CREATE TABLE session_therapists (
    id           INTEGER NOT NULL CONSTRAINT session_therapists_pkey PRIMARY KEY,
    session_id   INTEGER NOT NULL,
    therapist_id INTEGER NOT NULL CONSTRAINT session_therapists_therapist_id_fkey REFERENCES therapists (id) ON DELETE CASCADE,
    "date"       TEXT NOT NULL,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT session_therapists_session_id_fkey FOREIGN KEY (session_id, "date") REFERENCES sessions (id, "date")
        ON UPDATE CASCADE ON DELETE CASCADE
) STRICT;
CREATE UNIQUE INDEX session_therapists_session_id_therapist_id_key ON session_therapists (session_id, therapist_id);
CREATE INDEX session_therapists_therapist_id_date_idx ON session_therapists (therapist_id, "date", session_id);
