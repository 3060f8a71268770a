use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lanyard"));
    c.env_remove("LANYARD_MASTER_KEY")
        .env_remove("LANYARD_DATABASE_URL")
        .env_remove("LANYARD_LISTEN")
        .env_remove("LANYARD_DATA_DIR")
        .env_remove("LANYARD_SMTP_URL")
        .env("LANYARD_LOG", "warn");
    c
}

/// A loopback port nobody listens on, for a child process to bind.
///
/// Ports come from below the kernel's ephemeral range (32768–60999 on Linux): a port the kernel
/// handed out through `bind(:0)` can be taken again as the source port of any outgoing
/// connection (to PostgreSQL, to a peer) before the child binds it, which made peers fail to
/// start under load. Each test process walks its own window (by PID) and skips ports in use.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = 12_000 + (std::process::id() % 200) * 100;
    for _ in 0..20_000 {
        let offset = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 12_000 + (base - 12_000 + offset) % 20_000;
        let Ok(port) = u16::try_from(port) else {
            continue;
        };
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port between 12000 and 32000");
}

/// A running `lanyard serve`, with its stdout banner.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub banner: String,
}

impl Server {
    pub fn start(data_dir: &Path, extra: &[&str]) -> Self {
        let port = free_port();
        let mut cmd = bin();
        cmd.args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data_dir)
        .args(extra);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                text.push_str(&line);
                text.push('\n');
                if line.contains("Stop with Ctrl-C") {
                    let _ = tx.send(text.clone());
                }
            }
        });
        let banner = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                let mut err = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("server did not start: {err}");
            }
        };
        Self {
            child,
            port,
            banner,
        }
    }

    pub fn field(&self, label: &str) -> Option<String> {
        self.banner
            .lines()
            .find_map(|l| l.trim().strip_prefix(label).map(|v| v.trim().to_owned()))
    }

    pub fn request(&self, raw: &str) -> HttpResponse {
        http(self.port, raw)
    }

    pub fn get(&self, path: &str, headers: &str) -> HttpResponse {
        self.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\r\n"
        ))
    }

    pub fn post_form(&self, path: &str, headers: &str, body: &str) -> HttpResponse {
        self.request(&format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n{headers}\r\n{body}",
            body.len()
        ))
    }

    /// SIGTERM, then the exit status within 10 s.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct HttpResponse {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.head.lines().find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with(&prefix)
                .then(|| l[prefix.len()..].trim().to_owned())
        })
    }
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.head
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
            .find_map(|l| {
                let v = l.split_once(':')?.1.trim();
                v.split(';')
                    .next()?
                    .strip_prefix(&format!("{name}="))
                    .map(str::to_owned)
            })
    }
}

/// A minimal HTTP/1.1 exchange over loopback (Connection: close; no chunked bodies needed).
pub fn http(port: u16, raw: &str) -> HttpResponse {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    HttpResponse {
        status,
        head: head.to_owned(),
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
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

/// Signs in through the login form; returns the `Cookie:` header line for the session.
pub fn sign_in(
    server: &Server,
    tenant: &str,
    user: &str,
    password: &str,
) -> Result<String, HttpResponse> {
    let page = server.get(&format!("/t/{tenant}/login"), "");
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.cookie("lanyard_login_csrf").unwrap();
    let body = format!(
        "username={}&password={}&csrf_token={csrf}",
        urlencode(user),
        urlencode(password)
    );
    let res = server.post_form(
        &format!("/t/{tenant}/login"),
        &format!("Cookie: lanyard_login_csrf={csrf}\r\n"),
        &body,
    );
    match res.cookie(&format!("lanyard_session_{tenant}")) {
        Some(v) if res.status == 303 => Ok(format!("Cookie: lanyard_session_{tenant}={v}\r\n")),
        _ => Err(res),
    }
}

/// The repository's root (test peers and artifacts live there).
pub fn repo_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Chromium driver script `tests/peers/browser/<script>`, if Chromium and playwright-core
/// are installed; otherwise the test is skipped with a note, except under CI, where a missing
/// browser is a failure.
pub fn browser_driver(script: &str) -> Option<std::path::PathBuf> {
    let dir = repo_root().join("tests/peers/browser");
    let ready = Path::new("/usr/bin/chromium").exists()
        && dir.join("node_modules/playwright-core").exists();
    if !ready {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but chromium or playwright-core is missing: run scripts/setup-test-peers"
        );
        eprintln!(
            "SKIPPED browser test {script}: run scripts/setup-test-peers (chromium, playwright-core)"
        );
        return None;
    }
    Some(dir.join(script))
}
