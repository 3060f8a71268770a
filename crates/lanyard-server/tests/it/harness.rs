use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use lanyard_core::{Ctx, Lanyard, ManualClock, MasterKey, Store};
use lanyard_proto as proto;
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

pub const T0: i64 = 1_796_083_200;
pub const PW: &str = "correct horse battery";

pub struct TestApp {
    pub lanyard: Lanyard,
    pub clock: ManualClock,
    /// Operator key.
    pub key: String,
    https: bool,
    outbound: lanyard_server::address_policy::OutboundPolicy,
    peer: SocketAddr,
    trusted_proxies: Vec<ipnet::IpNet>,
    client_ip_header: lanyard_core::access::client_ip::ForwardedHeader,
    dev_idp: Option<Arc<lanyard_server::dev_idp::DevIdp>>,
    _dir: tempfile::TempDir,
}

pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Res {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("<none>")
            .to_owned()
    }
    /// `name=value` of each Set-Cookie header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|c| {
            c.split(';')
                .next()?
                .strip_prefix(&format!("{name}="))
                .map(str::to_owned)
        })
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_url("http://127.0.0.1:8080").await
    }

    pub async fn with_url(public_url: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        Self::seeded(store, dir, public_url).await
    }

    /// The seeded app (tenants `acme` and `other`, each with `jo`, and an operator key) on
    /// `store`.
    async fn seeded(store: Store, dir: tempfile::TempDir, public_url: &str) -> Self {
        let clock = ManualClock::new(T0);
        let url = if public_url.starts_with("https") {
            "https://sso.example.com"
        } else {
            "http://127.0.0.1:8080"
        };
        let lanyard = Lanyard::new(store, Arc::new(clock.clone()), MasterKey::generate())
            .await
            .unwrap()
            .with_public_url(url);
        let c = Ctx::cli();
        for slug in ["acme", "other"] {
            lanyard
                .create_tenant(
                    &c,
                    proto::CreateTenant {
                        slug: slug.into(),
                        name: format!("{slug} Inc"),
                        session_lifetime_secs: None,
                    },
                )
                .await
                .unwrap();
            lanyard
                .create_user(
                    &c,
                    slug,
                    proto::CreateUser {
                        collaborator: false,
                        username: "jo".into(),
                        email: Some(format!("jo@{slug}.test")),
                        display_name: Some("Jo".into()),
                        role: Some("standard".into()),
                        password: Some(PW.into()),
                        super_admin: false,
                    },
                )
                .await
                .unwrap();
        }
        let (_, key) = lanyard.create_api_key(&c, None, "test").await.unwrap();
        Self {
            lanyard,
            clock,
            key,
            https: public_url.starts_with("https"),
            outbound: Default::default(),
            peer: "192.0.2.10:50000".parse().unwrap(),
            trusted_proxies: Vec::new(),
            client_ip_header: Default::default(),
            dev_idp: None,
            _dir: dir,
        }
    }

    /// Lets outbound requests reach loopback (a test server): `outbound_allow_networks`
    /// holding the loopback networks.
    pub fn with_private_metadata_urls(self) -> Self {
        self.with_outbound_allow(&["127.0.0.0/8", "::1/128"])
    }

    /// Sets `outbound_allow_networks`.
    pub fn with_outbound_allow(mut self, nets: &[&str]) -> Self {
        self.outbound.allow_networks =
            lanyard_server::address_policy::OutboundPolicy::parse_networks(
                &nets.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
            )
            .unwrap();
        self
    }

    /// Sets the time limit of outbound requests.
    pub fn with_outbound_timeout(mut self, t: std::time::Duration) -> Self {
        self.outbound.timeout = t;
        self
    }

    /// Mounts the built-in test IdP under /dev-idp.
    pub fn with_dev_idp(mut self, idp: Arc<lanyard_server::dev_idp::DevIdp>) -> Self {
        self.dev_idp = Some(idp);
        self
    }

    pub fn with_peer(mut self, peer: &str) -> Self {
        self.peer = peer.parse().unwrap();
        self
    }

    /// Believes the forwarding header from these proxies (`trusted_proxies`).
    pub fn with_trusted_proxies(mut self, nets: &[&str]) -> Self {
        self.trusted_proxies = nets.iter().map(|n| n.parse().unwrap()).collect();
        self
    }

    /// Reads RFC 7239 `Forwarded` instead of `X-Forwarded-For` from trusted proxies.
    pub fn with_forwarded_header(mut self) -> Self {
        self.client_ip_header = lanyard_core::access::client_ip::ForwardedHeader::Forwarded;
        self
    }

    /// Sends `req` as if from the socket peer `peer`.
    pub async fn send_from(&self, peer: &str, req: Request<Body>) -> Res {
        let router = self.router_for(peer.parse().unwrap());
        let res = router.oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Res {
            status,
            headers,
            body,
        }
    }

    pub fn router(&self) -> Router {
        self.router_for(self.peer)
    }

    fn router_for(&self, peer: SocketAddr) -> Router {
        let url = if self.https {
            "https://sso.example.com"
        } else {
            "http://127.0.0.1:8080"
        };
        let mut config = lanyard_server::ServerConfig::new(url.parse().unwrap());
        config.outbound = self.outbound.clone();
        config.dev_idp = self.dev_idp.clone();
        config.trusted_proxies = self.trusted_proxies.clone();
        config.client_ip_header = self.client_ip_header;
        lanyard_server::app(self.lanyard.clone(), config).layer(MockConnectInfo(peer))
    }

    pub async fn send(&self, req: Request<Body>) -> Res {
        let res = self.router().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Res {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Res {
        let mut b = Request::get(path);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }

    pub async fn form(&self, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Res {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookie)
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// An admin API call with the operator key (or `key`).
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        key: Option<&str>,
    ) -> Res {
        let mut b = Request::builder().method(method).uri(path).header(
            header::AUTHORIZATION,
            format!("Bearer {}", key.unwrap_or(&self.key)),
        );
        let body = match body {
            Some(v) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).unwrap()).await
    }

    /// Signs in through the real form and returns the `Cookie` header value for the session.
    pub async fn sign_in(&self, tenant: &str, username: &str, password: &str) -> String {
        let page = self.get(&format!("/t/{tenant}/login"), None).await;
        let csrf_cookie = self.csrf_cookie_name();
        let csrf = page
            .cookie_value(csrf_cookie)
            .expect("login page sets the CSRF cookie");
        let res = self
            .form(
                &format!("/t/{tenant}/login"),
                &format!("{csrf_cookie}={csrf}"),
                &[
                    ("username", username),
                    ("password", password),
                    ("csrf_token", &csrf),
                ],
            )
            .await;
        assert_eq!(
            res.status,
            StatusCode::SEE_OTHER,
            "login failed: {}",
            res.text()
        );
        let name = self.session_cookie_name(tenant);
        format!(
            "{name}={}",
            res.cookie_value(&name).expect("session cookie set")
        )
    }

    pub fn csrf_cookie_name(&self) -> &'static str {
        if self.https {
            "__Host-lanyard_login_csrf"
        } else {
            "lanyard_login_csrf"
        }
    }

    pub fn session_cookie_name(&self, tenant: &str) -> String {
        if self.https {
            format!("__Host-lanyard_session_{tenant}")
        } else {
            format!("lanyard_session_{tenant}")
        }
    }

    /// The ID of `username` in `tenant`.
    pub async fn user_id(&self, tenant: &str, username: &str) -> String {
        let t = self
            .lanyard
            .store
            .tenant_by_slug(tenant)
            .await
            .unwrap()
            .unwrap();
        self.lanyard
            .store
            .user_by_username(&t.id, username)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    pub async fn audit_kinds(&self) -> Vec<String> {
        let rows = self
            .lanyard
            .store
            .list_audit(&lanyard_core::model::AuditFilter {
                limit: 500,
                ..Default::default()
            })
            .await
            .unwrap();
        rows.into_iter().map(|r| r.kind).collect()
    }
}

/// The PostgreSQL server of the tests, when `LANYARD_TEST_DATABASE_URL` names one.
pub fn pg_url() -> Option<String> {
    std::env::var("LANYARD_TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

impl TestApp {
    /// The seeded app on a fresh schema of the PostgreSQL server at `url`, and the schema.
    pub async fn on_postgres(url: &str) -> (Self, String) {
        use std::str::FromStr;
        let schema = format!("lanyard_srv_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(url)
            .await
            .expect("LANYARD_TEST_DATABASE_URL is set but the server is unreachable");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let opts = sqlx::postgres::PgConnectOptions::from_str(url)
            .unwrap()
            .options([("search_path", schema.as_str())]);
        let store = Store::connect_postgres(opts).await.unwrap();
        store.migrate().await.unwrap();
        let app = Self::seeded(store, tempfile::tempdir().unwrap(), "http://127.0.0.1:8080").await;
        (app, schema)
    }

    /// Runs `test` on SQLite, then (when `LANYARD_TEST_DATABASE_URL` is set) on PostgreSQL.
    pub async fn each_store<F, Fut>(test: F)
    where
        F: Fn(TestApp) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        test(TestApp::new().await).await;
        let Some(url) = pg_url() else {
            eprintln!("PostgreSQL tests skipped: set LANYARD_TEST_DATABASE_URL");
            return;
        };
        let (app, schema) = TestApp::on_postgres(&url).await;
        let store = app.lanyard.store.clone();
        test(app).await;
        store.close().await;
        if let Ok(admin) = sqlx::PgPool::connect(&url).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&admin)
                .await;
            admin.close().await;
        }
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn method(m: &str) -> Method {
    Method::from_bytes(m.as_bytes()).unwrap()
}
