//! The audit trail.

use super::*;

impl Store {
    // --- audit ---

    pub async fn insert_audit(&self, audit: &AuditRecord) -> Result<()> {
        on_pool!(self, p => bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Audit events, newest first, narrowed by every filter that is set.
    pub async fn list_audit(&self, f: &AuditFilter) -> Result<Vec<AuditRow>> {
        let mut sql = String::from(
            "SELECT seq, id, at, tenant, actor, kind, code, user_id, ip, request_id, details FROM audit_events WHERE 1 = 1",
        );
        let mut args = Vec::new();
        let mut add = |sql: &mut String, cond: &str, a: Arg| {
            args.push(a);
            sql.push_str(&format!(" AND {cond} ${}", args.len()));
        };
        if let Some(t) = &f.tenant {
            add(&mut sql, "tenant =", Arg::Text(t.clone()));
        }
        if let Some(u) = &f.user_id {
            add(&mut sql, "user_id =", Arg::Text(u.clone()));
        }
        if let Some(k) = &f.kind {
            add(&mut sql, "kind =", Arg::Text(k.clone()));
        }
        if let Some(c) = &f.code {
            add(&mut sql, "code =", Arg::Text(c.clone()));
        }
        if let Some(s) = f.since {
            add(&mut sql, "at >=", Arg::Int(s));
        }
        if let Some(u) = f.until {
            add(&mut sql, "at <", Arg::Int(u));
        }
        if let Some(b) = f.before_seq {
            add(&mut sql, "seq <", Arg::Int(b));
        }
        args.push(Arg::Int(f.limit));
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", args.len()));
        Ok(on_pool!(self, p => {
            let mut q = sqlx::query_as::<_, AuditRow>(sqlx::AssertSqlSafe(sql));
            for a in args {
                q = match a { Arg::Text(s) => q.bind(s), Arg::Int(i) => q.bind(i) };
            }
            q.fetch_all(p).await?
        }))
    }
}
