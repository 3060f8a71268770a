//! First-run and operations: a failed first start leaves nothing half-made, a lost admin
//! password is recovered from the shell, logs and start-up errors are readable where they land.

use crate::harness::{Server, bin, free_port, sign_in};
use std::net::TcpListener;

/// The port is taken on the very first start: the start fails with one clear line and creates
/// nothing, so the next start (on a free port) is still the first and shows the secrets.
#[test]
fn a_busy_port_on_first_start_creates_nothing_and_the_next_start_shows_the_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let taken = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let out = bin()
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    drop(taken);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Password:"));
    assert!(
        !data.exists(),
        "a failed first start made {:?}",
        std::fs::read_dir(&data).map(|d| d.count())
    );

    let server = Server::start(&data, &[]);
    let password = server
        .field("Password:")
        .unwrap_or_else(|| panic!("second start shows the password: {}", server.banner));
    assert!(server.field("API key:").is_some(), "{}", server.banner);
    sign_in(&server, "demo", "admin", &password).unwrap_or_else(|r| panic!("{}", r.status));
}

fn admin(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    bin()
        .arg("admin")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap()
}

/// A lost admin password: `admin reset-password` sets a new one (the old one and its
/// sessions stop working) or prints a one-use reset link; the restart banner points to it.
#[test]
fn reset_password_prints_a_new_password_or_a_reset_link() {
    let dir = tempfile::tempdir().unwrap();
    let first = Server::start(dir.path(), &[]);
    let old = first.field("Password:").unwrap();
    let old_session =
        sign_in(&first, "demo", "admin", &old).unwrap_or_else(|r| panic!("{}", r.status));
    assert_eq!(first.terminate().code(), Some(0));

    let out = admin(
        dir.path(),
        &["reset-password", "--tenant", "demo", "admin", "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["username"], "admin");
    let new = j["password"].as_str().unwrap().to_owned();
    assert_ne!(new, old);

    let server = Server::start(dir.path(), &[]);
    assert!(
        server
            .banner
            .contains("lanyard admin reset-password --tenant demo admin"),
        "the restart banner tells how to recover: {}",
        server.banner
    );
    assert!(
        sign_in(&server, "demo", "admin", &old).is_err(),
        "old password refused"
    );
    assert_ne!(
        server.get("/t/demo/session", &old_session).status,
        200,
        "sessions end with the reset"
    );
    sign_in(&server, "demo", "admin", &new).unwrap_or_else(|r| panic!("{}", r.status));

    // Link mode (by username, while the server runs): a reset page that works; the password
    // stays until the link is used.
    let out = admin(
        dir.path(),
        &["reset-password", "--tenant", "demo", "admin", "--link"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let url = text
        .lines()
        .find(|l| l.starts_with("http"))
        .unwrap_or_else(|| panic!("no link in {text}"));
    let path = url.split_once("127.0.0.1").unwrap().1;
    let path = &path[path.find('/').unwrap()..];
    assert!(path.starts_with("/t/demo/reset/"), "{url}");
    let page = server.get(path, "");
    assert_eq!(page.status, 200, "{}", page.body);
    sign_in(&server, "demo", "admin", &new).unwrap_or_else(|r| panic!("{}", r.status));
}

#[test]
fn reset_password_names_an_unknown_tenant_or_user() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        admin(dir.path(), &["create-tenant", "acme"])
            .status
            .success()
    );
    for (args, expect) in [
        (
            ["reset-password", "--tenant", "nope", "kim"],
            "no tenant named `nope`",
        ),
        (
            ["reset-password", "--tenant", "acme", "ghost"],
            "no user `ghost` in tenant `acme`",
        ),
    ] {
        for link in [false, true] {
            let mut a = args.to_vec();
            if link {
                a.push("--link");
            }
            let out = admin(dir.path(), &a);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{a:?}: {stderr}");
            assert!(stderr.contains(expect), "{a:?}: {stderr}");
            assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
            assert!(out.stdout.is_empty());
        }
    }
}

/// Logs written to a pipe or file (journald, docker logs) carry no colour escapes.
#[test]
fn text_logs_have_no_colour_codes_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let out = bin()
        .env("LANYARD_LOG", "info")
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path())
        .args(["--database-url", "postgres://nobody@127.0.0.1:1/none"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.lines().count() > 1, "some log lines: {stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "ANSI escape in piped logs: {stderr:?}"
    );
}

/// An unreachable PostgreSQL says why (not only "pool timed out"): refused connections, and,
/// with a test server, a database or role the server refuses.
#[test]
fn unreachable_postgres_reports_its_cause() {
    let refused = bin()
        .args([
            "admin",
            "migrate",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.to_lowercase().contains("connection refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("timed out"), "{stderr}");

    let Some(url) = std::env::var("LANYARD_TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
    else {
        eprintln!("PostgreSQL tests skipped: set LANYARD_TEST_DATABASE_URL");
        return;
    };
    let mut u = url::Url::parse(&url).unwrap();
    u.set_path("/lanyard_no_such_database");
    let mut role = url::Url::parse(&url).unwrap();
    role.set_username("lanyard_no_such_role").unwrap();
    for (db, expect) in [
        (u.to_string(), "lanyard_no_such_database"),
        (role.to_string(), "lanyard_no_such_role"),
    ] {
        let out = bin()
            .args(["admin", "migrate", "--database-url", &db])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(expect) && stderr.contains("does not exist"),
            "{stderr}"
        );
    }
}

/// Each command's help lists the flags that apply to it, not every server setting.
#[test]
fn each_help_lists_only_its_own_flags() {
    let help = |args: &[&str]| {
        let out = bin().args(args).arg("--help").output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let serve = help(&["serve"]);
    for flag in [
        "--listen",
        "--data-dir",
        "--database-url",
        "--trusted-proxies",
        "--smtp-url",
        "--no-demo",
        "LANYARD_LISTEN",
    ] {
        assert!(serve.contains(flag), "serve --help lacks {flag}:\n{serve}");
    }
    let admin = help(&["admin"]);
    for flag in ["--data-dir", "--database-url", "--config", "reset-password"] {
        assert!(admin.contains(flag), "admin --help lacks {flag}:\n{admin}");
    }
    for flag in [
        "--listen",
        "--trusted-proxies",
        "--smtp-url",
        "--no-demo",
        "--outbound-allow-networks",
    ] {
        assert!(!admin.contains(flag), "admin --help lists {flag}:\n{admin}");
    }
    let saml = help(&["saml"]);
    for flag in [
        "--listen",
        "--data-dir",
        "--database-url",
        "--config",
        "--smtp-url",
    ] {
        assert!(!saml.contains(flag), "saml --help lists {flag}:\n{saml}");
    }
    // The test IdP needs a place for its keys and nothing of the server's store or network.
    let dev_idp = help(&["dev-idp"]);
    for flag in ["--data-dir", "--config", "--bind", "--url"] {
        assert!(
            dev_idp.contains(flag),
            "dev-idp --help lacks {flag}:\n{dev_idp}"
        );
    }
    for flag in [
        "--database-url",
        "--master-key-file",
        "--public-url",
        "--listen",
        "--smtp-url",
    ] {
        // As an option of its own (the --bind help may mention serve's --listen in prose).
        assert!(
            !dev_idp
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{flag} "))),
            "dev-idp --help lists {flag}:\n{dev_idp}"
        );
    }
}
