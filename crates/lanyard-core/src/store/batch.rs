//! Many statements in one SQLite round trip. sqlx runs every statement of one query text in turn
//! on its connection thread, and numbered placeholders (`$n`) index the arguments of the whole
//! text. A sign-in's transaction goes as one such batch instead of one round trip per statement:
//! each round trip is two thread switches while the store's single SQLite connection is held —
//! the serialisation ceiling issue 17 measured (the connection, not the CPU, was the limit).
//!
//! On PostgreSQL the same builder makes ONE statement of data-modifying CTEs
//! ([`Batch::cte`]): its extended protocol takes one statement per message, so several
//! statements become the parts `w1 AS (…), w2 AS (…)` of one `WITH`.

use sqlx::postgres::Postgres;
use sqlx::sqlite::Sqlite;
use sqlx::{Arguments, Database, Encode, Type};

/// A statement's text: a literal, or dynamic SQL already audited ([`sqlx::AssertSqlSafe`]).
pub(super) trait SqlText {
    fn text(&self) -> &str;
}

impl SqlText for &'static str {
    fn text(&self) -> &str {
        self
    }
}

impl SqlText for sqlx::AssertSqlSafe<String> {
    fn text(&self) -> &str {
        &self.0
    }
}

/// Statements joined into one text, each one's `$1…$n` moved past the arguments of the ones
/// before it, and their arguments in order. A statement that binds more or fewer arguments than
/// its text names makes [`Batch::finish`] fail (never a silent NULL: SQLite would bind a missing
/// argument as NULL).
pub(super) struct Batch<DB: Database> {
    sql: String,
    args: <DB as Database>::Arguments,
    /// Statements as the parts of one `WITH` (PostgreSQL) instead of `;`-separated.
    cte: bool,
    statements: usize,
    /// Arguments the statements so far name (what `args` must hold before the next one).
    named: usize,
    /// Arguments the statements before the current one name.
    base: usize,
    error: Option<String>,
}

/// SQLite: statements separated by `;`, run in turn by one call.
pub(super) type SqliteBatch = Batch<Sqlite>;

/// PostgreSQL: one statement of data-modifying CTEs.
pub(super) type PgCte = Batch<Postgres>;

impl<DB: Database> Default for Batch<DB> {
    fn default() -> Self {
        Self {
            sql: String::new(),
            args: Default::default(),
            cte: false,
            statements: 0,
            named: 0,
            base: 0,
            error: None,
        }
    }
}

impl PgCte {
    /// A `WITH` whose parts are the statements, named `w1`, `w2`… in order ([`Batch::name`]).
    pub fn cte() -> Self {
        Self {
            cte: true,
            ..Self::default()
        }
    }
}

impl<DB: Database> Batch<DB> {
    /// Starts the next statement; bind its arguments in the order of its placeholders.
    pub fn stmt(&mut self, sql: impl SqlText) -> &mut Self {
        self.check_bound();
        match (self.cte, self.statements) {
            (false, 0) => {}
            (false, _) => self.sql.push_str(";\n"),
            (true, 0) => self.sql.push_str("WITH "),
            (true, _) => self.sql.push_str("),\n"),
        }
        self.statements += 1;
        if self.cte {
            self.sql.push_str(&format!("w{} AS (", self.statements));
        }
        self.base = self.named;
        self.named = self.base + renumber(sql.text(), self.base, &mut self.sql);
        self
    }

    /// Binds the current statement's next argument.
    pub fn bind<'t, T: Encode<'t, DB> + Type<DB>>(&mut self, value: T) -> &mut Self {
        if let Err(e) = self.args.add(value) {
            self.error
                .get_or_insert_with(|| format!("statement {}: {e}", self.statements));
        }
        self
    }

    /// How many statements the batch holds.
    pub fn len(&self) -> usize {
        self.statements
    }

    /// The CTE name of the current statement (`w1`…).
    pub fn name(&self) -> String {
        format!("w{}", self.statements)
    }

    fn check_bound(&mut self) {
        if self.args.len() != self.named && self.error.is_none() {
            self.error = Some(format!(
                "statement {} bound {} arguments where its text names {}",
                self.statements,
                self.args.len().saturating_sub(self.base),
                self.named - self.base
            ));
        }
    }

    /// The text and its arguments, or why they do not match (a defect in the caller). A CTE
    /// ends with `tail`, the statement's own part (a `SELECT` over the parts); `tail` binds
    /// nothing.
    pub fn finish_with(
        mut self,
        tail: &str,
    ) -> Result<(String, <DB as Database>::Arguments), String> {
        self.check_bound();
        if self.cte {
            if self.statements > 0 {
                self.sql.push_str(")\n");
            }
            self.sql.push_str(tail);
        }
        match self.error {
            Some(e) => Err(e),
            None => Ok((self.sql, self.args)),
        }
    }

    /// [`Batch::finish_with`] without a tail (SQLite).
    pub fn finish(self) -> Result<(String, <DB as Database>::Arguments), String> {
        self.finish_with("")
    }
}

/// Copies `sql` onto `out` with every placeholder `$n` outside quotes written as `$(n + base)`;
/// returns the highest `n` (how many arguments the statement names).
fn renumber(sql: &str, base: usize, out: &mut String) -> usize {
    let mut highest = 0;
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut n = 0usize;
                while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    n = n.saturating_mul(10).saturating_add(d as usize);
                    chars.next();
                }
                highest = highest.max(n);
                out.push('$');
                out.push_str(&(n.saturating_add(base)).to_string());
            }
            None => out.push(c),
        }
    }
    highest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_earlier_statements_and_quotes_are_left_alone() {
        let mut b = SqliteBatch::default();
        b.stmt("UPDATE t SET a = $2, s = 'cost $1' WHERE id = $1")
            .bind("x")
            .bind(1_i64);
        b.stmt("INSERT INTO u (a, \"$3\") VALUES ($1, $2)")
            .bind("y")
            .bind(2_i64);
        assert_eq!(b.len(), 2);
        let (sql, args) = b.finish().unwrap();
        assert_eq!(
            sql,
            "UPDATE t SET a = $2, s = 'cost $1' WHERE id = $1;\nINSERT INTO u (a, \"$3\") VALUES ($3, $4)"
        );
        assert_eq!(args.len(), 4);
    }

    #[test]
    fn a_postgres_cte_names_its_parts_and_ends_with_its_tail() {
        let mut b = PgCte::cte();
        b.stmt("INSERT INTO r (a) VALUES ($1) RETURNING 1")
            .bind("x");
        let r = b.name();
        b.stmt("UPDATE t SET a = $2 WHERE id = $1")
            .bind(1_i64)
            .bind("y");
        assert_eq!(b.len(), 2);
        let (sql, args) = b
            .finish_with(&format!("SELECT EXISTS (SELECT 1 FROM {r})"))
            .unwrap();
        assert_eq!(
            sql,
            "WITH w1 AS (INSERT INTO r (a) VALUES ($1) RETURNING 1),\n\
             w2 AS (UPDATE t SET a = $3 WHERE id = $2)\n\
             SELECT EXISTS (SELECT 1 FROM w1)"
        );
        assert_eq!(args.len(), 3);
        // No part: the tail alone.
        let (sql, _) = PgCte::cte().finish_with("SELECT 1").unwrap();
        assert_eq!(sql, "SELECT 1");
    }

    #[test]
    fn a_statement_bound_short_or_long_is_refused_not_run_with_nulls() {
        let mut b = SqliteBatch::default();
        b.stmt("UPDATE t SET a = $1 WHERE id = $2").bind("only one");
        b.stmt("DELETE FROM t WHERE id = $1").bind(1_i64);
        let e = b.finish().err().unwrap();
        assert!(
            e.contains("statement 1 bound 1 arguments where its text names 2"),
            "{e}"
        );

        let mut b = SqliteBatch::default();
        b.stmt("DELETE FROM t WHERE id = $1")
            .bind(1_i64)
            .bind(2_i64);
        assert!(b.finish().is_err());
    }

    #[tokio::test]
    async fn a_batch_runs_every_statement_in_one_call_with_its_own_arguments() {
        use sqlx::Row;
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        let mut b = SqliteBatch::default();
        b.stmt("INSERT INTO t (id, v) VALUES ($1, $2) RETURNING 'first'")
            .bind(1_i64)
            .bind("one");
        b.stmt("INSERT INTO t (id, v) VALUES ($1, $2)")
            .bind(2_i64)
            .bind("two");
        b.stmt("DELETE FROM t WHERE id = $1 RETURNING 'gone'")
            .bind(7_i64);
        let (sql, args) = b.finish().unwrap();
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
            .fetch_all(&pool)
            .await
            .unwrap();
        let marks: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        assert_eq!(
            marks,
            ["first"],
            "a DELETE that matched nothing returns nothing"
        );
        let all: Vec<(i64, String)> = sqlx::query_as("SELECT id, v FROM t ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(all, [(1, "one".to_owned()), (2, "two".to_owned())]);
    }
}
