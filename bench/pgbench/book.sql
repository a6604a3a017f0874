-- A booking without conflict, as the store sends it: the token, then in one transaction the
-- therapists locked, their working hours, time off and the closures on the day, the overlap
-- check, the insert, the therapist link and the read back. (A session without a child plans no
-- reminders and writes no audit row.) Its sessions are cancelled ones on a day far ahead, so
-- repeated runs never conflict.
\set therapist random(1, :therapists)
SELECT u.id, u.username, u.email, u.profile_picture, u.role, u.created_at, u.updated_at, t.id AS token_id, t.last_used_at, th.id AS therapist_id FROM auth_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN therapists th ON th.user_id = u.id WHERE t.token_hash = decode(:hash, 'hex') AND t.expires_at > now();
BEGIN;
SELECT id FROM therapists WHERE id = ANY(ARRAY[:therapist]::bigint[]) ORDER BY id FOR UPDATE;
SELECT therapist_id, weekday, start_time, end_time FROM working_hours WHERE therapist_id = ANY(ARRAY[:therapist]::bigint[]) ORDER BY therapist_id, weekday, start_time;
SELECT id, therapist_id, start_date, end_date, start_time, end_time, reason, created_at FROM time_off WHERE therapist_id = ANY(ARRAY[:therapist]::bigint[]) AND end_date >= DATE '2099-01-01' AND start_date <= DATE '2099-01-01';
SELECT id, start_date, end_date, name, created_at FROM closures WHERE end_date >= DATE '2099-01-01' AND start_date <= DATE '2099-01-01';
SELECT st.therapist_id, s.id, s.date, s.start_time, s.end_time FROM session_therapists st JOIN sessions s ON s.id = st.session_id WHERE st.therapist_id = ANY(ARRAY[:therapist]::bigint[]) AND st.date = ANY(ARRAY[DATE '2099-01-01']) AND s.date = ANY(ARRAY[DATE '2099-01-01']) AND s.status <> 'cancelled' ORDER BY s.date, s.start_time, s.id, st.therapist_id;
INSERT INTO sessions (date, start_time, end_time, notes, status, child_profile_id, created_at, updated_at) SELECT d.value, TIME '23:00', TIME '23:01', NULL, 'cancelled', NULL, now(), now() FROM unnest(ARRAY[DATE '2099-01-01']) WITH ORDINALITY AS d(value, position) ORDER BY d.position RETURNING id \gset
INSERT INTO session_therapists (session_id, therapist_id, date, created_at, updated_at) SELECT s.id, t.value, s.date, now(), now() FROM sessions s CROSS JOIN unnest(ARRAY[:therapist]::bigint[]) WITH ORDINALITY AS t(value, position) WHERE s.id = ANY(ARRAY[:id]::bigint[]) ON CONFLICT (session_id, therapist_id) DO NOTHING;
SELECT s.id, s.date, s.start_time, s.end_time, s.notes, s.status, s.child_profile_id, s.series_id, s.version, s.created_at, s.updated_at, t.id AS therapist_id, t.name AS therapist_name FROM (SELECT s.id, s.date, s.start_time, s.end_time, s.notes, s.status, s.child_profile_id, s.series_id, s.version, s.created_at, s.updated_at FROM sessions s WHERE s.id = ANY(ARRAY[:id]::bigint[])) s LEFT JOIN session_therapists st ON st.session_id = s.id LEFT JOIN therapists t ON t.id = st.therapist_id ORDER BY s.date, s.start_time, s.id, t.id;
COMMIT;
