//! The admin API's route table: every documented route with a valid body, exercised by the
//! route-table tests in `api.rs` (kept apart so that neither file outgrows the size limit).

use serde_json::{Value, json};

/// Every route of the OpenAPI document, with a valid body for those that take one.
pub(crate) fn routes(uid: &str) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("GET", "/api/v1/tenants".into(), None),
        (
            "POST",
            "/api/v1/tenants".into(),
            Some(json!({"slug": "fresh", "name": "Fresh"})),
        ),
        ("GET", "/api/v1/tenants/acme".into(), None),
        (
            "PATCH",
            "/api/v1/tenants/acme".into(),
            Some(json!({"name": "Acme 2"})),
        ),
        ("GET", "/api/v1/tenants/acme/roles".into(), None),
        (
            "POST",
            "/api/v1/tenants/acme/roles".into(),
            Some(json!({"name": "billing"})),
        ),
        ("DELETE", "/api/v1/tenants/acme/roles/billing".into(), None),
        ("GET", "/api/v1/tenants/acme/users".into(), None),
        (
            "POST",
            "/api/v1/tenants/acme/users".into(),
            Some(json!({"username": "kim"})),
        ),
        ("GET", format!("/api/v1/tenants/acme/users/{uid}"), None),
        (
            "PATCH",
            format!("/api/v1/tenants/acme/users/{uid}"),
            Some(json!({"display_name": "Jo J"})),
        ),
        ("DELETE", format!("/api/v1/tenants/acme/users/{uid}"), None),
        (
            "POST",
            format!("/api/v1/tenants/acme/users/{uid}/sessions/revoke"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/tenants/acme/users/{uid}/federated-identities"),
            None,
        ),
        (
            "PUT",
            format!("/api/v1/tenants/acme/users/{uid}/federated-identities/okta"),
            Some(json!({"federation_id": "00u-jo"})),
        ),
        (
            "DELETE",
            format!("/api/v1/tenants/acme/users/{uid}/federated-identities/okta"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/tenants/acme/users/{uid}/api-tokens"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/tenants/acme/users/{uid}/api-tokens"),
            Some(json!({"name": "laptop"})),
        ),
        (
            "DELETE",
            format!("/api/v1/tenants/acme/users/{uid}/api-tokens/some-token"),
            None,
        ),
        ("GET", "/api/v1/tenants/acme/invitations".into(), None),
        (
            "POST",
            "/api/v1/tenants/acme/invitations".into(),
            Some(json!({"all": true})),
        ),
        ("GET", "/api/v1/tenants/acme/sessions".into(), None),
        (
            "DELETE",
            "/api/v1/tenants/acme/sessions/some-session".into(),
            None,
        ),
        ("GET", "/api/v1/tenants/acme/outbox".into(), None),
        ("GET", "/api/v1/api-keys".into(), None),
        (
            "POST",
            "/api/v1/api-keys".into(),
            Some(json!({"name": "ops"})),
        ),
        ("DELETE", "/api/v1/api-keys/some-key".into(), None),
        ("GET", "/api/v1/tenants/acme/api-keys".into(), None),
        (
            "POST",
            "/api/v1/tenants/acme/api-keys".into(),
            Some(json!({"name": "ci"})),
        ),
        (
            "DELETE",
            "/api/v1/tenants/acme/api-keys/some-key".into(),
            None,
        ),
        ("GET", "/api/v1/audit-events".into(), None),
        ("GET", "/api/v1/tenants/acme/audit-events".into(), None),
        ("GET", "/api/v1/tenants/acme/connections".into(), None),
        (
            "POST",
            "/api/v1/tenants/acme/connections".into(),
            Some(json!({
                "slug": "okta", "name": "Okta", "idp_entity_id": crate::saml_idp::IDP,
                "sso_url": crate::saml_idp::SSO_URL, "certificates": [crate::saml_idp::cert_pem("idp")],
            })),
        ),
        ("GET", "/api/v1/tenants/acme/connections/okta".into(), None),
        (
            "PATCH",
            "/api/v1/tenants/acme/connections/okta".into(),
            Some(json!({"name": "Okta 2"})),
        ),
        (
            "POST",
            "/api/v1/tenants/acme/jwt-connections".into(),
            Some(json!({
                "slug": "portal", "name": "Portal", "login_url": "https://portal.example/login",
                "secret_key": "0123456789abcdef0123456789abcdef",
            })),
        ),
        (
            "PATCH",
            "/api/v1/tenants/acme/jwt-connections/okta".into(),
            Some(json!({"name": "Portal 2"})),
        ),
        (
            "POST",
            "/api/v1/tenants/acme/oidc-connections".into(),
            Some(json!({
                "slug": "entra", "name": "Entra", "issuer": "https://login.example.com/t/v2.0",
                "client_id": "c", "authorization_endpoint": "https://login.example.com/auth",
                "token_endpoint": "https://login.example.com/token", "jwks_uri": "https://login.example.com/jwks",
            })),
        ),
        (
            "PATCH",
            "/api/v1/tenants/acme/oidc-connections/okta".into(),
            Some(json!({"name": "Entra 2"})),
        ),
        (
            "DELETE",
            "/api/v1/tenants/acme/connections/okta".into(),
            None,
        ),
        (
            "POST",
            format!("/api/v1/tenants/acme/users/{uid}/require-password-change"),
            None,
        ),
        ("GET", "/api/v1/tenants/acme/setup-links".into(), None),
        (
            "POST",
            "/api/v1/tenants/acme/setup-links".into(),
            Some(json!({"note": "IT"})),
        ),
        (
            "POST",
            "/api/v1/tenants/acme/setup-links/some-link/revoke".into(),
            None,
        ),
        ("GET", "/api/v1/tenants/acme/domains".into(), None),
        (
            "POST",
            "/api/v1/tenants/acme/domains".into(),
            Some(json!({"domain": "corp.example"})),
        ),
        (
            "POST",
            "/api/v1/tenants/acme/domains/corp.example/check".into(),
            None,
        ),
        (
            "POST",
            "/api/v1/tenants/acme/domains/corp.example/override".into(),
            None,
        ),
        (
            "DELETE",
            "/api/v1/tenants/acme/domains/corp.example".into(),
            None,
        ),
        ("GET", "/api/v1/apps".into(), None),
        (
            "POST",
            "/api/v1/apps".into(),
            Some(json!({"name": "App", "redirect_uris": ["https://app.example/cb"]})),
        ),
        ("GET", "/api/v1/apps/some-app".into(), None),
        (
            "PATCH",
            "/api/v1/apps/some-app".into(),
            Some(json!({"name": "App 2"})),
        ),
        ("DELETE", "/api/v1/apps/some-app".into(), None),
        ("POST", "/api/v1/apps/some-app/secret".into(), None),
        ("GET", "/api/v1/tenants/acme/sites".into(), None),
        (
            "POST",
            "/api/v1/tenants/acme/sites".into(),
            Some(json!({"host": "docs.acme.example"})),
        ),
        (
            "PATCH",
            "/api/v1/tenants/acme/sites/docs.acme.example".into(),
            Some(json!({"sso_enabled": false})),
        ),
        (
            "GET",
            "/api/v1/tenants/acme/sites/docs.acme.example/resources".into(),
            None,
        ),
        (
            "PUT",
            "/api/v1/tenants/acme/sites/docs.acme.example/resources".into(),
            Some(json!({"kind": "page", "paths": ["/a"], "audience": "sso"})),
        ),
        ("GET", "/api/v1/tenants/acme/lists".into(), None),
        (
            "POST",
            "/api/v1/tenants/acme/lists".into(),
            Some(json!({"name": "partners"})),
        ),
        (
            "PUT",
            "/api/v1/tenants/acme/lists/some-list/members/ann@acme.test".into(),
            None,
        ),
        (
            "DELETE",
            "/api/v1/tenants/acme/lists/some-list/members/ann@acme.test".into(),
            None,
        ),
        (
            "POST",
            "/api/v1/tenants/acme/lists/some-list/import".into(),
            Some(json!({"csv": "email\nann@acme.test"})),
        ),
        (
            "GET",
            "/api/v1/tenants/acme/sites/docs.acme.example/contacts".into(),
            None,
        ),
        (
            "PUT",
            "/api/v1/tenants/acme/sites/docs.acme.example/contacts/ann@acme.test".into(),
            None,
        ),
        (
            "DELETE",
            "/api/v1/tenants/acme/sites/docs.acme.example/contacts/ann@acme.test".into(),
            None,
        ),
        (
            "POST",
            "/api/v1/tenants/acme/sites/docs.acme.example/contacts/import".into(),
            Some(json!({"csv": "email\nann@acme.test"})),
        ),
    ]
}
