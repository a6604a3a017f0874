-- A parent's profile (one per user), children and parenting goals, and the goal catalogue.
-- Arrays and JSON are JSON text checked with json_valid; dates are ISO text checked with date().
CREATE TABLE parent_profiles (
    id                       INTEGER NOT NULL CONSTRAINT parent_profiles_pkey PRIMARY KEY,
    user_id                  INTEGER NOT NULL CONSTRAINT parent_profiles_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    name                     TEXT NOT NULL CONSTRAINT parent_profiles_name_not_blank CHECK (trim(name) <> ''),
    email                    TEXT,
    stress_level             TEXT NOT NULL CONSTRAINT parent_profiles_stress_level_check
                                 CHECK (stress_level IN ('low', 'moderate', 'high', 'very_high')),
    experience_level         TEXT NOT NULL CONSTRAINT parent_profiles_experience_level_check
                                 CHECK (experience_level IN ('first_time', 'experienced', 'multiple_children')),
    primary_concerns         TEXT NOT NULL DEFAULT '[]'
                                 CONSTRAINT parent_profiles_primary_concerns_array CHECK (json_valid(primary_concerns) AND json_type(primary_concerns) = 'array'),
    support_network          TEXT NOT NULL DEFAULT '[]'
                                 CONSTRAINT parent_profiles_support_network_array CHECK (json_valid(support_network) AND json_type(support_network) = 'array'),
    bio                      TEXT,
    preferred_language       TEXT NOT NULL DEFAULT 'nl',
    communication_preference TEXT,
    completed_onboarding     INTEGER NOT NULL DEFAULT 0 CONSTRAINT parent_profiles_completed_onboarding_bool CHECK (completed_onboarding IN (0, 1)),
    current_onboarding_step  INTEGER NOT NULL DEFAULT 0 CONSTRAINT parent_profiles_onboarding_step_check CHECK (current_onboarding_step >= 0),
    onboarding_data          TEXT NOT NULL DEFAULT '{}'
                                 CONSTRAINT parent_profiles_onboarding_data_object CHECK (json_valid(onboarding_data) AND json_type(onboarding_data) = 'object'),
    profile_embedding        TEXT,
    last_suggestion_check    TEXT,
    created_at               TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at               TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
) STRICT;
CREATE UNIQUE INDEX parent_profiles_user_id_key ON parent_profiles (user_id);

CREATE TABLE child_profiles (
    id                INTEGER NOT NULL CONSTRAINT child_profiles_pkey PRIMARY KEY,
    parent_profile_id INTEGER NOT NULL CONSTRAINT child_profiles_parent_profile_id_fkey REFERENCES parent_profiles (id) ON DELETE CASCADE,
    name              TEXT NOT NULL CONSTRAINT child_profiles_name_not_blank CHECK (trim(name) <> ''),
    age               INTEGER NOT NULL CONSTRAINT child_profiles_age_check CHECK (age BETWEEN 0 AND 25),
    special_needs     TEXT NOT NULL DEFAULT '[]'
                          CONSTRAINT child_profiles_special_needs_array CHECK (json_valid(special_needs) AND json_type(special_needs) = 'array'),
    routines          TEXT NOT NULL DEFAULT '{}'
                          CONSTRAINT child_profiles_routines_shape CHECK (json_valid(routines) AND json_type(routines) IN ('object', 'array')),
    development_notes TEXT,
    last_assessment   TEXT,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
) STRICT;
CREATE INDEX child_profiles_parent_profile_id_idx ON child_profiles (parent_profile_id, id);

-- The catalogue behind suggestions: English title and description, with Dutch beside them,
-- and a stable key so that the seeder can find its own rows again.
CREATE TABLE goal_templates (
    id          INTEGER NOT NULL CONSTRAINT goal_templates_pkey PRIMARY KEY,
    key         TEXT NOT NULL CONSTRAINT goal_templates_key_format
                    CHECK (length(key) BETWEEN 3 AND 64 AND key NOT GLOB '*[^a-z0-9-]*'),
    title       TEXT NOT NULL CONSTRAINT goal_templates_title_not_blank CHECK (trim(title) <> ''),
    description TEXT,
    title_nl    TEXT,
    description_nl TEXT,
    category    TEXT NOT NULL,
    tags        TEXT NOT NULL DEFAULT '[]' CONSTRAINT goal_templates_tags_array CHECK (json_valid(tags) AND json_type(tags) = 'array'),
    min_age     INTEGER CONSTRAINT goal_templates_min_age_check CHECK (min_age BETWEEN 0 AND 25),
    max_age     INTEGER CONSTRAINT goal_templates_max_age_check CHECK (max_age BETWEEN 0 AND 25),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT goal_templates_age_order CHECK (min_age IS NULL OR max_age IS NULL OR min_age <= max_age)
) STRICT;
CREATE UNIQUE INDEX goal_templates_key_key ON goal_templates (key);
CREATE INDEX goal_templates_category_idx ON goal_templates (category);

CREATE TABLE parenting_goals (
    id                INTEGER NOT NULL CONSTRAINT parenting_goals_pkey PRIMARY KEY,
    parent_profile_id INTEGER NOT NULL CONSTRAINT parenting_goals_parent_profile_id_fkey REFERENCES parent_profiles (id) ON DELETE CASCADE,
    child_profile_id  INTEGER CONSTRAINT parenting_goals_child_profile_id_fkey REFERENCES child_profiles (id) ON DELETE SET NULL,
    title             TEXT NOT NULL CONSTRAINT parenting_goals_title_not_blank CHECK (trim(title) <> ''),
    description       TEXT,
    category          TEXT,
    status            TEXT NOT NULL DEFAULT 'active'
                          CONSTRAINT parenting_goals_status_check CHECK (status IN ('active', 'paused', 'completed', 'archived')),
    progress          INTEGER NOT NULL DEFAULT 0 CONSTRAINT parenting_goals_progress_check CHECK (progress BETWEEN 0 AND 100),
    target_date       TEXT CONSTRAINT parenting_goals_target_date_format CHECK (target_date IS NULL OR target_date IS date(target_date)),
    template_id       INTEGER CONSTRAINT parenting_goals_template_id_fkey REFERENCES goal_templates (id) ON DELETE SET NULL,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
) STRICT;
CREATE INDEX parenting_goals_parent_profile_id_idx ON parenting_goals (parent_profile_id, id);
CREATE INDEX parenting_goals_parent_profile_id_status_idx ON parenting_goals (parent_profile_id, status, id);
CREATE INDEX parenting_goals_child_profile_id_idx ON parenting_goals (child_profile_id);
CREATE INDEX parenting_goals_template_id_idx ON parenting_goals (template_id, parent_profile_id);



-- Locality-sensitive buckets of each profile's embedding (one per band): families whose
-- embeddings point the same way share buckets, so suggestions compare a family with the few
-- that share one instead of with every family.
CREATE TABLE profile_neighbour_buckets (
    id                INTEGER NOT NULL CONSTRAINT profile_neighbour_buckets_pkey PRIMARY KEY,
    parent_profile_id INTEGER NOT NULL CONSTRAINT profile_neighbour_buckets_parent_profile_id_fkey
                          REFERENCES parent_profiles (id) ON DELETE CASCADE,
    band              INTEGER NOT NULL CONSTRAINT profile_neighbour_buckets_band_check CHECK (band >= 0),
    bucket            INTEGER NOT NULL,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
) STRICT;
CREATE UNIQUE INDEX profile_neighbour_buckets_parent_profile_id_band_key ON profile_neighbour_buckets (parent_profile_id, band);
CREATE INDEX profile_neighbour_buckets_band_bucket_idx ON profile_neighbour_buckets (band, bucket, parent_profile_id);
