-- no-transaction
-- JWT remote login and OpenID Connect (SQLite): connections may be of kind `oidc` and `jwt`.
-- SQLite cannot alter a CHECK constraint, so the table is rebuilt (the documented procedure:
-- foreign keys off, copy, drop, rename, check, foreign keys on); the tables that reference
-- `connections` by name keep referring to it. Column-for-column identical to
-- ../postgres/0003_remote_login.sql.

PRAGMA foreign_keys = OFF;

BEGIN;

CREATE TABLE connections_new (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    -- Protocol settings as JSON text (SAML: IdP entity ID, SSO URL, certificates, policy;
    -- JWT: login URL, algorithm, sealed secret or public key, expected claims).
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT connections_slug_key UNIQUE (tenant_id, slug),
    CONSTRAINT connections_kind_check CHECK (kind IN ('saml', 'oidc', 'jwt'))
);

INSERT INTO connections_new (id, tenant_id, slug, name, kind, enabled, settings, created_at, updated_at)
    SELECT id, tenant_id, slug, name, kind, enabled, settings, created_at, updated_at FROM connections;

DROP TABLE connections;

ALTER TABLE connections_new RENAME TO connections;

-- An OIDC login started at /t/{tenant}/sso/{connection}/start: the row's id is the `state`; the
-- nonce and the PKCE code verifier are sealed with the master key (bound to the state).
ALTER TABLE pending_logins ADD COLUMN oidc_nonce TEXT;
ALTER TABLE pending_logins ADD COLUMN oidc_code_verifier TEXT;

COMMIT;

PRAGMA foreign_keys = ON;
