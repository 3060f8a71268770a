-- Private content, part two (issue 13): a site's registered contacts, who sign in by an
-- emailed one-time link and hold a contact session on the site (no user account), and the
-- per-site switch for the signed identity JWT on /auth/check answers.
-- Column-for-column identical to ../postgres/0011_content_contacts.sql.

ALTER TABLE content_sites ADD COLUMN identity_jwt BOOLEAN NOT NULL DEFAULT FALSE;

-- A registered contact of one site, by email (case folded). Added by an admin or CSV import.
CREATE TABLE content_contacts (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES content_sites (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (site_id, email)
);

-- The emailed sign-in link: SHA-256 of its token, bound to the site and the contact, single
-- use (consumed atomically), short-lived. created_at also bounds how many are sent per contact.
CREATE TABLE content_contact_links (
    code_hash BLOB PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES content_sites (id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL REFERENCES content_contacts (id) ON DELETE CASCADE,
    return_path TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX content_contact_links_contact ON content_contact_links (contact_id, created_at);

-- A contact's cookie on the site's host: SHA-256 of its token; removing the contact ends it.
CREATE TABLE content_contact_sessions (
    token_hash BLOB PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES content_sites (id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL REFERENCES content_contacts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
