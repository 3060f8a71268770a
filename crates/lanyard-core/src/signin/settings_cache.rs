//! This node's cache of the settings the sign-in path reads on every request: the tenant by slug
//! and the connection by (tenant, slug), including its verification settings and certificates.
//! Kept for at most the staleness bound (`settings_cache_ms`, 1 s by default; 0 turns it off).
//!
//! What the bound means: a tenant or connection changed **on another node** (updated, disabled,
//! deleted, certificates replaced) is still used here for at most the bound after that node
//! committed it. On **this** node the change takes effect at once: every tenant and connection
//! write through [`crate::Lanyard`] clears the cache after its commit, and a row fetched before
//! the clear is never kept (the instant is taken *before* the store is asked, as in the session
//! cache). Missing rows are not cached (an unknown slug is asked every time, so a new connection
//! is usable at once everywhere). At most [`MAX_ENTRIES`] rows of each kind.

use crate::model::{Connection, Tenant};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The default staleness bound.
pub const DEFAULT_TTL: Duration = Duration::from_secs(1);

/// Rows kept at most of each kind; when full, the cache starts again empty.
pub const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
struct Entry<T> {
    value: Arc<T>,
    fetched: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    tenants: HashMap<String, Entry<Tenant>>,
    /// Keyed by (tenant ID, connection slug).
    connections: HashMap<(String, String), Entry<Connection>>,
    /// Nothing fetched before this is kept (the last change through this node).
    cleared: Option<Instant>,
}

/// The per-node settings cache; shared by clones of [`crate::Lanyard`].
#[derive(Debug)]
pub struct SettingsCache {
    ttl: Duration,
    inner: Mutex<Inner>,
}

impl Default for SettingsCache {
    fn default() -> Self {
        Self::new(DEFAULT_TTL)
    }
}

/// A lookup in progress: the instant taken before the store is asked.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(Instant);

impl SettingsCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            inner: Mutex::default(),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Each operation is one insert, lookup or clear: a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fresh<T>(&self, e: &Entry<T>) -> bool {
        e.fetched.elapsed() < self.ttl
    }

    /// Marks the start of a store lookup.
    pub fn ticket(&self) -> Ticket {
        Ticket(Instant::now())
    }

    pub fn tenant(&self, slug: &str) -> Option<Arc<Tenant>> {
        if self.ttl.is_zero() {
            return None;
        }
        let inner = self.lock();
        inner
            .tenants
            .get(slug)
            .filter(|e| self.fresh(e))
            .map(|e| e.value.clone())
    }

    pub fn put_tenant(&self, t: Arc<Tenant>, ticket: Ticket) {
        if self.ttl.is_zero() {
            return;
        }
        let mut inner = self.lock();
        if inner.cleared.is_some_and(|c| ticket.0 <= c) {
            return;
        }
        if inner.tenants.len() >= MAX_ENTRIES {
            inner.tenants.clear();
        }
        inner.tenants.insert(
            t.slug.clone(),
            Entry {
                value: t,
                fetched: ticket.0,
            },
        );
    }

    pub fn connection(&self, tenant_id: &str, slug: &str) -> Option<Arc<Connection>> {
        if self.ttl.is_zero() {
            return None;
        }
        let inner = self.lock();
        inner
            .connections
            .get(&(tenant_id.to_owned(), slug.to_owned()))
            .filter(|e| self.fresh(e))
            .map(|e| e.value.clone())
    }

    pub fn put_connection(&self, c: Arc<Connection>, ticket: Ticket) {
        if self.ttl.is_zero() {
            return;
        }
        let mut inner = self.lock();
        if inner.cleared.is_some_and(|c| ticket.0 <= c) {
            return;
        }
        if inner.connections.len() >= MAX_ENTRIES {
            inner.connections.clear();
        }
        inner.connections.insert(
            (c.tenant_id.clone(), c.slug.clone()),
            Entry {
                value: c,
                fetched: ticket.0,
            },
        );
    }

    /// A tenant or connection changed through this node: nothing fetched before now is used.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.cleared = Some(Instant::now());
        inner.tenants.clear();
        inner.connections.clear();
    }
}

impl crate::Lanyard {
    /// The tenant `slug` for the sign-in path, from this node's settings cache when fresh.
    pub(crate) async fn sign_in_tenant(&self, slug: &str) -> crate::Result<Tenant> {
        let cache = self.settings_cache();
        if let Some(t) = cache.tenant(slug) {
            return Ok(Tenant::clone(&t));
        }
        let ticket = cache.ticket();
        let t = self
            .store
            .tenant_by_slug(slug)
            .await?
            .ok_or_else(|| crate::Error::TenantNotFound(slug.to_owned()))?;
        cache.put_tenant(Arc::new(t.clone()), ticket);
        Ok(t)
    }

    /// The connection `slug` of `tenant_id` for the sign-in path (enabled or not: the caller
    /// decides), from this node's settings cache when fresh.
    pub(crate) async fn sign_in_connection(
        &self,
        tenant_id: &str,
        slug: &str,
    ) -> crate::Result<Option<Connection>> {
        let cache = self.settings_cache();
        if let Some(c) = cache.connection(tenant_id, slug) {
            return Ok(Some(Connection::clone(&c)));
        }
        let ticket = cache.ticket();
        let c = self.store.connection_by_slug(tenant_id, slug).await?;
        if let Some(c) = &c {
            cache.put_connection(Arc::new(c.clone()), ticket);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(slug: &str) -> Arc<Tenant> {
        Arc::new(Tenant {
            id: format!("id-{slug}"),
            slug: slug.into(),
            name: slug.into(),
            session_lifetime_secs: 3600,
            sso_required: false,
            sso_default_role: None,
            require_email_confirmation: false,
            network_masks: Default::default(),
            language: Default::default(),
            created_at: 0,
            updated_at: 0,
        })
    }

    #[test]
    fn entries_live_for_the_bound_and_a_clear_drops_them() {
        let c = SettingsCache::new(Duration::from_millis(50));
        c.put_tenant(tenant("a"), c.ticket());
        assert!(c.tenant("a").is_some());
        assert!(c.tenant("b").is_none());
        c.clear();
        assert!(c.tenant("a").is_none());
        c.put_tenant(tenant("a"), c.ticket());
        std::thread::sleep(Duration::from_millis(60));
        assert!(c.tenant("a").is_none(), "older than the bound");
    }

    #[test]
    fn a_lookup_racing_a_clear_is_not_kept() {
        let c = SettingsCache::new(Duration::from_secs(60));
        let ticket = c.ticket();
        // The change commits and clears while the lookup's query runs…
        std::thread::sleep(Duration::from_millis(2));
        c.clear();
        // …so the row that query read is not kept.
        c.put_tenant(tenant("a"), ticket);
        assert!(c.tenant("a").is_none());
    }

    #[test]
    fn a_zero_bound_turns_the_cache_off() {
        let c = SettingsCache::new(Duration::ZERO);
        c.put_tenant(tenant("a"), c.ticket());
        assert!(c.tenant("a").is_none());
    }
}
