//! The ways in: local password sign-in and each federation protocol's flow. Every flow verifies
//! what its protocol sent, hands the result to the one identity path ([`crate::identity`]) and
//! opens a session ([`crate::session`]).

pub mod jwt;
pub mod oidc;
pub mod password;
pub mod pem;
pub mod saml;
pub mod settings_cache;

use crate::Lanyard;
use crate::audit::{Actor, Ctx, RequestMeta};
use crate::error::{Error, Result};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::fmt;

/// A JSON object that refuses duplicate member names (`{"alg":"RS256","alg":"none"}`).
#[derive(Debug, Default)]
pub struct StrictObject(pub Map<String, Value>);

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictObject;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<StrictObject, A::Error> {
                let mut out = Map::new();
                while let Some((k, v)) = m.next_entry::<String, Value>()? {
                    if out.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!("duplicate member `{k}`")));
                    }
                    out.insert(k, v);
                }
                Ok(StrictObject(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl Lanyard {
    /// The kind of a connection (`saml`, `jwt`), or None when the tenant or connection does not
    /// exist (the protocol's own start then reports it).
    pub async fn connection_kind(
        &self,
        tenant_slug: &str,
        conn_slug: &str,
    ) -> Result<Option<String>> {
        let Some(t) = self.store.tenant_by_slug(tenant_slug).await? else {
            return Ok(None);
        };
        Ok(self
            .store
            .connection_by_slug(&t.id, conn_slug)
            .await?
            .map(|c| c.kind))
    }
}

impl Lanyard {
    /// Records a refused sign-in (`login.failed` with its code) together with what the way in
    /// knew when it refused (`details`: only what was verified, or marked as claimed). A
    /// failure to write the event is logged; it never hides the refusal itself.
    pub(crate) async fn audit_login_failure(
        &self,
        tenant_slug: &str,
        method: &'static str,
        conn_slug: &str,
        meta: &RequestMeta,
        e: &Error,
        details: Value,
    ) {
        let mut all = Map::new();
        all.insert("method".into(), method.into());
        all.insert("connection".into(), conn_slug.into());
        all.insert("reason".into(), e.to_string().into());
        if let Value::Object(extra) = details {
            all.extend(extra);
        }
        let ev = Ctx::new(Actor::Anonymous, meta.clone())
            .event(self.now(), Some(tenant_slug), "login.failed")
            .code(e.code())
            .details(Value::Object(all));
        if let Err(err) = self.store.insert_audit(&ev).await {
            tracing::error!(error = %err, method, "could not audit a refused sign-in");
        }
    }
}
