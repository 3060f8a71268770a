//! Long-lived per-user API tokens (`lyt_` + 256 bits, stored as SHA-256): how scripts act as a
//! user. They are revoked when the user moves to SSO, and refused once revoked or expired.

use crate::Lanyard;
use crate::audit::Ctx;
use crate::error::{Error, Result};
use crate::model::{ApiToken, Tenant, User, new_id};
use crate::secret::{random_token, token_hash};
use lanyard_proto as proto;
use serde_json::json;

pub const API_TOKEN_PREFIX: &str = "lyt_";
pub const DEFAULT_TOKEN_DAYS: u32 = 365;
pub const MAX_TOKEN_DAYS: u32 = 730;

impl Lanyard {
    /// Issues a token for a user; the secret is returned once and never stored.
    pub async fn create_api_token(
        &self,
        ctx: &Ctx,
        slug: &str,
        user_id: &str,
        req: proto::CreateApiToken,
    ) -> Result<(ApiToken, String)> {
        let (t, u) = self.get_user(ctx, slug, user_id).await?;
        crate::validate::key_name(&req.name)?;
        let days = req.expires_in_days.unwrap_or(DEFAULT_TOKEN_DAYS);
        if !(1..=MAX_TOKEN_DAYS).contains(&days) {
            return Err(Error::invalid(
                "expires_in_days",
                format!("must be 1-{MAX_TOKEN_DAYS}"),
            ));
        }
        let secret = format!("{API_TOKEN_PREFIX}{}", random_token());
        let now = self.now();
        let tok = ApiToken {
            id: new_id(),
            tenant_id: t.id.clone(),
            user_id: u.id.clone(),
            name: req.name,
            prefix: secret.chars().take(8).collect(),
            created_at: now,
            expires_at: now + i64::from(days) * 86_400,
            last_used_at: None,
            revoked_at: None,
        };
        let ev = ctx
            .event(now, Some(&t.slug), "api_token.created")
            .user(&u.id)
            .details(
                json!({"api_token_id": tok.id, "name": tok.name, "expires_at": tok.expires_at}),
            );
        self.store
            .insert_api_token(&tok, &token_hash(&secret), &ev)
            .await?;
        Ok((tok, secret))
    }

    pub async fn list_api_tokens(
        &self,
        ctx: &Ctx,
        slug: &str,
        user_id: &str,
    ) -> Result<Vec<ApiToken>> {
        let (_, u) = self.get_user(ctx, slug, user_id).await?;
        self.store.api_tokens_of(&u.id).await
    }

    pub async fn revoke_api_token(
        &self,
        ctx: &Ctx,
        slug: &str,
        user_id: &str,
        token_id: &str,
    ) -> Result<()> {
        let (t, u) = self.get_user(ctx, slug, user_id).await?;
        let now = self.now();
        let ev = ctx
            .event(now, Some(&t.slug), "api_token.revoked")
            .user(&u.id)
            .details(json!({"api_token_id": token_id}));
        if !self
            .store
            .revoke_api_token(&u.id, token_id, now, &ev)
            .await?
        {
            return Err(Error::ApiTokenNotFound);
        }
        Ok(())
    }

    /// Resolves `Authorization: Bearer lyt_…` presented to `tenant_slug`. Unknown, revoked,
    /// expired, other tenant's and disabled user's tokens all give [`Error::ApiTokenInvalid`].
    pub async fn authenticate_api_token(
        &self,
        tenant_slug: &str,
        token: &str,
    ) -> Result<(Tenant, User, ApiToken)> {
        if !token.starts_with(API_TOKEN_PREFIX) || token.len() > 128 {
            return Err(Error::ApiTokenInvalid);
        }
        let tok = self
            .store
            .api_token_by_hash(&token_hash(token))
            .await?
            .ok_or(Error::ApiTokenInvalid)?;
        let now = self.now();
        if tok.revoked_at.is_some() || now >= tok.expires_at {
            return Err(Error::ApiTokenInvalid);
        }
        let tenant = self.tenant(tenant_slug).await?;
        if tok.tenant_id != tenant.id {
            return Err(Error::ApiTokenInvalid);
        }
        let user = self
            .store
            .user_by_id(&tenant.id, &tok.user_id)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(Error::ApiTokenInvalid)?;
        self.store.touch_api_token(&tok.id, now).await?;
        Ok((tenant, user, tok))
    }

    /// The tokens of the user a `lyt_` token belongs to (self-service: `lanyard tokens list`),
    /// with the id of the presented one.
    pub async fn own_api_tokens(
        &self,
        tenant_slug: &str,
        token: &str,
    ) -> Result<(User, String, Vec<ApiToken>)> {
        let (_, u, current) = self.authenticate_api_token(tenant_slug, token).await?;
        let list = self.store.api_tokens_of(&u.id).await?;
        Ok((u, current.id, list))
    }

    /// Revokes one of the user's own tokens (`current` names the presented one: `lanyard
    /// logout`), authenticated by a `lyt_` token of the same user.
    pub async fn revoke_own_api_token(
        &self,
        tenant_slug: &str,
        token: &str,
        token_id: &str,
        meta: &crate::audit::RequestMeta,
    ) -> Result<()> {
        let (t, u, current) = self.authenticate_api_token(tenant_slug, token).await?;
        let id = if token_id == "current" {
            current.id
        } else {
            token_id.to_owned()
        };
        let now = self.now();
        let ctx = Ctx::new(
            crate::audit::Actor::User {
                id: u.id.clone(),
                tenant_id: t.id.clone(),
            },
            meta.clone(),
        );
        let ev = ctx
            .event(now, Some(&t.slug), "api_token.revoked")
            .user(&u.id)
            .details(json!({"api_token_id": id, "by": "self"}));
        if !self.store.revoke_api_token(&u.id, &id, now, &ev).await? {
            return Err(Error::ApiTokenNotFound);
        }
        Ok(())
    }
}
