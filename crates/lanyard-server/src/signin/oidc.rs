//! OpenID Connect sign-in: `/t/{tenant}/oidc/{connection}/callback` (the redirect URI) and the
//! start (`/t/{tenant}/sso/{connection}/start` dispatches here for OIDC connections).
//!
//! The domain consumes the state and checks the RFC 9207 `iss` before anything is sent to the
//! provider; this module then makes the token request (client_secret_basic or _post, always with
//! the PKCE code_verifier), fetches the JWKS (cached per connection; one rate-limited refetch on
//! an unknown kid) and userinfo, all through the SSRF-guarded [`crate::fetch`].

use crate::AppState;
use crate::error::PageError;
use crate::extract::Meta;
use crate::fetch::failed;
use crate::metrics::login_outcome;
use crate::signin::{MAX_RESPONSE_BYTES, binding_cookie};
use crate::signin::{browser_binding, set_binding_cookie, signed_in};
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use base64::Engine as _;
use lanyard_core::error::OidcError;
use lanyard_core::outbound::{Endpoint, Failure};
use lanyard_core::signin::oidc::checks::Jwks;
use lanyard_core::signin::oidc::{CallbackBegun, CallbackParams, OidcOutcome, TokenResult};
use lanyard_core::{Error, RequestMeta};
use lanyard_proto::TokenAuthMethod;
use serde_json::{Map, Value};

pub fn router() -> Router<AppState> {
    Router::new().route("/t/{tenant}/oidc/{connection}/callback", get(callback))
}

fn public(s: &AppState) -> String {
    s.config.public_url.as_str().to_owned()
}

/// Sends the browser to the provider's authorization endpoint (302). `test`: a console test
/// (reported at the callback, no session).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn start(
    s: &AppState,
    jar: &CookieJar,
    tenant: &str,
    conn: &str,
    return_to: Option<&str>,
    invitation_id: Option<&str>,
    test: bool,
    meta: &RequestMeta,
) -> Result<Response, PageError> {
    let binding = browser_binding(s, jar);
    let url = match s
        .lanyard
        .oidc_start(
            tenant,
            conn,
            lanyard_core::model::LoginStart {
                return_to,
                invitation_id,
                browser_binding: binding.as_deref(),
                test,
            },
            &public(s),
            meta,
        )
        .await
    {
        Ok(u) => u,
        Err(e) => {
            login_outcome("oidc", e.code());
            return Err(e.into());
        }
    };
    let mut res = StatusCode::FOUND.into_response();
    let v = HeaderValue::from_str(&url)
        .map_err(|_| Error::Internal("authorization URL is not a valid header".into()))?;
    res.headers_mut().insert(header::LOCATION, v);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    set_binding_cookie(
        s,
        &mut res,
        binding,
        lanyard_core::signin::oidc::PENDING_OIDC_TTL_SECS,
    );
    Ok(res)
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The token request: authorization_code grant with the PKCE verifier.
async fn redeem(s: &AppState, b: &CallbackBegun) -> Result<(String, Option<String>), Error> {
    let st = &b.settings;
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "authorization_code"),
        ("code", &b.code),
        ("redirect_uri", &b.redirect_uri),
        ("code_verifier", &b.code_verifier),
    ];
    let mut authorization = None;
    match (&b.client_secret, st.token_endpoint_auth_method) {
        (Some(secret), TokenAuthMethod::ClientSecretBasic) => {
            // RFC 6749 §2.3.1: both parts form-urlencoded before base64.
            let raw = format!("{}:{}", form_encode(&st.client_id), form_encode(secret));
            authorization = Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ));
        }
        (Some(secret), TokenAuthMethod::ClientSecretPost) => {
            form.push(("client_id", &st.client_id));
            form.push(("client_secret", secret));
        }
        (None, _) => form.push(("client_id", &st.client_id)),
    }
    let ep = Endpoint::Token;
    let url = st.token_endpoint.as_str();
    let (status, body) = crate::fetch::post_form(
        ep,
        url,
        &form,
        authorization.as_deref(),
        &s.config.outbound,
        MAX_RESPONSE_BYTES,
    )
    .await?;
    let json = serde_json::from_slice::<Value>(&body)
        .ok()
        .filter(Value::is_object);
    if !(200..300).contains(&status) {
        // RFC 6749 §5.2: the error answer names the reason.
        let field = |k: &str| {
            json.as_ref()
                .and_then(|j| j.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        return Err(failed(
            ep,
            url,
            Failure::HttpStatus {
                status,
                error: field("error"),
                description: field("error_description"),
            },
        ));
    }
    let json = json.ok_or_else(|| {
        failed(
            ep,
            url,
            Failure::Malformed(format!("HTTP {status}, the answer is not a JSON object")),
        )
    })?;
    let id_token = json
        .get("id_token")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            failed(
                ep,
                url,
                Failure::Malformed("the answer has no id_token".into()),
            )
        })?
        .to_owned();
    let access_token = json
        .get("access_token")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok((id_token, access_token))
}

/// One JWKS fetch per connection at a time. Callbacks that find the cache cold (after a start,
/// or once the cached keys expired) queue behind the first one's fetch and then read the cache,
/// instead of each sending the IdP its own request: a burst of sign-ins at 9:00 after a restart
/// would otherwise cost the IdP one JWKS request per person (measured: 21–34 per load run).
async fn cold_jwks(s: &AppState, b: &CallbackBegun) -> Result<std::sync::Arc<Jwks>, Error> {
    type Gates = std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>;
    static GATES: std::sync::LazyLock<std::sync::Mutex<Gates>> =
        std::sync::LazyLock::new(Default::default);
    let gate = {
        let mut gates = GATES.lock().unwrap_or_else(|p| p.into_inner());
        if gates.len() > 4096 {
            // Connections come and go; an idle gate is only memory.
            gates.retain(|_, g| std::sync::Arc::strong_count(g) > 1);
        }
        gates.entry(b.connection.id.clone()).or_default().clone()
    };
    let _turn = gate.lock().await;
    match s
        .lanyard
        .jwks_cache()
        .get(&b.connection.id, &b.settings.jwks_uri, s.lanyard.now())
    {
        Some(j) => Ok(j),
        None => fetch_jwks(s, b).await,
    }
}

async fn fetch_jwks(s: &AppState, b: &CallbackBegun) -> Result<std::sync::Arc<Jwks>, Error> {
    let url = b.settings.jwks_uri.as_str();
    let body = crate::fetch::get(
        Endpoint::Jwks,
        url,
        None,
        &s.config.outbound,
        MAX_RESPONSE_BYTES,
    )
    .await?;
    if serde_json::from_slice::<Value>(&body).is_err() {
        return Err(failed(
            Endpoint::Jwks,
            url,
            Failure::Malformed("the answer is not JSON".into()),
        ));
    }
    let jwks = Jwks::parse(&body).map_err(Error::Oidc)?;
    Ok(s.lanyard.jwks_cache().put(
        &b.connection.id,
        &b.settings.jwks_uri,
        jwks,
        s.lanyard.now(),
    ))
}

async fn userinfo(
    s: &AppState,
    b: &CallbackBegun,
    access_token: Option<&str>,
) -> Result<Option<Map<String, Value>>, Error> {
    let (true, Some(url), Some(at)) = (
        b.settings.use_userinfo,
        b.settings.userinfo_endpoint.as_deref(),
        access_token,
    ) else {
        return Ok(None);
    };
    let body = crate::fetch::get(
        Endpoint::Userinfo,
        url,
        Some(at),
        &s.config.outbound,
        MAX_RESPONSE_BYTES,
    )
    .await?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        _ => Err(failed(
            Endpoint::Userinfo,
            url,
            Failure::Malformed("the answer is not a JSON object".into()),
        )),
    }
}

/// The callback after its state checked out: the token (and userinfo) requests, the JWKS, and
/// the core's verdict. A failure of the requests here is the core's to audit and to spend the
/// state for ([`lanyard_core::Lanyard::oidc_callback_abandon`]); the core's own verdicts are
/// audited and spent by it.
async fn finish(s: &AppState, b: &CallbackBegun, meta: &RequestMeta) -> Result<OidcOutcome, Error> {
    let abandon = async |e: Error| {
        s.lanyard.oidc_callback_abandon(b, &e, meta).await;
        e
    };
    let (id_token, access_token) = match redeem(s, b).await {
        Ok(t) => t,
        Err(e) => return Err(abandon(e).await),
    };
    let info = match userinfo(s, b, access_token.as_deref()).await {
        Ok(i) => i,
        Err(e) => return Err(abandon(e).await),
    };
    let tokens = TokenResult {
        id_token: &id_token,
        access_token: access_token.as_deref(),
        userinfo: info.as_ref(),
    };
    if !b.settings.signing_certificates.is_empty() {
        // Pasted keys only: the JWKS URI is never fetched, and no refetch on an unknown kid.
        let jwks =
            match lanyard_core::signin::oidc::keys::pasted_jwks(&b.settings.signing_certificates) {
                Ok(j) => j,
                Err(e) => return Err(abandon(Error::OidcSigningKey(e)).await),
            };
        return s
            .lanyard
            .oidc_callback_finish(b, &tokens, &jwks, meta, true)
            .await;
    }
    let now = s.lanyard.now();
    let jwks = match s
        .lanyard
        .jwks_cache()
        .get(&b.connection.id, &b.settings.jwks_uri, now)
    {
        Some(j) => j,
        None => match cold_jwks(s, b).await {
            Ok(j) => j,
            Err(e) => return Err(abandon(e).await),
        },
    };
    match s
        .lanyard
        .oidc_callback_finish(b, &tokens, &jwks, meta, false)
        .await
    {
        Err(Error::Oidc(OidcError::UnknownKid)) => {
            // The provider rotated its keys: one refetch, at most once a minute per connection.
            let jwks = if s.lanyard.jwks_cache().claim_refetch(&b.connection.id, now) {
                match fetch_jwks(s, b).await {
                    Ok(j) => j,
                    Err(e) => return Err(abandon(e).await),
                }
            } else {
                jwks
            };
            s.lanyard
                .oidc_callback_finish(b, &tokens, &jwks, meta, true)
                .await
        }
        other => other,
    }
}

async fn callback(
    State(s): State<AppState>,
    Path((tenant, conn)): Path<(String, String)>,
    Meta(meta): Meta,
    headers: axum::http::HeaderMap,
    jar: CookieJar,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let mut p = CallbackParams::default();
    for (k, v) in url::form_urlencoded::parse(raw.as_deref().unwrap_or_default().as_bytes()) {
        let slot = match k.as_ref() {
            "code" => &mut p.code,
            "state" => &mut p.state,
            "iss" => &mut p.iss,
            "error" => &mut p.error,
            "error_description" => &mut p.error_description,
            _ => continue,
        };
        if slot.is_some() {
            // A repeated parameter: refuse rather than guess which one counts.
            p.state = None;
            break;
        }
        *slot = Some(v.into_owned());
    }
    let begun = match s
        .lanyard
        .oidc_callback_begin(
            &tenant,
            &conn,
            &p,
            binding_cookie(&jar).as_deref(),
            &public(&s),
            &meta,
        )
        .await
    {
        Ok(b) => b,
        Err(e) => {
            login_outcome("oidc", e.code());
            return Err(e.into());
        }
    };
    let result = finish(&s, &begun, &meta).await;
    match result {
        Ok(OidcOutcome::Tested(report)) => {
            login_outcome("oidc", "test");
            let lang = crate::i18n::Lang::of_request(&headers, &jar);
            Ok(crate::pages::test_result(lang, &report))
        }
        Ok(OidcOutcome::SignedIn(login)) => {
            let login = *login;
            login_outcome("oidc", "ok");
            crate::metrics::provisioning_outcome("oidc", login.provisioning);
            let mut res = signed_in(&s, jar, login.session, login.return_to);
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(res)
        }
        Err(e) => {
            login_outcome("oidc", e.code());
            Err(e.into())
        }
    }
}
