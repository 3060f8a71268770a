-- A tenant's default language (issue 14): the language of the emails Lanyard writes for the
-- tenant when the request that causes one states no language (no `?lang`, no language cookie,
-- no Accept-Language naming English or Japanese), and of every email written with no request
-- (background jobs). 'en' or 'ja'; the core refuses anything else (tenant.language_invalid).
-- Column-for-column identical to ../sqlite/0013_tenant_language.sql.
ALTER TABLE tenants ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
