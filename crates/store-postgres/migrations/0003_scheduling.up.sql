-- Therapists, therapy sessions and the many-to-many link between them. Therapist names sort
-- bytewise (COLLATE "C"), as SQLite does, so both backends list them in the same order.
CREATE TABLE therapists (
    id         bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT therapists_pkey PRIMARY KEY,
    name       text COLLATE "C" NOT NULL CONSTRAINT therapists_name_not_blank CHECK (btrim(name) <> ''),
    user_id    bigint CONSTRAINT therapists_user_id_fkey REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT therapists_user_id_key UNIQUE (user_id)
);
CREATE INDEX therapists_name_idx ON therapists (name, id);

CREATE TABLE sessions (
    id               bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT sessions_pkey PRIMARY KEY,
    date             date NOT NULL,
    start_time       time NOT NULL,
    end_time         time NOT NULL,
    notes            text CONSTRAINT sessions_notes_length CHECK (char_length(notes) <= 10000),
    status           text NOT NULL DEFAULT 'scheduled'
                         CONSTRAINT sessions_status_check CHECK (status IN ('scheduled', 'completed', 'cancelled', 'no_show')),
    series_id        bigint,
    child_profile_id bigint CONSTRAINT sessions_child_profile_id_fkey REFERENCES child_profiles (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sessions_time_order CHECK (end_time > start_time),
    -- The target of session_therapists' (session_id, date) key.
    CONSTRAINT sessions_id_date_key UNIQUE (id, date)
);
CREATE INDEX sessions_date_start_time_idx ON sessions (date, start_time, id);
CREATE INDEX sessions_child_profile_id_idx ON sessions (child_profile_id);
CREATE INDEX sessions_series_id_idx ON sessions (series_id);

-- Each link carries its session's date, kept equal by the composite foreign key (moving a
-- session cascades to its links), so that a therapist's day or week is one range of the
-- (therapist_id, date) index whatever the size of the table.
CREATE TABLE session_therapists (
    id           bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT session_therapists_pkey PRIMARY KEY,
    session_id   bigint NOT NULL,
    therapist_id bigint NOT NULL CONSTRAINT session_therapists_therapist_id_fkey REFERENCES therapists (id) ON DELETE CASCADE,
    date         date NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT session_therapists_session_id_fkey FOREIGN KEY (session_id, date) REFERENCES sessions (id, date)
        ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT session_therapists_session_id_therapist_id_key UNIQUE (session_id, therapist_id)
);
CREATE INDEX session_therapists_therapist_id_date_idx ON session_therapists (therapist_id, date, session_id);
