-- Lanyard as the OpenID provider of the SaaS's apps (issue 10). Kept column-for-column identical
-- to ../sqlite/0007_provider.sql.

-- Apps (OAuth clients). client_id = id. A confidential app keeps the SHA-256 of its secret;
-- a public app has none and must use PKCE. redirect_uris, post_logout_redirect_uris and
-- grant_types are JSON arrays of exact strings.
CREATE TABLE provider_apps (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash BYTEA,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    backchannel_logout_uri TEXT,
    grant_types TEXT NOT NULL,
    id_token_alg TEXT NOT NULL,
    all_tenants BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The tenants an app may be used with when all_tenants is false.
CREATE TABLE provider_app_tenants (
    app_id TEXT NOT NULL REFERENCES provider_apps (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    PRIMARY KEY (app_id, tenant_id)
);

-- The provider's signing keys. The private key is sealed with the master key. A key signs until
-- retired_at; it stays in the JWKS until expires_at (after every token it signed has expired).
CREATE TABLE provider_signing_keys (
    id TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    sealed_private_key TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT,
    expires_at BIGINT
);
CREATE INDEX provider_signing_keys_alg ON provider_signing_keys (alg, retired_at);

-- Authorization requests waiting for the person to sign in (the resume URL names one by the
-- SHA-256 of a random token). params is the validated request as JSON.
CREATE TABLE provider_auth_requests (
    id TEXT PRIMARY KEY,
    token_hash BYTEA NOT NULL,
    app_id TEXT NOT NULL REFERENCES provider_apps (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    params TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    CONSTRAINT provider_auth_requests_token_key UNIQUE (token_hash)
);

-- A grant: one authorization of one app by one session. Its code (single use) and everything
-- issued from it (refresh tokens, access tokens by jti) die with it: revoked_at, or the session.
CREATE TABLE provider_grants (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES provider_apps (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    nonce TEXT,
    auth_time BIGINT NOT NULL,
    code_hash BYTEA NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT,
    code_expires_at BIGINT NOT NULL,
    code_consumed_at BIGINT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    CONSTRAINT provider_grants_code_key UNIQUE (code_hash)
);
CREATE INDEX provider_grants_session ON provider_grants (session_id);
CREATE INDEX provider_grants_user ON provider_grants (user_id);

-- Refresh tokens (SHA-256), one live per grant: using one marks it used and issues the next;
-- presenting a used one revokes the grant (the family).
CREATE TABLE provider_refresh_tokens (
    token_hash BYTEA PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES provider_grants (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX provider_refresh_tokens_grant ON provider_refresh_tokens (grant_id);

-- Back-channel logout tokens to deliver, one per (session, app): leased like the outbox
-- (next_attempt_at pushed forward while a sender works on it), retried with backoff.
-- status: queued, sent, failed.
CREATE TABLE provider_logout_queue (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES provider_apps (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    uri TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    last_error TEXT,
    sent_at BIGINT
);
CREATE INDEX provider_logout_queue_due ON provider_logout_queue (status, next_attempt_at);

-- The groups (role and group claims) the IdP sent at sign-in, as a JSON array, so that the
-- provider's ID tokens and UserInfo can pass them on as `groups`. NULL for password sessions.
ALTER TABLE sessions ADD COLUMN idp_groups TEXT;
