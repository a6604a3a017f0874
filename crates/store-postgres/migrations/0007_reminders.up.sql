-- Session reminders: a family's choice, and the outbox the sender works through. A row is one
-- email to one family for one session at one offset before it, for one version of the session;
-- the unique key makes planning it twice impossible, and a moved session's rows for its old
-- time are superseded in the transaction that moves it.
ALTER TABLE users ADD COLUMN session_reminders boolean NOT NULL DEFAULT true;

CREATE TABLE reminders (
    id                bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT reminders_pkey PRIMARY KEY,
    session_id        bigint NOT NULL CONSTRAINT reminders_session_id_fkey REFERENCES sessions (id) ON DELETE CASCADE,
    recipient_user_id bigint NOT NULL CONSTRAINT reminders_recipient_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    offset_minutes    integer NOT NULL CONSTRAINT reminders_offset_minutes_check CHECK (offset_minutes > 0),
    session_version   integer NOT NULL,
    due_at            timestamptz NOT NULL,
    state             text NOT NULL DEFAULT 'pending'
                          CONSTRAINT reminders_state_check CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'superseded')),
    -- When the sender may take it next: its due time, a retry's time, or the end of a claim's
    -- lease (a sender that died while sending is taken over once its lease has run out).
    next_attempt_at   timestamptz NOT NULL,
    attempts          integer NOT NULL DEFAULT 0 CONSTRAINT reminders_attempts_check CHECK (attempts >= 0),
    last_error        text,
    sent_at           timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reminders_once UNIQUE (session_id, recipient_user_id, offset_minutes, session_version)
);
CREATE INDEX reminders_next_attempt_at_idx ON reminders (next_attempt_at, id) WHERE state IN ('pending', 'sending');
CREATE INDEX reminders_recipient_user_id_idx ON reminders (recipient_user_id);

-- The offsets and time zone the outbox was last planned with: a process started with others
-- plans every session that has not started again, once.
CREATE TABLE reminder_policy (
    id         bigint NOT NULL CONSTRAINT reminder_policy_pkey PRIMARY KEY CONSTRAINT reminder_policy_one_row CHECK (id = 1),
    policy     text NOT NULL,
    planned_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
