//! RP-initiated logout (`end_session_endpoint`) and OpenID Back-Channel Logout 1.0: ending a
//! session queues a logout token for every app with a back-channel logout URI that received
//! tokens from it (in the store, in the revocation's own transaction: see
//! `store::provider::enqueue_logouts`); a sender claims due ones with a lease and retries with
//! the mail outbox's backoff, so nothing is lost on a restart.

use crate::Lanyard;
use crate::audit::{Actor, Ctx, RequestMeta};
use crate::error::{ProviderError, Result};
use crate::mail::{BATCH, LEASE_SECS, MAX_ATTEMPTS, next_attempt_after};
use crate::model::new_id;
use crate::store::LogoutJob;
use serde::Deserialize;
use serde_json::{Value, json};

/// The event a logout token carries.
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token is valid.
const LOGOUT_TOKEN_TTL_SECS: i64 = 120;

/// The parameters of `/oauth2/logout`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogoutParams {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// What RP-initiated logout did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutDone {
    /// Where to send the browser (the registered post-logout URI with `state`), if anywhere.
    pub redirect: Option<String>,
    /// The tenant whose session ended (its cookie should go).
    pub tenant_slug: Option<String>,
}

#[derive(Deserialize)]
struct HintClaims {
    iss: String,
    aud: Value,
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    org_id: Option<String>,
}

impl Lanyard {
    /// RP-initiated logout: with a valid `id_token_hint` (expired is fine) the session it names
    /// ends; a `post_logout_redirect_uri` must be registered for the app (the hint's audience or
    /// `client_id`), else nothing is redirected anywhere.
    pub async fn end_session(&self, p: &LogoutParams, meta: &RequestMeta) -> Result<LogoutDone> {
        let hint = match p.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
            Some(h) => Some(
                self.verify_own_jwt::<HintClaims>(h, "JWT", false)
                    .await
                    .map_err(|_| {
                        ProviderError::IdTokenHintInvalid("not signed by this provider")
                    })?,
            ),
            None => None,
        };
        if let Some(h) = &hint
            && h.iss != self.public_url()
        {
            return Err(ProviderError::IdTokenHintInvalid("another issuer").into());
        }
        let hint_aud = hint.as_ref().and_then(|h| match &h.aud {
            Value::String(s) => Some(s.clone()),
            Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_owned),
            _ => None,
        });
        let client_id = match (p.client_id.as_deref().filter(|c| !c.is_empty()), hint_aud) {
            (Some(c), Some(a)) if c != a => {
                return Err(ProviderError::IdTokenHintInvalid("issued to another client").into());
            }
            (Some(c), _) => Some(c.to_owned()),
            (None, a) => a,
        };
        let redirect = match p
            .post_logout_redirect_uri
            .as_deref()
            .filter(|u| !u.is_empty())
        {
            None => None,
            Some(uri) => {
                let app = match &client_id {
                    Some(id) => self
                        .app(id)
                        .await
                        .map_err(|_| ProviderError::PostLogoutRedirectUnregistered)?,
                    None => return Err(ProviderError::PostLogoutRedirectUnregistered.into()),
                };
                if !app.has_post_logout_redirect_uri(uri) {
                    return Err(ProviderError::PostLogoutRedirectUnregistered.into());
                }
                let mut pairs = Vec::new();
                if let Some(s) = p.state.as_deref() {
                    pairs.push(("state", s));
                }
                Some(super::authorize::redirect_with(uri, &pairs))
            }
        };
        let mut tenant_slug = None;
        if let Some(HintClaims {
            sid: Some(sid),
            org_id: Some(org),
            ..
        }) = hint
            && let Some(view) = self.store.session_by_id(&org, &sid).await?
        {
            if view.revoked_at.is_none() {
                let ev = Ctx::new(
                    Actor::User {
                        id: view.user_id.clone(),
                        tenant_id: view.tenant_id.clone(),
                    },
                    meta.clone(),
                )
                .event(self.now(), Some(&view.tenant_slug), "logout")
                .user(&view.user_id)
                .details(
                    json!({"session_id": view.id, "via": "oauth2/logout", "client_id": client_id}),
                );
                self.store
                    .revoke_session(&view.tenant_id, &view.id, self.now(), &ev)
                    .await?;
                self.session_cache().session_changed(&view.id);
            }
            tenant_slug = Some(view.tenant_slug);
        }
        Ok(LogoutDone {
            redirect,
            tenant_slug,
        })
    }

    /// The logout token for one queued logout (OpenID Back-Channel Logout 1.0 §2.4).
    pub async fn logout_token(&self, job: &LogoutJob) -> Result<String> {
        let app = self.app(&job.app_id).await?;
        let now = self.now();
        let claims = json!({
            "iss": self.public_url(),
            "aud": app.id,
            "iat": now,
            "exp": now + LOGOUT_TOKEN_TTL_SECS,
            "jti": new_id(),
            "sub": job.user_id,
            "sid": job.session_id,
            "events": { BACKCHANNEL_EVENT: {} },
        });
        self.provider_keys()
            .await?
            .sign(&app.id_token_alg, "logout+jwt", &claims)
    }

    /// Claims the back-channel logouts due now (no other node gets them until the lease ends).
    pub async fn claim_due_logouts(&self) -> Result<Vec<LogoutJob>> {
        let now = self.now();
        self.store
            .claim_logouts(now, now.saturating_add(LEASE_SECS), BATCH)
            .await
    }

    pub async fn logout_delivered(&self, job: &LogoutJob) -> Result<()> {
        self.store.mark_logout_sent(&job.id, self.now()).await
    }

    /// Schedules the next attempt with the outbox's backoff; gives up after its maximum.
    pub async fn logout_failed(&self, job: &LogoutJob, error: &str) -> Result<()> {
        let next = next_attempt_after(self.now(), job.attempts);
        self.store
            .mark_logout_failed(&job.id, error, next, MAX_ATTEMPTS)
            .await
    }
}
