-- A parent's profile (one per user), children and parenting goals, and the goal catalogue.
CREATE TABLE parent_profiles (
    id                       bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT parent_profiles_pkey PRIMARY KEY,
    user_id                  bigint NOT NULL CONSTRAINT parent_profiles_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    name                     text NOT NULL CONSTRAINT parent_profiles_name_not_blank CHECK (btrim(name) <> ''),
    email                    text,
    stress_level             text NOT NULL CONSTRAINT parent_profiles_stress_level_check
                                 CHECK (stress_level IN ('low', 'moderate', 'high', 'very_high')),
    experience_level         text NOT NULL CONSTRAINT parent_profiles_experience_level_check
                                 CHECK (experience_level IN ('first_time', 'experienced', 'multiple_children')),
    primary_concerns         text[] NOT NULL DEFAULT '{}'
                                 CONSTRAINT parent_profiles_primary_concerns_no_nulls CHECK (array_position(primary_concerns, NULL) IS NULL),
    support_network          text[] NOT NULL DEFAULT '{}'
                                 CONSTRAINT parent_profiles_support_network_no_nulls CHECK (array_position(support_network, NULL) IS NULL),
    bio                      text,
    preferred_language       text NOT NULL DEFAULT 'nl',
    communication_preference text,
    completed_onboarding     boolean NOT NULL DEFAULT false,
    current_onboarding_step  integer NOT NULL DEFAULT 0 CONSTRAINT parent_profiles_onboarding_step_check CHECK (current_onboarding_step >= 0),
    onboarding_data          jsonb NOT NULL DEFAULT '{}'
                                 CONSTRAINT parent_profiles_onboarding_data_object CHECK (jsonb_typeof(onboarding_data) = 'object'),
    profile_embedding        text,
    last_suggestion_check    timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT parent_profiles_user_id_key UNIQUE (user_id)
);

CREATE TABLE child_profiles (
    id                bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT child_profiles_pkey PRIMARY KEY,
    parent_profile_id bigint NOT NULL CONSTRAINT child_profiles_parent_profile_id_fkey REFERENCES parent_profiles (id) ON DELETE CASCADE,
    name              text NOT NULL CONSTRAINT child_profiles_name_not_blank CHECK (btrim(name) <> ''),
    age               integer NOT NULL CONSTRAINT child_profiles_age_check CHECK (age BETWEEN 0 AND 25),
    special_needs     text[] NOT NULL DEFAULT '{}'
                          CONSTRAINT child_profiles_special_needs_no_nulls CHECK (array_position(special_needs, NULL) IS NULL),
    routines          jsonb NOT NULL DEFAULT '{}'
                          CONSTRAINT child_profiles_routines_shape CHECK (jsonb_typeof(routines) IN ('object', 'array')),
    development_notes text,
    last_assessment   timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX child_profiles_parent_profile_id_idx ON child_profiles (parent_profile_id, id);

-- The catalogue behind suggestions: English title and description, with Dutch beside them,
-- and a stable key so that the seeder can find its own rows again.
CREATE TABLE goal_templates (
    id          bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT goal_templates_pkey PRIMARY KEY,
    key         text NOT NULL CONSTRAINT goal_templates_key_format CHECK (key ~ '^[a-z0-9-]{3,64}$'),
    title       text NOT NULL CONSTRAINT goal_templates_title_not_blank CHECK (btrim(title) <> ''),
    description text,
    title_nl    text,
    description_nl text,
    category    text NOT NULL,
    tags        text[] NOT NULL DEFAULT '{}',
    min_age     integer CONSTRAINT goal_templates_min_age_check CHECK (min_age BETWEEN 0 AND 25),
    max_age     integer CONSTRAINT goal_templates_max_age_check CHECK (max_age BETWEEN 0 AND 25),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT goal_templates_age_order CHECK (min_age IS NULL OR max_age IS NULL OR min_age <= max_age),
    CONSTRAINT goal_templates_key_key UNIQUE (key)
);
CREATE INDEX goal_templates_category_idx ON goal_templates (category);

CREATE TABLE parenting_goals (
    id                bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT parenting_goals_pkey PRIMARY KEY,
    parent_profile_id bigint NOT NULL CONSTRAINT parenting_goals_parent_profile_id_fkey REFERENCES parent_profiles (id) ON DELETE CASCADE,
    child_profile_id  bigint CONSTRAINT parenting_goals_child_profile_id_fkey REFERENCES child_profiles (id) ON DELETE SET NULL,
    title             text NOT NULL CONSTRAINT parenting_goals_title_not_blank CHECK (btrim(title) <> ''),
    description       text,
    category          text,
    status            text NOT NULL DEFAULT 'active'
                          CONSTRAINT parenting_goals_status_check CHECK (status IN ('active', 'paused', 'completed', 'archived')),
    progress          integer NOT NULL DEFAULT 0 CONSTRAINT parenting_goals_progress_check CHECK (progress BETWEEN 0 AND 100),
    target_date       date,
    template_id       bigint CONSTRAINT parenting_goals_template_id_fkey REFERENCES goal_templates (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX parenting_goals_parent_profile_id_idx ON parenting_goals (parent_profile_id, id);
CREATE INDEX parenting_goals_parent_profile_id_status_idx ON parenting_goals (parent_profile_id, status, id);
CREATE INDEX parenting_goals_child_profile_id_idx ON parenting_goals (child_profile_id);
CREATE INDEX parenting_goals_template_id_idx ON parenting_goals (template_id, parent_profile_id);



-- Locality-sensitive buckets of each profile's embedding (one per band): families whose
-- embeddings point the same way share buckets, so suggestions compare a family with the few
-- that share one instead of with every family.
CREATE TABLE profile_neighbour_buckets (
    id                bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT profile_neighbour_buckets_pkey PRIMARY KEY,
    parent_profile_id bigint NOT NULL CONSTRAINT profile_neighbour_buckets_parent_profile_id_fkey
                          REFERENCES parent_profiles (id) ON DELETE CASCADE,
    band              integer NOT NULL CONSTRAINT profile_neighbour_buckets_band_check CHECK (band >= 0),
    bucket            integer NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT profile_neighbour_buckets_parent_profile_id_band_key UNIQUE (parent_profile_id, band)
);
CREATE INDEX profile_neighbour_buckets_band_bucket_idx ON profile_neighbour_buckets (band, bucket, parent_profile_id);
