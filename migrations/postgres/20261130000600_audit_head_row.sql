-- The chain head is always one row, carrying the newest event's time too: appenders read and
-- lock it in one statement (`FOR UPDATE`) instead of taking an advisory lock and then reading
-- the newest event.
ALTER TABLE audit_chain_head DISABLE TRIGGER audit_chain_head_forward;
ALTER TABLE audit_chain_head ADD COLUMN last_at BIGINT NOT NULL DEFAULT 0;
UPDATE audit_chain_head
    SET last_at = COALESCE((SELECT at FROM audit_events WHERE id = audit_chain_head.last_id), 0);
INSERT INTO audit_chain_head (singleton, last_id, last_hash, last_at)
    SELECT 1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0
    WHERE NOT EXISTS (SELECT 1 FROM audit_chain_head);
ALTER TABLE audit_chain_head ENABLE TRIGGER audit_chain_head_forward;
