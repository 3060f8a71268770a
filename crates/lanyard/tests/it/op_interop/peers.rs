//! The relying parties of the OpenID provider interop test, as child processes: the
//! openid-client v6 driver (tests/peers/openid-client/rp.mjs) and the Authlib driver
//! (tests/peers/authlib/rp.py, in the venv tests/peers/venv), which speak one JSON-lines protocol
//! (one command in, one answer out; see rp.mjs); and the jose logout-token verifier
//! (tests/peers/jose/verify.mjs). All are installed by scripts/setup-test-peers.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Skips with a message, or fails when `CI` is set.
fn missing(what: &str) -> Option<PathBuf> {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {what}: the OpenID provider interop test cannot run (scripts/setup-test-peers)"
    );
    eprintln!("SKIPPED OpenID provider interop: {what} (run scripts/setup-test-peers)");
    None
}

/// An npm peer folder under tests/peers, `npm ci`-installed if scripts/setup-test-peers has not
/// run; None (skip) without node/npm.
pub(crate) fn npm_peer(name: &str, marker: &str) -> Option<PathBuf> {
    if !have("node") || !have("npm") {
        return missing("node and npm are not installed");
    }
    let dir = repo_root().join("tests/peers").join(name);
    if !dir.join("node_modules").join(marker).exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "npm ci failed in {}", dir.display());
    }
    Some(dir)
}

/// The venv's interpreter when Authlib is importable there.
pub(crate) fn authlib_python() -> Option<PathBuf> {
    let py = repo_root().join("tests/peers/venv/bin/python3");
    let ok = Command::new(&py)
        .args(["-c", "import authlib, requests"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Some(py)
    } else {
        missing("Authlib is not installed in tests/peers/venv")
    }
}

/// One relying party: a child process answering one JSON line per command.
pub(crate) struct Rp {
    pub(crate) name: &'static str,
    child: Child,
    stdin: ChildStdin,
    answers: mpsc::Receiver<String>,
}

impl Rp {
    fn spawn(name: &'static str, mut cmd: Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            name,
            child,
            stdin,
            answers,
        }
    }

    /// panva/openid-client v6.
    pub(crate) fn openid_client() -> Option<Self> {
        let dir = npm_peer("openid-client", "openid-client/package.json")?;
        let mut cmd = Command::new("node");
        cmd.arg("rp.mjs").current_dir(dir);
        Some(Self::spawn("openid-client", cmd))
    }

    /// Authlib (requests client).
    pub(crate) fn authlib() -> Option<Self> {
        let py = authlib_python()?;
        let mut cmd = Command::new(py);
        cmd.arg(repo_root().join("tests/peers/authlib/rp.py"));
        Some(Self::spawn("authlib", cmd))
    }

    /// One command; its answer (`ok` true or false).
    pub(crate) fn call(&mut self, cmd: Value) -> Value {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
        let line = self
            .answers
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{}: no answer to {cmd} within 60 s ({e})", self.name));
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {line}", self.name))
    }

    /// A command that must succeed.
    pub(crate) fn ok(&mut self, cmd: Value) -> Value {
        let what = cmd["cmd"].clone();
        let a = self.call(cmd);
        assert_eq!(a["ok"], true, "{} {what}: {a}", self.name);
        a
    }

    /// A command that must fail with the OAuth `error` code.
    pub(crate) fn fails(&mut self, cmd: Value, error: &str) -> Value {
        let what = cmd["cmd"].clone();
        let a = self.call(cmd);
        assert_eq!(
            a["ok"], false,
            "{} {what} should fail with {error}: {a}",
            self.name
        );
        assert_eq!(a["error"], error, "{} {what}: {a}", self.name);
        a
    }
}

impl Drop for Rp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Verifies a logout token with panva/jose against the provider's JWKS; returns the payload.
pub(crate) fn verify_logout_token(token: &str, jwks_uri: &str, issuer: &str, aud: &str) -> Value {
    let dir = npm_peer("jose", "jose/package.json").expect("jose peer (node is present)");
    let mut child = Command::new("node")
        .arg("verify.mjs")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let req = json!({
        "token": token, "jwks_uri": jwks_uri, "issuer": issuer, "audience": aud,
        "typ": "logout+jwt",
    });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(req.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("verify.mjs: {e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(v["ok"], true, "jose refused the logout token: {v}");
    v["payload"].clone()
}
