-- The admin console and the setup portal (issue 14): setup links for a customer's IT admin,
-- and the purpose of a pending sign-in (a console test creates no session and changes no user).
-- Column-for-column identical to ../postgres/0012_console.sql. (0011 is left to another branch.)

-- A setup link: one tenant, one person (the first browser to open it claims it), expiring,
-- revocable, finished once. Only the SHA-256 of the link's token and of the claim cookie is kept.
CREATE TABLE setup_links (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    note TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    claim_hash BLOB,
    claimed_at BIGINT,
    connection_id TEXT REFERENCES connections (id) ON DELETE SET NULL,
    used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX setup_links_tenant_idx ON setup_links (tenant_id, created_at);

-- NULL: a sign-in; 'test': a console or setup-portal test (verified like a sign-in, then
-- reported; no session, no user change).
ALTER TABLE pending_logins ADD COLUMN purpose TEXT;
