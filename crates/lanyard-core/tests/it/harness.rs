use lanyard_core::{Lanyard, ManualClock, MasterKey, Store};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

/// 2026-12-01T00:00:00Z, a fixed start for every test clock.
pub const T0: i64 = 1_796_083_200;

#[derive(Clone)]
pub struct Env {
    pub name: &'static str,
    pub lanyard: Lanyard,
    pub clock: ManualClock,
}

pub fn pg_url() -> Option<String> {
    std::env::var("LANYARD_TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

async fn sqlite_env(dir: &tempfile::TempDir) -> Env {
    let opts =
        SqliteConnectOptions::from_str(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .unwrap();
    let store = Store::connect_sqlite(opts).await.unwrap();
    store.migrate().await.unwrap();
    env("sqlite", store).await
}

async fn env(name: &'static str, store: Store) -> Env {
    let clock = ManualClock::new(T0);
    let lanyard = Lanyard::new(store, Arc::new(clock.clone()), MasterKey::generate())
        .await
        .unwrap();
    Env {
        name,
        lanyard,
        clock,
    }
}

/// A fresh schema on the test PostgreSQL server; dropped by [`drop_schema`].
pub async fn pg_schema(url: &str) -> (Store, String) {
    let schema = format!("lanyard_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(url)
        .await
        .expect("LANYARD_TEST_DATABASE_URL is set but the server is unreachable");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let opts = PgConnectOptions::from_str(url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let store = Store::connect_postgres(opts).await.unwrap();
    store.migrate().await.unwrap();
    (store, schema)
}

pub async fn drop_schema(url: &str, schema: &str) {
    if let Ok(admin) = sqlx::PgPool::connect(url).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(&admin)
            .await;
        admin.close().await;
    }
}

/// Runs `test` once per backend, each on an empty, migrated store.
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Env) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    test(sqlite_env(&dir).await).await;
    match pg_url() {
        Some(url) => {
            let (store, schema) = pg_schema(&url).await;
            let e = env("postgres", store.clone()).await;
            test(e).await;
            store.close().await;
            drop_schema(&url, &schema).await;
        }
        None => eprintln!(
            "PostgreSQL tests skipped: set LANYARD_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test)"
        ),
    }
}

pub fn meta(ip: &str) -> lanyard_core::RequestMeta {
    lanyard_core::RequestMeta {
        ip: Some(ip.into()),
        request_id: Some("req-test".into()),
        user_agent: Some("test-agent".into()),
        lang: Some(lanyard_core::mail_text::Lang::En),
    }
}
