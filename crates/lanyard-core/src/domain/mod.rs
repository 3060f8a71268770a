//! Verified email domains and home-realm discovery: a tenant claims a domain, proves it with a
//! DNS TXT record at `_lanyard-challenge.<domain>` holding the claim's token (or an operator
//! vouches for it), and from then on an email in that domain names the tenant
//! ([`Lanyard::tenant_for_email`]). One tenant at a time holds a domain verified (a unique
//! index in the store, so two tenants verifying at once cannot both win); an unverified claim
//! routes nobody anywhere.

pub mod dns;

use crate::Lanyard;
use crate::audit::Ctx;
use crate::error::{Error, Result};
use crate::model::{Tenant, TenantDomain, new_id};
use serde_json::json;
use std::time::Duration;

/// The DNS name the challenge is published at: this prefix, then the domain.
pub const CHALLENGE_PREFIX: &str = "_lanyard-challenge.";
/// How long one DNS lookup may take.
pub const DNS_TIMEOUT: Duration = Duration::from_secs(5);

fn invalid(domain: &str, reason: &'static str) -> Error {
    Error::DomainInvalid {
        domain: domain.chars().take(64).collect(),
        reason,
    }
}

/// Normalises an email domain: case folded, one trailing dot dropped, IDN to punycode
/// (UTS #46, STD3 rules), then checked as a DNS host name of at least two labels whose last is
/// not numeric (so no IP address, bare TLD or garbage is ever claimed).
pub fn normalize_domain(input: &str) -> Result<String> {
    let d = input.trim();
    let d = d.strip_suffix('.').unwrap_or(d);
    if d.is_empty() || d.len() > 253 * 4 {
        return Err(invalid(input, "it is empty or too long"));
    }
    if d.contains(['@', '/', ':', '[', ']', ' ', '%', '\\', '*']) {
        return Err(invalid(
            input,
            "give the domain alone, e.g. `example.com` (no address, URL, port or wildcard)",
        ));
    }
    let ascii = idna::domain_to_ascii_strict(d)
        .map_err(|_| invalid(input, "it is not a valid domain name"))?;
    if ascii.len() > 253 {
        return Err(invalid(input, "it is longer than 253 characters"));
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err(invalid(
            input,
            "it needs at least two labels, e.g. `example.com`",
        ));
    }
    for l in &labels {
        let ok = (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-');
        if !ok {
            return Err(invalid(input, "it is not a valid domain name"));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid(input, "an IP address is not a domain"));
    }
    Ok(ascii)
}

impl Lanyard {
    async fn claimed(&self, t: &Tenant, domain: &str) -> Result<TenantDomain> {
        self.store
            .tenant_domain(&t.id, domain)
            .await?
            .ok_or_else(|| Error::DomainNotFound(domain.to_owned()))
    }

    pub async fn list_domains(&self, ctx: &Ctx, slug: &str) -> Result<Vec<TenantDomain>> {
        let t = self.admin_tenant(ctx, slug).await?;
        self.store.list_tenant_domains(&t.id).await
    }

    /// Claims `domain` for the tenant (pending, with a fresh challenge token). A domain another
    /// tenant holds verified cannot be claimed.
    pub async fn claim_domain(&self, ctx: &Ctx, slug: &str, domain: &str) -> Result<TenantDomain> {
        let t = self.admin_tenant(ctx, slug).await?;
        let domain = normalize_domain(domain)?;
        if let Some(owner) = self.store.verified_domain_tenant(&domain).await?
            && owner.id != t.id
        {
            return Err(Error::DomainVerifiedElsewhere(domain));
        }
        let now = self.now();
        let d = TenantDomain {
            id: new_id(),
            tenant_id: t.id.clone(),
            domain: domain.clone(),
            state: "pending".into(),
            challenge_token: format!("lanyard-verification={}", crate::secret::random_token()),
            verified_at: None,
            verified_by: None,
            created_at: now,
            updated_at: now,
        };
        let ev = ctx
            .event(now, Some(&t.slug), "domain.claimed")
            .details(json!({"domain": domain}));
        self.store.insert_tenant_domain(&d, &ev).await?;
        Ok(d)
    }

    /// Looks for the claim's challenge in DNS; verifies the domain when it is there.
    pub async fn check_domain(&self, ctx: &Ctx, slug: &str, domain: &str) -> Result<TenantDomain> {
        let t = self.admin_tenant(ctx, slug).await?;
        let domain = normalize_domain(domain)?;
        let d = self.claimed(&t, &domain).await?;
        if d.verified() {
            return Ok(d);
        }
        let resolver = self
            .dns_resolver()
            .ok_or_else(|| Error::DnsLookupFailed("no DNS resolver is configured".into()))?;
        let record = format!("{CHALLENGE_PREFIX}{domain}");
        let found = dns::txt_lookup(resolver, &record, DNS_TIMEOUT)
            .await
            .map_err(|e| Error::DnsLookupFailed(e.to_string()))?;
        let now = self.now();
        if !found.iter().any(|v| {
            crate::secret::constant_time_eq(v.trim().as_bytes(), d.challenge_token.as_bytes())
        }) {
            let err = Error::DomainChallengeNotFound {
                record,
                found: found.len(),
            };
            let ev = ctx
                .event(now, Some(&t.slug), "domain.check_failed")
                .code(err.code())
                .details(json!({"domain": domain, "txt_records": found.len()}));
            self.store.insert_audit(&ev).await?;
            return Err(err);
        }
        self.mark_verified(ctx, &t, d, "dns").await
    }

    /// An operator vouches for the domain without DNS (claiming it first if needed).
    pub async fn override_domain(
        &self,
        ctx: &Ctx,
        slug: &str,
        domain: &str,
    ) -> Result<TenantDomain> {
        self.authorize_operator(ctx)?;
        let t = self.admin_tenant(ctx, slug).await?;
        let domain = normalize_domain(domain)?;
        let d = match self.store.tenant_domain(&t.id, &domain).await? {
            Some(d) => d,
            None => match self.claim_domain(ctx, slug, &domain).await {
                Ok(d) => d,
                // Claimed meanwhile by a concurrent request: use that claim.
                Err(Error::DomainAlreadyClaimed(_)) => self.claimed(&t, &domain).await?,
                Err(e) => return Err(e),
            },
        };
        if d.verified() {
            return Ok(d);
        }
        self.mark_verified(ctx, &t, d, "operator").await
    }

    async fn mark_verified(
        &self,
        ctx: &Ctx,
        t: &Tenant,
        mut d: TenantDomain,
        by: &str,
    ) -> Result<TenantDomain> {
        let now = self.now();
        d.state = "verified".into();
        d.verified_at = Some(now);
        d.verified_by = Some(by.to_owned());
        d.updated_at = now;
        let ev = ctx
            .event(now, Some(&t.slug), "domain.verified")
            .details(json!({"domain": d.domain, "verified_by": by}));
        self.store.verify_tenant_domain(&d, &ev).await?;
        self.claimed(t, &d.domain).await
    }

    /// Deletes the tenant's claim (verified or not).
    pub async fn delete_domain(&self, ctx: &Ctx, slug: &str, domain: &str) -> Result<()> {
        let t = self.admin_tenant(ctx, slug).await?;
        let domain = normalize_domain(domain)?;
        let ev = ctx
            .event(self.now(), Some(&t.slug), "domain.deleted")
            .details(json!({"domain": domain}));
        if self.store.delete_tenant_domain(&t.id, &domain, &ev).await? {
            Ok(())
        } else {
            Err(Error::DomainNotFound(domain))
        }
    }

    /// The tenant whose verified domain `email` is in, if any (home-realm discovery: the
    /// generic sign-in page, the OpenID provider's `login_hint`, the CLI). An unverified or
    /// unclaimed domain names nobody; so does anything that is not an email.
    pub async fn tenant_for_email(&self, email: &str) -> Result<Option<Tenant>> {
        let Some((local, domain)) = email.trim().rsplit_once('@') else {
            return Ok(None);
        };
        if local.is_empty() {
            return Ok(None);
        }
        let Ok(domain) = normalize_domain(domain) else {
            return Ok(None);
        };
        self.store.verified_domain_tenant(&domain).await
    }

    /// Whether `email`'s domain is verified for `tenant_id`.
    pub async fn email_in_verified_domain(&self, tenant_id: &str, email: &str) -> Result<bool> {
        Ok(self
            .tenant_for_email(email)
            .await?
            .is_some_and(|t| t.id == tenant_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_trailing_dot_and_idn() {
        for (given, want) in [
            ("Example.COM", "example.com"),
            ("example.com.", "example.com"),
            (" example.com ", "example.com"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("BÜCHER.example.", "xn--bcher-kva.example"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("a-b.c0.example", "a-b.c0.example"),
        ] {
            assert_eq!(normalize_domain(given).unwrap(), want, "{given}");
        }
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            ".",
            "com",
            "example..com",
            "-a.example",
            "a-.example",
            "a_b.example",
            "jo@example.com",
            "https://example.com",
            "example.com:443",
            "*.example.com",
            "192.0.2.1",
            "[2001:db8::1]",
            "exa mple.com",
            &format!("{}.example", "a".repeat(64)),
            "example.com..",
        ] {
            let e = normalize_domain(bad).unwrap_err();
            assert_eq!(e.code(), "domain.invalid", "{bad}");
        }
    }
}
