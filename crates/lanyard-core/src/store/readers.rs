//! SQLite's read-only connections for the hot lookups (the link, the pending login, the session
//! by token), kept by the store itself instead of sqlx's pool.
//!
//! Why: sqlx's pool tests every connection given back to it with a round trip to the
//! connection's thread, from a task it spawns for the purpose; for a lookup that is itself one
//! round trip, that doubled the thread wake-ups (issue 17's profiles: scheduling was a quarter
//! of the server's samples on the OIDC path). A read-only connection to a local file has nothing
//! to test. Each connection sits behind an async mutex; a lookup takes a free one (round robin)
//! or waits for one.

use sqlx::ConnectOptions as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Mutex, MutexGuard};

#[derive(Debug)]
pub(super) struct Readers {
    conns: Box<[Mutex<SqliteConnection>]>,
    next: AtomicUsize,
}

impl Readers {
    /// Opens `n` (at least one) connections with `opts`.
    pub async fn open(opts: &SqliteConnectOptions, n: usize) -> Result<Self, sqlx::Error> {
        let mut conns = Vec::with_capacity(n.max(1));
        for _ in 0..n.max(1) {
            conns.push(Mutex::new(opts.connect().await?));
        }
        Ok(Self {
            conns: conns.into_boxed_slice(),
            next: AtomicUsize::new(0),
        })
    }

    /// A connection: the first free one from the next in turn, else waits for that one.
    pub async fn get(&self) -> Option<MutexGuard<'_, SqliteConnection>> {
        let n = self.conns.len();
        if n == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let (before, from) = self.conns.split_at(start);
        for c in from.iter().chain(before) {
            if let Ok(conn) = c.try_lock() {
                return Some(conn);
            }
        }
        Some(from.first()?.lock().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lookups_spread_over_the_connections_and_wait_when_all_are_busy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let opts = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let readers = Readers::open(&opts, 2).await.unwrap();
        let a = readers.get().await.unwrap();
        let b = readers.get().await.unwrap();
        // Both busy: the next lookup waits until one is free.
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), readers.get()).await;
        assert!(waiting.is_err(), "waits while both are in use");
        drop(a);
        let mut c = readers.get().await.unwrap();
        let one: i64 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut *c)
            .await
            .unwrap();
        assert_eq!(one, 1);
        drop((b, c));
    }
}
