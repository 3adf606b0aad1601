-- Where the audit chain ends, so `payhook audit verify` notices events cut off its end.
CREATE TABLE audit_chain_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    last_id BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_chain_head (singleton, last_id, last_hash)
    SELECT 1, id, hash FROM audit_events ORDER BY id DESC LIMIT 1;
CREATE FUNCTION audit_chain_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.last_id <= OLD.last_id THEN
        RAISE EXCEPTION 'the audit chain head only moves forward';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE OR DELETE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward();
CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
