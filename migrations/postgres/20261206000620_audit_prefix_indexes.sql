-- The audit page matches an actor's email and a merchant's code by their start, as a range of
-- bytes whatever the database's collation; these indexes keep that order. Nothing matches an
-- actor's email exactly any more.
DROP INDEX audit_events_actor;
CREATE INDEX audit_events_actor_prefix ON audit_events (actor_email COLLATE "C", id);
CREATE INDEX merchants_code_prefix ON merchants (code COLLATE "C");
