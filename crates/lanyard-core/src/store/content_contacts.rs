//! A site's registered contacts (`content_contacts`), their emailed one-time sign-in links
//! (`content_contact_links`) and the contact sessions the links become
//! (`content_contact_sessions`).

use super::*;

/// A contact session found by its token: who, and until when.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ContactSession {
    pub contact_id: String,
    pub email: String,
    pub expires_at: UnixTime,
}

/// An emailed link, as written (its token only as a hash).
#[derive(Debug, Clone)]
pub struct ContactLink {
    pub code_hash: Vec<u8>,
    pub site_id: String,
    pub contact_id: String,
    pub return_path: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

impl Store {
    /// Adds (`true`) or removes (`false`) a contact of a site by email; adding twice is a
    /// no-op (two racing adds leave one row). Returns whether a row changed; the audit event
    /// is written only then, in the same transaction.
    pub async fn set_contact(
        &self,
        c: &ContentContact,
        add: bool,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = if add {
                sqlx::query("INSERT INTO content_contacts (id, site_id, email, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (site_id, email) DO NOTHING")
                    .bind(&c.id).bind(&c.site_id).bind(&c.email).bind(c.created_at)
                    .execute(&mut *tx).await?.rows_affected()
            } else {
                sqlx::query("DELETE FROM content_contacts WHERE site_id = $1 AND email = $2")
                    .bind(&c.site_id).bind(&c.email).execute(&mut *tx).await?.rows_affected()
            };
            if n > 0 {
                bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(n > 0)
        }.await);
        Ok(res?)
    }

    pub async fn site_contacts(&self, site_id: &str) -> Result<Vec<ContentContact>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, ContentContact>(
            "SELECT id, site_id, email, created_at FROM content_contacts WHERE site_id = $1 ORDER BY email")
            .bind(site_id).fetch_all(p).await?))
    }

    pub async fn contact_by_email(
        &self,
        site_id: &str,
        email: &str,
    ) -> Result<Option<ContentContact>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, ContentContact>(
            "SELECT id, site_id, email, created_at FROM content_contacts WHERE site_id = $1 AND email = $2")
            .bind(site_id).bind(email).fetch_optional(p).await?))
    }

    pub async fn count_contacts(&self, site_id: &str) -> Result<u64> {
        let n: i64 = on_pool!(self, p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM content_contacts WHERE site_id = $1")
            .bind(site_id).fetch_one(p).await?);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Writes the link and its email together, unless `max_recent` links were already sent to
    /// this contact since `since` (then nothing is written and `false` returned). The count
    /// and the insert share one transaction; on PostgreSQL the contact row is locked first so
    /// two racing requests cannot both pass the limit (SQLite serialises writers anyway).
    pub async fn insert_contact_link(
        &self,
        l: &ContactLink,
        mail: &OutboxMessage,
        since: UnixTime,
        max_recent: i64,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            // Takes the write lock (SQLite) / the contact's row lock (PostgreSQL) before counting.
            let locked = sqlx::query("UPDATE content_contacts SET email = email WHERE id = $1")
                .bind(&l.contact_id).execute(&mut *tx).await?.rows_affected();
            if locked == 0 {
                return Ok(false);
            }
            let recent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM content_contact_links WHERE contact_id = $1 AND created_at > $2")
                .bind(&l.contact_id).bind(since).fetch_one(&mut *tx).await?;
            if recent >= max_recent {
                return Ok(false);
            }
            sqlx::query("INSERT INTO content_contact_links (code_hash, site_id, contact_id, return_path, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&l.code_hash).bind(&l.site_id).bind(&l.contact_id).bind(&l.return_path)
                .bind(l.created_at).bind(l.expires_at)
                .execute(&mut *tx).await?;
            sqlx::query(OUTBOX_INSERT)
                .bind(&mail.id).bind(&mail.tenant_id).bind(&mail.to).bind(&mail.subject).bind(&mail.body)
                .bind(mail.status.as_str()).bind(mail.created_at).bind(mail.next_attempt_at).bind(mail.attempts)
                .bind(&mail.last_error).bind(mail.sent_at)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await);
        Ok(res?)
    }

    /// Consumes an emailed link once, atomically, if it is unexpired and of `site_id`; then
    /// opens the contact session `token_hash` in the same transaction. Returns the path to
    /// return to.
    pub async fn redeem_contact_link(
        &self,
        code_hash: &[u8],
        site_id: &str,
        token_hash: &[u8],
        now: UnixTime,
        session_expires_at: UnixTime,
        audit: &AuditRecord,
    ) -> Result<Option<String>> {
        let res: std::result::Result<Option<String>, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let row: Option<(String, String)> = sqlx::query_as("UPDATE content_contact_links SET used_at = $2 WHERE code_hash = $1 AND site_id = $3 AND used_at IS NULL AND expires_at > $2 RETURNING contact_id, return_path")
                .bind(code_hash).bind(now).bind(site_id).fetch_optional(&mut *tx).await?;
            let Some((contact_id, ret)) = row else { return Ok(None) };
            sqlx::query("INSERT INTO content_contact_sessions (token_hash, site_id, contact_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(token_hash).bind(site_id).bind(&contact_id).bind(now).bind(session_expires_at)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(ret))
        }.await);
        Ok(res?)
    }

    /// The contact behind a contact cookie of `site_id` (gone once the contact is removed).
    pub async fn contact_session(
        &self,
        token_hash: &[u8],
        site_id: &str,
    ) -> Result<Option<ContactSession>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, ContactSession>(
            "SELECT s.contact_id, c.email, s.expires_at FROM content_contact_sessions s JOIN content_contacts c ON c.id = s.contact_id WHERE s.token_hash = $1 AND s.site_id = $2")
            .bind(token_hash).bind(site_id).fetch_optional(p).await?))
    }
}
