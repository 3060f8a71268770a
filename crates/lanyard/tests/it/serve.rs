use crate::harness::{Server, bin, sign_in};

/// The README's promise: a fresh start prints credentials that sign in, and the session shows.
#[test]
fn fresh_start_serves_a_working_demo_and_restart_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let password = server
        .field("Password:")
        .expect("password printed on first start");
    let key = server
        .field("API key:")
        .expect("API key printed on first start");
    assert!(server.field("Sign in:").unwrap().ends_with("/t/demo/login"));
    assert!(dir.path().join("lanyard.db").exists());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.path().join("master.key"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o077, 0, "master key readable by others: {mode:o}");

    let cookie = sign_in(&server, "demo", "admin", &password)
        .unwrap_or_else(|r| panic!("{} {}", r.status, r.body));
    let session = server.get("/t/demo/session", &cookie);
    assert_eq!(session.status, 200, "{}", session.body);
    assert_eq!(
        session.header("cache-control").as_deref(),
        Some("private, no-store")
    );
    let j: serde_json::Value = serde_json::from_str(&session.body).unwrap();
    assert_eq!(j["user"]["username"], "admin");
    let api = server.get(
        "/api/v1/tenants",
        &format!("Authorization: Bearer {key}\r\n"),
    );
    assert_eq!(api.status, 200);
    assert!(server.get("/readyz", "").status == 200);
    assert_eq!(server.terminate().code(), Some(0), "SIGTERM exits 0");

    // Restart on the same data: no new secrets, the old ones still work, the session survived.
    let again = Server::start(dir.path(), &[]);
    assert!(again.field("Password:").is_none(), "{}", again.banner);
    assert!(!again.banner.contains("lny_"));
    assert_eq!(again.get("/t/demo/session", &cookie).status, 200);
    sign_in(&again, "demo", "admin", &password).unwrap_or_else(|r| panic!("{}", r.status));
}

#[test]
fn sigterm_lets_an_in_flight_request_finish() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    // Open a request and leave it half-sent; the server must not exit until it is answered.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let pid = server.child.id();
    std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    s.write_all(b"Connection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert_eq!(server.terminate().code(), Some(0));
}

#[test]
fn json_logs_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::harness::free_port();
    let out = bin()
        .env("LANYARD_LOG", "info")
        .args([
            "serve",
            "--log-format",
            "json",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path())
        .arg("--database-url")
        .arg("postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Log lines are JSON objects; the final error is one plain line.
    let last = stderr.lines().last().unwrap();
    assert!(
        last.starts_with("lanyard: cannot open the database postgres://nobody@127.0.0.1:1/none"),
        "{stderr}"
    );
    for line in stderr.lines().filter(|l| l.starts_with('{')) {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
}

/// The demo on PostgreSQL (a fresh schema), when the test database is configured.
#[test]
fn serves_on_postgres() {
    let Some(url) = std::env::var("LANYARD_TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
    else {
        eprintln!("PostgreSQL tests skipped: set LANYARD_TEST_DATABASE_URL");
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let schema = format!("lanyard_e2e_{}", uuid::Uuid::new_v4().simple());
    rt.block_on(async {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&pool)
            .await
            .unwrap();
    });
    let sep = if url.contains('?') { '&' } else { '?' };
    let db = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--database-url", &db]);
    assert!(server.banner.contains("PostgreSQL"), "{}", server.banner);
    let password = server.field("Password:").unwrap();
    let cookie =
        sign_in(&server, "demo", "admin", &password).unwrap_or_else(|r| panic!("{}", r.status));
    assert_eq!(server.get("/t/demo/session", &cookie).status, 200);
    assert!(
        !dir.path().join("lanyard.db").exists(),
        "no SQLite file when PostgreSQL is configured"
    );
    assert_eq!(server.terminate().code(), Some(0));
    rt.block_on(async {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(&pool)
            .await
            .unwrap();
    });
}

/// Mail queued in the store before a start (here: written while no server ran) is delivered by
/// the background sender once `--smtp-url` names a relay, and SIGTERM still exits 0.
#[test]
fn serve_sends_queued_mail_through_the_configured_relay() {
    use lanyard_core::model::{OutboxMessage, OutboxStatus, new_id};
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    // The test peers' virtual environment (scripts/setup-test-peers), not the system Python.
    let venv_python =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/venv/bin/python3");
    let python = Command::new(&venv_python)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !python {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but tests/peers/venv with aiosmtpd is missing: run scripts/setup-test-peers"
        );
        eprintln!(
            "SMTP serve test skipped: tests/peers/venv with aiosmtpd is missing (scripts/setup-test-peers)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(Server::start(dir.path(), &[]).terminate().code(), Some(0));
    let db = format!("sqlite://{}", dir.path().join("lanyard.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = lanyard_core::Store::connect(&db).await.unwrap();
        let demo = store.tenant_by_slug("demo").await.unwrap().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        store
            .insert_outbox(&OutboxMessage {
                id: new_id(),
                tenant_id: demo.id,
                to: "jo@demo.test".into(),
                subject: "Queued while stopped".into(),
                body: "Hello from the outbox".into(),
                status: OutboxStatus::Queued,
                created_at: now,
                next_attempt_at: now,
                attempts: 0,
                last_error: None,
                sent_at: None,
            })
            .await
            .unwrap();
        store.close().await;
    });

    let port = crate::harness::free_port();
    let inbox = tempfile::tempdir().unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/smtp/sink.py");
    let mut sink = Command::new(&venv_python)
        .arg(&script)
        .arg(port.to_string())
        .arg(inbox.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    let _ = std::io::BufReader::new(sink.stdout.take().unwrap()).read_line(&mut ready);
    assert_eq!(ready.trim(), "ready", "the SMTP sink did not start");

    let url = format!("smtp://127.0.0.1:{port}?from=sso@lanyard.test");
    let server = Server::start(dir.path(), &["--smtp-url", &url]);
    let eml = inbox.path().join("1.eml");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !eml.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let got = std::fs::read_to_string(&eml).unwrap_or_default();
    let status = server.terminate();
    drop(sink.stdin.take());
    let _ = sink.kill();
    let _ = sink.wait();
    assert!(got.contains("Subject: Queued while stopped"), "{got:?}");
    assert!(got.contains("Hello from the outbox"), "{got:?}");
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM exits 0 with the sender running"
    );
}
