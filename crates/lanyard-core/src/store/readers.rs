//! SQLite's read-only connections for the hot lookups (the link, the pending login, the session
//! by token), run on the calling thread.
//!
//! Why not sqlx's connections: sqlx runs each SQLite connection on a thread of its own, so a
//! lookup of a few microseconds was a round trip to that thread and back — two thread wake-ups,
//! each waiting for a core on a busy machine (issue 17's profiles). Here the lookup runs where
//! the request runs: an indexed read of a page SQLite (or the OS) has cached costs less than
//! the hand-over did. Each connection sits behind a mutex; a lookup takes a free one (round
//! robin) or waits for one. There are more connections than runtime workers, so waiting is rare
//! and short.

use rusqlite::OptionalExtension as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

#[derive(Debug)]
pub(super) struct Readers {
    conns: Box<[Mutex<rusqlite::Connection>]>,
    next: AtomicUsize,
}

/// Prepared statements each reader keeps (the hot lookups are a handful).
const STATEMENT_CACHE: usize = 16;

impl Readers {
    /// Opens `n` (at least one) read-only connections to the database file at `path`.
    pub fn open(path: &std::path::Path, n: usize) -> rusqlite::Result<Self> {
        use rusqlite::OpenFlags;
        let mut conns = Vec::with_capacity(n.max(1));
        for _ in 0..n.max(1) {
            let db = rusqlite::Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            db.busy_timeout(std::time::Duration::from_secs(5))?;
            db.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            conns.push(Mutex::new(db));
        }
        Ok(Self {
            conns: conns.into_boxed_slice(),
            next: AtomicUsize::new(0),
        })
    }

    /// A connection: the first free one from the next in turn, else waits for that one.
    fn get(&self) -> Option<MutexGuard<'_, rusqlite::Connection>> {
        let n = self.conns.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n.max(1);
        let (before, from) = self.conns.split_at(start.min(n));
        for c in from.iter().chain(before) {
            if let Ok(conn) = c.try_lock() {
                return Some(conn);
            }
        }
        // A reader that panicked mid-lookup left nothing half-done: a read has nothing to undo.
        let first = from.first()?;
        Some(
            first
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// The one row `sql` (with `$n` placeholders) finds for `params`, read by `row`, or `None`.
    pub fn one<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>, sqlx::Error> {
        let db = self
            .get()
            .ok_or_else(|| sqlx::Error::Protocol("the store has no read connection".into()))?;
        db.prepare_cached(&super::batch::sqlite_placeholders(sql))
            .and_then(|mut st| st.query_row(params, row).optional())
            .map_err(super::group_commit::sqlite_error)
    }
}

/// Reads a text column into a type that parses from it (an enum stored as its name).
pub(super) fn parsed<T: TryFrom<String, Error = String>>(
    r: &rusqlite::Row<'_>,
    column: &str,
) -> rusqlite::Result<T> {
    let s: String = r.get(column)?;
    T::try_from(s).map_err(|why| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            Box::new(std::io::Error::new(std::io::ErrorKind::InvalidData, why)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_read_on_the_calling_thread_and_wait_when_every_connection_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let w = rusqlite::Connection::open(&path).unwrap();
        w.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); \
             INSERT INTO t VALUES (1, 'one'), (2, 'two');",
        )
        .unwrap();
        let readers = Readers::open(&path, 2).unwrap();
        let v = readers
            .one("SELECT v FROM t WHERE id = $1", [2], |r| {
                r.get::<_, String>(0)
            })
            .unwrap();
        assert_eq!(v.as_deref(), Some("two"));
        let none = readers
            .one("SELECT v FROM t WHERE id = $1", [3], |r| {
                r.get::<_, String>(0)
            })
            .unwrap();
        assert_eq!(none, None);
        // Read-only: a write through a reader is refused.
        let e = readers
            .one("INSERT INTO t VALUES ($1, 'x') RETURNING id", [9], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap_err();
        assert!(e.to_string().contains("readonly"), "{e}");
        // Both busy: the next lookup waits until one is free.
        let a = readers.get().unwrap();
        let b = readers.get().unwrap();
        std::thread::scope(|s| {
            let waiting = s.spawn(|| {
                readers
                    .one("SELECT v FROM t WHERE id = $1", [1], |r| {
                        r.get::<_, String>(0)
                    })
                    .unwrap()
            });
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert!(!waiting.is_finished(), "waits while both are in use");
            drop(a);
            assert_eq!(waiting.join().unwrap().as_deref(), Some("one"));
        });
        drop(b);
    }
}
