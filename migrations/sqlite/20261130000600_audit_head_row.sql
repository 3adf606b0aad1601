-- The chain head is always one row, carrying the newest event's time too: appenders read and
-- lock it in one statement (`FOR UPDATE` on Postgres) instead of reading the newest event.
DROP TRIGGER audit_chain_head_forward;
ALTER TABLE audit_chain_head ADD COLUMN last_at INTEGER NOT NULL DEFAULT 0;
UPDATE audit_chain_head
    SET last_at = COALESCE((SELECT at FROM audit_events WHERE id = audit_chain_head.last_id), 0);
INSERT INTO audit_chain_head (singleton, last_id, last_hash, last_at)
    SELECT 1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0
    WHERE NOT EXISTS (SELECT 1 FROM audit_chain_head);
CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE ON audit_chain_head
    WHEN NEW.last_id <= OLD.last_id
BEGIN
    SELECT RAISE(ABORT, 'the audit chain head only moves forward');
END;
