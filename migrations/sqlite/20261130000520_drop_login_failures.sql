-- Replaced by auth_failures, which also knows the client IP.
DROP TABLE login_failures;
