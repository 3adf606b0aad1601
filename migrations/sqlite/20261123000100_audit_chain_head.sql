-- Where the audit chain ends, so `payhook audit verify` notices events cut off its end.
CREATE TABLE audit_chain_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    last_id INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_chain_head (singleton, last_id, last_hash)
    SELECT 1, id, hash FROM audit_events ORDER BY id DESC LIMIT 1;
CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE ON audit_chain_head
    WHEN NEW.last_id <= OLD.last_id
BEGIN
    SELECT RAISE(ABORT, 'the audit chain head only moves forward');
END;
CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
BEGIN
    SELECT RAISE(ABORT, 'the audit chain head only moves forward');
END;
