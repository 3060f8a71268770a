//! Shared by the structure-aware targets: JSON members whose values the fuzzer picks (often
//! from a list of plausible ones, so the checks behind the first few are reached), and
//! compact-JWS assembly (the header and payload are written member by member, so a duplicate
//! member or an odd encoding is the fuzzer's to choose).
#![allow(dead_code)]

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// A fixed instant the targets verify at.
pub const NOW: i64 = 1_800_000_000;

#[derive(Arbitrary, Debug, Clone)]
pub enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    /// [`NOW`] plus a small offset (times near the edges of exp/nbf/iat and the skew).
    Near(i16),
    Float(f64),
    Str(String),
    /// One of the target's plausible strings.
    Known(u8),
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Val {
    Scalar(Scalar),
    Arr(Vec<Scalar>),
    Obj(Vec<(String, Scalar)>),
}

fn scalar(s: &Scalar, known: &[&str]) -> Value {
    match s {
        Scalar::Null => Value::Null,
        Scalar::Bool(b) => Value::Bool(*b),
        Scalar::Int(i) => Value::from(*i),
        Scalar::Near(d) => Value::from(NOW + i64::from(*d)),
        Scalar::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Scalar::Str(s) => Value::String(s.clone()),
        Scalar::Known(i) => known
            .get(usize::from(*i) % known.len().max(1))
            .map_or(Value::Null, |s| Value::String((*s).to_owned())),
    }
}

pub fn value(v: &Val, known: &[&str]) -> Value {
    match v {
        Val::Scalar(s) => scalar(s, known),
        Val::Arr(list) => Value::Array(list.iter().map(|s| scalar(s, known)).collect()),
        Val::Obj(m) => Value::Object(
            m.iter()
                .map(|(k, s)| (k.clone(), scalar(s, known)))
                .collect(),
        ),
    }
}

/// One JSON member: a well-known name (by index) or any name, and its value (absent: left out).
#[derive(Arbitrary, Debug, Clone)]
pub struct Member {
    pub name: Name,
    pub value: Option<Val>,
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Name {
    Known(u8),
    Any(String),
}

/// A JSON object written member by member (duplicates kept, in order), from the fuzzer's
/// members; `names` are the well-known member names.
pub fn object(members: &[Member], names: &[&str], known: &[&str]) -> String {
    let mut parts = Vec::new();
    for m in members {
        let Some(v) = &m.value else { continue };
        let name = match &m.name {
            Name::Known(i) => names
                .get(usize::from(*i) % names.len().max(1))
                .map_or_else(String::new, |s| (*s).to_owned()),
            Name::Any(s) => s.clone(),
        };
        parts.push(format!("{}:{}", Value::String(name), value(v, known)));
    }
    format!("{{{}}}", parts.join(","))
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How the signature part is made.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigMode {
    /// Signed with the configured key and the algorithm the target uses.
    Right,
    /// Signed with another key of the same kind.
    OtherKey,
    /// HMAC keyed with the verifier's public key text (algorithm confusion).
    PublicKeyAsHmacSecret,
    Empty,
    Garbage,
    /// The right signature with its last character changed.
    Flipped,
}
