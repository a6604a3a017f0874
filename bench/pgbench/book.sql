-- A booking without conflict: the token, then lock, overlap check, insert, link, read back.
-- Its sessions are cancelled ones on a day far ahead, so repeated runs never conflict.
\set therapist random(1, :therapists)
SELECT u.id, u.username, u.email, u.profile_picture, u.role, u.created_at, u.updated_at, t.id AS token_id, t.last_used_at, th.id AS therapist_id FROM auth_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN therapists th ON th.user_id = u.id WHERE t.token_hash = decode(:hash, 'hex') AND t.expires_at > now();
BEGIN;
SELECT id FROM therapists WHERE id = ANY(ARRAY[:therapist]::bigint[]) ORDER BY id FOR UPDATE;
SELECT st.therapist_id, s.id, s.date, s.start_time, s.end_time FROM session_therapists st JOIN sessions s ON s.id = st.session_id WHERE st.therapist_id = ANY(ARRAY[:therapist]::bigint[]) AND st.date = ANY(ARRAY[DATE '2099-01-01']) AND s.status <> 'cancelled' AND s.start_time < TIME '23:01' AND TIME '23:00' < s.end_time ORDER BY s.date, s.start_time, s.id, st.therapist_id;
INSERT INTO sessions (date, start_time, end_time, notes, status, child_profile_id, created_at, updated_at) VALUES (DATE '2099-01-01', TIME '23:00', TIME '23:01', NULL, 'cancelled', NULL, now(), now()) RETURNING id \gset
INSERT INTO session_therapists (session_id, therapist_id, date, created_at, updated_at) SELECT s.id, :therapist, s.date, now(), now() FROM sessions s WHERE s.id = :id ON CONFLICT (session_id, therapist_id) DO NOTHING;
SELECT s.id, s.date, s.start_time, s.end_time, s.notes, s.status, s.child_profile_id, s.series_id, s.version, s.created_at, s.updated_at FROM sessions s WHERE s.id = ANY(ARRAY[:id]::bigint[]);
SELECT st.session_id, t.id, t.name FROM session_therapists st JOIN therapists t ON t.id = st.therapist_id WHERE st.session_id = ANY(ARRAY[:id]::bigint[]) ORDER BY st.session_id, t.id;
COMMIT;
