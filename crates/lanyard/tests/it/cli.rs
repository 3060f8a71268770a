use crate::harness::{Server, bin, sign_in};

fn one_line_failure(args: &[&str], expect: &str, code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let out = bin().current_dir(dir.path()).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{args:?}: one line, got: {stderr}"
    );
    assert!(stderr.contains(expect), "{args:?}: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[test]
fn configuration_errors_are_one_line_and_non_zero() {
    one_line_failure(
        &["serve", "--listen", "nowhere"],
        "listen address `nowhere`",
        2,
    );
    one_line_failure(
        &["serve", "--public-url", "http://sso.example.com"],
        "must be https",
        2,
    );
    one_line_failure(
        &["serve", "--config", "/no/such/file.toml"],
        "cannot read the configuration file",
        2,
    );
    one_line_failure(
        &["serve", "--database-url", "mysql://x"],
        "sqlite:// or postgres://",
        2,
    );
    one_line_failure(
        &[
            "serve",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ],
        "cannot open the database",
        1,
    );
    one_line_failure(
        &["serve", "--master-key-file", "/no/such/key"],
        "cannot read the master key file",
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    std::fs::write(&f, "listen = 8080\n").unwrap();
    one_line_failure(
        &["serve", "--config", f.to_str().unwrap()],
        "configuration file",
        2,
    );
    let f = dir.path().join("rotation.toml");
    std::fs::write(&f, "signing_key_rotation_days = 0\n").unwrap();
    one_line_failure(
        &["serve", "--config", f.to_str().unwrap()],
        "signing_key_rotation_days must be between 1 and 3650",
        2,
    );
}

#[test]
fn environment_overrides_the_file_and_flags_override_both() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("l.toml");
    std::fs::write(&f, "listen = \"nonsense-from-file\"\n").unwrap();
    // The env value wins over the file's (which would fail to parse).
    let out = bin()
        .env("LANYARD_LISTEN", "still-bad")
        .args(["serve", "--config", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("`still-bad`"));
    // The flag wins over the environment.
    let out = bin()
        .env("LANYARD_LISTEN", "still-bad")
        .args([
            "serve",
            "--config",
            f.to_str().unwrap(),
            "--listen",
            "bad-flag",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("`bad-flag`"));
}

#[test]
fn a_wrong_master_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Server::start(dir.path(), &[]));
    let out = bin()
        .env(
            "LANYARD_MASTER_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .args(["admin", "migrate", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("master key does not match"));
}

#[test]
fn admin_commands_create_what_serve_then_uses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let run = |args: &[&str]| {
        let out = bin().args(args).args(["--data-dir", d]).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(
        run(&["admin", "migrate"])
            .contains("applied migrations: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]")
    );
    let t: serde_json::Value = serde_json::from_str(&run(&[
        "admin",
        "create-tenant",
        "acme",
        "--name",
        "Acme",
        "--json",
    ]))
    .unwrap();
    assert_eq!(t["slug"], "acme");
    let u: serde_json::Value = serde_json::from_str(&run(&[
        "admin",
        "create-user",
        "--tenant",
        "acme",
        "kim",
        "--role",
        "admin",
        "--json",
    ]))
    .unwrap();
    let password = u["password"].as_str().unwrap().to_owned();
    let k: serde_json::Value = serde_json::from_str(&run(&[
        "admin",
        "create-api-key",
        "--tenant",
        "acme",
        "--name",
        "ci",
        "--json",
    ]))
    .unwrap();
    let key = k["token"].as_str().unwrap().to_owned();
    assert!(run(&["admin", "create-api-key", "--name", "ops"]).contains("operator key"));

    let mut stdin_user = bin()
        .args([
            "admin",
            "create-user",
            "--tenant",
            "acme",
            "lee",
            "--password-stdin",
            "--data-dir",
            d,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    stdin_user
        .stdin
        .take()
        .unwrap()
        .write_all(b"lee's long password\n")
        .unwrap();
    assert!(stdin_user.wait().unwrap().success());

    let server = Server::start(dir.path(), &["--no-demo"]);
    assert!(server.field("Password:").is_none());
    sign_in(&server, "acme", "kim", &password).unwrap_or_else(|r| panic!("{}", r.status));
    sign_in(&server, "acme", "lee", "lee's long password")
        .unwrap_or_else(|r| panic!("{}", r.status));
    assert_eq!(
        server
            .get(
                "/api/v1/tenants/acme/users",
                &format!("Authorization: Bearer {key}\r\n")
            )
            .status,
        200
    );
    assert_eq!(
        server.get("/t/demo/login", "").status,
        404,
        "--no-demo created no demo tenant"
    );

    // Moving the tenant to SSO from the shell: no connection yet is a one-line refusal; with
    // one, each invitation link is printed (and, with an email, queued for mailing).
    let invite = |args: &[&str]| {
        bin()
            .args(["admin", "invite", "--tenant", "acme"])
            .args(args)
            .args(["--data-dir", d])
            .output()
            .unwrap()
    };
    let none = invite(&["lee"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("no enabled SSO connection"),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );
    let res = crate::saml_interop::api(
        &server,
        &key,
        "POST",
        "/api/v1/tenants/acme/jwt-connections",
        r#"{"slug": "portal", "name": "Portal", "login_url": "https://portal.example/login", "algorithm": "HS256", "secret_key": "0123456789abcdef0123456789abcdef"}"#,
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let one = invite(&["lee"]);
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let text = String::from_utf8(one.stdout).unwrap();
    assert!(
        text.starts_with("lee  ") && text.contains("/t/acme/invite/") && text.contains("no email"),
        "{text}"
    );
    let all = invite(&["--all", "--json"]);
    assert!(
        all.status.success(),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
    let all: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["username"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{all}");
    assert!(names.contains(&"kim") && names.contains(&"lee"), "{all}");
    let lee_link = text.split_whitespace().nth(1).unwrap();
    assert!(
        all.as_array().unwrap().iter().any(|i| i["url"] == lee_link),
        "re-inviting keeps lee's link: {all}"
    );

    let dup = bin()
        .args(["admin", "create-tenant", "acme", "--data-dir", d])
        .output()
        .unwrap();
    assert_eq!(dup.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already taken"));
}

#[test]
fn help_lists_the_commands_and_environment() {
    let out = bin().arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for word in [
        "serve",
        "admin",
        "LANYARD_LISTEN",
        "LANYARD_DATA_DIR",
        "LANYARD_DATABASE_URL",
        "login",
        "whoami",
        "logout",
        "tokens",
    ] {
        assert!(text.contains(word), "{word} missing from --help:\n{text}");
    }
    let out = bin().args(["login", "--help"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for word in [
        "--server",
        "--org",
        "--headless",
        "LANYARD_HEADLESS",
        "LANYARD_SERVER",
    ] {
        assert!(
            text.contains(word),
            "{word} missing from login --help:\n{text}"
        );
    }
}

#[test]
fn create_app_prints_the_client_once_and_rotate_signing_key_replaces_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let run = |args: &[&str]| {
        let out = bin().args(args).args(["--data-dir", d]).output().unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, out, err) = run(&[
        "admin",
        "create-app",
        "--name",
        "Web",
        "--redirect-uri",
        "https://app.example/cb",
        "--redirect-uri",
        "http://127.0.0.1:3000/cb",
        "--post-logout-redirect-uri",
        "https://app.example/bye",
        "--backchannel-logout-uri",
        "https://app.example/bcl",
        "--id-token-alg",
        "ES256",
        "--json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let app: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(app["client_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(app["client_secret"].as_str().unwrap().starts_with("lnc_"));
    assert_eq!(app["public"], false);
    assert_eq!(app["redirect_uris"].as_array().unwrap().len(), 2);
    assert_eq!(app["id_token_alg"], "ES256");
    assert_eq!(app["tenants"], serde_json::Value::Null);
    let (_, out, _) = run(&[
        "admin",
        "create-app",
        "--name",
        "CLI",
        "--redirect-uri",
        "http://127.0.0.1:9999/cb",
        "--public",
        "--json",
    ]);
    let public: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(public["public"], true);
    assert_eq!(public["client_secret"], serde_json::Value::Null);
    // Refusals: an http redirect URI off loopback, an unknown tenant.
    let (code, _, err) = run(&[
        "admin",
        "create-app",
        "--name",
        "X",
        "--redirect-uri",
        "http://app.example/cb",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("loopback"), "{err}");
    let (code, _, err) = run(&[
        "admin",
        "create-app",
        "--name",
        "X",
        "--redirect-uri",
        "https://app.example/cb",
        "--tenant",
        "nope",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("nope"), "{err}");
    let (code, out, err) = run(&["admin", "rotate-signing-key", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let keys: serde_json::Value = serde_json::from_str(&out).unwrap();
    let algs: Vec<&str> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert_eq!(algs, ["RS256", "ES256"]);
}
