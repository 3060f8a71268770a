//! A sign-in's statements, built once by the same binding macros for both stores.
//!
//! - PostgreSQL ([`PgCte`]): ONE statement of data-modifying CTEs. Its extended protocol takes
//!   one statement per message, so several statements become the parts `w1 AS (…), w2 AS (…)`
//!   of one `WITH`: one round trip instead of `BEGIN`, each statement and `COMMIT`.
//! - SQLite ([`SqliteBatch`]): the statements with their own values, for the sign-in writer
//!   ([`super::group_commit`]), which runs them on its own connection on its own thread, each
//!   a cached prepared statement — no round trip to another thread per statement.

use sqlx::Arguments as _;
use sqlx::postgres::{PgArguments, Postgres};
use sqlx::{Encode, Type};

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

/// PostgreSQL: statements as the parts of one `WITH`, each one's `$1…$n` moved past the
/// arguments of the ones before it, and their arguments in order. A statement that binds more
/// or fewer arguments than its text names makes [`PgCte::finish_with`] fail (a defect in the
/// caller, never a statement run with arguments out of place).
#[derive(Default)]
pub(super) struct PgCte {
    sql: String,
    args: PgArguments,
    statements: usize,
    /// Arguments the statements so far name (what `args` must hold before the next one).
    named: usize,
    /// Arguments the statements before the current one name.
    base: usize,
    error: Option<String>,
}

impl PgCte {
    /// A `WITH` whose parts are the statements, named `w1`, `w2`… in order ([`PgCte::name`]).
    pub fn cte() -> Self {
        Self::default()
    }

    /// Starts the next statement; bind its arguments in the order of its placeholders.
    pub fn stmt(&mut self, sql: impl SqlText) -> &mut Self {
        self.check_bound();
        self.sql.push_str(if self.statements == 0 {
            "WITH "
        } else {
            "),\n"
        });
        self.statements += 1;
        self.sql.push_str(&format!("w{} AS (", self.statements));
        self.base = self.named;
        self.named = self.base + renumber(sql.text(), self.base, '$', &mut self.sql);
        self
    }

    /// Binds the current statement's next argument.
    pub fn bind<'t, T: Encode<'t, Postgres> + Type<Postgres>>(&mut self, value: T) -> &mut Self {
        if let Err(e) = self.args.add(value) {
            self.error
                .get_or_insert_with(|| format!("statement {}: {e}", self.statements));
        }
        self
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

    /// The statement, ending with `tail` (its own part: a `SELECT` over the parts; `tail`
    /// binds nothing), and its arguments, or why they do not match.
    pub fn finish_with(mut self, tail: &str) -> Result<(String, PgArguments), String> {
        self.check_bound();
        if self.statements > 0 {
            self.sql.push_str(")\n");
        }
        self.sql.push_str(tail);
        match self.error {
            Some(e) => Err(e),
            None => Ok((self.sql, self.args)),
        }
    }
}

/// One SQLite statement of a [`SqliteBatch`]: its text with SQLite's numbered placeholders
/// (`?n` binds the n-th value, wherever and however often it appears) and its values.
#[derive(Debug, Clone)]
pub(super) struct SqliteStatement {
    pub sql: String,
    pub values: Vec<rusqlite::types::Value>,
}

/// SQLite: statements with their own values, run in order by the sign-in writer. The texts
/// are written with `$n` placeholders, as for PostgreSQL and sqlx.
#[derive(Debug, Default)]
pub(super) struct SqliteBatch {
    statements: Vec<SqliteStatement>,
    /// Values the current statement's text names.
    named: usize,
    error: Option<String>,
}

impl SqliteBatch {
    /// Starts the next statement; bind its arguments in the order of its placeholders.
    pub fn stmt(&mut self, sql: impl SqlText) -> &mut Self {
        self.check_bound();
        let mut text = String::with_capacity(sql.text().len());
        self.named = renumber(sql.text(), 0, '?', &mut text);
        self.statements.push(SqliteStatement {
            sql: text,
            values: Vec::with_capacity(self.named),
        });
        self
    }

    /// Binds the current statement's next argument.
    pub fn bind<T: rusqlite::ToSql>(&mut self, value: T) -> &mut Self {
        use rusqlite::types::ToSqlOutput;
        let n = self.statements.len();
        let value = match value.to_sql() {
            Ok(ToSqlOutput::Borrowed(v)) => {
                rusqlite::types::Value::try_from(v).map_err(|e| format!("statement {n}: {e}"))
            }
            Ok(ToSqlOutput::Owned(v)) => Ok(v),
            Ok(_) => Err(format!(
                "statement {n}: a value kind the writer does not bind"
            )),
            Err(e) => Err(format!("statement {n}: {e}")),
        };
        match (value, self.statements.last_mut()) {
            (Ok(v), Some(s)) => s.values.push(v),
            (Err(e), _) => {
                self.error.get_or_insert(e);
            }
            (Ok(_), None) => {
                self.error
                    .get_or_insert_with(|| "a value bound before any statement".into());
            }
        }
        self
    }

    fn check_bound(&mut self) {
        if let Some(s) = self.statements.last()
            && s.values.len() != self.named
            && self.error.is_none()
        {
            self.error = Some(format!(
                "statement {} bound {} arguments where its text names {}",
                self.statements.len(),
                s.values.len(),
                self.named
            ));
        }
    }

    /// The statements, or why one does not match its values (a defect in the caller; SQLite
    /// would bind a missing value as NULL).
    pub fn finish(mut self) -> Result<Vec<SqliteStatement>, String> {
        self.check_bound();
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.statements),
        }
    }
}

/// `sql` with SQLite's numbered placeholders (`?n`) for its `$n` (which SQLite would number in
/// order of first appearance, not by `n`).
pub(super) fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    renumber(sql, 0, '?', &mut out);
    out
}

/// Copies `sql` onto `out` with every placeholder `$n` outside quotes written as
/// `{mark}(n + base)`; returns the highest `n` (how many arguments the statement names).
/// Runs once per statement of every sign-in: the text between placeholders and quotes is copied
/// in slices (all three delimiters are ASCII, so every cut is on a character boundary).
fn renumber(sql: &str, base: usize, mark: char, out: &mut String) -> usize {
    use std::fmt::Write as _;
    let mut highest = 0;
    let mut rest = sql;
    // Each round copies up to the next quote or `$`, then past it. Every cut is on a character
    // boundary: `find` returns one, and the quotes, `$` and digits are ASCII.
    while let Some(at) = rest.find(['\'', '"', '$']) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let mut chars = from.chars();
        let Some(c) = chars.next() else { break };
        let after = chars.as_str();
        if c == '$' {
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            let (number, tail) = after.split_at(digits);
            if number.is_empty() {
                out.push('$');
            } else {
                let n = number.bytes().fold(0usize, |n, d| {
                    n.saturating_mul(10).saturating_add(usize::from(d - b'0'))
                });
                highest = highest.max(n);
                out.push(mark);
                // Writing to a String cannot fail.
                let _ = write!(out, "{}", n.saturating_add(base));
            }
            rest = tail;
        } else {
            // A quoted run, copied through its closing quote (or to the end).
            let end = after.find(c).map_or(after.len(), |e| e + 1);
            let (quoted, tail) = after.split_at(end);
            out.push(c);
            out.push_str(quoted);
            rest = tail;
        }
    }
    out.push_str(rest);
    highest
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::types::Value;

    #[test]
    fn renumber_rewrites_placeholders_outside_quotes_only() {
        let run = |sql: &str, base, mark| {
            let mut out = String::new();
            let n = renumber(sql, base, mark, &mut out);
            (out, n)
        };
        assert_eq!(
            run("SELECT $1, $12 FROM t WHERE a = $2", 0, '?'),
            ("SELECT ?1, ?12 FROM t WHERE a = ?2".into(), 12)
        );
        assert_eq!(
            run("x = $2 AND y = $1", 3, '$'),
            ("x = $5 AND y = $4".into(), 2)
        );
        // Inside quotes, `$` followed by anything, and multi-byte text are copied as they are.
        assert_eq!(
            run(
                "SELECT '$1', \"$2\", '日本$', $ , $x, 名前 = $1 -- é",
                0,
                '?'
            ),
            (
                "SELECT '$1', \"$2\", '日本$', $ , $x, 名前 = ?1 -- é".into(),
                1
            )
        );
        // An unterminated quote runs to the end; a `$` at the very end stays.
        assert_eq!(
            run("a = $1 'open $2", 0, '?'),
            ("a = ?1 'open $2".into(), 1)
        );
        assert_eq!(run("a = $", 0, '?'), ("a = $".into(), 0));
        assert_eq!(run("", 0, '?'), (String::new(), 0));
    }

    #[test]
    fn sqlite_statements_keep_their_own_numbered_placeholders_and_quotes_are_left_alone() {
        let mut b = SqliteBatch::default();
        b.stmt("UPDATE t SET a = $2, s = 'cost $1' WHERE id = $1")
            .bind("x")
            .bind(1_i64);
        b.stmt("INSERT INTO u (a, \"$3\") VALUES ($1, $2)")
            .bind(Some("y"))
            .bind(None::<i64>);
        let s = b.finish().unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].sql, "UPDATE t SET a = ?2, s = 'cost $1' WHERE id = ?1");
        assert_eq!(s[0].values, [Value::Text("x".into()), Value::Integer(1)]);
        assert_eq!(s[1].sql, "INSERT INTO u (a, \"$3\") VALUES (?1, ?2)");
        assert_eq!(s[1].values, [Value::Text("y".into()), Value::Null]);
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

        let mut b = PgCte::cte();
        b.stmt("DELETE FROM t WHERE id = $1 AND a = $2").bind(1_i64);
        assert!(b.finish_with("SELECT 1").is_err());
    }
}
