//! The outbox and its sender: claims are single-winner across nodes, failures back off and give
//! up, nothing is lost across a restart, and delivery reaches a real SMTP server (aiosmtpd) on
//! loopback.

use crate::harness::{Env, T0, each_backend};
use lanyard_core::mail::{BACKOFF_CAP_SECS, LEASE_SECS, MAX_ATTEMPTS, MailTransport, SendReport};
use lanyard_core::model::OutboxStatus;
use lanyard_core::{Ctx, Lanyard, ManualClock};
use lanyard_proto as proto;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn tenant(e: &Env) -> String {
    e.lanyard
        .create_tenant(
            &Ctx::cli(),
            proto::CreateTenant {
                slug: "acme".into(),
                name: "Acme".into(),
                session_lifetime_secs: None,
            },
        )
        .await
        .unwrap()
        .id
}

/// A loopback port with nothing listening on it (bound, then released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn smtp(port: u16) -> MailTransport {
    MailTransport::from_url(Some(&format!(
        "smtp://127.0.0.1:{port}?from=sso@lanyard.test"
    )))
    .unwrap()
}

/// aiosmtpd (tests/peers/smtp/sink.py) on a loopback port, writing what it receives to a
/// directory; stopped (stdin closed, then killed) on drop.
struct SmtpSink {
    child: Child,
    dir: tempfile::TempDir,
}

/// The Python of the test peers' virtual environment (tests/peers/venv, made by
/// scripts/setup-test-peers): aiosmtpd is installed there, never into the system Python.
fn peer_python() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/venv/bin/python3")
}

/// Whether the SMTP peer can run; without it the test is skipped, except in CI where it fails.
fn sink_available() -> bool {
    let ok = Command::new(peer_python())
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but tests/peers/venv with aiosmtpd is missing: run scripts/setup-test-peers"
        );
        eprintln!(
            "SMTP delivery test skipped: tests/peers/venv with aiosmtpd is missing (scripts/setup-test-peers)"
        );
    }
    ok
}

impl SmtpSink {
    fn start(port: u16) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/smtp/sink.py");
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(peer_python())
            .arg(&script)
            .arg(port.to_string())
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(15)).unwrap_or_default();
        let mut sink = Self { child, dir };
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        sink.child.stdin.as_mut().unwrap().flush().unwrap();
        sink
    }

    /// The `n`th message received (1-based), waiting a bounded time for it.
    fn message(&self, n: usize) -> (String, String) {
        let eml = self.dir.path().join(format!("{n}.eml"));
        let rcpt: PathBuf = self.dir.path().join(format!("{n}.rcpt"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !eml.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        (
            std::fs::read_to_string(&rcpt).unwrap(),
            std::fs::read_to_string(&eml).unwrap(),
        )
    }

    fn count(&self) -> usize {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".eml"))
            })
            .count()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn header<'a>(eml: &'a str, name: &str) -> Option<&'a str> {
    eml.lines().find_map(|l| {
        l.split_once(':')
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    })
}

fn body(eml: &str) -> &str {
    eml.split_once("\r\n\r\n")
        .or_else(|| eml.split_once("\n\n"))
        .map(|(_, b)| b)
        .unwrap_or("")
}

#[tokio::test]
async fn enqueue_validates_and_the_embedded_outbox_keeps_mail_unsent() {
    each_backend(|e| async move {
        let t = tenant(&e).await;
        let l = &e.lanyard;
        for (to, subject, code) in [
            ("not an address", "Hi", "request.invalid_field"),
            (
                "jo@acme.test",
                "two\r\nBcc: x@evil.test",
                "request.invalid_field",
            ),
        ] {
            let err = l.enqueue_mail(&t, to, subject, "x").await.unwrap_err();
            assert_eq!(err.code(), code, "{}: {to:?} {subject:?}", e.name);
        }
        let err = l
            .enqueue_mail("no-such-tenant", "jo@acme.test", "Hi", "x")
            .await
            .unwrap_err();
        assert_eq!(err.code(), "tenant.not_found", "{}", e.name);
        let m = l
            .enqueue_mail(&t, "jo@acme.test", "Hi", "Hello")
            .await
            .unwrap();
        let report = l.send_due_mail(&MailTransport::Outbox).await.unwrap();
        assert_eq!(report, SendReport::default(), "{}", e.name);
        let kept = l.store.outbox_message(&t, &m.id).await.unwrap().unwrap();
        assert_eq!(kept, m, "{}", e.name);
    })
    .await;
}

#[tokio::test]
async fn a_due_message_is_claimed_by_exactly_one_of_several_concurrent_senders() {
    each_backend(|e| async move {
        let t = tenant(&e).await;
        let mut ids = HashSet::new();
        for i in 0..40 {
            let m = e
                .lanyard
                .enqueue_mail(&t, "jo@acme.test", &format!("m{i}"), "x")
                .await
                .unwrap();
            ids.insert(m.id);
        }
        let claims = (0..6).map(|_| {
            let s = e.lanyard.store.clone();
            tokio::spawn(async move { s.claim_outbox(T0, T0 + LEASE_SECS, 10).await.unwrap() })
        });
        let mut seen = Vec::new();
        for c in claims {
            seen.extend(c.await.unwrap().into_iter().map(|m| m.id));
        }
        let unique: HashSet<_> = seen.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "{}: a message was claimed twice",
            e.name
        );
        assert_eq!(unique, ids, "{}: every message is claimed once", e.name);
        // Leased: nobody gets them again until the lease ends.
        let again = e
            .lanyard
            .store
            .claim_outbox(T0 + 1, T0 + 1 + LEASE_SECS, 100);
        assert!(again.await.unwrap().is_empty(), "{}", e.name);
        let after = e
            .lanyard
            .store
            .claim_outbox(T0 + LEASE_SECS, T0 + 2 * LEASE_SECS, 100)
            .await
            .unwrap();
        assert_eq!(after.len(), 40, "{}: expired leases are due again", e.name);
    })
    .await;
}

#[tokio::test]
async fn failed_attempts_back_off_exponentially_then_give_up() {
    each_backend(|e| async move {
        let t = tenant(&e).await;
        let l = &e.lanyard;
        let m = l.enqueue_mail(&t, "jo@acme.test", "Hi", "x").await.unwrap();
        let down = smtp(closed_port());
        let r = l.send_due_mail(&down).await.unwrap();
        assert_eq!(r, SendReport { sent: 0, failed: 1 }, "{}", e.name);
        let row = l.store.outbox_message(&t, &m.id).await.unwrap().unwrap();
        assert_eq!((row.status, row.attempts), (OutboxStatus::Queued, 1));
        assert_eq!(row.next_attempt_at, T0 + 30, "{}", e.name);
        assert!(row.last_error.as_deref().is_some_and(|s| !s.is_empty()));
        // Not due yet: nothing is attempted.
        e.clock.advance(29);
        assert_eq!(l.send_due_mail(&down).await.unwrap(), SendReport::default());
        e.clock.advance(1);
        assert_eq!(l.send_due_mail(&down).await.unwrap().failed, 1);
        let row = l.store.outbox_message(&t, &m.id).await.unwrap().unwrap();
        assert_eq!(row.attempts, 2);
        assert_eq!(row.next_attempt_at, T0 + 30 + 60, "{}", e.name);
        // Keep failing: the delay doubles up to the cap, and at MAX_ATTEMPTS it gives up.
        for _ in 2..MAX_ATTEMPTS {
            e.clock.advance(BACKOFF_CAP_SECS);
            assert_eq!(l.send_due_mail(&down).await.unwrap().failed, 1);
        }
        let row = l.store.outbox_message(&t, &m.id).await.unwrap().unwrap();
        assert_eq!(
            (row.status, row.attempts),
            (OutboxStatus::Failed, MAX_ATTEMPTS),
            "{}",
            e.name
        );
        e.clock.advance(10 * BACKOFF_CAP_SECS);
        assert_eq!(l.send_due_mail(&down).await.unwrap(), SendReport::default());
        let listed = l
            .list_outbox(&Ctx::cli(), "acme", None, None)
            .await
            .unwrap();
        assert_eq!(listed.0.len(), 1);
        assert_eq!(listed.0[0].status, OutboxStatus::Failed);
    })
    .await;
}

#[tokio::test]
async fn loses_no_message_across_a_restart() {
    if !sink_available() {
        return;
    }
    each_backend(|e| async move {
        let t = tenant(&e).await;
        let queued = e
            .lanyard
            .enqueue_mail(
                &t,
                "kim@acme.test",
                "Queued before the restart",
                "still here",
            )
            .await
            .unwrap();
        let crashed = e
            .lanyard
            .enqueue_mail(
                &t,
                "lee@acme.test",
                "Claimed by a node that died",
                "also here",
            )
            .await
            .unwrap();
        // The first process only keeps mail (no SMTP configured)…
        let kept = e
            .lanyard
            .send_due_mail(&MailTransport::Outbox)
            .await
            .unwrap();
        assert_eq!(kept, SendReport::default());
        // …and a node claims the second message and dies before sending it.
        e.clock.advance(1);
        let store = e.lanyard.store.clone();
        let key = e.lanyard.master_key().clone();
        let claimed = store
            .claim_outbox(T0 + 1, T0 + 1 + LEASE_SECS, 1)
            .await
            .unwrap();
        assert_eq!(claimed[0].id, queued.id, "{}: oldest first", e.name);
        let claimed = store
            .claim_outbox(T0 + 1, T0 + 1 + LEASE_SECS, 1)
            .await
            .unwrap();
        assert_eq!(claimed[0].id, crashed.id, "{}", e.name);
        drop(e.lanyard);

        // A new process on the same store, with SMTP configured, once the leases have ended.
        let clock = ManualClock::new(T0 + 1 + LEASE_SECS);
        let restarted = Lanyard::new(store.clone(), Arc::new(clock.clone()), key)
            .await
            .unwrap();
        let port = closed_port();
        let sink = SmtpSink::start(port);
        let r = restarted.send_due_mail(&smtp(port)).await.unwrap();
        assert_eq!(r, SendReport { sent: 2, failed: 0 }, "{}", e.name);
        let mut got = [sink.message(1), sink.message(2)];
        got.sort();
        assert_eq!(got[0].0, "kim@acme.test");
        assert_eq!(
            header(&got[0].1, "Subject"),
            Some("Queued before the restart")
        );
        assert_eq!(got[1].0, "lee@acme.test");
        assert_eq!(
            header(&got[1].1, "Subject"),
            Some("Claimed by a node that died")
        );
        for id in [&queued.id, &crashed.id] {
            let row = store.outbox_message(&t, id).await.unwrap().unwrap();
            assert_eq!(row.status, OutboxStatus::Sent, "{}", e.name);
            assert_eq!(row.sent_at, Some(T0 + 1 + LEASE_SECS));
        }
        // Sent mail is not sent again.
        clock.advance(10 * LEASE_SECS);
        let r = restarted.send_due_mail(&smtp(port)).await.unwrap();
        assert_eq!(r, SendReport::default());
        assert_eq!(sink.count(), 2, "{}", e.name);
    })
    .await;
}

#[tokio::test]
async fn delivers_to_a_real_smtp_server_after_it_comes_back() {
    if !sink_available() {
        return;
    }
    each_backend(|e| async move {
        let t = tenant(&e).await;
        let l = &e.lanyard;
        let m = l
            .enqueue_mail(
                &t,
                "jo@acme.test",
                "Welcome to Acme",
                "Hello Jo,\n\nconfirm your account at https://sso.example/confirm.\n",
            )
            .await
            .unwrap();
        let port = closed_port();
        let transport = smtp(port);
        // The server is down: the attempt fails and the backoff is recorded.
        assert_eq!(l.send_due_mail(&transport).await.unwrap().failed, 1);
        let row = l.store.outbox_message(&t, &m.id).await.unwrap().unwrap();
        assert_eq!(
            (row.status, row.attempts, row.next_attempt_at),
            (OutboxStatus::Queued, 1, T0 + 30)
        );
        assert!(row.last_error.is_some());

        // It comes up; the retry is due after the backoff.
        let sink = SmtpSink::start(port);
        assert_eq!(
            l.send_due_mail(&transport).await.unwrap(),
            SendReport::default()
        );
        e.clock.advance(30);
        let r = l.send_due_mail(&transport).await.unwrap();
        assert_eq!(r, SendReport { sent: 1, failed: 0 }, "{}", e.name);
        let (rcpt, eml) = sink.message(1);
        assert_eq!(rcpt, "jo@acme.test");
        assert_eq!(header(&eml, "To"), Some("jo@acme.test"), "{eml}");
        assert_eq!(header(&eml, "From"), Some("sso@lanyard.test"), "{eml}");
        assert_eq!(header(&eml, "Subject"), Some("Welcome to Acme"), "{eml}");
        assert_eq!(
            header(&eml, "Message-ID").map(str::to_owned),
            Some(format!("<{}@lanyard>", m.id))
        );
        let text = body(&eml).replace("\r\n", "\n");
        assert!(
            text.contains("Hello Jo,\n\nconfirm your account at https://sso.example/confirm."),
            "{eml}"
        );
        let row = l.store.outbox_message(&t, &m.id).await.unwrap().unwrap();
        assert_eq!(row.status, OutboxStatus::Sent);
        assert_eq!(row.sent_at, Some(T0 + 30));
        assert_eq!(row.last_error, None, "a delivered message keeps no error");
    })
    .await;
}
