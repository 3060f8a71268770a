//! Outgoing email: every message is first written to the outbox in the store, then delivered by
//! [`Lanyard::send_due_mail`] through the configured [`MailTransport`].
//!
//! Writing first means a crash or restart loses nothing (the next sender, on any node, picks the
//! row up), and the embedded default needs no mail server: with [`MailTransport::Outbox`] messages
//! simply stay in the outbox, readable through the admin API, which is what the demo uses.

use crate::audit::Ctx;
use crate::error::{Error, Result};
use crate::model::{OutboxMessage, OutboxStatus, new_id};
use crate::{Lanyard, UnixTime};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Tokio1Executor};
use std::time::Duration;

/// First retry after this many seconds, doubling with every failed attempt…
pub const BACKOFF_BASE_SECS: i64 = 30;
/// …up to this.
pub const BACKOFF_CAP_SECS: i64 = 3600;
/// After this many failed attempts a message is marked `failed` and no longer retried.
pub const MAX_ATTEMPTS: i64 = 10;
/// How long a claimed message is reserved for the node sending it. Longer than a whole batch
/// can take (`BATCH` × `SEND_TIMEOUT`), so a slow send is never duplicated by another node.
pub const LEASE_SECS: i64 = 600;
/// Messages claimed per sending step.
pub const BATCH: i64 = 20;
const SEND_TIMEOUT: Duration = Duration::from_secs(20);
const MAX_SUBJECT: usize = 998;
const MAX_BODY: usize = 256 * 1024;

/// Delay before the attempt that follows `attempts` failed ones: 30 s × 2^attempts, capped.
pub fn backoff_secs(attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    BACKOFF_BASE_SECS
        .saturating_mul(1_i64 << shift)
        .min(BACKOFF_CAP_SECS)
}

/// How mail leaves Lanyard.
#[derive(Clone)]
pub enum MailTransport {
    /// Keep messages in the outbox and never send them (the embedded default).
    Outbox,
    /// Boxed: the transport is large and the enum is passed around by value.
    Smtp(Box<SmtpMailer>),
}

/// An SMTP relay and the sender address used for every message.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The URL without its password, for logs.
    display: String,
}

impl std::fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Outbox => f.write_str("Outbox"),
            Self::Smtp(s) => write!(f, "Smtp({})", s.display),
        }
    }
}

impl MailTransport {
    /// `None`, `""` or `outbox:` keep mail in the outbox; `smtp://[user:pass@]host[:port]`
    /// (plain, or `?tls=required` / `?tls=opportunistic` for STARTTLS) and `smtps://…` (TLS from
    /// the first byte) deliver through that relay. `?from=addr` sets the sender
    /// (default `lanyard@HOST`).
    pub fn from_url(url: Option<&str>) -> Result<Self> {
        let raw = match url.map(str::trim) {
            None | Some("") | Some("outbox:") => return Ok(Self::Outbox),
            Some(u) => u,
        };
        let bad = |reason: String| Error::invalid("smtp_url", reason);
        let mut parsed = url::Url::parse(raw).map_err(|e| bad(format!("not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "smtp" | "smtps") {
            return Err(bad("must start with smtp://, smtps:// or be outbox:".into()));
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("names no host".into()))?
            .to_owned();
        let mut from = None;
        let mut rest = Vec::new();
        for (k, v) in parsed.query_pairs() {
            if k == "from" {
                from = Some(v.into_owned());
            } else {
                rest.push((k.into_owned(), v.into_owned()));
            }
        }
        if rest.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(rest);
        }
        let from = from.unwrap_or_else(|| format!("lanyard@{}", host.trim_matches(['[', ']'])));
        let from: Mailbox = from
            .parse()
            .map_err(|e| bad(format!("`from` is not an email address: {e}")))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(parsed.as_str())
            .map_err(|e| bad(e.to_string()))?
            .timeout(Some(SEND_TIMEOUT))
            .build();
        let mut display = parsed;
        let _ = display.set_password(None);
        Ok(Self::Smtp(Box::new(SmtpMailer {
            transport,
            from,
            display: display.to_string(),
        })))
    }

    /// Whether this transport delivers anything (a sender task is only worth running then).
    pub fn delivers(&self) -> bool {
        matches!(self, Self::Smtp(_))
    }
}

impl SmtpMailer {
    async fn send(&self, m: &OutboxMessage) -> std::result::Result<(), String> {
        let to: Mailbox =
            m.to.parse()
                .map_err(|e| format!("bad recipient address: {e}"))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            // A stable Message-ID lets receivers drop the duplicate of a retried send.
            .message_id(Some(format!("<{}@lanyard>", m.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(m.body.clone())
            .map_err(|e| format!("cannot build the message: {e}"))?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// What one sending step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub failed: usize,
}

impl Lanyard {
    /// Writes a message to the outbox of `tenant_id`; it is delivered by the next sending step
    /// on any node. Used by features that email people (welcome, invitations, password reset).
    pub async fn enqueue_mail(
        &self,
        tenant_id: &str,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<OutboxMessage> {
        let m = self.compose_mail(tenant_id, to, subject, body)?;
        self.store.insert_outbox(&m).await?;
        Ok(m)
    }

    /// A checked outbox message, not yet stored: callers write it in the transaction of the
    /// change that sends it (an invitation and its email commit together or not at all).
    pub fn compose_mail(
        &self,
        tenant_id: &str,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<OutboxMessage> {
        to.parse::<Mailbox>()
            .map_err(|e| Error::invalid("to", format!("not an email address: {e}")))?;
        if subject.len() > MAX_SUBJECT || subject.contains(['\r', '\n']) {
            return Err(Error::invalid(
                "subject",
                format!("must be one line of at most {MAX_SUBJECT} bytes"),
            ));
        }
        if body.len() > MAX_BODY {
            return Err(Error::invalid(
                "body",
                format!("must be at most {MAX_BODY} bytes"),
            ));
        }
        let now = self.now();
        let m = OutboxMessage {
            id: new_id(),
            tenant_id: tenant_id.to_owned(),
            to: to.to_owned(),
            subject: subject.to_owned(),
            body: body.to_owned(),
            status: OutboxStatus::Queued,
            created_at: now,
            next_attempt_at: now,
            attempts: 0,
            last_error: None,
            sent_at: None,
        };
        Ok(m)
    }

    /// One sending step: claims the messages due now (no other node gets them) and delivers
    /// them; a failure schedules the next attempt with [`backoff_secs`] and gives up after
    /// [`MAX_ATTEMPTS`]. With [`MailTransport::Outbox`] nothing is claimed or sent.
    pub async fn send_due_mail(&self, transport: &MailTransport) -> Result<SendReport> {
        let MailTransport::Smtp(smtp) = transport else {
            return Ok(SendReport::default());
        };
        let now = self.now();
        let claimed = self
            .store
            .claim_outbox(now, now.saturating_add(LEASE_SECS), BATCH)
            .await?;
        let mut report = SendReport::default();
        for m in claimed {
            match smtp.send(&m).await {
                Ok(()) => {
                    self.store.mark_outbox_sent(&m.id, self.now()).await?;
                    report.sent += 1;
                }
                Err(e) => {
                    let next = next_attempt_after(self.now(), m.attempts);
                    tracing::warn!(message_id = %m.id, attempts = m.attempts + 1, error = %e, "mail delivery failed");
                    self.store
                        .mark_outbox_failed(&m.id, &e, next, MAX_ATTEMPTS)
                        .await?;
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// A tenant's outbox for the admin API, newest first.
    pub async fn list_outbox(
        &self,
        ctx: &Ctx,
        slug: &str,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<(Vec<OutboxMessage>, Option<String>)> {
        let t = self.admin_tenant(ctx, slug).await?;
        let limit = crate::admin::page_limit(limit)?;
        let rows = self.store.list_outbox(&t.id, cursor, limit + 1).await?;
        Ok(crate::admin::paginate(rows, limit, |m| m.id.clone()))
    }
}

/// The time at which a message that failed `attempts` times so far is due again.
pub fn next_attempt_after(now: UnixTime, attempts: i64) -> UnixTime {
    now.saturating_add(backoff_secs(attempts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds_and_caps_at_an_hour() {
        assert_eq!(backoff_secs(0), 30);
        assert_eq!(backoff_secs(1), 60);
        assert_eq!(backoff_secs(4), 480);
        assert_eq!(backoff_secs(7), 3600);
        assert_eq!(backoff_secs(i64::MAX), 3600);
        assert_eq!(backoff_secs(-3), 30);
        assert_eq!(next_attempt_after(100, 1), 160);
    }

    #[test]
    fn transport_urls() {
        assert!(matches!(
            MailTransport::from_url(None),
            Ok(MailTransport::Outbox)
        ));
        assert!(matches!(
            MailTransport::from_url(Some("outbox:")),
            Ok(MailTransport::Outbox)
        ));
        let t = MailTransport::from_url(Some(
            "smtp://bob:s3cret@127.0.0.1:2525?from=sso@example.com",
        ))
        .unwrap();
        assert!(t.delivers());
        let shown = format!("{t:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(MailTransport::from_url(Some("smtps://mail.example.com")).is_ok());
        for bad in [
            "http://mail.example.com",
            "smtp://",
            "not a url",
            "smtp://h?from=nobody",
            "smtp://h?tls=sometimes",
        ] {
            let e = MailTransport::from_url(Some(bad)).unwrap_err();
            assert_eq!(e.code(), "request.invalid_field", "{bad}");
        }
    }
}
