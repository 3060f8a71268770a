-- Login routing: network masks per tenant, and the password exemption a reset grants after a
-- connection is removed. Column-for-column identical to ../postgres/0008_routing.sql.
-- (0007 belongs to the OpenID provider branch.)

-- The tenant's network masks: a JSON array of canonical CIDR strings ("10.0.0.0/8",
-- "2001:db8::/32"), validated on save (see access::network). Empty: no mask rules.
ALTER TABLE tenants ADD COLUMN network_masks TEXT NOT NULL DEFAULT '[]';

-- TRUE while a user may sign in with a password although the tenant requires SSO: set when a
-- removed or disconnected connection left them a password reset, cleared when they link to a
-- connection again.
ALTER TABLE users ADD COLUMN sso_exempt BOOLEAN NOT NULL DEFAULT FALSE;

-- Email domains a tenant claims for home-realm discovery. A claim is `pending` until the DNS TXT
-- record `_lanyard-challenge.<domain>` carries its challenge token (or an operator vouches for
-- it); then `verified`. Domains are stored normalised (lowercase ASCII, punycode, no trailing
-- dot). One tenant claims a domain once; one tenant at a time holds it verified.
CREATE TABLE tenant_domains (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'verified')),
    challenge_token TEXT NOT NULL,
    verified_at BIGINT,
    verified_by TEXT CHECK (verified_by IN ('dns', 'operator')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, domain)
);
CREATE UNIQUE INDEX tenant_domains_verified_once ON tenant_domains (domain) WHERE state = 'verified';

-- "Require a password change at next sign-in" (admin API): the next password sign-in gets a
-- password reset instead of a session; cleared when the new password is set.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
