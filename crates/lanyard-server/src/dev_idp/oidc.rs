//! The test IdP's OpenID provider: discovery, JWKS, authorize (the picker page), token
//! (authorization code + PKCE S256, client_secret_basic or _post) and userinfo.

use super::faults::Outcome;
use super::{CLIENT_ID, DevIdp, DevIdpError, Pick, PickPage};
use crate::pages;
use axum::Json;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// Codes and access tokens kept at most (the oldest go first); a test tool's memory.
const MAX_KEPT: usize = 1000;
const CODE_TTL_SECS: i64 = 120;
const CURRENT_KID: &str = "test-idp-current";
const ROTATED_KID: &str = "test-idp-rotated";

pub(super) struct Grant {
    redirect_uri: String,
    code_challenge: String,
    id_token: String,
    claims: Value,
    issued: i64,
}

pub(super) async fn discovery(State(idp): State<Arc<DevIdp>>) -> Json<Value> {
    let o = idp.issuer();
    Json(json!({
        "issuer": o,
        "authorization_endpoint": format!("{o}/authorize"),
        "token_endpoint": format!("{o}/token"),
        "userinfo_endpoint": format!("{o}/userinfo"),
        "jwks_uri": format!("{o}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["openid", "profile", "email"],
        "claims_supported": ["sub", "email", "email_verified", "name", "groups", "amr"],
        "authorization_response_iss_parameter_supported": true,
    }))
}

pub(super) async fn jwks(State(idp): State<Arc<DevIdp>>) -> Result<Json<Value>, DevIdpError> {
    // Only the current key: the "rotated" one is what an IdP would sign with after a rotation
    // the relying party has not seen yet.
    let mut jwk = serde_json::to_value(
        jsonwebtoken::jwk::Jwk::from_encoding_key(&idp.jwt_current, jsonwebtoken::Algorithm::RS256)
            .map_err(|e| DevIdpError::Keys(e.to_string()))?,
    )
    .map_err(|e| DevIdpError::Internal(e.to_string()))?;
    if let Some(o) = jwk.as_object_mut() {
        o.insert("kid".into(), json!(CURRENT_KID));
        o.insert("use".into(), json!("sig"));
    }
    Ok(Json(json!({ "keys": [jwk] })))
}

#[derive(Deserialize)]
pub(super) struct AuthorizeQuery {
    client_id: String,
    redirect_uri: String,
    response_type: String,
    state: String,
    #[serde(default)]
    nonce: Option<String>,
    code_challenge: String,
    #[serde(default)]
    code_challenge_method: Option<String>,
    #[serde(default)]
    fault: Option<String>,
    #[serde(default)]
    skew: Option<String>,
}

pub(super) async fn authorize_get(
    State(idp): State<Arc<DevIdp>>,
    Query(q): Query<AuthorizeQuery>,
) -> Result<Response, DevIdpError> {
    if q.client_id != CLIENT_ID {
        return Err(DevIdpError::BadRequest(format!(
            "unknown client_id `{}`; the test IdP knows `{CLIENT_ID}`",
            q.client_id
        )));
    }
    if q.response_type != "code" || q.code_challenge_method.as_deref() != Some("S256") {
        return Err(DevIdpError::BadRequest(
            "the test IdP supports response_type=code with PKCE S256 only".into(),
        ));
    }
    let selected = q.fault.unwrap_or_else(|| "none".into());
    if super::faults::find(&selected).is_none() {
        return Err(DevIdpError::UnknownFault(selected));
    }
    // The picker posts to the IdP, which redirects to the client: browsers apply form-action to
    // that redirect too, so the client's origin is allowed beside the IdP's own.
    let client_origin = url::Url::parse(&q.redirect_uri)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.origin().ascii_serialization())
        .ok_or_else(|| DevIdpError::BadRequest("redirect_uri must be an http(s) URL".into()))?;
    let page = PickPage {
        protocol: "OpenID Connect",
        action: format!("{}/authorize", idp.issuer()),
        hidden: vec![
            ("redirect_uri", q.redirect_uri),
            ("state", q.state),
            ("nonce", q.nonce.unwrap_or_default()),
            ("code_challenge", q.code_challenge),
        ],
        people: super::PEOPLE,
        faults: PickPage::faults_for(true),
        selected,
        skew: q.skew.unwrap_or_default(),
    };
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' {client_origin}; frame-ancestors 'none'; base-uri 'none'"
    );
    Ok(pages::render_with_csp(StatusCode::OK, &page, &csp))
}

#[derive(Deserialize)]
pub(super) struct AuthorizeForm {
    redirect_uri: String,
    state: String,
    #[serde(default)]
    nonce: String,
    code_challenge: String,
    #[serde(flatten)]
    pick: Pick,
}

fn lock<T>(m: &std::sync::Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>, DevIdpError> {
    m.lock()
        .map_err(|_| DevIdpError::Internal("state lock poisoned".into()))
}

fn random() -> String {
    lanyard_core::secret::random_token()
}

pub(super) async fn authorize_post(
    State(idp): State<Arc<DevIdp>>,
    Form(f): Form<AuthorizeForm>,
) -> Result<Response, DevIdpError> {
    let s = f.pick.resolve()?;
    if s.fault.oidc == Outcome::NotApplicable {
        return Err(DevIdpError::BadRequest(format!(
            "the fault `{}` applies to SAML only",
            s.fault.id
        )));
    }
    let mut redirect = url::Url::parse(&f.redirect_uri)
        .map_err(|e| DevIdpError::BadRequest(format!("redirect_uri: {e}")))?;
    let fault = s.fault.id;
    let now = idp.now() + s.clock_offset;
    let (iat, exp) = match fault {
        "expired" => (now - 7200, now - 3600),
        "not_yet_valid" => (now + 3600, now + 7200),
        _ => (now, now + 300),
    };
    let mut claims = json!({
        "iss": if fault == "wrong_issuer" { "https://wrong-issuer.example".to_owned() } else { idp.issuer() },
        "sub": s.opaque_id(),
        "aud": if fault == "wrong_audience" { "someone-else" } else { CLIENT_ID },
        "iat": iat,
        "exp": exp,
        "auth_time": iat,
        "nonce": f.nonce,
        "email": s.email,
        "email_verified": fault != "unverified_email",
        "amr": if fault == "amr_without_mfa" { json!(["pwd"]) } else { json!(["pwd", "mfa"]) },
    });
    if let Some(o) = claims.as_object_mut() {
        if fault == "not_yet_valid" {
            o.insert("nbf".into(), json!(iat));
        }
        if !s.name.is_empty() {
            o.insert("name".into(), json!(s.name));
        }
        if fault == "missing_email" {
            o.remove("email");
            o.remove("email_verified");
        }
        if fault == "groups_overage" {
            o.insert("_claim_names".into(), json!({ "groups": "src1" }));
            o.insert(
                "_claim_sources".into(),
                json!({ "src1": { "endpoint": "https://graph.microsoft.com/v1.0/users/me/getMemberObjects" } }),
            );
        } else {
            o.insert("groups".into(), json!(s.groups));
        }
    }
    let id_token = match fault {
        "unsigned" => format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        ),
        _ => {
            let (key, kid) = if fault == "rotated_key" {
                (&idp.jwt_rotated, ROTATED_KID)
            } else {
                (&idp.jwt_current, CURRENT_KID)
            };
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
            header.kid = Some(kid.into());
            jsonwebtoken::encode(&header, &claims, key)
                .map_err(|e| DevIdpError::Internal(format!("signing: {e}")))?
        }
    };
    let code = random();
    {
        let mut grants = lock(&idp.grants)?;
        let oldest = idp.now() - CODE_TTL_SECS;
        grants.retain(|_, g| g.issued >= oldest);
        if grants.len() >= MAX_KEPT {
            grants.clear();
        }
        grants.insert(
            code.clone(),
            Grant {
                redirect_uri: f.redirect_uri.clone(),
                code_challenge: f.code_challenge,
                id_token,
                claims,
                issued: idp.now(),
            },
        );
    }
    redirect
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &f.state)
        .append_pair("iss", &idp.issuer());
    Ok(Redirect::to(redirect.as_str()).into_response())
}

#[derive(Deserialize)]
pub(super) struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: String,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v.strip_prefix("Basic ")?;
    let text = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

pub(super) async fn token(
    State(idp): State<Arc<DevIdp>>,
    headers: HeaderMap,
    Form(f): Form<TokenForm>,
) -> Response {
    let creds =
        basic_credentials(&headers).or_else(|| f.client_id.clone().zip(f.client_secret.clone()));
    let authenticated = creds.is_some_and(|(id, secret)| {
        id == CLIENT_ID
            && lanyard_core::secret::constant_time_eq(
                secret.as_bytes(),
                idp.client_secret().as_bytes(),
            )
    });
    if !authenticated {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    if f.grant_type != "authorization_code" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "authorization_code only",
        );
    }
    let grant = match lock(&idp.grants) {
        Ok(mut g) => g.remove(&f.code),
        Err(e) => return e.into_response(),
    };
    let Some(grant) = grant.filter(|g| g.issued + CODE_TTL_SECS >= idp.now()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "unknown, used or expired code",
        );
    };
    let challenge = URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, f.code_verifier.as_bytes()).as_ref(),
    );
    if grant.redirect_uri != f.redirect_uri || challenge != grant.code_challenge {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "redirect_uri or PKCE verifier does not match",
        );
    }
    let access_token = random();
    match lock(&idp.tokens) {
        Ok(mut t) => {
            if t.len() >= MAX_KEPT {
                t.clear();
            }
            t.insert(access_token.clone(), grant.claims);
        }
        Err(e) => return e.into_response(),
    }
    let mut res = Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": grant.id_token,
    }))
    .into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    res
}

pub(super) async fn userinfo(State(idp): State<Arc<DevIdp>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let claims = match (token, lock(&idp.tokens)) {
        (Some(t), Ok(map)) => map.get(t).cloned(),
        (_, Err(e)) => return e.into_response(),
        (None, _) => None,
    };
    match claims {
        Some(mut c) => {
            if let Some(o) = c.as_object_mut() {
                for k in [
                    "iss",
                    "aud",
                    "iat",
                    "exp",
                    "nbf",
                    "nonce",
                    "auth_time",
                    "amr",
                ] {
                    o.remove(k);
                }
            }
            Json(c).into_response()
        }
        None => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "unknown access token",
        ),
    }
}
