//! Server-rendered pages (askama: compile-time checked, auto-escaped).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// No scripts, no framing, forms only to ourselves.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's and setup portal's pages: scripts only from this server (`console.js`).
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub tenant_slug: &'a str,
    pub tenant_name: &'a str,
    pub csrf_token: &'a str,
    pub return_to: &'a str,
    pub username: &'a str,
    pub error: Option<String>,
    pub error_code: &'a str,
    /// What to do about the refusal (every `login.*` refusal has one).
    pub error_help: Option<String>,
    /// Sign-in buttons: (connection name, start URL).
    pub sso: &'a [(String, String)],
    /// Whether the password form is shown (not when network masks sent the client to SSO).
    pub password_form: bool,
    /// Why the browser's session ended under it (expired, revoked), if it did.
    pub notice: Option<&'a str>,
    /// The one-time "log out and sign in again" link shown with the notice.
    pub recover_href: Option<&'a str>,
}

/// The generic sign-in page, `/login`: work email or username, then (when no verified domain
/// names the tenant) the organisation.
#[derive(Template)]
#[template(path = "login_generic.html")]
pub struct GenericLoginPage<'a> {
    pub csrf_token: &'a str,
    pub return_to: &'a str,
    pub identifier: &'a str,
    pub organisation: &'a str,
    pub ask_organisation: bool,
    pub error: Option<String>,
    pub error_code: &'a str,
}

/// The direct sign-in page, `/t/{tenant}/login/direct`: username, then password; never SSO.
#[derive(Template)]
#[template(path = "login_direct.html")]
pub struct DirectLoginPage<'a> {
    pub tenant_slug: &'a str,
    pub tenant_name: &'a str,
    pub csrf_token: &'a str,
    pub return_to: &'a str,
    pub username: &'a str,
    pub ask_password: bool,
    pub error: Option<String>,
    pub error_code: &'a str,
    pub error_help: Option<String>,
    /// SSO buttons, offered only when a password was refused because SSO is required.
    pub sso: &'a [(String, String)],
}

/// The OpenID provider asks which organisation (tenant) the person belongs to.
#[derive(Template)]
#[template(path = "provider_org.html")]
pub struct ProviderOrgPage<'a> {
    pub app_name: &'a str,
    /// The authorization request's parameters, sent again with the organisation.
    pub hidden: Vec<(String, String)>,
}

/// The device flow's code entry (RFC 8628 §3.3).
#[derive(Template)]
#[template(path = "device_code.html")]
pub struct DeviceCodePage<'a> {
    pub user_code: &'a str,
    pub message: Option<&'a str>,
}

/// The device flow's confirmation: which app asks, from which IP and when.
#[derive(Template)]
#[template(path = "device_confirm.html")]
pub struct DeviceConfirmPage<'a> {
    pub app_name: &'a str,
    pub tenant_name: &'a str,
    pub username: &'a str,
    pub user_code: &'a str,
    pub machine_name: &'a str,
    pub client_ip: &'a str,
    pub asked_at: &'a str,
    pub csrf_token: &'a str,
}

/// A page with one message (and a link onward).
#[derive(Template)]
#[template(path = "notice.html")]
pub struct NoticePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub link: Option<(&'a str, &'a str)>,
}

/// The upgrade invitation: connect the account to SSO now, or later.
#[derive(Template)]
#[template(path = "invite.html")]
pub struct InvitePage<'a> {
    pub tenant_name: &'a str,
    pub username: &'a str,
    pub connection_name: &'a str,
    pub declined: bool,
    pub action: &'a str,
    pub csrf_token: &'a str,
}

/// Email confirmation: one button, so that mail scanners fetching the link confirm nothing.
#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage<'a> {
    pub tenant_name: &'a str,
    pub username: &'a str,
    pub action: &'a str,
    pub csrf_token: &'a str,
}

/// Choose a new password from a reset link.
#[derive(Template)]
#[template(path = "reset.html")]
pub struct ResetPage<'a> {
    pub tenant_name: &'a str,
    pub username: &'a str,
    pub action: &'a str,
    pub csrf_token: &'a str,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "signed_in.html")]
pub struct SignedInPage<'a> {
    pub tenant_slug: &'a str,
    pub tenant_name: &'a str,
    pub username: &'a str,
    pub role: &'a str,
    pub auth_method: &'a str,
    pub expires_at: &'a str,
    pub csrf_token: &'a str,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    /// Back to the tenant's sign-in page, on errors under `/t/{tenant}/`.
    sign_in: Option<String>,
    message: &'a str,
    help: Option<&'a str>,
    code: &'a str,
    request_id: Option<String>,
}

/// The HTTP-POST binding page: a form to the IdP with a button, submitted at once by the one
/// inline script its CSP allows (by nonce); without JavaScript the person presses the button.
#[derive(Template)]
#[template(path = "saml_post.html")]
pub struct SamlPostPage<'a> {
    pub sso_url: &'a str,
    pub saml_request: &'a str,
    pub relay_state: &'a str,
    pub nonce: &'a str,
    pub script: &'a str,
}

pub const SAML_POST_SCRIPT: &str = "document.getElementById(\"saml-form\").submit();";

/// Renders the POST-binding page; `form_origin` is the IdP origin the form may post to.
pub fn render_saml_post(
    sso_url: &str,
    saml_request: &str,
    relay_state: &str,
    form_origin: &str,
) -> Response {
    let nonce = lanyard_core::secret::random_token();
    let page = SamlPostPage {
        sso_url,
        saml_request,
        relay_state,
        nonce: &nonce,
        script: SAML_POST_SCRIPT,
    };
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; form-action {form_origin}; frame-ancestors 'none'; base-uri 'none'"
    );
    render_with_csp(StatusCode::OK, &page, &csp)
}

/// Renders a page with the headers every HTML response gets.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    render_with_csp(status, page, CSP)
}

pub(crate) fn render_with_csp(status: StatusCode, page: &impl Template, csp: &str) -> Response {
    match page.render() {
        Ok(html) => {
            let mut res = (status, Html(html)).into_response();
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_str(csp).unwrap_or_else(|_| HeaderValue::from_static(CSP)),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub fn error_page(status: StatusCode, code: &str, message: &str) -> Response {
    error_page_with_help(status, code, message, None)
}

/// The error page with a sentence on what to do (the SAML verifier's `help()`, for example).
pub fn error_page_with_help(
    status: StatusCode,
    code: &str,
    message: &str,
    help: Option<&str>,
) -> Response {
    let path = crate::metrics::CURRENT_PATH
        .try_with(Clone::clone)
        .unwrap_or_default();
    let t = crate::i18n::Tr::current();
    let title = t.t(error_title(status, code, &path));
    let message = t.explain(code, message);
    let help = help.and_then(|h| t.explain_help_opt(code, h));
    let request_id = crate::metrics::CURRENT_REQUEST_ID
        .try_with(Clone::clone)
        .ok()
        .filter(|s| !s.is_empty());
    render(
        status,
        &ErrorPage {
            title,
            sign_in: tenant_of(&path).map(|t| format!("/t/{t}/login")),
            message: &message,
            help: help.as_deref(),
            code,
            request_id,
        },
    )
}

/// The tenant slug of a `/t/{tenant}/…` path, when it is one a slug can be (so it is safe
/// to put in a link).
fn tenant_of(path: &str) -> Option<&str> {
    let slug = path.strip_prefix("/t/")?.split('/').next()?;
    let ok = !slug.is_empty()
        && slug.len() <= 63
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    ok.then_some(slug)
}

/// The catalogue key of the page heading: what happened, by the area of the error code first (a failed single
/// sign-on reads as such whatever its status), else by the status.
fn error_title(status: StatusCode, code: &str, path: &str) -> &'static str {
    let area = code.split('.').next().unwrap_or_default();
    // The identity-provider legs (JWT remote login keeps its customers' codes, without an area).
    let sso_leg = path
        .strip_prefix("/t/")
        .and_then(|rest| rest.split('/').nth(1))
        .is_some_and(|leg| matches!(leg, "sso" | "saml" | "oidc" | "jwt"));
    match area {
        "saml" | "oidc" | "jwt" | "sso" => return "pg-error-sso-failed",
        "login" => return "pg-error-login-failed",
        "invitation" | "link" => return "pg-error-link-unusable",
        "connection" if status.is_client_error() => {
            return "pg-error-sso-unavailable";
        }
        _ if sso_leg && status == StatusCode::NOT_FOUND => {
            return "pg-error-sso-unavailable";
        }
        _ if sso_leg && !status.is_server_error() => return "pg-error-sso-failed",
        _ => {}
    }
    match status {
        StatusCode::NOT_FOUND => "error-title-not-found",
        StatusCode::UNAUTHORIZED => "error-title-unauthenticated",
        StatusCode::FORBIDDEN => "error-title-forbidden",
        StatusCode::TOO_MANY_REQUESTS => "pg-error-too-many",
        s if s.is_server_error() => "error-title-server",
        _ => "error-title-refused",
    }
}

#[derive(Template)]
#[template(path = "console/test_result.html")]
struct TestResultPage<'a> {
    t: crate::i18n::Tr,
    r: &'a lanyard_core::console::test::TestReport,
    headline: String,
    jit_kind: &'static str,
    jit_text: String,
    jit_rows: Vec<(String, String, String)>,
    role_text: String,
    warnings: &'a [String],
}

/// The result of a console test sign-in (the ACS renders it instead of opening a session).
pub fn test_result(
    lang: crate::i18n::Lang,
    r: &lanyard_core::console::test::TestReport,
) -> Response {
    use lanyard_core::console::test::JitPreview;
    let t = lang.tr();
    let none = t.t("none");
    let (jit_kind, jit_text, jit_rows) = match &r.jit {
        JitPreview::Create {
            username,
            email,
            display_name,
        } => (
            "create",
            t.f("test-jit-create", [("username", username)]),
            vec![
                (
                    t.t("field-username").to_owned(),
                    username.clone(),
                    String::new(),
                ),
                (
                    t.t("field-email").to_owned(),
                    email.clone().unwrap_or_else(|| none.to_owned()),
                    String::new(),
                ),
                (
                    t.t("field-display-name").to_owned(),
                    display_name.clone().unwrap_or_else(|| none.to_owned()),
                    String::new(),
                ),
            ],
        ),
        JitPreview::Update { username, changes } => (
            "update",
            if changes.is_empty() {
                t.f("test-jit-linked-unchanged", [("username", username)])
            } else {
                t.f("test-jit-linked-update", [("username", username)])
            },
            changes.clone(),
        ),
        JitPreview::Refused { code, message } => (
            "refused",
            t.f("test-jit-refused", [("code", code), ("message", message)]),
            Vec::new(),
        ),
    };
    let role = r.role.as_deref().unwrap_or(none);
    let role_text = t.f(
        &format!("test-role-{}", r.role_source.replace('_', "-")),
        [("role", role)],
    );
    render_with_csp(
        StatusCode::OK,
        &TestResultPage {
            t,
            r,
            headline: t.f("test-result-ok", [("connection", &r.connection_name)]),
            jit_kind,
            jit_text,
            jit_rows,
            role_text,
            warnings: &r.warnings,
        },
        CONSOLE_CSP,
    )
}

/// Fallback for unknown paths: JSON under the API, a page elsewhere.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        crate::error::ApiError::new(
            StatusCode::NOT_FOUND,
            "request.unknown_route",
            "no API endpoint at this path; see /api/v1/openapi.json",
        )
        .into_response()
    } else {
        error_page(
            StatusCode::NOT_FOUND,
            "request.unknown_route",
            "There is no page at this address.",
        )
    }
}

/// The registration audience's sign-in: ask for the email an emailed link goes to.
#[derive(Template)]
#[template(path = "content_link.html")]
pub struct ContentLinkPage<'a> {
    pub host: &'a str,
    pub site_id: &'a str,
    pub return_to: &'a str,
    pub csrf_token: &'a str,
    pub email: &'a str,
    pub error: Option<String>,
    pub error_code: &'a str,
}
