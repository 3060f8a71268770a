//! The sign-in side, device grant, provider, link and error pages and the account emails in
//! Japanese: chosen by `Accept-Language`, the `?lang=` switch or its cookie; English by default.

use crate::harness::{PW, Res, TestApp};
use crate::provisioning::{CSRF, link_in, mails};
use crate::saml::connection;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use lanyard_server::i18n::{CURRENT_LANG, Lang};
use lanyard_server::pages;
use serde_json::json;

async fn get_ja(app: &TestApp, path: &str) -> Res {
    app.send(
        Request::get(path)
            .header(header::ACCEPT_LANGUAGE, "ja-JP,ja;q=0.9,en;q=0.5")
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

fn assert_ja(res: &Res, must: &[&str]) {
    let html = res.text();
    assert!(html.contains(r#"<html lang="ja">"#), "{html}");
    for m in must {
        assert!(html.contains(m), "`{m}` missing from {html}");
    }
}

#[tokio::test]
async fn sign_in_pages_render_in_japanese_with_accept_language() {
    let app = TestApp::new().await;
    let tenant = get_ja(&app, "/t/acme/login").await;
    assert_eq!(tenant.status, StatusCode::OK);
    assert_ja(
        &tenant,
        &["acme Inc にサインイン", "ユーザー名", "パスワード"],
    );
    assert!(!tenant.text().contains("Sign in to"), "{}", tenant.text());
    let direct = get_ja(&app, "/t/acme/login/direct").await;
    assert_ja(&direct, &["acme Inc にサインイン", "続ける"]);
    let generic = get_ja(&app, "/login").await;
    assert_ja(&generic, &["仕事用メールアドレスまたはユーザー名"]);
    let device = get_ja(&app, "/device").await;
    assert_ja(
        &device,
        &["デバイスをサインイン", "コマンドラインに表示されたコード"],
    );
    let home = get_ja(&app, "/").await;
    assert_ja(&home, &["サインインへ進む"]);

    // No Accept-Language: English, as before.
    let en = app.get("/t/acme/login", None).await;
    assert!(en.text().contains(r#"<html lang="en">"#));
    assert!(en.text().contains("Sign in to acme Inc"));
    assert!(!en.text().contains("サインイン"));
}

#[tokio::test]
async fn the_lang_switch_and_its_cookie_choose_the_language() {
    let app = TestApp::new().await;
    let by_query = app.get("/t/acme/login?return_to=/x&lang=ja", None).await;
    assert_ja(&by_query, &["acme Inc にサインイン"]);
    // The switch is remembered, and the page links to itself in the other language.
    assert_eq!(by_query.cookie_value("lanyard_lang").as_deref(), Some("ja"));
    assert!(
        by_query
            .text()
            .contains(r#"<a href="/t/acme/login?return_to=%2Fx&#38;lang=en" lang="en""#),
        "{}",
        by_query.text()
    );
    let en_page = app.get("/login", None).await;
    assert!(en_page.text().contains(r#"href="/login?lang=ja""#));
    assert!(en_page.cookie_value("lanyard_lang").is_none());
    let by_cookie = app.get("/login", Some("lanyard_lang=ja")).await;
    assert_ja(&by_cookie, &["仕事用メールアドレスまたはユーザー名"]);
    // The switch beats the browser's preference.
    let en = app
        .send(
            Request::get("/t/acme/login?lang=en")
                .header(header::ACCEPT_LANGUAGE, "ja")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(en.text().contains("Sign in to acme Inc"), "{}", en.text());
}

#[tokio::test]
async fn a_refused_password_is_explained_in_japanese_with_the_same_code() {
    let app = TestApp::new().await;
    let page = app.get("/t/acme/login", None).await;
    let csrf = page.cookie_value(CSRF).unwrap();
    let res = app
        .send(
            Request::post("/t/acme/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, format!("{CSRF}={csrf}"))
                .header(header::ACCEPT_LANGUAGE, "ja")
                .body(Body::from(format!(
                    "csrf_token={csrf}&username=jo&password=wrong-{PW}"
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    assert_ja(
        &res,
        &[
            r#"data-code="login.invalid_credentials""#,
            "ユーザー名またはパスワードが正しくありません。",
            "大文字と小文字は区別されます",
        ],
    );
    assert!(!res.text().contains("is incorrect"), "{}", res.text());
}

#[tokio::test]
async fn error_pages_translate_the_explanation_but_keep_the_code() {
    let app = TestApp::new().await;
    let res = get_ja(&app, "/t/acme/no-such-page").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_ja(
        &res,
        &[
            "見つかりません",
            "このアドレスにはページがありません。",
            "<code>request.unknown_route</code>",
            "サインインに戻る",
            "エラーコード",
        ],
    );
    let en = app.get("/t/acme/no-such-page", None).await;
    assert!(en.text().contains("There is no page at this address."));
    assert!(en.text().contains("<code>request.unknown_route</code>"));

    let device = get_ja(&app, "/device?user_code=BCDF-GHJK").await;
    assert_eq!(device.status, StatusCode::BAD_REQUEST);
    assert_ja(&device, &["このコードは不明か、有効期限が切れています"]);
}

#[tokio::test]
async fn an_invitation_requested_in_japanese_is_emailed_and_shown_in_japanese() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({})).await;
    let res = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/tenants/acme/invitations")
                .header(header::AUTHORIZATION, format!("Bearer {}", app.key))
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT_LANGUAGE, "ja")
                .body(Body::from(json!({"users": ["jo"]}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let sent = mails(&app, "jo@acme.test", "アカウントをシングルサインオンに連携").await;
    assert_eq!(sent.len(), 1, "one Japanese invitation email");
    let body = sent[0]["body"].as_str().unwrap();
    assert!(
        body.contains("アカウント `jo` を連携してください"),
        "{body}"
    );
    assert!(body.contains("okta IdP"), "{body}");
    let link = link_in(&sent[0], "invite");
    let page = get_ja(&app, &link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert_ja(
        &page,
        &[
            "acme Inc はシングルサインオンを使うようになりました",
            "okta IdP で続ける",
            "後で",
        ],
    );
}

/// Every page struct of the sign-in side renders in Japanese (those a flow reaches only with a
/// real IdP or OpenID client are rendered directly, under the request language).
#[tokio::test]
async fn every_sign_in_side_page_renders_in_japanese() {
    let rendered = CURRENT_LANG
        .scope(Lang::Ja, async {
            let hidden = vec![("client_id".to_owned(), "app".to_owned())];
            vec![
                (
                    pages::render(
                        StatusCode::OK,
                        &pages::ProviderOrgPage {
                            app_name: "Wiki",
                            hidden,
                        },
                    ),
                    vec!["Wiki にサインイン", "組織の短い名前"],
                ),
                (
                    pages::render(
                        StatusCode::OK,
                        &pages::DeviceConfirmPage {
                            app_name: "cli",
                            tenant_name: "Acme",
                            username: "jo",
                            user_code: "BCDF-GHJK",
                            machine_name: "laptop",
                            client_ip: "192.0.2.1",
                            asked_at: "2026-01-01T00:00:00Z",
                            csrf_token: "x",
                        },
                    ),
                    vec!["cli を承認しますか？", "承認", "拒否", "要求元 IP"],
                ),
                (
                    pages::render(
                        StatusCode::OK,
                        &pages::ConfirmPage {
                            tenant_name: "Acme",
                            username: "jo",
                            action: "/x",
                            csrf_token: "x",
                        },
                    ),
                    vec!["メールアドレスの確認", "メールアドレスを確認する"],
                ),
                (
                    pages::render(
                        StatusCode::OK,
                        &pages::ResetPage {
                            tenant_name: "Acme",
                            username: "jo",
                            action: "/x",
                            csrf_token: "x",
                            error: None,
                        },
                    ),
                    vec!["パスワードの設定", "新しいパスワード", "12 文字以上"],
                ),
                (
                    pages::render(
                        StatusCode::OK,
                        &pages::SignedInPage {
                            tenant_slug: "acme",
                            tenant_name: "Acme",
                            username: "jo",
                            role: "admin",
                            auth_method: "password",
                            expires_at: "2026-01-01T00:00:00Z",
                            csrf_token: "x",
                        },
                    ),
                    vec!["Acme にサインインしています", "サインアウト"],
                ),
                (
                    pages::render_saml_post(
                        "https://idp.test/sso",
                        "req",
                        "rs",
                        "https://idp.test",
                    ),
                    vec!["ID プロバイダーへ進みます", "JavaScript が無効です"],
                ),
                (
                    pages::error_page(StatusCode::UNAUTHORIZED, "login.sso_required", "x"),
                    vec![
                        "サインインが完了しませんでした",
                        "パスワードによるサインインが無効です",
                        "login.sso_required",
                    ],
                ),
            ]
        })
        .await;
    for (res, must) in rendered {
        let (_, body) = res.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        let html = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(html.contains(r#"<html lang="ja">"#), "{html}");
        for m in must {
            assert!(html.contains(m), "`{m}` missing from {html}");
        }
    }
}
