-- Lanyard foundation schema (PostgreSQL). Times are Unix seconds (BIGINT); ids are UUIDv7 text.
-- Kept column-for-column identical to ../sqlite/0001_foundation.sql so one SQL text serves both.

CREATE TABLE instance_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    session_lifetime_secs BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT tenants_slug_key UNIQUE (slug)
);

CREATE TABLE roles (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    builtin BOOLEAN NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    username_key TEXT NOT NULL,
    email TEXT,
    email_key TEXT,
    display_name TEXT,
    role TEXT,
    password_hash TEXT,
    super_admin BOOLEAN NOT NULL,
    disabled BOOLEAN NOT NULL,
    password_changed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT users_username_key UNIQUE (tenant_id, username_key),
    CONSTRAINT users_email_key UNIQUE (tenant_id, email_key),
    CONSTRAINT users_role_fkey FOREIGN KEY (tenant_id, role) REFERENCES roles (tenant_id, name)
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL,
    auth_method TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    ip TEXT,
    user_agent TEXT,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_tenant_idx ON sessions (tenant_id, id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    token_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT,
    CONSTRAINT api_keys_token_hash_key UNIQUE (token_hash)
);

-- No foreign keys: the audit trail outlives the rows it talks about.
CREATE TABLE audit_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL,
    at BIGINT NOT NULL,
    tenant TEXT,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    code TEXT,
    user_id TEXT,
    ip TEXT,
    request_id TEXT,
    details TEXT NOT NULL,
    CONSTRAINT audit_events_id_key UNIQUE (id)
);
CREATE INDEX audit_events_tenant_idx ON audit_events (tenant, seq);
CREATE INDEX audit_events_at_idx ON audit_events (at);

-- Failed sign-in counters, per account and per client IP, shared by every node.
CREATE TABLE login_failures (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
