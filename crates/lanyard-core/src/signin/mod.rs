//! The ways in: local password sign-in and each federation protocol's flow. Every flow verifies
//! what its protocol sent, hands the result to the one identity path ([`crate::identity`]) and
//! opens a session ([`crate::session`]).

pub mod jwt;
pub mod oidc;
pub mod password;
pub mod pem;
pub mod saml;
pub mod settings_cache;

use crate::Lanyard;
use crate::audit::{Actor, Ctx, RequestMeta};
use crate::clock::UnixTime;
use crate::error::{Error, Result};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

/// A JSON object that refuses duplicate member names (`{"alg":"RS256","alg":"none"}`).
#[derive(Debug, Default)]
pub struct StrictObject(pub Map<String, Value>);

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictObject;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<StrictObject, A::Error> {
                let mut out = Map::new();
                while let Some((k, v)) = m.next_entry::<String, Value>()? {
                    if out.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!("duplicate member `{k}`")));
                    }
                    out.insert(k, v);
                }
                Ok(StrictObject(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl Lanyard {
    /// The kind of a connection (`saml`, `jwt`), or None when the tenant or connection does not
    /// exist (the protocol's own start then reports it). Read through the sign-in path's
    /// settings cache, as the start it leads to reads them: every SP-initiated sign-in asks.
    pub async fn connection_kind(
        &self,
        tenant_slug: &str,
        conn_slug: &str,
    ) -> Result<Option<String>> {
        let t = match self.sign_in_tenant(tenant_slug).await {
            Ok(t) => t,
            Err(Error::TenantNotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(self
            .sign_in_connection(&t.id, conn_slug)
            .await?
            .map(|c| c.kind))
    }
}

/// How often a node deletes expired pending logins and replay records. Nothing depends on the
/// deletion for safety: every lookup checks `expires_at` itself (an expired pending login is
/// refused, an expired replay record is renewed by the next acceptance of its ID); the purge
/// only keeps the tables small.
///
/// Why not on every sign-in start, as it was: two `DELETE`s are two commits on SQLite's one
/// writing connection, so every start queued behind the sign-ins being committed (issue 17's
/// OIDC runs: ≈ 29 ms p50 per request with the cores half idle).
pub const LOGIN_STATE_PURGE_EVERY_SECS: UnixTime = 60;

/// When this node's next purge of expired login state is due (shared by the clones of one
/// [`Lanyard`]).
#[derive(Debug, Default)]
pub(crate) struct PurgeSchedule {
    next_due: AtomicI64,
}

impl PurgeSchedule {
    /// Claims the purge due at `now`: true for exactly one caller per period.
    fn claim(&self, now: UnixTime) -> bool {
        let due = self.next_due.load(Ordering::Relaxed);
        now >= due
            && self
                .next_due
                .compare_exchange(
                    due,
                    now.saturating_add(LOGIN_STATE_PURGE_EVERY_SECS),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }
}

impl Lanyard {
    /// Deletes expired pending logins and replay records when this node's period is due (at
    /// most once per [`LOGIN_STATE_PURGE_EVERY_SECS`]; the first call after start purges). A
    /// failed purge is logged and tried again at the next period: the sign-in goes on.
    pub(crate) async fn purge_login_state_if_due(&self) {
        let now = self.now();
        if !self.login_state_purge.claim(now) {
            return;
        }
        match self.store.purge_expired_login_state(now).await {
            Ok(n) if n > 0 => tracing::debug!(deleted = n, "expired login state purged"),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "purging expired login state failed")
            }
        }
    }
}

impl Lanyard {
    /// Records a refused sign-in (`login.failed` with its code) together with what the way in
    /// knew when it refused (`details`: only what was verified, or marked as claimed). A
    /// failure to write the event is logged; it never hides the refusal itself.
    pub(crate) async fn audit_login_failure(
        &self,
        tenant_slug: &str,
        method: &'static str,
        conn_slug: &str,
        meta: &RequestMeta,
        e: &Error,
        details: Value,
    ) {
        let mut all = Map::new();
        all.insert("method".into(), method.into());
        all.insert("connection".into(), conn_slug.into());
        all.insert("reason".into(), e.to_string().into());
        if let Value::Object(extra) = details {
            all.extend(extra);
        }
        let ev = Ctx::new(Actor::Anonymous, meta.clone())
            .event(self.now(), Some(tenant_slug), "login.failed")
            .code(e.code())
            .details(Value::Object(all));
        if let Err(err) = self.store.insert_audit(&ev).await {
            tracing::error!(error = %err, method, "could not audit a refused sign-in");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_purge_per_period_however_many_ask() {
        let s = PurgeSchedule::default();
        assert!(s.claim(1_000), "the first call after start purges");
        assert!(!s.claim(1_000));
        assert!(!s.claim(1_000 + LOGIN_STATE_PURGE_EVERY_SECS - 1));
        let due = 1_000 + LOGIN_STATE_PURGE_EVERY_SECS;
        // Many requests at the moment it falls due: exactly one of them purges.
        let claimed = std::thread::scope(|scope| {
            let all: Vec<_> = (0..8).map(|_| scope.spawn(|| s.claim(due))).collect();
            all.into_iter()
                .map(|h| h.join().unwrap_or(false))
                .filter(|&won| won)
                .count()
        });
        assert_eq!(claimed, 1);
        assert!(!s.claim(due + 1), "and the next period starts from then");
    }
}
