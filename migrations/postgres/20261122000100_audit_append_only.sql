-- Nobody edits or removes an audit event, not even with direct SQL.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END
$$;
CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- The admin audit page filters by each of these and pages by id (keyset, newest first).
CREATE INDEX audit_events_merchant ON audit_events (merchant_id, id);
CREATE INDEX audit_events_section ON audit_events (section, id);
CREATE INDEX audit_events_channel_only ON audit_events (channel, id);
CREATE INDEX audit_events_actor ON audit_events (actor_email, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
-- `at` never decreases along the chain, so a date maps to an id bound through this index.
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX channel_settings_section ON channel_settings (section);
CREATE INDEX merchants_name ON merchants (name);
