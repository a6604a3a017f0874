-- Working hours, time off and practice closures; calendar feeds reached by a secret URL; and a
-- version per session that rises with each change (a calendar event's SEQUENCE).
ALTER TABLE sessions ADD COLUMN version integer NOT NULL DEFAULT 0;
ALTER TABLE therapists ADD COLUMN working_hours_updated_at timestamptz;

-- A weekly pattern: several intervals a day (the gaps are breaks), none overlapping.
CREATE TABLE working_hours (
    id           bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT working_hours_pkey PRIMARY KEY,
    therapist_id bigint NOT NULL CONSTRAINT working_hours_therapist_id_fkey REFERENCES therapists (id) ON DELETE CASCADE,
    weekday      integer NOT NULL CONSTRAINT working_hours_weekday_check CHECK (weekday BETWEEN 1 AND 7),
    start_time   time NOT NULL,
    end_time     time NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT working_hours_time_order CHECK (end_time > start_time)
);
CREATE INDEX working_hours_therapist_id_idx ON working_hours (therapist_id, weekday, start_time);

CREATE FUNCTION working_hours_no_overlap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM working_hours w
               WHERE w.therapist_id = NEW.therapist_id AND w.weekday = NEW.weekday AND w.id <> NEW.id
                 AND w.start_time < NEW.end_time AND NEW.start_time < w.end_time) THEN
        RAISE EXCEPTION 'working hours overlap' USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'working_hours_no_overlap';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER working_hours_no_overlap BEFORE INSERT OR UPDATE ON working_hours
    FOR EACH ROW EXECUTE FUNCTION working_hours_no_overlap();

-- A whole day or days off, or part of one day when the times are given.
CREATE TABLE time_off (
    id           bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT time_off_pkey PRIMARY KEY,
    therapist_id bigint NOT NULL CONSTRAINT time_off_therapist_id_fkey REFERENCES therapists (id) ON DELETE CASCADE,
    start_date   date NOT NULL,
    end_date     date NOT NULL,
    start_time   time,
    end_time     time,
    reason       text CONSTRAINT time_off_reason_length CHECK (char_length(reason) <= 500),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT time_off_date_order CHECK (end_date >= start_date),
    CONSTRAINT time_off_times_together CHECK ((start_time IS NULL) = (end_time IS NULL)),
    CONSTRAINT time_off_time_order CHECK (start_time IS NULL OR end_time > start_time),
    CONSTRAINT time_off_part_day_is_one_day CHECK (start_time IS NULL OR start_date = end_date)
);
CREATE INDEX time_off_therapist_id_end_date_idx ON time_off (therapist_id, end_date);
CREATE INDEX time_off_therapist_id_start_date_idx ON time_off (therapist_id, start_date, id);

-- Days the whole practice is closed.
CREATE TABLE closures (
    id         bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT closures_pkey PRIMARY KEY,
    start_date date NOT NULL,
    end_date   date NOT NULL,
    name       text NOT NULL CONSTRAINT closures_name_not_blank CHECK (btrim(name) <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT closures_date_order CHECK (end_date >= start_date)
);
CREATE INDEX closures_end_date_idx ON closures (end_date);
CREATE INDEX closures_start_date_idx ON closures (start_date, id);

-- One live feed per owner (a therapist, or a family's user); only the SHA-256 of its secret.
CREATE TABLE calendar_feeds (
    id           bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT calendar_feeds_pkey PRIMARY KEY,
    therapist_id bigint CONSTRAINT calendar_feeds_therapist_id_fkey REFERENCES therapists (id) ON DELETE CASCADE,
    user_id      bigint CONSTRAINT calendar_feeds_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    secret_hash  bytea NOT NULL CONSTRAINT calendar_feeds_secret_hash_length CHECK (octet_length(secret_hash) = 32),
    last_used_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT calendar_feeds_one_owner CHECK ((therapist_id IS NULL) <> (user_id IS NULL)),
    CONSTRAINT calendar_feeds_secret_hash_key UNIQUE (secret_hash),
    CONSTRAINT calendar_feeds_therapist_id_key UNIQUE (therapist_id),
    CONSTRAINT calendar_feeds_user_id_key UNIQUE (user_id)
);
