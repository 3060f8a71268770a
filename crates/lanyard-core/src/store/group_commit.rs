//! SQLite group commit of sign-ins: one long-lived writer (a thread of its own, with a SQLite
//! connection of its own) owns the sign-in writes, takes every sign-in queued while the
//! previous group ran, and commits them in ONE transaction, each inside a savepoint of its own.
//!
//! Why: SQLite admits one writer, and the store has one writing connection. Handing that
//! connection from one sign-in's task to the next and committing once per sign-in (each commit
//! appends every page it touched to the WAL: the session, replay and audit tables and their
//! indexes) made the single writer the ceiling while a core stood idle. A group pays the
//! hand-over and the commit once for all its sign-ins.
//!
//! Why a connection of its own (rusqlite, not sqlx): sqlx runs each SQLite connection on a
//! thread of its own and every statement is a round trip to it — two thread wake-ups, each
//! waiting for a core on a busy machine (issue 17's profiles: the kernel's task switching was
//! ≈ 17 % of the server's samples on those threads alone, more than SQLite's own work). Here the
//! writer's thread runs SQLite itself, each statement prepared once and cached. It still takes
//! the store's writing connection from sqlx's pool before it writes and keeps it while it does:
//! that connection is the lock every other writer of this process waits on, so the two never
//! meet in SQLite's busy handler.
//!
//! Each sign-in keeps its own verdict: its statements run between `SAVEPOINT sign_in` and
//! `RELEASE sign_in`; a statement that fails (a replay, a consumed pending login, a unique
//! violation of a racing first sign-in) is undone with `ROLLBACK TO sign_in` and only that
//! sign-in is refused, the others commit. No sign-in is answered before the group's `COMMIT`
//! returned, so an answered success is committed. If the transaction itself is lost (SQLite
//! rolled it back: I/O error, full disk) or `COMMIT` fails, nothing of the group is kept and
//! every sign-in of it runs again alone, in a transaction of its own, so each one gets the
//! verdict it would have had without the others.

use super::batch::{SqliteBatch, SqliteStatement};
use sqlx::sqlite::SqlitePool;
use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// At most this many sign-ins per transaction: bounds the time the first one waits for the
/// last.
const MAX_GROUP: usize = 64;

/// Prepared statements the writer keeps (a sign-in's kinds of statement, the transaction's own,
/// and the pending logins': ≈ 25 today).
const STATEMENT_CACHE: usize = 64;

struct Job {
    statements: Vec<SqliteStatement>,
    done: oneshot::Sender<Result<(), GroupError>>,
}

/// Why a sign-in of a group did not commit.
#[derive(Debug)]
pub(super) enum GroupError {
    /// One of its own statements failed (the rest of the group was not affected).
    Sql(sqlx::Error),
    /// The writer could not run it (the store is closing, or the writing connection failed).
    Writer(String),
}

impl GroupError {
    /// The sign-in guard refused: the pending login was consumed by another answer.
    pub fn is_pending_gone(&self) -> bool {
        matches!(self, Self::Sql(sqlx::Error::Database(db))
            if db.kind() == sqlx::error::ErrorKind::CheckViolation
                && db.message().contains("pending_login_consumed"))
    }

    pub fn into_error(self) -> crate::error::Error {
        match self {
            Self::Sql(e) => e.into(),
            Self::Writer(why) => crate::error::Error::Internal(why),
        }
    }
}

/// An error of the writer's SQLite connection, as the store's callers read every database
/// error (`sqlx::Error::Database`: its kind — unique, foreign key, check — and its message).
#[derive(Debug)]
struct WriterError {
    /// SQLite's extended result code (`None`: rusqlite refused before SQLite ran anything).
    code: Option<i32>,
    message: String,
}

/// An error of one of the store's own SQLite connections (the writer's, the readers'), as the
/// rest of the store reads database errors.
pub(super) fn sqlite_error(e: rusqlite::Error) -> sqlx::Error {
    WriterError::from_rusqlite(e)
}

impl WriterError {
    fn from_rusqlite(e: rusqlite::Error) -> sqlx::Error {
        let (code, message) = match &e {
            rusqlite::Error::SqliteFailure(f, msg) => (
                Some(f.extended_code),
                msg.clone().unwrap_or_else(|| f.to_string()),
            ),
            other => (None, other.to_string()),
        };
        sqlx::Error::Database(Box::new(Self { code, message }))
    }
}

impl std::fmt::Display for WriterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WriterError {}

impl sqlx::error::DatabaseError for WriterError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        self.code.map(|c| Cow::Owned(c.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        use rusqlite::ffi;
        use sqlx::error::ErrorKind;
        match self.code {
            Some(ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
                ErrorKind::UniqueViolation
            }
            Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => ErrorKind::ForeignKeyViolation,
            Some(ffi::SQLITE_CONSTRAINT_NOTNULL) => ErrorKind::NotNullViolation,
            Some(ffi::SQLITE_CONSTRAINT_CHECK) => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

/// The handle that queues sign-ins for the writer (cheap to clone).
#[derive(Clone, Debug)]
pub(super) struct GroupCommit {
    queue: mpsc::UnboundedSender<Job>,
    stats: Arc<Counters>,
}

/// What a group commit counts (SQLite's writer here, PostgreSQL's [`super::pg_group`]).
#[derive(Debug, Default)]
pub(super) struct Counters {
    groups: AtomicU64,
    sign_ins: AtomicU64,
    largest: AtomicU64,
}

impl Counters {
    /// One group of `n` sign-ins was committed or tried.
    pub(super) fn record(&self, n: u64) {
        self.groups.fetch_add(1, Ordering::Relaxed);
        self.sign_ins.fetch_add(n, Ordering::Relaxed);
        self.largest.fetch_max(n, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> SignInGroups {
        SignInGroups {
            groups: self.groups.load(Ordering::Relaxed),
            sign_ins: self.sign_ins.load(Ordering::Relaxed),
            largest: self.largest.load(Ordering::Relaxed),
        }
    }
}

/// What the group commit has done since the store opened (for metrics and benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignInGroups {
    /// Transactions the writer committed or tried (one per group).
    pub groups: u64,
    /// Sign-ins they carried.
    pub sign_ins: u64,
    /// The most sign-ins one group carried.
    pub largest: u64,
}

/// Opens the writer's own connection to the store's file, set as the pool's writing connection
/// is (foreign keys, `synchronous = NORMAL`, temporary tables in memory, the busy timeout for
/// other processes) with the sign-in guard's temporary table. The file is in WAL mode already
/// (the pool's connection set it when it created the file).
pub(super) fn open_writer(path: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let db = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    db.busy_timeout(Duration::from_secs(5))?;
    db.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;",
    )?;
    db.execute_batch(super::signin::SQLITE_SIGN_IN_GUARD)?;
    db.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(db)
}

impl GroupCommit {
    /// Starts the writer on a thread of its own with `db` (see [`open_writer`]), taking the
    /// pool's writing connection as its lock, driven with the current runtime's timers (the
    /// pool's acquire timeout). It ends when every handle is dropped.
    ///
    /// Why a thread and not a task: the writer is the one serial step of every sign-in and it
    /// blocks while SQLite works. As a runtime task it would block a worker, and its wake-ups
    /// would queue behind the request tasks (XML parsing, RSA).
    ///
    /// The checkpoints (copying the WAL into the database file and flushing both to disk) run
    /// on a thread of their own, every [`CHECKPOINT_EVERY`], on `checkpoints` (a third
    /// connection): SQLite's automatic checkpoint runs inside the commit that crosses 1,000 WAL
    /// pages, so one sign-in group in a few hundred waited for a copy and an `fsync` while every
    /// sign-in queued behind it. A passive checkpoint beside the writer never blocks it.
    pub fn start(
        lock: SqlitePool,
        db: rusqlite::Connection,
        checkpoints: rusqlite::Connection,
    ) -> std::io::Result<Self> {
        db.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(std::io::Error::other)?;
        let (queue, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(Counters::default());
        let (alive, writer_gone) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_until(&checkpoints, &writer_gone))?;
        spawn_writer(lock, db, rx, stats.clone(), Some(alive))?;
        Ok(Self { queue, stats })
    }

    pub fn stats(&self) -> SignInGroups {
        self.stats.snapshot()
    }

    /// Queues one sign-in's statements (or another write of the sign-in path: a pending login's
    /// insert or consumption) and waits for its group's commit. The writer wraps them in their
    /// savepoint. A caller that stops waiting does not stop the sign-in: once queued, it
    /// commits or fails whole with its group.
    pub async fn commit(&self, batch: SqliteBatch) -> Result<(), GroupError> {
        let statements = batch.finish().map_err(|why| {
            GroupError::Writer(format!(
                "the sign-in's statements do not match their arguments: {why}"
            ))
        })?;
        let (done, verdict) = oneshot::channel();
        self.queue
            .send(Job { statements, done })
            .map_err(|_| GroupError::Writer("the store's writer has stopped".into()))?;
        verdict
            .await
            .map_err(|_| GroupError::Writer("the store's writer stopped mid-sign-in".into()))?
    }
}

/// How often the checkpointer copies the WAL into the database file and flushes it: also the
/// longest a committed sign-in stays only in the WAL's unflushed pages (`synchronous = NORMAL`
/// flushes the WAL at checkpoints), what a power loss can take (architecture §16).
pub(super) const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Runs a passive checkpoint every [`CHECKPOINT_EVERY`] until the writer ends (`writer_gone`
/// disconnects). Passive: it copies what no reader still needs and never waits for, nor blocks,
/// the writer or the readers. A failure is logged and tried again at the next tick.
fn checkpoint_until(db: &rusqlite::Connection, writer_gone: &std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::RecvTimeoutError;
    while let Err(RecvTimeoutError::Timeout) = writer_gone.recv_timeout(CHECKPOINT_EVERY) {
        if let Err(e) = db.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "SQLite checkpoint failed");
        }
    }
}

fn spawn_writer(
    lock: SqlitePool,
    db: rusqlite::Connection,
    rx: mpsc::UnboundedReceiver<Job>,
    counters: Arc<Counters>,
    checkpointer: Option<std::sync::mpsc::Sender<()>>,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name("sign-in-writer".into())
        .spawn(move || {
            runtime.block_on(run(lock, db, rx, counters));
            // The checkpointer ends with the writer.
            drop(checkpointer);
        })?;
    Ok(())
}

/// How long the writer keeps the writing connection while sign-ins keep coming, before it
/// gives the other writers (logouts, the console) their turn.
const HOLD: Duration = Duration::from_millis(20);

/// The writer: waits for a sign-in, takes whatever else is queued (up to [`MAX_GROUP`]), commits
/// the group, repeats. It keeps the pool's connection (its lock) from one group to the next
/// while more are queued, for at most [`HOLD`].
async fn run(
    lock: SqlitePool,
    mut db: rusqlite::Connection,
    mut rx: mpsc::UnboundedReceiver<Job>,
    stats: Arc<Counters>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        let held = match lock.acquire().await {
            Ok(c) => c,
            Err(e) => {
                answer_all(
                    std::mem::take(&mut group),
                    &format!("no writing connection: {e}"),
                );
                continue;
            }
        };
        let held_since = Instant::now();
        loop {
            let jobs = std::mem::take(&mut group);
            stats.record(jobs.len() as u64);
            if let Some(again) = commit_group(&mut db, jobs) {
                for job in again {
                    // Alone: a group of one is never handed back.
                    let _ = commit_group(&mut db, vec![job]);
                }
            }
            if held_since.elapsed() >= HOLD {
                break;
            }
            while group.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            if group.is_empty() {
                break;
            }
        }
        drop(held);
    }
}

/// Runs `jobs` in one transaction and answers each; or, when the transaction as a whole was lost
/// and there was more than one job, answers none and hands them back to be run one by one.
///
/// A failing sign-in is followed by `ROLLBACK TO sign_in`: when that fails too, or SQLite is back
/// in autocommit mode, the transaction is not (or no longer) there — SQLite rolled it back — and
/// the group is lost.
fn commit_group(db: &mut rusqlite::Connection, jobs: Vec<Job>) -> Option<Vec<Job>> {
    let alone = jobs.len() == 1;
    let mut ran: Vec<(Job, Result<(), rusqlite::Error>)> = Vec::with_capacity(jobs.len());
    let mut queue = jobs.into_iter();
    let mut lost = exec(db, "BEGIN IMMEDIATE")
        .err()
        .map(|e| format!("could not begin the sign-in transaction: {e}"));
    while lost.is_none() {
        let Some(job) = queue.next() else { break };
        let res = run_one(db, &job.statements);
        if let Err(e) = &res
            && (db.is_autocommit() || exec(db, "ROLLBACK TO sign_in").is_err())
        {
            lost = Some(format!("the sign-in transaction was lost: {e}"));
        }
        if lost.is_none()
            && let Err(e) = exec(db, "RELEASE sign_in")
        {
            lost = Some(format!("the sign-in transaction was lost: {e}"));
        }
        ran.push((job, res));
    }
    if lost.is_none()
        && let Err(e) = exec(db, "COMMIT")
    {
        lost = Some(format!("the sign-in transaction did not commit: {e}"));
    }
    let Some(why) = lost else {
        for (job, res) in ran {
            let _ = job
                .done
                .send(res.map_err(|e| GroupError::Sql(WriterError::from_rusqlite(e))));
        }
        return None;
    };
    // Fails harmlessly when SQLite already ended the transaction.
    if !db.is_autocommit() {
        let _ = exec(db, "ROLLBACK");
    }
    if alone {
        for (job, res) in ran {
            let verdict = match res {
                Err(e) => GroupError::Sql(WriterError::from_rusqlite(e)),
                Ok(()) => GroupError::Writer(why.clone()),
            };
            let _ = job.done.send(Err(verdict));
        }
        answer_all(queue.collect(), &why);
        return None;
    }
    let mut again: Vec<Job> = ran.into_iter().map(|(job, _)| job).collect();
    again.extend(queue);
    Some(again)
}

/// One sign-in's statements after `SAVEPOINT sign_in` (the caller releases or rolls back to it).
fn run_one(db: &rusqlite::Connection, statements: &[SqliteStatement]) -> rusqlite::Result<()> {
    exec(db, "SAVEPOINT sign_in")?;
    for s in statements {
        db.prepare_cached(&s.sql)?
            .execute(rusqlite::params_from_iter(&s.values))?;
    }
    Ok(())
}

fn exec(db: &rusqlite::Connection, sql: &'static str) -> rusqlite::Result<()> {
    db.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn answer_all(jobs: Vec<Job>, why: &str) {
    for j in jobs {
        let _ = j.done.send(Err(GroupError::Writer(why.to_owned())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

    /// A handle whose writer starts only when the test says so: what is queued before then
    /// reaches the writer as one group, whatever the threads' timing.
    fn paused(lock: SqlitePool, db: rusqlite::Connection) -> (GroupCommit, PausedWriter) {
        let (queue, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(Counters::default());
        let paused = PausedWriter {
            lock,
            db,
            rx,
            stats: stats.clone(),
        };
        (GroupCommit { queue, stats }, paused)
    }

    struct PausedWriter {
        lock: SqlitePool,
        db: rusqlite::Connection,
        rx: mpsc::UnboundedReceiver<Job>,
        stats: Arc<Counters>,
    }

    impl PausedWriter {
        fn queued(&self) -> usize {
            self.rx.len()
        }

        fn start(self) {
            spawn_writer(self.lock, self.db, self.rx, self.stats, None).unwrap();
        }
    }

    /// A sign-in stand-in: inserts `id` into `t` (`extra` goes first).
    fn job(id: i64, extra: &'static str) -> SqliteBatch {
        let mut b = SqliteBatch::default();
        if !extra.is_empty() {
            b.stmt(extra);
        }
        b.stmt("INSERT INTO t (id) VALUES ($1)").bind(id);
        b
    }

    async fn store() -> (tempfile::TempDir, SqlitePool, GroupCommit, PausedWriter) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        // No busy handler on the pool's side: a write that met the writer's inside SQLite fails
        // at once instead of sleeping (see the last test).
        let opts = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::ZERO);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .unwrap();
        // `zdoom`: an insert there fails and makes SQLite roll back the whole transaction (as
        // an I/O error or a full disk would).
        sqlx::raw_sql(
            "CREATE TABLE t (id INTEGER PRIMARY KEY); CREATE TABLE zdoom (x); \
             CREATE TRIGGER zdoom BEFORE INSERT ON zdoom BEGIN SELECT RAISE(ROLLBACK, 'lost by the test'); END",
        )
        .execute(&pool)
        .await
        .unwrap();
        let db = open_writer(&path).unwrap();
        let (gc, paused) = paused(pool.clone(), db);
        (dir, pool, gc, paused)
    }

    /// Queues `batches` in the order given before the writer starts, so they reach it as one
    /// group; returns each one's verdict (`Ok`, or the error's debug text).
    async fn storm(
        gc: &GroupCommit,
        paused: PausedWriter,
        batches: Vec<SqliteBatch>,
    ) -> Vec<Result<(), String>> {
        let n = batches.len();
        // One task polls them all, in order, so they queue in the order given.
        let waits = {
            let gc = gc.clone();
            tokio::spawn(async move {
                futures_util::future::join_all(batches.into_iter().map(|b| gc.commit(b))).await
            })
        };
        while paused.queued() < n {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        paused.start();
        waits
            .await
            .unwrap()
            .into_iter()
            .map(|v| v.map_err(|e| format!("{e:?}")))
            .collect()
    }

    async fn ids(pool: &SqlitePool) -> Vec<i64> {
        sqlx::query_scalar("SELECT id FROM t ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_sign_in_refuses_only_itself() {
        let (_dir, pool, gc, paused) = store().await;
        // Ten in one group: the 4th and the 9th collide with the 2nd (a unique violation).
        let batches = [1, 2, 3, 2, 5, 6, 7, 8, 2, 10]
            .into_iter()
            .map(|id| job(id, ""))
            .collect();
        let verdicts = storm(&gc, paused, batches).await;
        let refused: Vec<usize> = (0..verdicts.len())
            .filter(|&i| verdicts[i].is_err())
            .collect();
        assert_eq!(refused, [3, 8], "{verdicts:?}");
        assert!(
            verdicts
                .iter()
                .filter_map(|v| v.as_ref().err())
                .all(|e| e.contains("UNIQUE")),
            "{verdicts:?}"
        );
        assert_eq!(ids(&pool).await, [1, 2, 3, 5, 6, 7, 8, 10]);
        let s = gc.stats();
        assert_eq!((s.groups, s.sign_ins, s.largest), (1, 10, 10), "{s:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refusal_reads_as_the_database_error_it_is() {
        let (_dir, _pool, gc, paused) = store().await;
        paused.start();
        gc.commit(job(1, "")).await.unwrap();
        let Err(GroupError::Sql(sqlx::Error::Database(db))) = gc.commit(job(1, "")).await else {
            panic!("a duplicate key is a database error");
        };
        assert!(db.is_unique_violation(), "{db}");
        assert!(db.message().contains("t.id"), "{db}");
        let mut check = SqliteBatch::default();
        check.stmt(super::super::signin::SQLITE_GUARD_CONSUMED);
        let refused = gc.commit(check).await.unwrap_err();
        assert!(refused.is_pending_gone(), "{refused:?}");
        // A statement bound short never runs.
        let mut short = SqliteBatch::default();
        short.stmt("INSERT INTO t (id) VALUES ($1)");
        let e = gc.commit(short).await.unwrap_err();
        assert!(
            matches!(&e, GroupError::Writer(w) if w.contains("bound 0 arguments")),
            "{e:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lost_transaction_runs_each_sign_in_again_alone() {
        let (_dir, pool, gc, paused) = store().await;
        // The second fails in a way that loses the whole transaction: the work of the one before
        // it is gone with it, so every sign-in runs again alone; only the culprit is refused.
        let batches = vec![
            job(1, ""),
            job(2, "INSERT INTO zdoom VALUES (1)"),
            job(3, ""),
            job(4, ""),
        ];
        let verdicts = storm(&gc, paused, batches).await;
        assert!(
            verdicts[0].is_ok() && verdicts[2].is_ok() && verdicts[3].is_ok(),
            "{verdicts:?}"
        );
        assert!(
            verdicts[1]
                .as_ref()
                .is_err_and(|e| e.contains("lost by the test")),
            "{verdicts:?}"
        );
        assert_eq!(ids(&pool).await, [1, 3, 4]);
        let s = gc.stats();
        assert_eq!(
            s.largest, 4,
            "they went as one group (then each alone): {s:?}"
        );
        // And the connection is usable afterwards, outside any transaction.
        let v = gc.commit(job(5, "")).await;
        assert!(v.is_ok(), "{v:?}");
        assert_eq!(ids(&pool).await, [1, 3, 4, 5]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pools_writes_wait_while_the_writer_holds_its_lock() {
        let (_dir, pool, gc, paused) = store().await;
        paused.start();
        // Writes through the pool and through the writer at once: none meets the other inside
        // SQLite (the pool's side has no busy handler, so a meeting would fail with "database is
        // locked"), all land.
        let pool_writes = {
            let pool = pool.clone();
            tokio::spawn(async move {
                for id in 1000..1100_i64 {
                    sqlx::query("INSERT INTO t (id) VALUES ($1)")
                        .bind(id)
                        .execute(&pool)
                        .await
                        .unwrap();
                }
            })
        };
        let writer = futures_util::future::join_all((0..100).map(|id| gc.commit(job(id, ""))));
        let verdicts = writer.await;
        pool_writes.await.unwrap();
        assert!(verdicts.iter().all(Result::is_ok), "{verdicts:?}");
        assert_eq!(ids(&pool).await.len(), 200);
    }
}

#[cfg(test)]
mod checkpoint_tests {
    use super::*;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

    /// The commits never copy the WAL into the database file themselves (automatic checkpoints
    /// off on every connection); the checkpointer does, within a few ticks.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpointer_copies_the_wal_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let opts = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .pragma("wal_autocheckpoint", "0");
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .unwrap();
        sqlx::raw_sql("CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        // Before any checkpoint the file holds at most the schema's pages.
        let empty = size();
        let gc = GroupCommit::start(
            pool.clone(),
            open_writer(&path).unwrap(),
            open_writer(&path).unwrap(),
        )
        .unwrap();
        // 2 MiB of rows through the writer.
        let writes = (0..64_i64).map(|id| {
            let mut b = SqliteBatch::default();
            b.stmt("INSERT INTO b (id, v) VALUES ($1, zeroblob(32768))")
                .bind(id);
            gc.commit(b)
        });
        for v in futures_util::future::join_all(writes).await {
            v.unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while size() < empty + (2 << 20) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            size() >= empty + (2 << 20),
            "the rows reached the database file: {} bytes (was {empty})",
            size()
        );
    }
}
