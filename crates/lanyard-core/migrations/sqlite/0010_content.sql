-- Private content behind SSO (issue 13): sites, their protected resources, lists of contacts,
-- one-time sign-in handoff codes and the host-scoped site sessions they become.
-- Column-for-column identical to ../postgres/0010_content.sql. (0009 is left to another branch.)

-- A site is one host name of one tenant; its own SSO setting (which connection, on or off).
-- Turning SSO off keeps every resource's audience (it is reinterpreted, not rewritten).
CREATE TABLE content_sites (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    host TEXT NOT NULL UNIQUE,
    connection_id TEXT REFERENCES connections (id) ON DELETE SET NULL,
    sso_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A protected resource: a page, landing page or knowledge-base article (its exact path) or a
-- blog (its path and everything below it). list_ids: JSON array of content_lists ids.
CREATE TABLE content_resources (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    site_id TEXT NOT NULL REFERENCES content_sites (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('page', 'landing', 'blog', 'article')),
    path TEXT NOT NULL,
    audience TEXT NOT NULL CHECK (audience IN ('public', 'registration', 'sso', 'sso_lists')),
    list_ids TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (site_id, path)
);

CREATE TABLE content_lists (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

-- Contacts by email (case folded); no user account needed.
CREATE TABLE content_list_members (
    list_id TEXT NOT NULL REFERENCES content_lists (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (list_id, email)
);
CREATE INDEX content_list_members_email ON content_list_members (email);

-- One-time codes handing a Lanyard session to a site's host (60 s, consumed atomically).
CREATE TABLE content_handoffs (
    code_hash BLOB PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES content_sites (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    return_path TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

-- A site's own cookie: SHA-256 of its token, bound to the site and to the session it came
-- from, so revoking that session ends it too.
CREATE TABLE content_site_sessions (
    token_hash BLOB PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES content_sites (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
