//! The OIDC login states this node issued whose callback has not come yet, kept in memory so
//! the callback of a login started here reads its state without a store round trip.
//!
//! Why it is safe to answer from here: a pending login never changes after its start (state,
//! tenant, connection, browser binding, expiry, sealed nonce and PKCE verifier are written once),
//! and this cache is never what makes a state single-use. The sign-in's transaction deletes the
//! stored row and is refused when it is gone ([`crate::store::PendingRef`]); a refused callback
//! spends the stored row. So a state already consumed elsewhere — another node's callback, or
//! a replay — that is still here passes the checks and is refused at the commit, exactly as two
//! callbacks that read the row at once are. An entry is taken (removed) by the first callback
//! that asks for it: a second callback on this node reads the store like any other.
//!
//! Bounded: at most [`MAX_ISSUED_STATES`] entries (starts are unauthenticated); when full, the
//! expired ones go, and if that is not enough the cache starts again empty — a state that is not
//! here is read from the store, so nothing is lost but a round trip. A start whose `return_to`
//! is long is not kept.

use crate::clock::UnixTime;
use crate::model::PendingLogin;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Most states kept (≈ 1 KiB each: ids, sealed nonce and verifier, a short `return_to`).
pub const MAX_ISSUED_STATES: usize = 16_384;

/// A start with a longer `return_to` is read from the store at its callback.
const MAX_KEPT_RETURN_TO: usize = 1024;

/// A pending login as the store returns it: the login, its sealed nonce, its sealed verifier.
pub type IssuedState = (PendingLogin, String, String);

#[derive(Debug, Default)]
pub struct IssuedStates {
    states: Mutex<HashMap<String, IssuedState>>,
    /// Callbacks answered from here, and those whose state was read from the store.
    from_memory: AtomicU64,
    from_store: AtomicU64,
}

/// What `/metrics` shows of [`IssuedStates`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IssuedStateStats {
    /// States kept now.
    pub kept: u64,
    /// Callbacks whose state was answered from this node's memory.
    pub from_memory: u64,
    /// Callbacks whose state was read from the store (started on another node, asked twice,
    /// or not kept).
    pub from_store: u64,
}

impl IssuedStates {
    /// Keeps the state this node just stored (after the store accepted it).
    pub fn keep(
        &self,
        pending: &PendingLogin,
        sealed_nonce: &str,
        sealed_verifier: &str,
        now: UnixTime,
    ) {
        if pending
            .return_to
            .as_ref()
            .is_some_and(|r| r.len() > MAX_KEPT_RETURN_TO)
        {
            return;
        }
        let mut states = self.lock();
        if states.len() >= MAX_ISSUED_STATES {
            states.retain(|_, (p, _, _)| p.expires_at > now);
            if states.len() >= MAX_ISSUED_STATES {
                states.clear();
            }
        }
        states.insert(
            pending.id.clone(),
            (
                pending.clone(),
                sealed_nonce.to_owned(),
                sealed_verifier.to_owned(),
            ),
        );
    }

    /// The state `state` of this tenant and connection if this node issued it and no callback
    /// took it yet; removed. A state of another tenant or connection stays (and is not
    /// answered: the store's lookup, which the caller makes next, refuses it as unknown).
    pub fn take(&self, state: &str, tenant_id: &str, connection_id: &str) -> Option<IssuedState> {
        let found = {
            let mut states = self.lock();
            match states.get(state) {
                Some((p, _, _)) if p.tenant_id == tenant_id && p.connection_id == connection_id => {
                    states.remove(state)
                }
                _ => None,
            }
        };
        let counter = if found.is_some() {
            &self.from_memory
        } else {
            &self.from_store
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// The counts `/metrics` shows.
    pub fn stats(&self) -> IssuedStateStats {
        IssuedStateStats {
            kept: u64::try_from(self.len()).unwrap_or(u64::MAX),
            from_memory: self.from_memory.load(Ordering::Relaxed),
            from_store: self.from_store.load(Ordering::Relaxed),
        }
    }

    /// How many states are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, IssuedState>> {
        // A poisoned lock only means a panic mid-insert elsewhere; the map is still whole.
        self.states.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(id: &str, conn: &str, expires_at: UnixTime) -> PendingLogin {
        PendingLogin {
            id: id.into(),
            tenant_id: "t1".into(),
            connection_id: conn.into(),
            relay_state: String::new(),
            browser_binding: None,
            return_to: Some("/app".into()),
            created_at: 0,
            expires_at,
            invitation_id: None,
            purpose: None,
        }
    }

    #[test]
    fn a_state_is_answered_once_and_only_for_its_own_connection() {
        let s = IssuedStates::default();
        s.keep(&pending("st", "c1", 600), "n", "v", 0);
        // The attack: a state of connection c1 presented at c2's callback.
        assert!(s.take("st", "t1", "c2").is_none());
        assert!(s.take("st", "t2", "c1").is_none());
        let (p, n, v) = s
            .take("st", "t1", "c1")
            .expect("kept for its own connection");
        assert_eq!((p.id.as_str(), n.as_str(), v.as_str()), ("st", "n", "v"));
        // A second callback reads the store.
        assert!(s.take("st", "t1", "c1").is_none());
        assert!(s.is_empty());
        assert_eq!(
            s.stats(),
            IssuedStateStats {
                kept: 0,
                from_memory: 1,
                from_store: 3
            }
        );
    }

    #[test]
    fn a_long_return_to_is_not_kept() {
        let s = IssuedStates::default();
        let mut p = pending("st", "c1", 600);
        p.return_to = Some(format!("/{}", "a".repeat(MAX_KEPT_RETURN_TO)));
        s.keep(&p, "n", "v", 0);
        assert!(s.is_empty());
    }

    /// The attack: a flood of unauthenticated starts. The cache never grows past its bound;
    /// expired states go first, live ones only when nothing else can.
    #[test]
    fn a_flood_of_starts_stays_within_the_bound() {
        let s = IssuedStates::default();
        for i in 0..MAX_ISSUED_STATES {
            // Half expire at 100, half at 10,000.
            let exp = if i % 2 == 0 { 100 } else { 10_000 };
            s.keep(&pending(&format!("s{i}"), "c1", exp), "n", "v", 0);
        }
        assert_eq!(s.len(), MAX_ISSUED_STATES);
        // Full at time 200: the expired half goes, the live half stays.
        s.keep(&pending("new", "c1", 10_000), "n", "v", 200);
        assert_eq!(s.len(), MAX_ISSUED_STATES / 2 + 1);
        assert!(s.take("s1", "t1", "c1").is_some(), "a live state stays");
        assert!(s.take("s0", "t1", "c1").is_none(), "an expired state went");
        for i in 0..MAX_ISSUED_STATES {
            s.keep(&pending(&format!("x{i}"), "c1", 10_000), "n", "v", 200);
            assert!(s.len() <= MAX_ISSUED_STATES);
        }
        assert!(s.len() <= MAX_ISSUED_STATES);
    }
}
