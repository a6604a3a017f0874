DROP TABLE goal_templates;
DROP TABLE parenting_goals;
DROP TABLE child_profiles;
DROP TABLE parent_profiles;
