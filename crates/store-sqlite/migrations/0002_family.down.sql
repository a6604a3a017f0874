DROP TABLE profile_neighbour_buckets;
DROP TABLE parenting_goals;
DROP TABLE goal_templates;
DROP TABLE child_profiles;
DROP TABLE parent_profiles;
