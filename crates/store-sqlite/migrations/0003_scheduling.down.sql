DROP TABLE session_therapists;
DROP TABLE sessions;
DROP TABLE therapists;
