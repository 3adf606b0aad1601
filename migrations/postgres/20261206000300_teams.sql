-- Merchant teams. A merchant's users are owners, developers or viewers (the `merchant` users of
-- before become owners); the gateway's staff are admins or read-only auditors.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users DROP CONSTRAINT users_check;
UPDATE users SET role = 'owner' WHERE role = 'merchant';
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('owner', 'developer', 'viewer', 'admin', 'auditor'));
ALTER TABLE users ADD CONSTRAINT users_check
    CHECK ((role IN ('owner', 'developer', 'viewer')) = (merchant_id IS NOT NULL));
ALTER TABLE users ADD COLUMN last_sign_in_at BIGINT;
-- Removed from its team: kept (its changes and events still name it), never signed in again
-- unless invited anew.
ALTER TABLE users ADD COLUMN removed_at BIGINT;

-- An invitation to join a merchant's team: only the SHA-256 of its link's token is kept; it
-- works once, for 7 days, unless revoked or replaced by a newer one for the same address.
CREATE TABLE invitations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    merchant_id BIGINT NOT NULL REFERENCES merchants (id),
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'developer', 'viewer')),
    token_hash TEXT NOT NULL UNIQUE,
    invited_by BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- Set once: accepted, revoked or replaced; the link works only while both are empty.
    accepted_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX invitations_merchant ON invitations (merchant_id, created_at);
