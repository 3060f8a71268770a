//! SQLite group commit of sign-ins: one long-lived writer (a thread of its own) owns the sign-in
//! writes, takes every sign-in queued while the previous group ran, and commits them in ONE
//! transaction, each inside a savepoint of its own.
//!
//! Why: SQLite admits one writer, and the store has one writing connection. Handing that
//! connection from one sign-in's task to the next (release, wake the next waiter, which then
//! wakes the connection's thread) and committing once per sign-in (each commit appends every
//! page it touched to the WAL: the session, replay and audit tables and their indexes) made the
//! single writer the ceiling while a core stood idle. A group pays the hand-over and the commit
//! once for all its sign-ins.
//!
//! Each sign-in keeps its own verdict: its statements run between `SAVEPOINT sign_in` and
//! `RELEASE sign_in`; a statement that fails (a replay, a consumed pending login, a unique
//! violation of a racing first sign-in) is undone with `ROLLBACK TO sign_in` and only that
//! sign-in is refused, the others commit. No sign-in is answered before the group's `COMMIT`
//! returned, so an answered success is committed. If the transaction itself is lost (SQLite
//! rolled it back: I/O error, full disk) or `COMMIT` fails, nothing of the group is kept and
//! every sign-in of it runs again alone, in a transaction of its own, so each one gets the
//! verdict it would have had without the others.
//!
//! Round trips: the connection's thread runs one query text per round trip, and each round trip
//! is two thread wake-ups — on a busy machine each waits for a core. So the sign-ins of a group
//! that have the same statements (the same *shape*: a returning person, a new one, …) go
//! together, as one text of 1, 2, 4, … 32 sign-ins (powers of two, so that a handful of texts
//! per shape keeps the connection's prepared statements cached). A group of twelve returning
//! sign-ins is `BEGIN`, a text of eight, a text of four, `COMMIT`. Which sign-in of a text failed
//! is known from the number of statements that completed before the error (each sign-in of one
//! shape has the same number); the ones after it are run again.

use super::batch::SqliteBatch;
use futures_util::TryStreamExt as _;
use sqlx::sqlite::{SqliteArguments, SqlitePool};
use sqlx::{Either, Executor as _, SqliteConnection};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// At most this many sign-ins per transaction: bounds the time the first one waits for the
/// last.
const MAX_GROUP: usize = 64;

/// At most this many sign-ins in one query text (≈ 40 bound arguments each, far below SQLite's
/// limit of 32 766).
const MAX_CHUNK: usize = 32;

/// Appends one sign-in's statements, bound, to a batch (for a text of several sign-ins).
pub(super) type Fill = Arc<dyn Fn(&mut SqliteBatch) + Send + Sync>;

/// One sign-in's statements (between `SAVEPOINT sign_in` and `RELEASE sign_in`) and where its
/// verdict goes.
pub(super) struct SignInBatch {
    /// The sign-in's own text and arguments (run as they are when it goes alone); the text is
    /// also its shape.
    pub sql: String,
    pub args: SqliteArguments,
    /// How many statements `sql` holds.
    pub statements: usize,
    /// The same statements again, for a text of several sign-ins of this shape.
    pub fill: Fill,
}

struct Job {
    batch: SignInBatch,
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

/// The handle that queues sign-ins for the writer (cheap to clone).
#[derive(Clone, Debug)]
pub(super) struct GroupCommit {
    queue: mpsc::UnboundedSender<Job>,
    stats: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    groups: AtomicU64,
    sign_ins: AtomicU64,
    largest: AtomicU64,
    largest_text: AtomicU64,
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
    /// The most sign-ins one query text carried.
    pub largest_text: u64,
}

impl GroupCommit {
    /// Starts the writer on a thread of its own, driven with the current runtime's timers (the
    /// pool's acquire timeout). It ends when every handle is dropped.
    ///
    /// Why a thread and not a task: the writer is the one serial step of every sign-in, and it
    /// waits on the connection's thread once per sign-in. As a runtime task, each of those wake-ups
    /// queued behind the request tasks (XML parsing, RSA) on the runtime's busy workers: groups
    /// of ≈ 12 sign-ins took ≈ 8 ms, ≈ 0.7 ms per sign-in, most of it waiting to be polled. Its
    /// own thread is woken directly by the connection's thread.
    pub fn start(writer: SqlitePool) -> std::io::Result<Self> {
        let (queue, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(Counters::default());
        spawn_writer(writer, rx, stats.clone())?;
        Ok(Self { queue, stats })
    }

    pub fn stats(&self) -> SignInGroups {
        SignInGroups {
            groups: self.stats.groups.load(Ordering::Relaxed),
            sign_ins: self.stats.sign_ins.load(Ordering::Relaxed),
            largest: self.stats.largest.load(Ordering::Relaxed),
            largest_text: self.stats.largest_text.load(Ordering::Relaxed),
        }
    }

    /// Queues a write that is not a sign-in (a pending login's insert or consumption) the
    /// same way: `fill` appends its statements between `SAVEPOINT sign_in` and `RELEASE
    /// sign_in`.
    pub async fn write(&self, fill: Fill) -> Result<(), GroupError> {
        let mut b = SqliteBatch::default();
        fill(&mut b);
        let statements = b.len();
        let (sql, args) = b.finish().map_err(GroupError::Writer)?;
        self.commit(SignInBatch {
            sql,
            args,
            statements,
            fill,
        })
        .await
    }

    /// Queues one sign-in's statements (its text must begin with `SAVEPOINT sign_in` and end
    /// with `RELEASE sign_in`) and waits for its group's commit. A caller that stops waiting
    /// does not stop the sign-in: once queued, it commits or fails whole with its group.
    pub async fn commit(&self, batch: SignInBatch) -> Result<(), GroupError> {
        let (done, verdict) = oneshot::channel();
        self.queue
            .send(Job { batch, done })
            .map_err(|_| GroupError::Writer("the store's writer has stopped".into()))?;
        verdict
            .await
            .map_err(|_| GroupError::Writer("the store's writer stopped mid-sign-in".into()))?
    }
}

fn spawn_writer(
    writer: SqlitePool,
    rx: mpsc::UnboundedReceiver<Job>,
    counters: Arc<Counters>,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name("sign-in-writer".into())
        .spawn(move || runtime.block_on(run(writer, rx, counters)))?;
    Ok(())
}

/// How long the writer keeps the writing connection while sign-ins keep coming, before it
/// gives the other writers (sign-in starts, logouts, the console) their turn.
const HOLD: Duration = Duration::from_millis(20);

/// The writer: waits for a sign-in, takes whatever else is queued (up to [`MAX_GROUP`]), commits
/// the group, repeats. It keeps the connection from one group to the next while more are queued
/// (for at most [`HOLD`]): each hand-over through the pool costs a spawned release task and a
/// test round trip to the connection's thread.
async fn run(pool: SqlitePool, mut rx: mpsc::UnboundedReceiver<Job>, stats: Arc<Counters>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        let mut conn = match pool.acquire().await {
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
            let n = jobs.len() as u64;
            stats.groups.fetch_add(1, Ordering::Relaxed);
            stats.sign_ins.fetch_add(n, Ordering::Relaxed);
            stats.largest.fetch_max(n, Ordering::Relaxed);
            if let Some(again) = commit_group(&mut conn, jobs, &stats).await {
                for job in again {
                    // Alone: a group of one is never handed back.
                    let _ = commit_group(&mut conn, vec![job], &stats).await;
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
    }
}

/// Runs `jobs` in one transaction and answers each; or, when the transaction as a whole was lost
/// and there was more than one job, answers none and hands them back to be run one by one.
///
/// A failing text is followed by `ROLLBACK TO sign_in`: when that fails too, the transaction is
/// not (or no longer) there — SQLite rolled it back — and the group is lost.
async fn commit_group(
    conn: &mut SqliteConnection,
    mut jobs: Vec<Job>,
    stats: &Counters,
) -> Option<Vec<Job>> {
    let alone = jobs.len() == 1;
    // Sign-ins of one shape next to each other (their order inside a group is arbitrary: they
    // were all in flight at once).
    jobs.sort_by(|a, b| a.batch.sql.cmp(&b.batch.sql));
    let mut queue: VecDeque<Job> = jobs.into();
    let mut ran: Vec<(Job, Result<(), sqlx::Error>)> = Vec::with_capacity(queue.len());
    let mut lost = exec(conn, "BEGIN IMMEDIATE")
        .await
        .err()
        .map(|e| format!("could not begin the sign-in transaction: {e}"));
    while lost.is_none() {
        let Some(first) = queue.pop_front() else {
            break;
        };
        let same = 1 + queue
            .iter()
            .take(MAX_CHUNK - 1)
            .take_while(|j| j.batch.sql == first.batch.sql)
            .count();
        // The largest power of two not above `same`.
        let k = 1 << (usize::BITS - 1 - same.leading_zeros());
        let per_job = first.batch.statements.max(1);
        let mut chunk = Vec::with_capacity(k);
        chunk.push(first);
        chunk.extend(queue.drain(..k - 1));
        stats.largest_text.fetch_max(k as u64, Ordering::Relaxed);
        let (sql, args) = match chunk.as_slice() {
            // Copies: kept in the job in case the group is lost and it runs again alone.
            [one] => (one.batch.sql.clone(), one.batch.args.clone()),
            _ => {
                let mut b = SqliteBatch::default();
                for j in &chunk {
                    (j.batch.fill)(&mut b);
                }
                match b.finish() {
                    Ok(text) => text,
                    Err(why) => {
                        lost = Some(format!("a sign-in text did not bind: {why}"));
                        queue.extend(chunk);
                        break;
                    }
                }
            }
        };
        match run_counting(conn, sql, args).await {
            Ok(()) => ran.extend(chunk.into_iter().map(|j| (j, Ok(())))),
            Err((done, e)) => {
                let failed = (done / per_job).min(k - 1);
                let mut rest = chunk.into_iter();
                ran.extend(rest.by_ref().take(failed).map(|j| (j, Ok(()))));
                let Some(culprit) = rest.next() else { break };
                ran.push((culprit, Err(e)));
                // Those after it did not run: back to the front of the queue, in order.
                for j in rest.rev() {
                    queue.push_front(j);
                }
                if let Err(e) = exec(conn, "ROLLBACK TO sign_in; RELEASE sign_in").await {
                    lost = Some(format!("the sign-in transaction was lost: {e}"));
                }
            }
        }
    }
    if lost.is_none()
        && let Err(e) = exec(conn, "COMMIT").await
    {
        lost = Some(format!("the sign-in transaction did not commit: {e}"));
    }
    let Some(why) = lost else {
        for (job, res) in ran {
            let _ = job.done.send(res.map_err(GroupError::Sql));
        }
        return None;
    };
    // Fails harmlessly when SQLite already ended the transaction.
    let _ = exec(conn, "ROLLBACK").await;
    if alone {
        for (job, res) in ran {
            let verdict = match res {
                Err(e) => GroupError::Sql(e),
                Ok(()) => GroupError::Writer(why.clone()),
            };
            let _ = job.done.send(Err(verdict));
        }
        answer_all(queue.into(), &why);
        return None;
    }
    let mut again: Vec<Job> = ran.into_iter().map(|(job, _)| job).collect();
    again.extend(queue);
    Some(again)
}

/// Runs a text of statements; on failure also says how many statements completed before it.
async fn run_counting(
    conn: &mut SqliteConnection,
    sql: String,
    args: SqliteArguments,
) -> Result<(), (usize, sqlx::Error)> {
    let mut done = 0;
    let mut results = conn.fetch_many(sqlx::query_with(sqlx::AssertSqlSafe(sql), args));
    loop {
        match results.try_next().await {
            Ok(Some(Either::Left(_))) => done += 1,
            Ok(Some(Either::Right(_))) => {}
            Ok(None) => return Ok(()),
            Err(e) => return Err((done, e)),
        }
    }
}

async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sql).execute(&mut *conn).await.map(|_| ())
}

fn answer_all(jobs: Vec<Job>, why: &str) {
    for j in jobs {
        let _ = j.done.send(Err(GroupError::Writer(why.to_owned())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqlitePoolOptions;

    /// A handle whose writer starts only when the test says so: what is queued before then
    /// reaches the writer as one group, whatever the threads' timing.
    fn paused(writer: SqlitePool) -> (GroupCommit, PausedWriter) {
        let (queue, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(Counters::default());
        let paused = PausedWriter {
            writer,
            rx,
            stats: stats.clone(),
        };
        (GroupCommit { queue, stats }, paused)
    }

    struct PausedWriter {
        writer: SqlitePool,
        rx: mpsc::UnboundedReceiver<Job>,
        stats: Arc<Counters>,
    }

    impl PausedWriter {
        fn queued(&self) -> usize {
            self.rx.len()
        }

        fn start(self) {
            spawn_writer(self.writer, self.rx, self.stats).unwrap();
        }
    }

    /// A sign-in stand-in: inserts `id` into `t` inside the savepoint (`extra` goes first).
    fn job(id: i64, extra: &'static str) -> SignInBatch {
        let fill: Fill = Arc::new(move |b: &mut SqliteBatch| {
            b.stmt("SAVEPOINT sign_in");
            if !extra.is_empty() {
                b.stmt(extra);
            }
            b.stmt("INSERT INTO t (id) VALUES ($1)").bind(id);
            b.stmt("RELEASE sign_in");
        });
        let mut b = SqliteBatch::default();
        fill(&mut b);
        let statements = b.len();
        let (sql, args) = b.finish().unwrap();
        SignInBatch {
            sql,
            args,
            statements,
            fill,
        }
    }

    async fn store() -> (SqlitePool, GroupCommit, PausedWriter) {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
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
        let (gc, paused) = paused(pool.clone());
        (pool, gc, paused)
    }

    /// Queues `batches` in the order given before the writer starts, so they reach it as one
    /// group; returns each one's verdict (`Ok`, or the error's debug text).
    async fn storm(
        gc: &GroupCommit,
        paused: PausedWriter,
        batches: Vec<SignInBatch>,
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
    async fn a_failing_sign_in_inside_a_shared_text_refuses_only_itself() {
        let (pool, gc, paused) = store().await;
        // Ten of one shape: the 4th and the 9th collide with the 2nd (a unique violation inside
        // a text of eight and inside the text after it).
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
            verdicts.iter().flatten().count() == 8
                && verdicts
                    .iter()
                    .filter_map(|v| v.as_ref().err())
                    .all(|e| e.contains("UNIQUE")),
            "{verdicts:?}"
        );
        assert_eq!(ids(&pool).await, [1, 2, 3, 5, 6, 7, 8, 10]);
        let s = gc.stats();
        assert!(
            s.largest_text >= 4,
            "sign-ins of one shape shared a text: {s:?}"
        );
        assert_eq!((s.sign_ins, s.largest), (10, 10), "{s:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lost_transaction_runs_each_sign_in_again_alone() {
        let (pool, gc, paused) = store().await;
        // One of them fails in a way that loses the whole transaction (its text sorts after the
        // others', so it runs last in the group): the work of those before it is gone with it,
        // so every sign-in runs again alone; only the culprit is refused.
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
}
