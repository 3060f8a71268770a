//! What the forms of the user pages do, each through the core function of its admin API call
//! (so it is authorised and audited exactly alike): update the profile and role, set or remove
//! a federation ID, invite (or re-send), end sessions, revoke API tokens, require a new
//! password, create a password reset link; and the invitations page.

use super::guard::TenantForm;
use super::posted::{after, done_notice, enc, value};
use super::users::user_page;
use super::{Nav, Refusal, error_page, for_tenant, render};
use crate::AppState;
use crate::extract::Meta;
use crate::i18n::PageLang;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use lanyard_proto as proto;
use serde::Deserialize;

/// An optional text field: empty clears it.
fn clearable(v: &str) -> Option<String> {
    Some(v.trim().to_owned()).filter(|s| !s.is_empty())
}

fn user_url(slug: &str, id: &str) -> String {
    format!("/admin/t/{slug}/users/{}", enc(id))
}

/// `POST …/users/{user}`: display name, role ("needs a role" when none), collaborator, disabled.
pub(crate) async fn update(
    State(s): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    TenantForm {
        admin,
        lang,
        meta,
        form: posted,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let req = proto::UpdateUser {
        display_name: Some(clearable(value(&posted, "display_name"))),
        role: Some(clearable(value(&posted, "role"))),
        collaborator: super::posted::checkbox(&posted, "collaborator"),
        disabled: super::posted::checkbox(&posted, "disabled"),
        ..Default::default()
    };
    let res = s
        .lanyard
        .update_user(&admin.admin.ctx(&meta), &slug, &id, req)
        .await;
    Ok(after(lang, res, &user_url(&slug, &id), "user-saved"))
}

/// `POST …/users/{user}/federation/{conn}`: `action=save` sets the federation ID the user signs
/// in with on the connection (as the IdP sends it); `action=remove` disconnects the user.
pub(crate) async fn federation(
    State(s): State<AppState>,
    Path((slug, id, conn)): Path<(String, String, String)>,
    TenantForm {
        admin,
        lang,
        meta,
        form: posted,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let ctx = admin.admin.ctx(&meta);
    let back = user_url(&slug, &id);
    if value(&posted, "action") == "remove" {
        let res = s
            .lanyard
            .disconnect_federated_identity(&ctx, &slug, &id, &conn)
            .await;
        return Ok(after(lang, res, &back, "federation-removed"));
    }
    let res = s
        .lanyard
        .set_federated_identity(&ctx, &slug, &id, &conn, value(&posted, "federation_id"))
        .await;
    Ok(after(lang, res, &back, "federation-saved"))
}

/// `POST …/users/{user}/invite`: invites the user to SSO through `connection` (an open
/// invitation is re-sent, never replaced).
pub(crate) async fn invite(
    State(s): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    TenantForm {
        admin,
        lang,
        meta,
        form: posted,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let req = proto::CreateInvitations {
        connection: clearable(value(&posted, "connection")),
        users: Some(vec![id.clone()]),
        all: false,
    };
    let res = s
        .lanyard
        .create_invitations(&admin.admin.ctx(&meta), &slug, req)
        .await;
    Ok(after(lang, res, &user_url(&slug, &id), "invitation-sent"))
}

/// `POST …/users/{user}/sessions/revoke`: ends every live session of the user.
pub(crate) async fn revoke_all_sessions(
    State(s): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    TenantForm {
        admin, lang, meta, ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let res = s
        .lanyard
        .revoke_user_sessions(&admin.admin.ctx(&meta), &slug, &id)
        .await;
    Ok(after(lang, res, &user_url(&slug, &id), "sessions-revoked"))
}

/// `POST …/users/{user}/sessions/{session}/revoke`: ends one session of the user.
pub(crate) async fn revoke_session(
    State(s): State<AppState>,
    Path((slug, id, session)): Path<(String, String, String)>,
    TenantForm {
        admin, lang, meta, ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let ctx = admin.admin.ctx(&meta);
    // The session must be this user's: the page's button never names another one.
    let (_, u) = match s.lanyard.get_user(&ctx, &slug, &id).await {
        Ok(found) => found,
        Err(e) => return Ok(error_page(lang, &e)),
    };
    let res = match s
        .lanyard
        .list_sessions(&ctx, &slug, Some(&u.id), false, None, Some(200))
        .await
    {
        Ok((live, _)) if live.iter().any(|v| v.id == session) => {
            s.lanyard.revoke_session(&ctx, &slug, &session).await
        }
        Ok(_) => Err(lanyard_core::Error::SessionNotFound),
        Err(e) => Err(e),
    };
    Ok(after(lang, res, &user_url(&slug, &id), "session-revoked"))
}

/// `POST …/users/{user}/tokens/{token}/revoke`.
pub(crate) async fn revoke_token(
    State(s): State<AppState>,
    Path((slug, id, token)): Path<(String, String, String)>,
    TenantForm {
        admin, lang, meta, ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let res = s
        .lanyard
        .revoke_api_token(&admin.admin.ctx(&meta), &slug, &id, &token)
        .await;
    Ok(after(lang, res, &user_url(&slug, &id), "token-revoked"))
}

/// `POST …/users/{user}/require-password-change`: ends the user's sessions; the next password
/// sign-in must choose a new password first.
pub(crate) async fn require_password_change(
    State(s): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    TenantForm {
        admin, lang, meta, ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let res = s
        .lanyard
        .require_password_change(&admin.admin.ctx(&meta), &slug, &id)
        .await;
    Ok(after(
        lang,
        res,
        &user_url(&slug, &id),
        "password-change-required",
    ))
}

/// `POST …/users/{user}/reset-link`: a one-use password reset link (3 days), shown once on the
/// page that answers (older reset links stop working).
pub(crate) async fn reset_link(
    State(s): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    TenantForm {
        admin,
        tenant,
        lang,
        meta,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let ctx = admin.admin.ctx(&meta);
    // By ID only: the path never names a user by username here.
    let (_, u) = match s.lanyard.get_user(&ctx, &slug, &id).await {
        Ok(found) => found,
        Err(e) => return Ok(error_page(lang, &e)),
    };
    match s.lanyard.password_reset_link(&ctx, &slug, &u.id).await {
        Ok((_, url)) => {
            let mut res = user_page(&s, lang, &admin, &tenant, &meta, &u.id, None, Some(url)).await;
            res.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            Ok(res)
        }
        Err(e) => Ok(error_page(lang, &e)),
    }
}

#[derive(Template)]
#[template(path = "console/invitations.html")]
struct InvitationsPage {
    nav: Nav,
    rows: Vec<proto::Invitation>,
    next: Option<String>,
    connections: Vec<(String, String)>,
    notice: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct InvitationsQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

/// `GET …/invitations`: every invitation with its status; invite everyone not on SSO.
pub(crate) async fn invitations(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path(slug): Path<String>,
    Query(q): Query<InvitationsQuery>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let (admin, tenant) = for_tenant(&s, &jar, &meta, lang, &slug).await?;
    let ctx = admin.admin.ctx(&meta);
    let (rows, next) = match s
        .lanyard
        .list_invitations(&ctx, &slug, q.cursor.as_deref(), Some(100))
        .await
    {
        Ok(found) => found,
        Err(e) => return Ok(error_page(lang, &e)),
    };
    let connections = match s.lanyard.list_connections(&ctx, &slug).await {
        Ok((_, c)) => c
            .into_iter()
            .filter(|c| c.enabled)
            .map(|c| (c.slug, c.name))
            .collect(),
        Err(e) => return Ok(error_page(lang, &e)),
    };
    let t = lang.tr();
    let page = InvitationsPage {
        nav: admin.nav(
            &s,
            t,
            &format!("/admin/t/{slug}/invitations"),
            Some(&tenant),
            "users",
        ),
        rows,
        next,
        connections,
        notice: done_notice(t, q.done.as_deref()),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST …/invitations`: invites every password user who is not on SSO yet (open invitations
/// are re-sent).
pub(crate) async fn invite_many(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    TenantForm {
        admin,
        lang,
        meta,
        form: posted,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let req = proto::CreateInvitations {
        connection: clearable(value(&posted, "connection")),
        users: None,
        all: true,
    };
    let res = s
        .lanyard
        .create_invitations(&admin.admin.ctx(&meta), &slug, req)
        .await;
    Ok(after(
        lang,
        res,
        &format!("/admin/t/{slug}/invitations"),
        "invitation-sent",
    ))
}
