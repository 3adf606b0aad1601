-- A known text sealed with the secret key on first start: a server started with another key
-- cannot open it and refuses to start, instead of failing on every stored secret later.
CREATE TABLE secret_key_check (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    sealed TEXT NOT NULL
);
