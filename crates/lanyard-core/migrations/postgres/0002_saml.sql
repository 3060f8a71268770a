-- SAML 2.0 login (PostgreSQL): connections to identity providers, single-use pending logins, the
-- assertion replay cache and federated identities. Column-for-column identical to
-- ../sqlite/0002_saml.sql.

CREATE TABLE connections (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    -- Protocol settings as JSON text (for SAML: IdP entity ID, SSO URL, certificates, policy).
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT connections_slug_key UNIQUE (tenant_id, slug),
    CONSTRAINT connections_kind_check CHECK (kind IN ('saml'))
);

-- A login started at /t/{tenant}/sso/{connection}/start, consumed once at the ACS. The id is the
-- AuthnRequest ID; relay_state is the opaque key sent as RelayState; browser_binding is the
-- base64url SHA-256 of the browser's SameSite=None binding cookie (NULL when the public URL is
-- plain http and no such cookie can be set), so a response cannot be replayed into another browser.
CREATE TABLE pending_logins (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    relay_state TEXT NOT NULL,
    browser_binding TEXT,
    return_to TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pending_logins_expires_idx ON pending_logins (expires_at);

-- Assertion IDs already accepted, per connection, kept until the assertion would expire anyway.
CREATE TABLE replay_cache (
    connection_id TEXT NOT NULL,
    assertion_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (connection_id, assertion_id)
);
CREATE INDEX replay_cache_expires_idx ON replay_cache (expires_at);

-- The link from an IdP's subject (per connection) to a user. Never made by matching email.
CREATE TABLE federated_identities (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    federation_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_login_at BIGINT,
    CONSTRAINT federated_identities_key UNIQUE (connection_id, federation_id)
);
CREATE INDEX federated_identities_user_idx ON federated_identities (user_id);
