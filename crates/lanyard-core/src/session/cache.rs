//! This node's cache of session lookups: the row behind a session token, kept for at most the
//! staleness bound (`session_cache_ms`, 1 s by default; 0 turns the cache off), so that a busy
//! session check skips the store round trip.
//!
//! What the bound means: a session ended, or a user disabled, **on another node** is still
//! accepted here for at most the bound after that node committed the change. On **this** node the
//! change takes effect at once: every path that ends sessions or changes a user marks the user
//! (or the session) invalidated, and an entry fetched before that mark is never served again.
//! Expiry is never extended: the cache keeps the stored row, and [`crate::Lanyard::session`]
//! compares its `expires_at` (and `revoked_at`, `user_disabled`, the tenant) with the clock on
//! every call, hit or miss. Unknown tokens are not cached (a flood of made-up tokens cannot fill
//! the cache), and the cache holds at most [`MAX_ENTRIES`] rows; expired rows are swept as it
//! grows, so it holds about the rows fetched within the last bound.

use crate::model::SessionView;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The default staleness bound.
pub const DEFAULT_TTL: Duration = Duration::from_secs(1);

/// Rows kept at most; when full, expired rows go first, then everything.
pub const MAX_ENTRIES: usize = 100_000;

#[derive(Debug)]
struct Entry {
    view: Arc<SessionView>,
    fetched: Instant,
}

#[derive(Debug)]
struct Inner {
    by_token: HashMap<[u8; 32], Entry>,
    /// When a user's sessions or account last changed on this node.
    users_changed: HashMap<String, Instant>,
    /// When a single session last ended on this node.
    sessions_changed: HashMap<String, Instant>,
    /// Everything fetched before this is stale (a change too broad to name users).
    all_changed: Option<Instant>,
    /// Sizes at which the next sweep of expired rows and of old marks runs (doubling from what
    /// a sweep left, so memory follows the rows and marks still in use, at O(1) amortised).
    rows_sweep_at: usize,
    marks_sweep_at: usize,
}

/// The smallest sizes at which sweeps run.
const ROWS_SWEEP_FLOOR: usize = 1024;
const MARKS_SWEEP_FLOOR: usize = 4096;

/// The per-node session cache; shared by clones of [`crate::Lanyard`].
#[derive(Debug)]
pub struct SessionCache {
    ttl: Duration,
    inner: Mutex<Inner>,
}

impl Default for SessionCache {
    fn default() -> Self {
        Self::new(DEFAULT_TTL)
    }
}

/// A lookup in progress: the instant taken *before* the store is asked, so that a change
/// committed while the query ran makes its answer stale rather than cached as fresh.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(Instant);

impl Default for Inner {
    fn default() -> Self {
        Self {
            by_token: HashMap::new(),
            users_changed: HashMap::new(),
            sessions_changed: HashMap::new(),
            all_changed: None,
            rows_sweep_at: ROWS_SWEEP_FLOOR,
            marks_sweep_at: MARKS_SWEEP_FLOOR,
        }
    }
}

impl SessionCache {
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
        // A panic while holding the lock cannot leave the maps inconsistent (each operation is
        // one insert or removal), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached row for `token_hash` if it is younger than the bound and nothing on this node
    /// changed its user or session since it was fetched.
    pub fn get(&self, token_hash: &[u8; 32]) -> Option<Arc<SessionView>> {
        if self.ttl.is_zero() {
            return None;
        }
        let inner = self.lock();
        let e = inner.by_token.get(token_hash)?;
        if e.fetched.elapsed() >= self.ttl || inner.is_stale(e) {
            return None;
        }
        Some(e.view.clone())
    }

    /// Marks the start of a store lookup.
    pub fn ticket(&self) -> Ticket {
        Ticket(Instant::now())
    }

    /// Keeps `view` (fetched under `ticket`) unless a change on this node came after the ticket.
    pub fn put(&self, token_hash: [u8; 32], view: Arc<SessionView>, ticket: Ticket) {
        if self.ttl.is_zero() {
            return;
        }
        let mut inner = self.lock();
        let entry = Entry {
            view,
            fetched: ticket.0,
        };
        if inner.is_stale(&entry) {
            return;
        }
        if inner.by_token.len() >= inner.rows_sweep_at.min(MAX_ENTRIES) {
            // Rows older than the bound are never served again: without this sweep a busy node
            // kept every session it had seen, up to MAX_ENTRIES.
            let ttl = self.ttl;
            inner.by_token.retain(|_, e| e.fetched.elapsed() < ttl);
            if inner.by_token.len() >= MAX_ENTRIES {
                inner.by_token.clear();
            }
            inner.rows_sweep_at = (2 * inner.by_token.len()).max(ROWS_SWEEP_FLOOR);
        }
        inner.by_token.insert(token_hash, entry);
    }

    /// A user's sessions ended or the account changed (disabled, deleted, password, role).
    pub fn user_changed(&self, user_id: &str) {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.prune(self.ttl, now);
        inner.users_changed.insert(user_id.to_owned(), now);
    }

    /// One session ended (logout, admin revocation).
    pub fn session_changed(&self, session_id: &str) {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.prune(self.ttl, now);
        inner.sessions_changed.insert(session_id.to_owned(), now);
    }

    /// Something too broad to name users changed: nothing fetched before now is served.
    pub fn all_changed(&self) {
        let mut inner = self.lock();
        inner.all_changed = Some(Instant::now());
        inner.by_token.clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().by_token.len()
    }
}

impl Inner {
    fn is_stale(&self, e: &Entry) -> bool {
        let changed_after = |at: Option<&Instant>| at.is_some_and(|at| *at >= e.fetched);
        changed_after(self.all_changed.as_ref())
            || changed_after(self.users_changed.get(&e.view.user_id))
            || changed_after(self.sessions_changed.get(&e.view.id))
    }

    /// Forgets marks older than the bound: every row fetched before them is expired anyway.
    fn prune(&mut self, ttl: Duration, now: Instant) {
        if self.users_changed.len() + self.sessions_changed.len() < self.marks_sweep_at {
            return;
        }
        // Rows are served only while younger than the bound, so a mark older than the bound
        // can only concern rows that are no longer served.
        let keep = |at: &mut Instant| now.duration_since(*at) < ttl;
        self.users_changed.retain(|_, at| keep(at));
        self.sessions_changed.retain(|_, at| keep(at));
        let by_token = &mut self.by_token;
        by_token.retain(|_, e| now.duration_since(e.fetched) < ttl);
        // Marks younger than the bound are all still needed: with many of them, the next
        // sweep waits until there are twice as many (not one sweep per change).
        self.marks_sweep_at =
            (2 * (self.users_changed.len() + self.sessions_changed.len())).max(MARKS_SWEEP_FLOOR);
        self.rows_sweep_at = (2 * self.by_token.len()).max(ROWS_SWEEP_FLOOR);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(id: &str, user: &str) -> Arc<SessionView> {
        Arc::new(SessionView {
            id: id.into(),
            tenant_id: "t".into(),
            tenant_slug: "acme".into(),
            user_id: user.into(),
            username: "alice".into(),
            email: None,
            display_name: None,
            role: None,
            user_disabled: false,
            auth_method: "password".into(),
            created_at: 0,
            expires_at: 100,
            revoked_at: None,
            ip: None,
            user_agent: None,
            connection_id: None,
            idp_groups: None,
        })
    }

    #[test]
    fn a_row_is_served_within_the_bound_and_not_after() {
        let c = SessionCache::new(Duration::from_millis(50));
        let t = c.ticket();
        c.put([1; 32], view("s1", "u1"), t);
        assert_eq!(c.get(&[1; 32]).map(|v| v.id.clone()).as_deref(), Some("s1"));
        std::thread::sleep(Duration::from_millis(60));
        assert!(c.get(&[1; 32]).is_none(), "older than the bound");
    }

    #[test]
    fn a_change_on_this_node_hides_rows_fetched_before_it() {
        let c = SessionCache::new(Duration::from_secs(60));
        c.put([1; 32], view("s1", "u1"), c.ticket());
        c.put([2; 32], view("s2", "u2"), c.ticket());
        c.put([3; 32], view("s3", "u2"), c.ticket());
        c.user_changed("u2");
        assert!(c.get(&[1; 32]).is_some());
        assert!(c.get(&[2; 32]).is_none());
        assert!(c.get(&[3; 32]).is_none());
        c.session_changed("s1");
        assert!(c.get(&[1; 32]).is_none());
        // Fetched after the change: served.
        c.put([2; 32], view("s2", "u2"), c.ticket());
        assert!(c.get(&[2; 32]).is_some());
        c.all_changed();
        assert!(c.get(&[2; 32]).is_none());
        assert_eq!(c.len(), 0);
    }

    /// A lookup that started before a revocation on this node and finishes after it must not
    /// put the pre-revocation row back into the cache.
    #[test]
    fn a_lookup_racing_a_revocation_is_not_cached() {
        let c = SessionCache::new(Duration::from_secs(60));
        let ticket = c.ticket();
        c.user_changed("u1");
        c.put([1; 32], view("s1", "u1"), ticket);
        assert!(c.get(&[1; 32]).is_none());
    }

    /// A node that sees many sessions keeps about the rows of the last bound, not every row
    /// it ever fetched (up to MAX_ENTRIES): expired rows are swept as the map grows.
    #[test]
    fn expired_rows_are_swept_as_new_ones_come() {
        let ttl = Duration::from_millis(20);
        let c = SessionCache::new(ttl);
        let put = |i: u32| {
            let mut hash = [0u8; 32];
            hash[..4].copy_from_slice(&i.to_be_bytes());
            c.put(hash, view(&format!("s{i}"), "u"), c.ticket());
        };
        (0..1024).for_each(put);
        assert_eq!(c.len(), 1024);
        std::thread::sleep(2 * ttl);
        (1024..2048).for_each(put);
        assert!(
            c.len() <= 1025,
            "the first thousand expired and were swept: {}",
            c.len()
        );
    }

    #[test]
    fn a_zero_bound_turns_the_cache_off() {
        let c = SessionCache::new(Duration::ZERO);
        c.put([1; 32], view("s1", "u1"), c.ticket());
        assert!(c.get(&[1; 32]).is_none());
        assert_eq!(c.len(), 0);
    }
}
