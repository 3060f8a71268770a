//! The registration audience: a site's registered contacts (added by an admin or imported from
//! CSV; there is no self-service registration form) sign in by an emailed one-time link. The
//! visitor types an email on Lanyard's page; if it is a contact of the site, a link is written
//! with its email to the outbox in one transaction. The answer is the same either way, so the
//! page never tells whether an email is registered. The link (single use, [`LINK_TTL_SECS`],
//! stored as SHA-256, consumed atomically, bound to the site) goes straight to the site's own
//! `/_lanyard/callback`, which sets the `lanyard_site` cookie for a contact session: no user
//! account, registration content only.

use super::decide::{Visitor, VisitorKind};
use super::{CALLBACK_PATH, normalize_host};
use crate::Lanyard;
use crate::audit::Ctx;
use crate::error::{Error, Result};
use crate::model::{ContentContact, ContentSite, new_id};
use crate::secret::{random_token, token_hash};
use crate::store::ContactLink;
use serde_json::json;

/// How long an emailed link works.
pub const LINK_TTL_SECS: i64 = 15 * 60;
/// How long a contact session lasts on the site.
pub const CONTACT_SESSION_SECS: i64 = 8 * 3600;
/// At most this many links per contact…
pub const LINK_LIMIT: i64 = 3;
/// …within this window; further requests are answered the same and send nothing.
pub const LINK_WINDOW_SECS: i64 = 15 * 60;
/// Site cookies of contact sessions start with this (SSO site cookies never contain a dot).
pub const TOKEN_PREFIX: &str = "c.";

pub use crate::mail_text::Lang;

impl Lang {
    /// The subject and plain-text body of the link email.
    pub fn link_mail(self, host: &str, link: &str) -> (String, String) {
        let mins = LINK_TTL_SECS / 60;
        match self {
            Lang::En => (
                format!("Your sign-in link for {host}"),
                format!(
                    "Someone (we hope you) asked to sign in to {host}.\n\nOpen this link to continue; it works once and for {mins} minutes:\n\n{link}\n\nIf you did not ask, ignore this email: nothing happens without the link.\n"
                ),
            ),
            Lang::Ja => (
                format!("{host} へのサインインリンク"),
                format!(
                    "{host} へのサインインが要求されました。\n\n次のリンクを開いて続けてください。リンクは1回限り、{mins}分間有効です:\n\n{link}\n\nお心当たりがない場合は、このメールを無視してください。リンクを開かない限り何も起こりません。\n"
                ),
            ),
        }
    }
}

impl Lanyard {
    /// The site's registered contacts.
    pub async fn list_contacts(
        &self,
        ctx: &Ctx,
        slug: &str,
        host: &str,
    ) -> Result<Vec<ContentContact>> {
        let site = self.admin_site(ctx, slug, host).await?;
        self.store.site_contacts(&site.id).await
    }

    /// Adds or removes a registered contact by email (case folded); `Ok(false)` when nothing
    /// changed. Removing one ends their contact sessions (they reference the contact).
    pub async fn set_contact(
        &self,
        ctx: &Ctx,
        slug: &str,
        host: &str,
        email: &str,
        add: bool,
    ) -> Result<bool> {
        let site = self.admin_site(ctx, slug, host).await?;
        let email = email.trim().to_lowercase();
        crate::validate::email(&email)?;
        let now = self.now();
        let c = ContentContact {
            id: new_id(),
            site_id: site.id.clone(),
            email: email.clone(),
            created_at: now,
        };
        let kind = if add {
            "content.contact_added"
        } else {
            "content.contact_removed"
        };
        let ev = ctx
            .event(now, Some(slug), kind)
            .details(json!({"host": site.host, "email": email}));
        self.store.set_contact(&c, add, &ev).await
    }

    /// Imports contacts from CSV text (the first column of each line; a header `email` is
    /// skipped). Returns how many were added and the per-line errors (1-based).
    pub async fn import_contacts(
        &self,
        ctx: &Ctx,
        slug: &str,
        host: &str,
        csv: &str,
    ) -> Result<(usize, Vec<(usize, String)>)> {
        let mut added = 0;
        let mut errors = Vec::new();
        let cells = super::csv::member_cells(csv).ok_or_else(super::admin::too_many_lines)?;
        for (i, cell) in cells {
            match self.set_contact(ctx, slug, host, cell, true).await {
                Ok(true) => added += 1,
                Ok(false) => {}
                Err(e @ Error::Invalid { .. }) => errors.push((i, e.to_string())),
                Err(e) => return Err(e),
            }
        }
        Ok((added, errors))
    }

    /// Someone on the sign-in page asked for a link to `site_id` for `email`. Writes the link
    /// and its email (in `lang`, else the site's tenant's language) only when the email is a contact of the site and under the
    /// per-contact limit; answers `Ok(())` in every case but a malformed email, so the answer
    /// never tells whether an email is registered.
    pub async fn request_contact_link(
        &self,
        site_id: &str,
        email: &str,
        return_path: &str,
        lang: Option<Lang>,
    ) -> Result<()> {
        let email = email.trim().to_lowercase();
        crate::validate::email(&email)?;
        let Some(site) = self.store.site_by_id(site_id).await? else {
            return Err(Error::SiteNotFound(site_id.chars().take(64).collect()));
        };
        let Some(contact) = self.store.contact_by_email(&site.id, &email).await? else {
            return Ok(());
        };
        let ret = crate::validate::return_to(return_path).unwrap_or_else(|| "/".to_owned());
        let token = random_token();
        let now = self.now();
        let link = format!(
            "{}://{}{CALLBACK_PATH}?link={token}",
            self.site_scheme(),
            site.host
        );
        let lang = match lang {
            Some(l) => l,
            None => self
                .store
                .tenant_by_id(&site.tenant_id)
                .await?
                .map_or(Lang::En, |t| t.language),
        };
        let (subject, body) = lang.link_mail(&site.host, &link);
        let mail = self.compose_mail(&site.tenant_id, &email, &subject, &body)?;
        let row = ContactLink {
            code_hash: token_hash(&token),
            site_id: site.id.clone(),
            contact_id: contact.id.clone(),
            return_path: ret,
            created_at: now,
            expires_at: now + LINK_TTL_SECS,
        };
        let ev = Ctx::system()
            .event(now, None, "content.contact_link_sent")
            .details(json!({"host": site.host, "contact": contact.id}));
        let sent = self
            .store
            .insert_contact_link(&row, &mail, now - LINK_WINDOW_SECS, LINK_LIMIT, &ev)
            .await?;
        if !sent {
            tracing::info!(host = %site.host, "contact link limit reached; nothing sent");
        }
        Ok(())
    }

    /// Redeems an emailed link on the site's host: a new contact-session token (for the
    /// host-only cookie) and the path to return to.
    pub async fn redeem_contact_link(&self, host: &str, link: &str) -> Result<(String, String)> {
        let site = self
            .store
            .site_by_host(&normalize_host(host))
            .await?
            .ok_or(Error::ContentLinkInvalid)?;
        if link.is_empty() || link.len() > 128 {
            return Err(Error::ContentLinkInvalid);
        }
        let token = format!("{TOKEN_PREFIX}{}", random_token());
        let now = self.now();
        let ev = Ctx::system()
            .event(now, None, "content.contact_signed_in")
            .details(json!({"host": site.host}));
        let ret = self
            .store
            .redeem_contact_link(
                &token_hash(link),
                &site.id,
                &token_hash(&token),
                now,
                now + CONTACT_SESSION_SECS,
                &ev,
            )
            .await?
            .ok_or(Error::ContentLinkInvalid)?;
        Ok((token, ret))
    }

    /// The contact behind a contact cookie (the token without its prefix is not what is
    /// hashed: the whole cookie value is).
    pub(super) async fn contact_visitor(
        &self,
        site: &ContentSite,
        rest: &str,
    ) -> Result<Option<Visitor>> {
        let token = format!("{TOKEN_PREFIX}{rest}");
        let Some(c) = self
            .store
            .contact_session(&token_hash(&token), &site.id)
            .await?
        else {
            return Ok(None);
        };
        if self.now() >= c.expires_at {
            return Ok(None);
        }
        Ok(Some(Visitor {
            kind: VisitorKind::Contact,
            user_id: format!("contact:{}", c.contact_id),
            email: Some(c.email),
            role: None,
            lists: Vec::new(),
        }))
    }

    /// `http` or `https`, as Lanyard's public URL: sites are served the same way.
    pub(crate) fn site_scheme(&self) -> &'static str {
        if self.public_url().starts_with("https:") {
            "https"
        } else {
            "http"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_language_follows_accept_language() {
        let cases: &[(Option<&str>, Lang)] = &[
            (None, Lang::En),
            (Some(""), Lang::En),
            (Some("ja"), Lang::Ja),
            (Some("ja-JP,ja;q=0.9,en;q=0.8"), Lang::Ja),
            (Some("en-US,en;q=0.9,ja;q=0.5"), Lang::En),
            (Some("fr-FR, ja;q=0.7, en;q=0.3"), Lang::Ja),
            (Some("de, fr"), Lang::En),
            (Some("en;q=0.2, ja;q=0.9"), Lang::Ja),
            (Some("ja;q=0"), Lang::En),
        ];
        for (h, want) in cases {
            assert_eq!(Lang::from_accept_language(*h), *want, "{h:?}");
        }
    }

    #[test]
    fn both_mails_carry_the_link_and_the_host() {
        for l in [Lang::En, Lang::Ja] {
            let (subject, body) = l.link_mail("docs.acme.example", "https://x/y?link=T");
            assert!(subject.contains("docs.acme.example"), "{l:?}");
            assert!(body.contains("https://x/y?link=T"), "{l:?}");
            assert!(body.contains("15"), "{l:?}");
        }
        assert!(Lang::Ja.link_mail("h", "l").1.contains("リンク"));
    }
}
