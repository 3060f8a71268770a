//! The setup portal's OpenID Connect guides for Okta, Microsoft Entra ID and Google Workspace:
//! the callback URL to register (known from the slugs before anything exists), the issuer's
//! form, saving a disabled connection with the provider's preset (endpoints from the issuer,
//! nothing fetched), a wrong issuer refused with its code, and the pages in Japanese.

use crate::console::{csrf_of, page_code};
use crate::console_setup::{claim, link};
use crate::harness::TestApp;
use axum::http::{Method, StatusCode};
use lanyard_core::model::AuditFilter;
use serde_json::Value;

const TID: &str = "0b1e3b1c-5d0a-4a53-9a58-3c0f2f6f7e21";

/// (portal id, words of the provider's own click-path, issuer hint, a valid issuer).
fn providers() -> [(&'static str, &'static str, &'static str, String); 3] {
    [
        (
            "okta-oidc",
            "Create App Integration",
            "https://your-org.okta.com/oauth2/default",
            "https://acme.okta.com/oauth2/default".to_owned(),
        ),
        (
            "entra-oidc",
            "App registrations → New registration",
            "https://login.microsoftonline.com/TENANT-ID/v2.0",
            format!("https://login.microsoftonline.com/{TID}/v2.0"),
        ),
        (
            "google-oidc",
            "Credentials → Create credentials → OAuth client ID",
            "always https://accounts.google.com",
            "https://accounts.google.com".to_owned(),
        ),
    ]
}

async fn connection(app: &TestApp, slug: &str) -> (StatusCode, Value) {
    let res = app
        .api(
            Method::GET,
            &format!("/api/v1/tenants/acme/connections/{slug}"),
            None,
            None,
        )
        .await;
    (
        res.status,
        if res.body.is_empty() {
            Value::Null
        } else {
            res.json()
        },
    )
}

async fn save(
    app: &TestApp,
    path: &str,
    cookie: &str,
    idp: &str,
    issuer: &str,
    hosted_domain: Option<&str>,
    lang: &str,
) -> crate::harness::Res {
    let page = app
        .get(&format!("{path}/idp/{idp}?lang={lang}"), Some(cookie))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let csrf = csrf_of(&page.text());
    let mut fields = vec![
        ("csrf_token", csrf.as_str()),
        ("action", "save"),
        ("issuer", issuer),
        ("client_id", "lanyard-client"),
        ("client_secret", "s3cret-value"),
        // Fields the portal never takes from the IT admin.
        ("key_claim", "email"),
        ("jwks_uri", "https://evil.example/keys"),
    ];
    if let Some(h) = hosted_domain {
        fields.push(("hosted_domain", h));
    }
    app.form(&format!("{path}/idp/{idp}?lang={lang}"), cookie, &fields)
        .await
}

#[tokio::test]
async fn each_guide_shows_its_callback_and_issuer_then_saves_a_disabled_connection_with_its_preset()
{
    TestApp::each_store(|app| async move {
        for (idp, click_path, hint, issuer) in providers() {
            let (link_id, path) = link(&app, "acme").await;
            let cookie = claim(&app, &path).await;
            // The start page offers it.
            let start = app.get(&path, Some(&cookie)).await.text();
            assert!(start.contains(&format!("data-idp=\"{idp}\"")), "{start}");

            let page = app
                .get(&format!("{path}/idp/{idp}"), Some(&cookie))
                .await
                .text();
            let callback = format!("http://127.0.0.1:8080/t/acme/oidc/{idp}/callback");
            assert!(page.contains(&callback), "the callback URL: {page}");
            assert!(page.contains(click_path), "the IdP's click-path: {page}");
            assert!(
                page.contains("data-issuer-hint") && page.contains(hint),
                "the issuer hint: {page}"
            );
            // Only the IdP's values are asked for (its endpoints follow from the issuer).
            for absent in [
                "name=\"discovery_url\"",
                "name=\"jwks_uri\"",
                "name=\"key_claim\"",
            ] {
                assert!(!page.contains(absent), "{absent}: {page}");
            }
            assert_eq!(
                page.contains("name=\"hosted_domain\""),
                idp == "google-oidc",
                "the hosted domain only for Google"
            );
            if idp == "google-oidc" {
                assert!(
                    page.contains("value=\"https://accounts.google.com\""),
                    "Google's issuer filled in: {page}"
                );
            }

            let res = save(
                &app,
                &path,
                &cookie,
                idp,
                &format!("{issuer}/"),
                Some("example.com"),
                "en",
            )
            .await;
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
            let (status, c) = connection(&app, idp).await;
            assert_eq!(status, StatusCode::OK, "{c}");
            assert_eq!(c["enabled"], false, "created disabled: {c}");
            assert_eq!(c["kind"], "oidc", "{c}");
            assert_eq!(
                c["oidc"]["issuer"],
                issuer.as_str(),
                "trailing / dropped: {c}"
            );
            assert_eq!(c["oidc"]["client_id"], "lanyard-client");
            let preset = idp.trim_end_matches("-oidc");
            assert_eq!(c["provisioning"]["attribute_preset"], preset, "{c}");
            let jwks = c["oidc"]["jwks_uri"].as_str().unwrap_or_default();
            match idp {
                "okta-oidc" => {
                    assert_eq!(jwks, "https://acme.okta.com/oauth2/default/v1/keys");
                    assert_eq!(c["oidc"]["key_claim"], "sub");
                }
                "entra-oidc" => {
                    assert_eq!(
                        jwks,
                        format!("https://login.microsoftonline.com/{TID}/discovery/v2.0/keys")
                    );
                    assert_eq!(
                        c["oidc"]["key_claim"], "oid",
                        "Entra's person, not the per-app sub"
                    );
                    assert_eq!(c["oidc"]["trust_verified_domain_emails"], true);
                    assert_eq!(c["oidc"]["use_userinfo"], false);
                }
                _ => {
                    assert_eq!(jwks, "https://www.googleapis.com/oauth2/v3/certs");
                    assert_eq!(c["oidc"]["hosted_domain"], "example.com");
                    assert_eq!(c["oidc"]["key_claim"], "sub");
                }
            }
            // The saved page shows the callback still, and the test button.
            let page = app
                .get(&format!("{path}/idp/{idp}"), Some(&cookie))
                .await
                .text();
            assert!(
                page.contains(&callback) && page.contains("value=\"test\""),
                "{page}"
            );
            // "Save and test" starts the existing OIDC test at the provider's own endpoint.
            let res = app.get(&format!("{path}/test"), Some(&cookie)).await;
            assert_eq!(res.status, StatusCode::FOUND, "{}", res.text());
            let loc = url::Url::parse(res.headers[axum::http::header::LOCATION].to_str().unwrap())
                .unwrap();
            let q: std::collections::HashMap<String, String> =
                loc.query_pairs().into_owned().collect();
            assert_eq!(
                loc.as_str().split('?').next(),
                c["oidc"]["authorization_endpoint"].as_str(),
                "{loc}"
            );
            assert_eq!(q["redirect_uri"], callback);
            assert_eq!(q["client_id"], "lanyard-client");
            // Audited as the link's doing.
            let ev = app
                .lanyard
                .store
                .list_audit(&AuditFilter {
                    kind: Some("connection.created".into()),
                    limit: 1,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(ev[0].actor, format!("setup_link:{link_id}"));
        }
    })
    .await;
}

#[tokio::test]
async fn a_wrong_issuer_or_a_missing_hosted_domain_is_refused_with_its_code_and_saves_nothing() {
    let app = TestApp::new().await;
    for (idp, issuer, hd, code) in [
        (
            "okta-oidc",
            "https://acme.okta.com/.well-known/openid-configuration",
            None,
            "setup_link.issuer_format",
        ),
        (
            "okta-oidc",
            "acme.okta.com",
            None,
            "setup_link.issuer_format",
        ),
        (
            "entra-oidc",
            "https://login.microsoftonline.com/common/v2.0",
            None,
            "setup_link.issuer_format",
        ),
        (
            "entra-oidc",
            &format!("https://sts.windows.net/{TID}/"),
            None,
            "setup_link.issuer_format",
        ),
        (
            "google-oidc",
            "https://accounts.google.com/o/oauth2",
            Some("example.com"),
            "setup_link.issuer_format",
        ),
        (
            "google-oidc",
            "https://accounts.google.com",
            Some(" "),
            "setup_link.hosted_domain_missing",
        ),
        (
            "google-oidc",
            "https://accounts.google.com",
            None,
            "setup_link.hosted_domain_missing",
        ),
    ] {
        let (_, path) = link(&app, "acme").await;
        let cookie = claim(&app, &path).await;
        let res = save(&app, &path, &cookie, idp, issuer, hd, "en").await;
        assert_eq!(
            res.status,
            StatusCode::BAD_REQUEST,
            "{idp} {issuer}: {}",
            res.text()
        );
        assert_eq!(page_code(&res.text()), code, "{idp} {issuer}");
        // The form comes back with what was typed and the expected form.
        assert!(res.text().contains("data-issuer-hint"), "{}", res.text());
        let (status, _) = connection(&app, idp).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "nothing saved for {idp} {issuer}"
        );
    }
    assert!(
        !app.audit_kinds()
            .await
            .iter()
            .any(|k| k == "connection.created"),
        "no connection event"
    );
}

#[tokio::test]
async fn the_oidc_guides_and_their_refusals_are_in_japanese() {
    let app = TestApp::new().await;
    for (idp, words) in [
        ("okta-oidc", "アプリ統合を作成"),
        ("entra-oidc", "アプリの登録"),
        ("google-oidc", "承認済みのリダイレクト URI"),
    ] {
        let (_, path) = link(&app, "acme").await;
        let cookie = claim(&app, &path).await;
        let page = app
            .get(&format!("{path}/idp/{idp}?lang=ja"), Some(&cookie))
            .await;
        assert_eq!(page.status, StatusCode::OK);
        let text = page.text();
        assert!(
            text.contains("<html lang=\"ja\"") || text.contains("lang=\"ja\""),
            "{text}"
        );
        assert!(text.contains(words), "{idp}: {text}");
        assert!(
            text.contains("発行者 (Issuer)"),
            "the issuer hint in Japanese: {text}"
        );
        assert!(
            text.contains(&format!("http://127.0.0.1:8080/t/acme/oidc/{idp}/callback")),
            "{text}"
        );
    }
    let (_, path) = link(&app, "acme").await;
    let cookie = claim(&app, &path).await;
    let res = save(
        &app,
        &path,
        &cookie,
        "entra-oidc",
        "https://login.microsoftonline.com/common/v2.0",
        None,
        "ja",
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let text = res.text();
    assert_eq!(page_code(&text), "setup_link.issuer_format");
    assert!(
        text.contains("選んだ ID プロバイダーの形式ではありません")
            && text.contains("ディレクトリ (テナント) ID"),
        "the refusal and what to do, in Japanese: {text}"
    );
}

#[tokio::test]
async fn two_saves_of_one_guided_oidc_link_at_once_leave_one_connection() {
    let app = TestApp::new().await;
    let (id, path) = link(&app, "acme").await;
    let cookie = claim(&app, &path).await;
    let page = app
        .get(&format!("{path}/idp/entra-oidc"), Some(&cookie))
        .await
        .text();
    let csrf = csrf_of(&page);
    let issuer = format!("https://login.microsoftonline.com/{TID}/v2.0");
    let form = |client: &'static str| {
        let (app, path, cookie, csrf, issuer) = (&app, &path, &cookie, &csrf, &issuer);
        async move {
            app.form(
                &format!("{path}/idp/entra-oidc"),
                cookie,
                &[
                    ("csrf_token", csrf),
                    ("issuer", issuer),
                    ("client_id", client),
                    ("client_secret", "s3cret-value"),
                ],
            )
            .await
        }
    };
    let (a, b) = tokio::join!(form("client-a"), form("client-b"));
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert!(
        statuses == [303, 409] || statuses == [303, 303],
        "{statuses:?}: {} / {}",
        a.text(),
        b.text()
    );
    let t = app.lanyard.tenant("acme").await.unwrap();
    let conns = app.lanyard.store.list_connections(&t.id).await.unwrap();
    assert_eq!(conns.len(), 1, "one connection");
    let l = app
        .lanyard
        .store
        .setup_link(&t.id, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(l.connection_id.as_deref(), Some(conns[0].id.as_str()));
    let (_, c) = connection(&app, "entra-oidc").await;
    assert_eq!(c["oidc"]["key_claim"], "oid", "{c}");
    assert_eq!(c["enabled"], false);
}

/// The console's own OIDC form: left empty, the algorithm list is the API's default (it used
/// to be sent as `[]` and refused); a refusal on a Japanese page is explained in Japanese with
/// the core's detail.
#[tokio::test]
async fn the_console_creates_an_oidc_connection_with_the_default_algorithms_and_refuses_in_japanese()
 {
    let app = TestApp::new().await;
    let ada = crate::console::admin(&app, "acme", "ada", "admin", false).await;
    let path = "/admin/t/acme/connections/new?kind=oidc";
    let page = app.get(path, Some(&ada)).await.text();
    let csrf = csrf_of(&page);
    let issuer = format!("https://login.microsoftonline.com/{TID}/v2.0");
    let fields = |slug: &'static str| {
        vec![
            ("csrf_token", csrf.clone()),
            ("action", "save".to_owned()),
            ("slug", slug.to_owned()),
            ("name", "Entra".to_owned()),
            ("issuer", issuer.clone()),
            (
                "authorization_endpoint",
                format!("https://login.microsoftonline.com/{TID}/oauth2/v2.0/authorize"),
            ),
            (
                "token_endpoint",
                format!("https://login.microsoftonline.com/{TID}/oauth2/v2.0/token"),
            ),
            (
                "jwks_uri",
                format!("https://login.microsoftonline.com/{TID}/discovery/v2.0/keys"),
            ),
            ("client_id", "c".to_owned()),
            ("client_secret", "s".to_owned()),
            ("allowed_algorithms", String::new()),
        ]
    };
    let f = fields("entra");
    let borrowed: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = app.form(path, &ada, &borrowed).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let (status, c) = connection(&app, "entra").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        c["oidc"]["allowed_algorithms"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "RS256")),
        "{c}"
    );

    // The same slug again, on a Japanese page: the refusal in Japanese, the code unchanged.
    let res = app.form(&format!("{path}&lang=ja"), &ada, &borrowed).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    let text = res.text();
    assert_eq!(page_code(&text), "connection.slug_taken");
    assert!(
        text.contains("この名前の接続はこの組織にすでにあります"),
        "{text}"
    );
}
