//! The provisioning step of a sign-in (`Lanyard::provision` for a returning, linked user: the
//! federated-identity lookup, reconcile, and the last-login write) next to issuing the session
//! that follows it (`open_session`: one write transaction with its audit event), on the embedded
//! SQLite store, in the same run. It answers "what does the one Identity path add to each
//! login?" as a ratio to the session write every login pays anyway.
//!
//! Run: `cargo bench -p lanyard-core --bench provision` (figures in BENCHMARKS.md).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use lanyard_core::identity::Identity;
use lanyard_core::{Ctx, Lanyard, ManualClock, MasterKey, RequestMeta, Store};
use lanyard_proto as proto;
use serde_json::json;

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (l, t, c, id) = rt.block_on(async {
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("b.db").display()))
            .await
            .unwrap();
        let l = Lanyard::new(
            store,
            Arc::new(ManualClock::new(1_796_083_200)),
            MasterKey::generate(),
        )
        .await
        .unwrap();
        let ctx = Ctx::cli();
        l.create_tenant(
            &ctx,
            proto::CreateTenant {
                slug: "acme".into(),
                name: "Acme".into(),
                session_lifetime_secs: None,
            },
        )
        .await
        .unwrap();
        let cert = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../lanyard-saml/tests/fixtures/keys/idp.crt"),
        )
        .unwrap();
        let (t, c) = l
            .create_connection(
                &ctx,
                "acme",
                proto::ConnectionInput {
                    slug: Some("okta".into()),
                    name: Some("Okta".into()),
                    idp_entity_id: Some("https://idp.example/".into()),
                    sso_url: Some("https://idp.example/sso".into()),
                    certificates: Some(vec![cert]),
                    jit: Some(true),
                    provisioning: Some(proto::ProvisioningInput {
                        role_mapping: Some(vec![proto::RoleMapping {
                            value: "Admins".into(),
                            role: "admin".into(),
                        }]),
                        role_sync: Some(proto::RoleSync::EveryLogin),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let id = Identity {
            method: "saml",
            federation_id: "00u-ada".into(),
            email: Some("ada@acme.example".into()),
            email_verified: true,
            username: Some("ada".into()),
            display_name: Some("Ada Lovelace".into()),
            role_claims: vec!["Admins".into(), "Staff".into()],
            session_not_after: None,
            raw_claims: json!({}),
            email_sources: vec![],
            authn_contexts: Vec::new(),
        };
        l.provision(&t, &c, true, &id, None, &RequestMeta::default())
            .await
            .unwrap();
        (l, t, c, id)
    });
    let meta = RequestMeta::default();
    let provision = || {
        rt.block_on(l.provision(&t, &c, true, black_box(&id), None, &meta))
            .unwrap()
    };
    let user_id = provision().user.id;
    let session = || {
        rt.block_on(l.open_session(&t, black_box(&user_id), "saml", &meta))
            .unwrap()
    };
    // Warm up, then alternate short blocks of each (robust to a noisy machine): the median of
    // the per-round ratios, and each side's median rate.
    for _ in 0..200 {
        provision();
        session();
    }
    let (mut ratios, mut p_rates, mut s_rates) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..60 {
        let t0 = Instant::now();
        for _ in 0..20 {
            black_box(session());
        }
        let s = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        for _ in 0..20 {
            black_box(provision());
        }
        let p = t0.elapsed().as_secs_f64();
        ratios.push(p / s);
        p_rates.push(20.0 / p);
        s_rates.push(20.0 / s);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (q1, q3) = {
        ratios.sort_by(f64::total_cmp);
        (ratios[ratios.len() / 4], ratios[3 * ratios.len() / 4])
    };
    println!(
        "provision (returning user) / open_session time: median {:.2} (quartiles {:.2}-{:.2}); provision {:.0}/s, open_session {:.0}/s (SQLite, one thread)",
        median(&mut ratios),
        q1,
        q3,
        median(&mut p_rates),
        median(&mut s_rates)
    );
}
