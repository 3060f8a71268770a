use crate::api_routes::routes;
use crate::harness::{PW, TestApp, method};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

/// Counts that any accepted change would move (every change writes an audit event).
async fn snapshot(app: &TestApp) -> (usize, i64, usize) {
    let audit = app
        .lanyard
        .store
        .list_audit(&lanyard_core::model::AuditFilter {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    let tenants = app.lanyard.store.count_tenants().await.unwrap();
    let t = app
        .lanyard
        .store
        .tenant_by_slug("acme")
        .await
        .unwrap()
        .unwrap();
    let users = app
        .lanyard
        .store
        .list_users(&t.id, None, 1000)
        .await
        .unwrap()
        .len();
    (audit, tenants, users)
}

async fn user_id(app: &TestApp) -> String {
    let r = app
        .api(Method::GET, "/api/v1/tenants/acme/users", None, None)
        .await;
    r.json()["items"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_route_table_covers_the_openapi_document() {
    let app = TestApp::new().await;
    let doc = app.get("/api/v1/openapi.json", None).await.json();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in item.as_object().unwrap().keys() {
            documented.push((m.to_uppercase(), path.clone()));
        }
    }
    let normalise = |p: &str| {
        p.replace("/acme", "/{tenant}")
            .replace("/billing", "/{role}")
            .replace("/some-session", "/{session_id}")
            .replace("/some-key", "/{key_id}")
            .replace("/some-token", "/{token_id}")
            .replace("/UID", "/{user_id}")
            .replace("/okta", "/{connection}")
            .replace("/some-app", "/{client_id}")
            .replace("/corp.example", "/{domain}")
            .replace("/docs.acme.example", "/{host}")
            .replace("/some-list", "/{list_id}")
            .replace("/some-link/", "/{id}/")
            .replace("/ann@acme.test", "/{email}")
    };
    let mut tested: Vec<(String, String)> = routes("UID")
        .into_iter()
        .map(|(m, p, _)| (m.to_owned(), normalise(&p)))
        .collect();
    documented.sort();
    tested.sort();
    assert_eq!(
        documented, tested,
        "every documented route is exercised below, and nothing undocumented is"
    );
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
}

#[tokio::test]
async fn every_route_requires_a_valid_api_key() {
    let app = TestApp::new().await;
    let uid = user_id(&app).await;
    let before = snapshot(&app).await;
    for (m, path, body) in routes(&uid) {
        let mut b = Request::builder().method(method(m)).uri(&path);
        if body.is_some() {
            b = b.header(header::CONTENT_TYPE, "application/json");
        }
        let res = app
            .send(
                b.body(Body::from(body.map(|v| v.to_string()).unwrap_or_default()))
                    .unwrap(),
            )
            .await;
        assert_eq!(
            (res.status, res.code().as_str()),
            (StatusCode::UNAUTHORIZED, "auth.api_key_missing"),
            "{m} {path}"
        );
        let res = app
            .api(method(m), &path, None, Some("lny_not-a-real-key"))
            .await;
        assert_eq!(
            (res.status, res.code().as_str()),
            (StatusCode::UNAUTHORIZED, "auth.api_key_invalid"),
            "{m} {path}"
        );
    }
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn bad_bodies_get_json_errors_and_change_nothing() {
    let app = TestApp::new().await;
    let uid = user_id(&app).await;
    let before = snapshot(&app).await;
    for (m, path, body) in routes(&uid) {
        let Some(good) = body else { continue };
        let send = |ct: Option<&'static str>, raw: String| {
            let mut b = Request::builder()
                .method(method(m))
                .uri(&path)
                .header(header::AUTHORIZATION, format!("Bearer {}", app.key));
            if let Some(ct) = ct {
                b = b.header(header::CONTENT_TYPE, ct);
            }
            b.body(Body::from(raw)).unwrap()
        };
        let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
            (
                send(Some("application/json"), "{,}".into()),
                StatusCode::BAD_REQUEST,
                "request.malformed_json",
            ),
            (
                send(Some("application/json"), "[1, 2]".into()),
                StatusCode::UNPROCESSABLE_ENTITY,
                "request.invalid_body",
            ),
            (
                send(Some("application/json"), {
                    let mut v = good.clone();
                    v["unexpected_field"] = json!(1);
                    v.to_string()
                }),
                StatusCode::UNPROCESSABLE_ENTITY,
                "request.invalid_body",
            ),
            (
                send(Some("application/json"), {
                    let mut v = good.clone();
                    let k = v.as_object().unwrap().keys().next().unwrap().clone();
                    v[&k] = json!(42);
                    v.to_string()
                }),
                StatusCode::UNPROCESSABLE_ENTITY,
                "request.invalid_body",
            ),
            (
                send(Some("text/plain"), good.to_string()),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "request.unsupported_media_type",
            ),
            (
                send(None, good.to_string()),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "request.unsupported_media_type",
            ),
            (
                send(
                    Some("application/json"),
                    format!("{{\"name\": \"{}\"}}", "x".repeat(70 * 1024)),
                ),
                StatusCode::PAYLOAD_TOO_LARGE,
                "request.body_too_large",
            ),
        ];
        for (i, (req, status, code)) in cases.into_iter().enumerate() {
            let res = app.send(req).await;
            assert_eq!(
                (res.status, res.code().as_str()),
                (status, code),
                "{m} {path} case {i}: {}",
                res.text()
            );
            assert!(res.json()["error"]["message"].as_str().unwrap().len() > 10);
            assert!(res.json()["error"]["request_id"].is_string());
        }
    }
    assert_eq!(
        snapshot(&app).await,
        before,
        "no bad request changed anything"
    );
}

#[tokio::test]
async fn unknown_ids_and_bad_queries_are_4xx_with_codes() {
    let app = TestApp::new().await;
    let before = snapshot(&app).await;
    let cases = [
        (
            Method::GET,
            "/api/v1/tenants/nope",
            StatusCode::NOT_FOUND,
            "tenant.not_found",
        ),
        (
            Method::GET,
            "/api/v1/tenants/acme/users/nope",
            StatusCode::NOT_FOUND,
            "user.not_found",
        ),
        (
            Method::PATCH,
            "/api/v1/tenants/acme/users/nope",
            StatusCode::NOT_FOUND,
            "user.not_found",
        ),
        (
            Method::DELETE,
            "/api/v1/tenants/acme/users/nope",
            StatusCode::NOT_FOUND,
            "user.not_found",
        ),
        (
            Method::DELETE,
            "/api/v1/tenants/acme/roles/nope",
            StatusCode::NOT_FOUND,
            "role.not_found",
        ),
        (
            Method::DELETE,
            "/api/v1/tenants/acme/roles/admin",
            StatusCode::CONFLICT,
            "role.builtin",
        ),
        (
            Method::DELETE,
            "/api/v1/tenants/acme/sessions/nope",
            StatusCode::NOT_FOUND,
            "session.not_found",
        ),
        (
            Method::DELETE,
            "/api/v1/api-keys/nope",
            StatusCode::NOT_FOUND,
            "api_key.not_found",
        ),
        (
            Method::DELETE,
            "/api/v1/tenants/acme/api-keys/nope",
            StatusCode::NOT_FOUND,
            "api_key.not_found",
        ),
        (
            Method::GET,
            "/api/v1/tenants?limit=0",
            StatusCode::BAD_REQUEST,
            "request.invalid_field",
        ),
        (
            Method::GET,
            "/api/v1/tenants?limit=abc",
            StatusCode::BAD_REQUEST,
            "request.invalid_query",
        ),
        (
            Method::GET,
            "/api/v1/tenants?colour=red",
            StatusCode::BAD_REQUEST,
            "request.invalid_query",
        ),
        (
            Method::GET,
            "/api/v1/audit-events?since=yesterday",
            StatusCode::BAD_REQUEST,
            "request.invalid_field",
        ),
        (
            Method::GET,
            "/api/v1/audit-events?cursor=zz",
            StatusCode::BAD_REQUEST,
            "request.invalid_field",
        ),
        (
            Method::GET,
            "/api/v1/no-such-thing",
            StatusCode::NOT_FOUND,
            "request.unknown_route",
        ),
        (
            Method::PUT,
            "/api/v1/tenants",
            StatusCode::METHOD_NOT_ALLOWED,
            "request.method_not_allowed",
        ),
    ];
    for (m, path, status, code) in cases {
        let body = (m == Method::PATCH).then(|| json!({"display_name": "x"}));
        let res = app.api(m.clone(), path, body, None).await;
        assert_eq!(
            (res.status, res.code().as_str()),
            (status, code),
            "{m} {path}: {}",
            res.text()
        );
    }
    let conflicts = [
        (
            Method::POST,
            "/api/v1/tenants",
            json!({"slug": "acme", "name": "dup"}),
            StatusCode::CONFLICT,
            "tenant.slug_taken",
        ),
        (
            Method::POST,
            "/api/v1/tenants",
            json!({"slug": "Bad Slug", "name": "x"}),
            StatusCode::BAD_REQUEST,
            "request.invalid_field",
        ),
        (
            Method::POST,
            "/api/v1/tenants/acme/users",
            json!({"username": "JO"}),
            StatusCode::CONFLICT,
            "user.username_taken",
        ),
        (
            Method::POST,
            "/api/v1/tenants/acme/users",
            json!({"username": "x", "role": "wizard"}),
            StatusCode::NOT_FOUND,
            "role.not_found",
        ),
        (
            Method::POST,
            "/api/v1/tenants/acme/users",
            json!({"username": "x", "password": "short"}),
            StatusCode::BAD_REQUEST,
            "request.invalid_field",
        ),
        (
            Method::PATCH,
            "/api/v1/tenants/acme",
            json!({"session_lifetime_secs": 5}),
            StatusCode::BAD_REQUEST,
            "request.invalid_field",
        ),
    ];
    for (m, path, body, status, code) in conflicts {
        let res = app.api(m.clone(), path, Some(body), None).await;
        assert_eq!(
            (res.status, res.code().as_str()),
            (status, code),
            "{m} {path}: {}",
            res.text()
        );
    }
    assert_eq!(snapshot(&app).await, before);
}

/// SECURITY.md W-TENANT: a tenant key is refused on another tenant's routes.
#[tokio::test]
async fn a_tenant_key_is_refused_on_another_tenant() {
    let app = TestApp::new().await;
    let created = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/api-keys",
            Some(json!({"name": "acme-ci"})),
            None,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let key = created.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.api(Method::GET, "/api/v1/tenants/acme/users", None, Some(&key))
            .await
            .status,
        StatusCode::OK
    );
    let before = snapshot(&app).await;
    for (m, path, body) in [
        (Method::GET, "/api/v1/tenants/other/users", None),
        (
            Method::POST,
            "/api/v1/tenants/other/users",
            Some(json!({"username": "mallory"})),
        ),
        (Method::GET, "/api/v1/tenants/other", None),
        (Method::GET, "/api/v1/tenants/other/sessions", None),
        (Method::GET, "/api/v1/tenants/other/outbox", None),
        (Method::GET, "/api/v1/tenants/other/audit-events", None),
        (Method::GET, "/api/v1/audit-events?tenant=other", None),
    ] {
        let res = app.api(m.clone(), path, body, Some(&key)).await;
        assert_eq!(
            (res.status, res.code().as_str()),
            (StatusCode::FORBIDDEN, "auth.api_key_wrong_tenant"),
            "{m} {path}"
        );
    }
    for (m, path, body) in [
        (
            Method::POST,
            "/api/v1/tenants",
            Some(json!({"slug": "x", "name": "x"})),
        ),
        (Method::GET, "/api/v1/api-keys", None),
    ] {
        let res = app.api(m.clone(), path, body, Some(&key)).await;
        assert_eq!(
            (res.status, res.code().as_str()),
            (StatusCode::FORBIDDEN, "auth.operator_only"),
            "{m} {path}"
        );
    }
    assert_eq!(snapshot(&app).await, before);
    let listed = app
        .api(Method::GET, "/api/v1/tenants", None, Some(&key))
        .await
        .json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn crud_through_the_api_and_revocation_end_sessions() {
    let app = TestApp::new().await;
    let created = app.api(Method::POST, "/api/v1/tenants/acme/users", Some(json!({"username": "kim", "email": "kim@acme.test", "role": "viewer", "password": PW})), None).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let kim = created.json();
    assert_eq!(
        (kim["has_password"].as_bool(), kim["role"].as_str()),
        (Some(true), Some("viewer"))
    );
    assert!(!created.text().contains("argon2"), "no hash in responses");
    let id = kim["id"].as_str().unwrap();

    let c1 = app.sign_in("acme", "kim", PW).await;
    let c2 = app.sign_in("acme", "kim", PW).await;
    let sessions = app
        .api(
            Method::GET,
            &format!("/api/v1/tenants/acme/sessions?user_id={id}"),
            None,
            None,
        )
        .await
        .json();
    assert_eq!(sessions["items"].as_array().unwrap().len(), 2);
    let sid = sessions["items"][0]["id"].as_str().unwrap();
    let revoked = app
        .api(
            Method::DELETE,
            &format!("/api/v1/tenants/acme/sessions/{sid}"),
            None,
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert!(revoked.json()["revoked_at"].is_string());
    let live: Vec<_> = [&c1, &c2].iter().map(|c| c.to_string()).collect();
    let mut ok = 0;
    for c in &live {
        if app.get("/t/acme/session", Some(c)).await.status == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(ok, 1, "exactly the revoked session ended");

    // W-REVOKE-PW: an admin changing the password ends all of the user's sessions.
    let patched = app
        .api(
            Method::PATCH,
            &format!("/api/v1/tenants/acme/users/{id}"),
            Some(json!({"password": "another fine password", "role": null})),
            None,
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    assert!(patched.json()["role"].is_null());
    for c in &live {
        assert_eq!(
            app.get("/t/acme/session", Some(c)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let all = app
        .api(
            Method::GET,
            &format!("/api/v1/tenants/acme/sessions?user_id={id}&include_ended=true"),
            None,
            None,
        )
        .await
        .json();
    assert_eq!(all["items"].as_array().unwrap().len(), 2);

    let audit = app
        .api(
            Method::GET,
            &format!("/api/v1/audit-events?tenant=acme&user_id={id}&kind=user.updated"),
            None,
            None,
        )
        .await
        .json();
    let ev = &audit["items"][0];
    assert_eq!(ev["details"]["sessions_ended"], true);
    assert!(ev["actor"].as_str().unwrap().starts_with("api_key:"));
    assert_eq!(
        app.api(
            Method::DELETE,
            &format!("/api/v1/tenants/acme/users/{id}"),
            None,
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.api(
            Method::GET,
            &format!("/api/v1/tenants/acme/users/{id}"),
            None,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn api_keys_are_shown_once_and_revocable() {
    let app = TestApp::new().await;
    let created = app
        .api(
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "terraform"})),
            None,
        )
        .await
        .json();
    let token = created["token"].as_str().unwrap().to_owned();
    let id = created["api_key"]["id"].as_str().unwrap().to_owned();
    let listed = app.api(Method::GET, "/api/v1/api-keys", None, None).await;
    assert!(
        !listed.text().contains(&token),
        "listing never shows tokens"
    );
    assert_eq!(
        app.api(Method::GET, "/api/v1/tenants", None, Some(&token))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.api(
            Method::DELETE,
            &format!("/api/v1/api-keys/{id}"),
            None,
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        app.api(Method::GET, "/api/v1/tenants", None, Some(&token))
            .await
            .code(),
        "auth.api_key_invalid"
    );
}
