//! Setup links: an operator or tenant admin hands a customer's IT admin a link that sets up one
//! SSO connection of one tenant, nothing else. A link is single-use per person (the first
//! browser to open it claims it with a cookie; another browser is refused), expires, can be
//! revoked, and ends when the IT admin finishes. Only SHA-256 hashes of the token and of the
//! claim cookie are stored.

use crate::Lanyard;
use crate::audit::{Actor, Ctx, RequestMeta};
use crate::error::{ConsoleError, Error, Result};
use crate::model::{Connection, SetupLink, Tenant, new_id};
use crate::secret::{constant_time_eq, random_token, token_hash};
use serde_json::json;

/// Prefix of a setup link's token (recognisable in logs and by secret scanners).
pub const SETUP_TOKEN_PREFIX: &str = "lys_";
/// Default and largest lifetime of a setup link.
pub const DEFAULT_LIFETIME_HOURS: i64 = 72;
pub const MAX_LIFETIME_HOURS: i64 = 720;
/// Longest note ("for whom") kept with a link.
pub const MAX_NOTE_CHARS: usize = 200;

/// Where a link stands, for the admins' list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Open,
    Claimed,
    Used,
    Revoked,
    Expired,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Claimed => "claimed",
            Self::Used => "used",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }
}

impl SetupLink {
    pub fn state(&self, now: i64) -> LinkState {
        if self.revoked_at.is_some() {
            LinkState::Revoked
        } else if self.used_at.is_some() {
            LinkState::Used
        } else if now >= self.expires_at {
            LinkState::Expired
        } else if self.claimed_at.is_some() {
            LinkState::Claimed
        } else {
            LinkState::Open
        }
    }

    /// Why the link no longer opens, if it does not (pure: the link and the time).
    pub fn refusal(&self, now: i64) -> Option<ConsoleError> {
        match self.state(now) {
            LinkState::Revoked => Some(ConsoleError::SetupLinkRevoked),
            LinkState::Used => Some(ConsoleError::SetupLinkUsed),
            LinkState::Expired => Some(ConsoleError::SetupLinkExpired),
            LinkState::Open | LinkState::Claimed => None,
        }
    }

    /// The context of what the IT admin does through the link.
    pub fn ctx(&self, meta: &RequestMeta) -> Ctx {
        Ctx::new(
            Actor::SetupLink {
                id: self.id.clone(),
                tenant_id: self.tenant_id.clone(),
            },
            meta.clone(),
        )
    }
}

/// A link just made: the record and its token (shown once).
#[derive(Debug, Clone)]
pub struct NewSetupLink {
    pub link: SetupLink,
    pub token: String,
}

/// An opened link: the link, its tenant, and the claim cookie to set when this browser just
/// claimed it.
#[derive(Debug, Clone)]
pub struct OpenedLink {
    pub link: SetupLink,
    pub tenant: Tenant,
    pub new_claim: Option<String>,
}

impl Lanyard {
    /// Creates a setup link for `slug` (operator or that tenant's admin), valid for
    /// `lifetime_hours` (1 to 720; 72 when not given). Audited `setup_link.created`.
    pub async fn create_setup_link(
        &self,
        ctx: &Ctx,
        slug: &str,
        note: &str,
        lifetime_hours: Option<i64>,
    ) -> Result<NewSetupLink> {
        let t = self.admin_tenant(ctx, slug).await?;
        let hours = lifetime_hours.unwrap_or(DEFAULT_LIFETIME_HOURS);
        if !(1..=MAX_LIFETIME_HOURS).contains(&hours) {
            return Err(ConsoleError::SetupLinkLifetime(hours).into());
        }
        let note = note.trim();
        if note.chars().count() > MAX_NOTE_CHARS || note.chars().any(char::is_control) {
            return Err(Error::invalid(
                "note",
                format!("at most {MAX_NOTE_CHARS} characters, on one line"),
            ));
        }
        let now = self.now();
        let token = format!("{SETUP_TOKEN_PREFIX}{}", random_token());
        let link = SetupLink {
            id: new_id(),
            tenant_id: t.id.clone(),
            token_hash: token_hash(&token),
            note: note.to_owned(),
            created_by: ctx.actor.label(),
            created_at: now,
            expires_at: now + hours * 3600,
            claim_hash: None,
            claimed_at: None,
            connection_id: None,
            used_at: None,
            revoked_at: None,
        };
        let ev = ctx.event(now, Some(&t.slug), "setup_link.created").details(
            json!({"setup_link_id": link.id, "note": link.note, "expires_at": link.expires_at}),
        );
        self.store.insert_setup_link(&link, &ev).await?;
        Ok(NewSetupLink { link, token })
    }

    /// The tenant's setup links, newest first.
    pub async fn list_setup_links(
        &self,
        ctx: &Ctx,
        slug: &str,
    ) -> Result<(Tenant, Vec<SetupLink>)> {
        let t = self.admin_tenant(ctx, slug).await?;
        let rows = self.store.list_setup_links(&t.id).await?;
        Ok((t, rows))
    }

    /// Revokes a link (idempotent on an already revoked one). Audited `setup_link.revoked`.
    pub async fn revoke_setup_link(&self, ctx: &Ctx, slug: &str, id: &str) -> Result<SetupLink> {
        let t = self.admin_tenant(ctx, slug).await?;
        let now = self.now();
        let ev = ctx
            .event(now, Some(&t.slug), "setup_link.revoked")
            .details(json!({"setup_link_id": id}));
        self.store.revoke_setup_link(&t.id, id, now, &ev).await?;
        self.store
            .setup_link(&t.id, id)
            .await?
            .ok_or_else(|| ConsoleError::SetupLinkNotFound.into())
    }

    /// Opens a link from the IT admin's browser. `claim` is the browser's claim cookie, if any.
    /// An unclaimed link is claimed by this browser (one conditional update: of two browsers
    /// opening it at once, one wins and the other is refused `setup_link.claimed`).
    pub async fn open_setup_link(
        &self,
        token: &str,
        claim: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<OpenedLink> {
        if !token.starts_with(SETUP_TOKEN_PREFIX) || token.len() > 128 {
            return Err(ConsoleError::SetupLinkNotFound.into());
        }
        let link = self
            .store
            .setup_link_by_hash(&token_hash(token))
            .await?
            .ok_or(ConsoleError::SetupLinkNotFound)?;
        let now = self.now();
        if let Some(e) = link.refusal(now) {
            return Err(e.into());
        }
        let tenant = self
            .store
            .tenant_by_id(&link.tenant_id)
            .await?
            .ok_or(ConsoleError::SetupLinkNotFound)?;
        if let Some(expected) = &link.claim_hash {
            let presented = claim.map(token_hash).unwrap_or_default();
            if !constant_time_eq(expected, &presented) {
                return Err(ConsoleError::SetupLinkClaimed.into());
            }
            return Ok(OpenedLink {
                link,
                tenant,
                new_claim: None,
            });
        }
        let new_claim = random_token();
        let ev = link
            .ctx(meta)
            .event(now, Some(&tenant.slug), "setup_link.opened")
            .details(json!({"setup_link_id": link.id}));
        let hash = token_hash(&new_claim);
        if !self
            .store
            .claim_setup_link(&link.id, &hash, now, &ev)
            .await?
        {
            return Err(ConsoleError::SetupLinkClaimed.into());
        }
        let link = SetupLink {
            claim_hash: Some(hash),
            claimed_at: Some(now),
            ..link
        };
        Ok(OpenedLink {
            link,
            tenant,
            new_claim: Some(new_claim),
        })
    }

    /// Remembers the connection the IT admin created through the link (the only one it may
    /// change afterwards). Refused when the link already has one.
    pub async fn bind_setup_connection(&self, link: &SetupLink, connection_id: &str) -> Result<()> {
        if self
            .store
            .bind_setup_connection(&link.id, connection_id)
            .await?
        {
            Ok(())
        } else {
            Err(ConsoleError::SetupLinkScope.into())
        }
    }

    /// The connection the link created, if any.
    pub async fn setup_connection(&self, link: &SetupLink) -> Result<Option<Connection>> {
        let Some(id) = &link.connection_id else {
            return Ok(None);
        };
        let conns = self.store.list_connections(&link.tenant_id).await?;
        Ok(conns.into_iter().find(|c| c.id == *id))
    }

    /// The IT admin finished: the link stops working. Audited `setup_link.used`.
    pub async fn finish_setup_link(&self, link: &SetupLink, meta: &RequestMeta) -> Result<()> {
        let now = self.now();
        let tenant = self
            .store
            .tenant_by_id(&link.tenant_id)
            .await?
            .ok_or(ConsoleError::SetupLinkNotFound)?;
        let ev = link
            .ctx(meta)
            .event(now, Some(&tenant.slug), "setup_link.used")
            .details(json!({"setup_link_id": link.id, "connection_id": link.connection_id}));
        if self.store.finish_setup_link(&link.id, now, &ev).await? {
            Ok(())
        } else {
            Err(ConsoleError::SetupLinkUsed.into())
        }
    }
}

impl SetupLink {
    /// The admin API's view of a link of `tenant_slug` at `now`.
    pub fn to_wire(&self, tenant_slug: &str, now: i64) -> lanyard_proto::SetupLink {
        let t = crate::clock::rfc3339;
        lanyard_proto::SetupLink {
            id: self.id.clone(),
            tenant: tenant_slug.to_owned(),
            note: self.note.clone(),
            state: self.state(now).as_str().to_owned(),
            created_by: self.created_by.clone(),
            created_at: t(self.created_at),
            expires_at: t(self.expires_at),
            claimed_at: self.claimed_at.map(t),
            connection_id: self.connection_id.clone(),
            used_at: self.used_at.map(t),
            revoked_at: self.revoked_at.map(t),
        }
    }
}
