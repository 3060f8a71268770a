//! The ways in: local password sign-in and each federation protocol's flow. Every flow verifies
//! what its protocol sent, hands the result to the one identity path ([`crate::identity`]) and
//! opens a session ([`crate::session`]).

pub mod jwt;
pub mod oidc;
pub mod password;
pub mod saml;

use crate::Lanyard;
use crate::error::Result;
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
