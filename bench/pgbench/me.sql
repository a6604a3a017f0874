-- GET /me: the token, then the family in one read-only snapshot.
SELECT u.id, u.username, u.email, u.profile_picture, u.role, u.created_at, u.updated_at, t.id AS token_id, t.last_used_at, th.id AS therapist_id FROM auth_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN therapists th ON th.user_id = u.id WHERE t.token_hash = decode(:hash, 'hex') AND t.expires_at > now();
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT id, user_id, name, email, stress_level, experience_level, primary_concerns, support_network, bio, preferred_language, communication_preference, completed_onboarding, current_onboarding_step, onboarding_data, last_suggestion_check, created_at, updated_at, profile_embedding FROM parent_profiles WHERE user_id = :user;
SELECT id, parent_profile_id, name, age, special_needs, routines, development_notes, last_assessment, created_at, updated_at FROM child_profiles WHERE parent_profile_id = :profile ORDER BY id;
SELECT id, parent_profile_id, child_profile_id, title, description, category, status, progress, target_date, template_id, created_at, updated_at FROM parenting_goals WHERE parent_profile_id = :profile ORDER BY id;
COMMIT;
