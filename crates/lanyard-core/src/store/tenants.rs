//! Tenants, their roles and their users.

use super::*;

/// The stored form of a tenant's masks: a JSON array of canonical strings.
fn masks_json(t: &Tenant) -> String {
    serde_json::Value::from(t.network_masks.to_strings()).to_string()
}

impl Store {
    // --- tenants and roles ---

    pub async fn count_tenants(&self) -> Result<i64> {
        Ok(
            on_pool!(self, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM tenants").fetch_one(p).await?),
        )
    }

    /// Creates a tenant with its seeded roles.
    pub async fn insert_tenant(
        &self,
        t: &Tenant,
        roles: &[Role],
        audit: &AuditRecord,
    ) -> Result<()> {
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query("INSERT INTO tenants (id, slug, name, session_lifetime_secs, created_at, updated_at, sso_required, sso_default_role, require_email_confirmation, network_masks, language) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
                .bind(&t.id).bind(&t.slug).bind(&t.name).bind(t.session_lifetime_secs).bind(t.created_at).bind(t.updated_at)
                .bind(t.sso_required).bind(&t.sso_default_role).bind(t.require_email_confirmation).bind(masks_json(t))
                .bind(t.language.code())
                .execute(&mut *tx).await?;
            for r in roles {
                sqlx::query("INSERT INTO roles (tenant_id, name, description, builtin) VALUES ($1, $2, $3, $4)")
                    .bind(&r.tenant_id).bind(&r.name).bind(&r.description).bind(r.builtin)
                    .execute(&mut *tx).await?;
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        res.map_err(|e| {
            if unique_violation(&e).is_some() {
                Error::TenantSlugTaken(t.slug.clone())
            } else {
                e.into()
            }
        })
    }

    pub async fn tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>> {
        let q = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE slug = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Tenant>(sqlx::AssertSqlSafe(q)).bind(slug).fetch_optional(p).await?),
        )
    }

    pub async fn tenant_by_id(&self, id: &str) -> Result<Option<Tenant>> {
        let q = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Tenant>(sqlx::AssertSqlSafe(q)).bind(id).fetch_optional(p).await?),
        )
    }

    pub async fn list_tenants(&self, after_id: Option<&str>, limit: i64) -> Result<Vec<Tenant>> {
        let q = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id > $1 ORDER BY id LIMIT $2");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Tenant>(sqlx::AssertSqlSafe(q)).bind(after_id.unwrap_or("")).bind(limit).fetch_all(p).await?),
        )
    }

    /// Writes the `changed` fields of `t` (names as in [`Tenant`]) and nothing else, so that two
    /// administrators changing different settings at once both keep their change.
    pub async fn update_tenant(
        &self,
        t: &Tenant,
        changed: &[&str],
        audit: &AuditRecord,
    ) -> Result<()> {
        let has = |f: &str| changed.contains(&f);
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query("UPDATE tenants SET updated_at = $2, \
                name = CASE WHEN $9 THEN $3 ELSE name END, \
                session_lifetime_secs = CASE WHEN $10 THEN $4 ELSE session_lifetime_secs END, \
                sso_required = CASE WHEN $11 THEN $5 ELSE sso_required END, \
                sso_default_role = CASE WHEN $12 THEN $6 ELSE sso_default_role END, \
                require_email_confirmation = CASE WHEN $13 THEN $7 ELSE require_email_confirmation END, \
                network_masks = CASE WHEN $14 THEN $8 ELSE network_masks END, \
                language = CASE WHEN $16 THEN $15 ELSE language END \
                WHERE id = $1")
                .bind(&t.id).bind(t.updated_at).bind(&t.name).bind(t.session_lifetime_secs)
                .bind(t.sso_required).bind(&t.sso_default_role).bind(t.require_email_confirmation).bind(masks_json(t))
                .bind(has("name")).bind(has("session_lifetime_secs")).bind(has("sso_required"))
                .bind(has("sso_default_role")).bind(has("require_email_confirmation")).bind(has("network_masks"))
                .bind(t.language.code()).bind(has("language"))
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        Ok(res?)
    }

    pub async fn list_roles(&self, tenant_id: &str) -> Result<Vec<Role>> {
        let q = "SELECT tenant_id, name, description, builtin FROM roles WHERE tenant_id = $1 ORDER BY name";
        Ok(on_pool!(self, p => sqlx::query_as::<_, Role>(q).bind(tenant_id).fetch_all(p).await?))
    }

    pub async fn role(&self, tenant_id: &str, name: &str) -> Result<Option<Role>> {
        let q = "SELECT tenant_id, name, description, builtin FROM roles WHERE tenant_id = $1 AND name = $2";
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Role>(q).bind(tenant_id).bind(name).fetch_optional(p).await?),
        )
    }

    pub async fn insert_role(&self, r: &Role, audit: &AuditRecord) -> Result<()> {
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query("INSERT INTO roles (tenant_id, name, description, builtin) VALUES ($1, $2, $3, $4)")
                .bind(&r.tenant_id).bind(&r.name).bind(&r.description).bind(r.builtin)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        res.map_err(|e| {
            if unique_violation(&e).is_some() {
                Error::RoleExists(r.name.clone())
            } else {
                e.into()
            }
        })
    }

    /// Deletes a role that no user holds; `Ok(false)` when there was no such role.
    pub async fn delete_role(
        &self,
        tenant_id: &str,
        name: &str,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("DELETE FROM roles WHERE tenant_id = $1 AND name = $2")
                .bind(tenant_id).bind(name).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await);
        res.map_err(|e| {
            if is_fk_violation(&e) {
                Error::RoleInUse(name.to_owned())
            } else {
                e.into()
            }
        })
    }

    // --- users ---

    pub(super) fn map_user_conflict(e: sqlx::Error, u: &User) -> Error {
        match unique_violation(&e) {
            Some(c) if c.contains("email") => {
                Error::EmailTaken(u.email.clone().unwrap_or_default())
            }
            Some(_) => Error::UsernameTaken(u.username.clone()),
            None if is_fk_violation(&e) => Error::RoleNotFound(u.role.clone().unwrap_or_default()),
            None => e.into(),
        }
    }

    pub async fn insert_user(&self, u: &User, audit: &AuditRecord) -> Result<()> {
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            bind_user_insert!(sqlx::query(USER_INSERT), u).execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        res.map_err(|e| Self::map_user_conflict(e, u))
    }

    /// Writes every mutable field of `u`; with `revoke_sessions_at` also ends all of the user's
    /// sessions in the same transaction (password change, disabling).
    pub async fn update_user(
        &self,
        u: &User,
        revoke_sessions_at: Option<UnixTime>,
        audit: &AuditRecord,
    ) -> Result<()> {
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            bind_user_update!(sqlx::query(USER_UPDATE), u).execute(&mut *tx).await?;
            if let Some(at) = revoke_sessions_at {
                sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                    .bind(&u.id).bind(at).execute(&mut *tx).await?;
                sqlx::query(sqlx::AssertSqlSafe(super::provider::enqueue_logouts_of_user()))
                    .bind(&u.id).bind(at).execute(&mut *tx).await?;
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        res.map_err(|e| Self::map_user_conflict(e, u))
    }

    /// Writes only the `changed` fields of `u` (an admin's PATCH: `username`, `email`,
    /// `display_name`, `role`, `super_admin`, `collaborator`, `disabled`, `password`) and
    /// `updated_at`, like [`Self::update_tenant`]: a concurrent write of other columns (the
    /// `sso_exempt` a connection removal sets, a sign-in's reconcile) is kept, not overwritten
    /// with the values this edit read. With `revoke_sessions_at` also ends the user's sessions.
    pub async fn update_user_fields(
        &self,
        u: &User,
        changed: &[&str],
        revoke_sessions_at: Option<UnixTime>,
        audit: &AuditRecord,
    ) -> Result<()> {
        let has = |f: &str| changed.contains(&f);
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query("UPDATE users SET updated_at = $3, \
                username = CASE WHEN $13 THEN $4 ELSE username END, \
                username_key = CASE WHEN $13 THEN $5 ELSE username_key END, \
                email = CASE WHEN $14 THEN $6 ELSE email END, \
                email_key = CASE WHEN $14 THEN $7 ELSE email_key END, \
                display_name = CASE WHEN $15 THEN $8 ELSE display_name END, \
                role = CASE WHEN $16 THEN $9 ELSE role END, \
                super_admin = CASE WHEN $17 THEN $10 ELSE super_admin END, \
                collaborator = CASE WHEN $18 THEN $11 ELSE collaborator END, \
                disabled = CASE WHEN $19 THEN $12 ELSE disabled END, \
                password_hash = CASE WHEN $20 THEN $21 ELSE password_hash END, \
                password_changed_at = CASE WHEN $20 THEN $22 ELSE password_changed_at END \
                WHERE tenant_id = $1 AND id = $2")
                .bind(&u.tenant_id).bind(&u.id).bind(u.updated_at)
                .bind(&u.username).bind(fold_key(&u.username))
                .bind(&u.email).bind(u.email.as_deref().map(fold_key))
                .bind(&u.display_name).bind(&u.role).bind(u.super_admin).bind(u.collaborator).bind(u.disabled)
                .bind(has("username")).bind(has("email")).bind(has("display_name")).bind(has("role"))
                .bind(has("super_admin")).bind(has("collaborator")).bind(has("disabled"))
                .bind(has("password")).bind(&u.password_hash).bind(u.password_changed_at)
                .execute(&mut *tx).await?;
            if let Some(at) = revoke_sessions_at {
                sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                    .bind(&u.id).bind(at).execute(&mut *tx).await?;
                sqlx::query(sqlx::AssertSqlSafe(super::provider::enqueue_logouts_of_user()))
                    .bind(&u.id).bind(at).execute(&mut *tx).await?;
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        res.map_err(|e| Self::map_user_conflict(e, u))
    }

    pub async fn delete_user(
        &self,
        tenant_id: &str,
        id: &str,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id).bind(id).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await);
        Ok(res?)
    }

    pub async fn user_by_id(&self, tenant_id: &str, id: &str) -> Result<Option<User>> {
        let q = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(id).fetch_optional(p).await?),
        )
    }

    /// Case-insensitive lookup by username.
    pub async fn user_by_username(&self, tenant_id: &str, username: &str) -> Result<Option<User>> {
        let q =
            format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND username_key = $2");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(fold_key(username)).fetch_optional(p).await?),
        )
    }

    pub async fn list_users(
        &self,
        tenant_id: &str,
        after_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<User>> {
        let q = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(after_id.unwrap_or("")).bind(limit).fetch_all(p).await?),
        )
    }
}
