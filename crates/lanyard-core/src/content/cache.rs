//! The per-node decision cache of forward-auth: a site with its resources (by host) and the
//! lists an email is on (by tenant and email), each kept for at most the staleness bound
//! ([`DEFAULT_STALENESS`], `content_cache_ms` in the configuration; zero turns it off).
//! Sessions are not cached here: every gated check still asks the store for the site session,
//! so a revocation takes effect on the next request.
//!
//! A change made through this node clears the whole cache at once (changes are rare next to
//! checks); a change made on another node reaches this one when the entries expire, so every
//! node sees an audience, SSO or list change within the bound.

use crate::model::{ContentResource, ContentSite};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How stale a node's copy of sites, resources and list memberships may be by default.
pub const DEFAULT_STALENESS: Duration = Duration::from_secs(2);
/// Entries per map before it is emptied (bounds memory under many distinct hosts or emails).
const MAX_ENTRIES: usize = 50_000;

/// A site and its resources as one check needs them.
#[derive(Debug)]
pub struct SiteRules {
    pub site: ContentSite,
    pub resources: Vec<ContentResource>,
}

type Entry<T> = (Instant, T);
/// (tenant id, email) → ids of the lists the email is on.
type MemberMap = HashMap<(String, String), Entry<Arc<Vec<String>>>>;

/// This node's cache (shared by clones of [`crate::Lanyard`]).
#[derive(Debug)]
pub struct DecisionCache {
    bound: Duration,
    sites: Mutex<HashMap<String, Entry<Option<Arc<SiteRules>>>>>,
    members: Mutex<MemberMap>,
}

impl Default for DecisionCache {
    fn default() -> Self {
        Self::new(DEFAULT_STALENESS)
    }
}

fn get<K: Eq + std::hash::Hash, T: Clone>(
    m: &Mutex<HashMap<K, Entry<T>>>,
    k: &K,
    bound: Duration,
) -> Option<T> {
    let g = m.lock().ok()?;
    let (at, v) = g.get(k)?;
    (at.elapsed() < bound).then(|| v.clone())
}

/// Stores `v` as read at `at` (taken before the read, so the bound also covers its duration).
fn put<K: Eq + std::hash::Hash, T>(
    m: &Mutex<HashMap<K, Entry<T>>>,
    k: K,
    v: T,
    at: Instant,
    bound: Duration,
) {
    if bound.is_zero() {
        return;
    }
    if let Ok(mut g) = m.lock() {
        if g.len() >= MAX_ENTRIES {
            g.clear();
        }
        g.insert(k, (at, v));
    }
}

impl DecisionCache {
    pub fn new(bound: Duration) -> Self {
        Self {
            bound,
            sites: Mutex::default(),
            members: Mutex::default(),
        }
    }

    /// The staleness bound (zero: no caching).
    pub fn bound(&self) -> Duration {
        self.bound
    }

    /// `Some(None)`: known not to be a site (also cached, so unknown hosts cost no query).
    pub fn site(&self, host: &str) -> Option<Option<Arc<SiteRules>>> {
        get(&self.sites, &host.to_owned(), self.bound)
    }

    pub fn put_site(&self, host: &str, rules: Option<Arc<SiteRules>>, at: Instant) {
        put(&self.sites, host.to_owned(), rules, at, self.bound);
    }

    pub fn lists(&self, tenant_id: &str, email: &str) -> Option<Arc<Vec<String>>> {
        get(
            &self.members,
            &(tenant_id.to_owned(), email.to_owned()),
            self.bound,
        )
    }

    pub fn put_lists(&self, tenant_id: &str, email: &str, lists: Arc<Vec<String>>, at: Instant) {
        put(
            &self.members,
            (tenant_id.to_owned(), email.to_owned()),
            lists,
            at,
            self.bound,
        );
    }

    /// Forgets everything: called by every content change made through this node.
    pub fn clear(&self) {
        if let Ok(mut g) = self.sites.lock() {
            g.clear();
        }
        if let Ok(mut g) = self.members.lock() {
            g.clear();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_bound_and_clear_forgets_them() {
        let c = DecisionCache::new(Duration::from_millis(50));
        c.put_lists("t", "a@x", Arc::new(vec!["L".into()]), Instant::now());
        c.put_site("h", None, Instant::now());
        assert_eq!(c.lists("t", "a@x").unwrap().as_slice(), ["L".to_owned()]);
        assert!(matches!(c.site("h"), Some(None)));
        c.clear();
        assert!(c.lists("t", "a@x").is_none());
        assert!(c.site("h").is_none());
        c.put_lists("t", "a@x", Arc::new(vec![]), Instant::now());
        std::thread::sleep(Duration::from_millis(60));
        assert!(c.lists("t", "a@x").is_none(), "stale beyond the bound");
    }

    #[test]
    fn a_zero_bound_caches_nothing() {
        let c = DecisionCache::new(Duration::ZERO);
        c.put_site("h", None, Instant::now());
        assert!(c.site("h").is_none());
    }
}
