-- Provisioning: how IdP identities become users, moving a tenant to SSO, per-user API tokens.
-- Column-for-column identical to ../sqlite/0006_provisioning.sql.

-- Tenant policy: SSO required for password users (super admins exempt), the role collaborators
-- get when they join SSO, and whether accounts created just in time must confirm their email
-- before they can sign in.
ALTER TABLE tenants ADD COLUMN sso_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tenants ADD COLUMN sso_default_role TEXT;
ALTER TABLE tenants ADD COLUMN require_email_confirmation BOOLEAN NOT NULL DEFAULT FALSE;

-- sso_state: none (password only), invited, declined, linked (has a federated identity).
ALTER TABLE users ADD COLUMN sso_state TEXT NOT NULL DEFAULT 'none';
ALTER TABLE users ADD COLUMN collaborator BOOLEAN NOT NULL DEFAULT FALSE;
-- FALSE only for accounts created just in time with an email that has not been confirmed yet.
ALTER TABLE users ADD COLUMN email_confirmed BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX users_sso_state_idx ON users (tenant_id, sso_state);

-- Protocol-neutral provisioning settings of a connection (JSON): role claim, role mapping,
-- default role, role sync, attribute preset, federation ID attribute.
ALTER TABLE connections ADD COLUMN provisioning TEXT NOT NULL DEFAULT '{}';

-- The upgrade invitation a login was started from (see user_links).
ALTER TABLE pending_logins ADD COLUMN invitation_id TEXT;

-- Long-lived per-user API tokens (lyt_ + 256 bits, stored as SHA-256). Revoked when the user
-- moves to SSO.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    token_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT,
    CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

-- Links emailed to a user: purpose invitation (upgrade to SSO; no expiry, resumable, the token
-- is also kept sealed so admins can see the link), email_confirmation, password_reset.
-- connection_id has no foreign key: an invitation outlives a removed connection (it then
-- uses another enabled connection of the tenant).
CREATE TABLE user_links (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    token_hash BYTEA NOT NULL,
    sealed_token TEXT,
    connection_id TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    used_at BIGINT,
    declined_at BIGINT,
    CONSTRAINT user_links_token_hash_key UNIQUE (token_hash),
    CONSTRAINT user_links_purpose_check CHECK (purpose IN ('invitation', 'email_confirmation', 'password_reset'))
);
CREATE INDEX user_links_user_idx ON user_links (user_id, purpose);
CREATE INDEX user_links_tenant_idx ON user_links (tenant_id, purpose, id);
