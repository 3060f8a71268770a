//! SAML 2.0 sign-in: the AuthnRequest at `/sso/{connection}/start`, and the assertion consumer.
//!
//! State lives in the store, never in cookies: the pending login is keyed by the AuthnRequest ID
//! (matched against InResponseTo) and consumed atomically, so the cross-site POST to the ACS
//! needs no SameSite=None cookie and a login may finish on another node. The verifier is
//! `lanyard_saml::verify_response`, exactly as `lanyard saml verify` runs it.

use crate::audit::RequestMeta;
use crate::clock::UnixTime;
use crate::connection::SamlSettings;
use crate::error::{Error, Result};
use crate::identity::sign_in::SignInRecord;
use crate::model::{Connection, PURPOSE_TEST, PendingLogin, Tenant};
use crate::secret::{constant_time_eq, random_bytes, random_token};
use crate::session::NewSession;
use crate::{Lanyard, validate};
use lanyard_proto as proto;
use lanyard_saml::authn_request::AuthnRequest;
use lanyard_saml::metadata::{NAMEID_UNSPECIFIED, SpMetadata};
use lanyard_saml::{IdentityProvider, Options, ParsedResponse, ServiceProvider};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// How long a started login waits for the IdP's answer.
pub const PENDING_LOGIN_TTL_SECS: i64 = 10 * 60;

/// Where `/sso/{connection}/start` sends the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SamlStart {
    /// HTTP-Redirect binding: a 302 to this URL.
    Redirect(String),
    /// HTTP-POST binding: a form posting `SAMLRequest` and `RelayState` to `sso_url`.
    Post {
        sso_url: String,
        saml_request: String,
        relay_state: String,
    },
}

/// What the IdP's browser POST to the ACS carried, and where this server is reached.
#[derive(Debug, Clone, Copy)]
pub struct AcsPost<'a> {
    /// The `SAMLResponse` form field (base64).
    pub saml_response: &'a str,
    /// The `RelayState` form field.
    pub relay_state: Option<&'a str>,
    /// The browser-binding cookie, if the browser sent one.
    pub browser_binding: Option<&'a str>,
    pub public_url: &'a str,
}

fn binding_hash(value: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::secret::token_hash(value))
}

/// The RelayState prefix of a console test sign-in (the rest is random, as for a sign-in).
pub const TEST_RELAY_PREFIX: &str = "test.";

/// What an accepted SAML response led to: a session, or (a console test) a report.
#[derive(Debug, Clone)]
pub enum AcsOutcome {
    SignedIn(Box<SamlLogin>),
    Tested(Box<crate::console::test::TestReport>),
}

/// A successful SAML sign-in.
#[derive(Debug, Clone)]
pub struct SamlLogin {
    pub session: NewSession,
    /// The pending login's validated `return_to`, if one was given.
    pub return_to: Option<String>,
    pub user_created: bool,
    /// What provisioning did: [`crate::identity::provisioning::Provisioned::outcome`].
    pub provisioning: &'static str,
}

/// Parsed IdP keys per connection, so certificates are parsed once, not per response. An entry
/// is used only while the connection's entity ID and certificates are exactly those it was
/// built from, so an edit takes effect at the next login on every node.
#[derive(Default)]
pub struct IdpCache {
    entries: Mutex<HashMap<String, CachedIdp>>,
}

/// The entity ID and certificates an [`IdentityProvider`] was built from, and the result.
struct CachedIdp {
    entity_id: String,
    certificates: Vec<String>,
    idp: Arc<IdentityProvider>,
}

impl std::fmt::Debug for IdpCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdpCache")
    }
}

impl IdpCache {
    fn get(&self, connection_id: &str, s: &SamlSettings) -> Result<Arc<IdentityProvider>> {
        if let Ok(map) = self.entries.lock()
            && let Some(hit) = map.get(connection_id)
            && hit.entity_id == s.idp_entity_id
            && hit.certificates == s.certificates
        {
            return Ok(hit.idp.clone());
        }
        let idp = Arc::new(IdentityProvider {
            entity_id: s.idp_entity_id.clone(),
            keys: s.trusted_keys()?,
        });
        if let Ok(mut map) = self.entries.lock() {
            if map.len() > 10_000 {
                map.clear();
            }
            map.insert(
                connection_id.to_owned(),
                CachedIdp {
                    entity_id: s.idp_entity_id.clone(),
                    certificates: s.certificates.clone(),
                    idp: idp.clone(),
                },
            );
        }
        Ok(idp)
    }
}

fn system_time(t: UnixTime) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(t).unwrap_or(0))
}

fn unix_floor(t: SystemTime) -> UnixTime {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn unix_ceil(t: SystemTime) -> UnixTime {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| {
            let s = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() > 0 {
                s.saturating_add(1)
            } else {
                s
            }
        })
        .unwrap_or(0)
}

/// An AuthnRequest ID: an XML NCName with 128 random bits.
fn request_id() -> String {
    let bytes: [u8; 16] = random_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("_lny{hex}")
}

/// The verifier's options for a connection's settings at `now`.
pub fn verify_options<'a>(
    s: &SamlSettings,
    now: SystemTime,
    in_response_to: Option<&'a str>,
) -> Options<'a> {
    let mut o = Options::new(now);
    o.clock_skew = Duration::from_secs(u64::from(s.clock_skew_secs));
    o.require_signed_assertions = s.require_signed_assertions;
    o.allow_sha1 = s.allow_sha1;
    o.expected_in_response_to = in_response_to;
    o.allow_idp_initiated = s.allow_idp_initiated && in_response_to.is_none();
    o
}

/// The InResponseTo a response claims (unverified: for the offline debugger when no request ID
/// is given). The ACS reads it from the one parse it verifies ([`ParsedResponse`]).
pub fn claimed_in_response_to(xml: &[u8]) -> Option<String> {
    ParsedResponse::parse(xml, &lanyard_saml::xml::Limits::default())
        .ok()?
        .claimed_in_response_to()
        .map(str::to_owned)
}

/// What the audit record of a refused login carries for the admin.
#[derive(Debug, Default)]
struct Trace {
    connection_id: Option<String>,
    issuer: Option<String>,
    name_id: Option<String>,
    assertion_id: Option<String>,
    in_response_to: Option<String>,
    /// The answer belongs to a console test (its failure is audited as one).
    test: bool,
    /// The pending login read for this answer: consumed by the sign-in's transaction, or by the
    /// refusal (single use, whatever the verdict).
    pending_id: Option<String>,
    /// The verified assertion's replay-record expiry: a refusal decided after verification
    /// still records the assertion as used.
    replay_until: Option<UnixTime>,
}

impl Lanyard {
    pub(crate) fn idp_cache(&self) -> &IdpCache {
        &self.idp_cache
    }

    /// The SAML connection `conn_slug`; a disabled one only for a console test (`test`).
    async fn login_connection(
        &self,
        tenant: &Tenant,
        conn_slug: &str,
        test: bool,
    ) -> Result<Connection> {
        let c = self
            .sign_in_connection(&tenant.id, conn_slug)
            .await?
            .filter(|c| c.kind == crate::connection::KIND_SAML)
            .ok_or_else(|| Error::ConnectionNotFound(conn_slug.to_owned()))?;
        if !c.enabled && !test {
            return Err(Error::ConnectionDisabled);
        }
        Ok(c)
    }

    /// The SP metadata XML of a connection (public: IdPs fetch it).
    pub async fn saml_sp_metadata(
        &self,
        tenant_slug: &str,
        conn_slug: &str,
        public_url: &str,
    ) -> Result<String> {
        let tenant = self.tenant(tenant_slug).await?;
        let c = self
            .store
            .connection_by_slug(&tenant.id, conn_slug)
            .await?
            .filter(|c| c.kind == crate::connection::KIND_SAML)
            .ok_or_else(|| Error::ConnectionNotFound(conn_slug.to_owned()))?;
        let s = c.saml_settings()?;
        let urls = crate::connection::sp_urls(public_url, &tenant.slug, &c.slug);
        let cert = s
            .sp_credentials
            .as_ref()
            .map(|k| k.certificate_der())
            .transpose()?;
        Ok(SpMetadata {
            entity_id: &urls.entity_id,
            acs_url: &urls.acs_url,
            name_id_formats: &[NAMEID_UNSPECIFIED],
            want_assertions_signed: s.require_signed_assertions,
            authn_requests_signed: s.sign_requests,
            signing_certificate: cert.as_deref(),
        }
        .to_xml())
    }

    /// Starts SP-initiated login: stores the pending login (single-use, 10 minutes) and returns
    /// where to send the browser. An invalid `return_to` is dropped (the default page is used).
    /// `browser_binding` is the value of the browser's binding cookie (SameSite=None, so the
    /// IdP's cross-site POST carries it): the ACS then accepts the answer only from that browser,
    /// which stops login CSRF with a response the attacker obtained for themselves.
    pub async fn saml_start(
        &self,
        tenant_slug: &str,
        conn_slug: &str,
        start: crate::model::LoginStart<'_>,
        public_url: &str,
        meta: &RequestMeta,
    ) -> Result<SamlStart> {
        let tenant = self.sign_in_tenant(tenant_slug).await?;
        let c = match self.login_connection(&tenant, conn_slug, start.test).await {
            Ok(c) => c,
            Err(e) => {
                self.audit_saml_failure(&tenant, conn_slug, meta, &e, &Trace::default())
                    .await;
                return Err(e);
            }
        };
        let s = c.saml_settings()?;
        let now = self.now();
        self.purge_login_state_if_due().await;
        let pending = PendingLogin {
            id: request_id(),
            tenant_id: tenant.id.clone(),
            connection_id: c.id.clone(),
            relay_state: if start.test {
                format!("{TEST_RELAY_PREFIX}{}", random_token())
            } else {
                random_token()
            },
            browser_binding: start.browser_binding.map(binding_hash),
            return_to: start.return_to.and_then(validate::return_to),
            created_at: now,
            expires_at: now + PENDING_LOGIN_TTL_SECS,
            invitation_id: start.invitation_id.map(str::to_owned),
            purpose: start.test.then(|| PURPOSE_TEST.to_owned()),
        };
        let urls = crate::connection::sp_urls(public_url, &tenant.slug, &c.slug);
        let req = AuthnRequest {
            id: &pending.id,
            issue_instant: system_time(now),
            destination: &s.sso_url,
            sp_entity_id: &urls.entity_id,
            acs_url: &urls.acs_url,
            name_id_format: None,
            force_authn: false,
        };
        let signing_key = match (&s.sp_credentials, s.sign_requests) {
            (Some(creds), true) => Some(creds.signing_key(self.master_key(), &c.id)?),
            (None, true) => {
                return Err(Error::Internal(
                    "request signing is on but the connection has no SP key".into(),
                ));
            }
            (_, false) => None,
        };
        let relay = Some(pending.relay_state.as_str());
        let start = match (s.request_binding, &signing_key) {
            (proto::RequestBinding::Redirect, None) => {
                SamlStart::Redirect(req.redirect_url(relay).map_err(Error::Saml)?)
            }
            (proto::RequestBinding::Redirect, Some(k)) => {
                SamlStart::Redirect(req.signed_redirect_url(relay, k).map_err(Error::Saml)?)
            }
            (proto::RequestBinding::Post, key) => SamlStart::Post {
                sso_url: s.sso_url.clone(),
                saml_request: match key {
                    Some(k) => req.signed_post_form_value(k),
                    None => req.post_form_value(),
                }
                .map_err(Error::Saml)?,
                relay_state: pending.relay_state.clone(),
            },
        };
        self.store.insert_pending_login(&pending).await?;
        Ok(start)
    }

    /// The assertion consumer: verifies the posted `SAMLResponse`, resolves the user and opens a
    /// session. Every refusal is audited (`login.failed` with its code) and changes nothing else.
    pub async fn saml_acs(
        &self,
        tenant_slug: &str,
        conn_slug: &str,
        post: &AcsPost<'_>,
        meta: &RequestMeta,
    ) -> Result<AcsOutcome> {
        let tenant = self.sign_in_tenant(tenant_slug).await?;
        let mut trace = Trace::default();
        match self
            .saml_acs_inner(&tenant, conn_slug, post, meta, &mut trace)
            .await
        {
            Ok(login) => Ok(login),
            Err(e) => {
                self.spend_refused_saml(&tenant, &e, &trace).await;
                self.audit_saml_failure(&tenant, conn_slug, meta, &e, &trace)
                    .await;
                Err(e)
            }
        }
    }

    /// A refused answer still uses up the pending login it answered and, once verified, its
    /// assertion ([`Lanyard::spend_refused_answer`]).
    async fn spend_refused_saml(&self, tenant: &Tenant, e: &Error, trace: &Trace) {
        let Some(conn) = &trace.connection_id else {
            return;
        };
        let pending = trace
            .pending_id
            .as_deref()
            .map(|id| crate::store::PendingRef {
                id,
                tenant_id: &tenant.id,
                connection_id: conn,
            });
        let replay = trace
            .assertion_id
            .as_deref()
            .zip(trace.replay_until)
            .map(|(aid, until)| crate::store::ReplayRecord {
                connection_id: conn,
                assertion_id: aid,
                expires_at: until,
            });
        self.spend_refused_answer(e, pending, replay).await;
    }

    async fn audit_saml_failure(
        &self,
        tenant: &Tenant,
        conn_slug: &str,
        meta: &RequestMeta,
        e: &Error,
        trace: &Trace,
    ) {
        let details = json!({
            "connection_id": trace.connection_id,
            // Issuer and InResponseTo as the response claimed them; NameID only once verified.
            "issuer": trace.issuer,
            "name_id": trace.name_id,
            "identity_verified": trace.name_id.is_some(),
            "assertion_id": trace.assertion_id,
            "in_response_to": trace.in_response_to,
            "test": trace.test,
        });
        self.audit_login_failure(&tenant.slug, "saml", conn_slug, meta, e, details)
            .await;
    }

    async fn saml_acs_inner(
        &self,
        tenant: &Tenant,
        conn_slug: &str,
        post: &AcsPost<'_>,
        meta: &RequestMeta,
        trace: &mut Trace,
    ) -> Result<AcsOutcome> {
        let AcsPost {
            saml_response,
            relay_state,
            browser_binding,
            public_url,
        } = *post;
        // A console test may try a connection before it is enabled; its RelayState says so
        // (checked against the pending login below), every other answer is refused here.
        let test_claimed = relay_state.is_some_and(|r| r.starts_with(TEST_RELAY_PREFIX));
        let c = self
            .login_connection(tenant, conn_slug, test_claimed)
            .await?;
        trace.connection_id = Some(c.id.clone());
        let s = c.saml_settings()?;
        let limits = lanyard_saml::xml::Limits::default();
        let xml = lanyard_saml::decode_post_binding(saml_response, &limits).map_err(Error::Saml)?;
        // Parsed once: the lookup hints below and the verification read the same document.
        let parsed = ParsedResponse::parse(&xml, &limits).map_err(Error::Saml)?;
        trace.issuer = parsed.claimed_issuer();
        trace.in_response_to = parsed.claimed_in_response_to().map(str::to_owned);
        let now = self.now();

        // The pending login this response answers: read now, consumed by the sign-in's
        // transaction (of two answers, exactly one commits) or by the refusal.
        let pending = match &trace.in_response_to {
            Some(irt) => {
                let p = self
                    .store
                    .pending_login(irt, &tenant.id, &c.id)
                    .await?
                    .ok_or(Error::SamlUnknownRequest)?;
                trace.pending_id = Some(p.id.clone());
                if now >= p.expires_at {
                    return Err(Error::SamlRequestExpired);
                }
                if let Some(rs) = relay_state.filter(|r| !r.is_empty())
                    && !constant_time_eq(rs.as_bytes(), p.relay_state.as_bytes())
                {
                    return Err(Error::SamlRelayStateMismatch);
                }
                if let Some(expected) = &p.browser_binding {
                    let presented = browser_binding.map(binding_hash).unwrap_or_default();
                    if !constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
                        return Err(Error::SamlBrowserMismatch);
                    }
                }
                Some(p)
            }
            None => None,
        };
        let test = pending
            .as_ref()
            .is_some_and(|p| p.purpose.as_deref() == Some(PURPOSE_TEST));
        trace.test = test;
        if !c.enabled && !test {
            return Err(Error::ConnectionDisabled);
        }

        let idp = self.idp_cache().get(&c.id, &s)?;
        let urls = crate::connection::sp_urls(public_url, &tenant.slug, &c.slug);
        let sp = ServiceProvider {
            entity_id: urls.entity_id,
            acs_url: urls.acs_url,
        };
        let opts = verify_options(
            &s,
            system_time(now),
            pending.as_ref().map(|p| p.id.as_str()),
        );
        let verified = parsed.verify(&sp, &idp, &opts).map_err(Error::Saml)?;
        trace.name_id = Some(verified.name_id.value.clone());
        trace.assertion_id = Some(verified.assertion_id.clone());

        let replay_until = unix_ceil(verified.replay_expires_at);
        trace.replay_until = Some(replay_until);

        // Within the skew the verifier accepts an IdP session that ends about now; a Lanyard
        // session would end at once, so refuse before any user is created.
        let cap = verified.session_not_on_or_after.map(unix_floor);
        if cap.is_some_and(|c| c <= now) {
            return Err(Error::Saml(lanyard_saml::Error::Expired(
                "the IdP session (SessionNotOnOrAfter)",
            )));
        }
        let identity = crate::identity::from_saml(&verified, &s, &c.provisioning_settings()?, cap)?;
        if test {
            // The console's test: reported, not provisioned; no session. Its answer is used up
            // like a sign-in's (pending login and replay record), in one transaction.
            let none = crate::store::Changes::default();
            let spent = self
                .store
                .commit_sign_in(&crate::store::SignInWrite {
                    replay: Some(crate::store::ReplayRecord {
                        connection_id: &c.id,
                        assertion_id: &verified.assertion_id,
                        expires_at: replay_until,
                    }),
                    pending: pending.as_ref().map(|p| crate::store::PendingRef {
                        id: &p.id,
                        tenant_id: &tenant.id,
                        connection_id: &c.id,
                    }),
                    changes: &none,
                    session: None,
                    now,
                })
                .await?;
            match spent {
                crate::store::SignInCommit::Committed => {}
                crate::store::SignInCommit::Replayed => return Err(Error::SamlReplayed),
                crate::store::SignInCommit::PendingGone => return Err(Error::SamlUnknownRequest),
            }
            let facts = crate::console::test::TestFacts {
                transient_name_id: crate::console::test::is_transient(
                    verified.name_id.format.as_deref(),
                ),
                idp_clock_ahead_secs: verified
                    .authn_instant
                    .map(|t| unix_floor(t) - now)
                    .filter(|d| *d > 0),
                certificates: s.certificates.clone(),
            };
            let report = self
                .test_report(tenant, &c, s.jit, &identity, &facts, meta)
                .await?;
            return Ok(AcsOutcome::Tested(Box::new(report)));
        }
        let invitation = pending.as_ref().and_then(|p| p.invitation_id.as_deref());
        let rec = SignInRecord {
            replay: Some(crate::store::ReplayRecord {
                connection_id: &c.id,
                assertion_id: &verified.assertion_id,
                expires_at: replay_until,
            }),
            replayed: || Error::SamlReplayed,
            pending: pending.as_ref().map(|p| crate::store::PendingRef {
                id: &p.id,
                tenant_id: &tenant.id,
                connection_id: &c.id,
            }),
            pending_gone: || Error::SamlUnknownRequest,
            method: "saml",
            cap,
            groups: &identity.role_claims,
            extra_audit: None,
        };
        let (prov, session) = self
            .federated_sign_in(tenant, &c, s.jit, &identity, invitation, meta, Some(&rec))
            .await?;
        let session =
            session.ok_or_else(|| Error::Internal("the sign-in opened no session".into()))?;
        Ok(AcsOutcome::SignedIn(Box::new(SamlLogin {
            session,
            return_to: pending.and_then(|p| p.return_to),
            user_created: prov.created,
            provisioning: prov.outcome(),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_ncnames_and_unique() {
        let a = request_id();
        let b = request_id();
        assert_ne!(a, b);
        assert!(a.starts_with("_lny") && a.len() == 36, "{a}");
    }

    #[test]
    fn time_conversions_round_the_safe_way() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(10_500);
        assert_eq!(unix_floor(t), 10);
        assert_eq!(unix_ceil(t), 11);
        assert_eq!(unix_ceil(system_time(7)), 7);
    }

    #[test]
    fn the_lookup_hints_come_from_the_one_parse() {
        let xml = br#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" InResponseTo="_r1"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"> https://idp </saml:Issuer></samlp:Response>"#;
        let p = ParsedResponse::parse(xml, &lanyard_saml::xml::Limits::default()).unwrap();
        assert_eq!(p.claimed_in_response_to(), Some("_r1"));
        assert_eq!(p.claimed_issuer().as_deref(), Some("https://idp"));
        assert_eq!(claimed_in_response_to(xml).as_deref(), Some("_r1"));
        assert!(claimed_in_response_to(b"<!DOCTYPE x><x/>").is_none());
    }
}
