DROP TABLE login_throttles;
DROP TABLE auth_tokens;
DROP TABLE users;
