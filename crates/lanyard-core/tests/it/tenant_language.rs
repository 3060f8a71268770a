//! A tenant's default language (migration 0013), on SQLite and PostgreSQL: English by default,
//! changed by `update_tenant` (audited), an unknown language refused with its code and nothing
//! changed, and the mail fallback: a mail whose request states no language is written in the
//! tenant's language, one whose request states a language in that one.

use crate::harness::{Env, each_backend};
use crate::provisioning::fixture;
use lanyard_core::content::contacts::Lang;
use lanyard_core::{Ctx, Lanyard};
use lanyard_proto as proto;

async fn outbox(l: &Lanyard, tenant_id: &str) -> Vec<lanyard_core::model::OutboxMessage> {
    l.store.list_outbox(tenant_id, None, 100).await.unwrap()
}

fn language(code: &str) -> proto::UpdateTenant {
    proto::UpdateTenant {
        language: Some(code.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_tenant_language_defaults_to_english_is_updated_and_refuses_unknown_codes() {
    each_backend(|e: Env| async move {
        let fx = fixture(&e, None).await;
        let l = &fx.l;
        let c = Ctx::cli();
        let t = l.admin_tenant(&c, "acme").await.unwrap();
        assert_eq!(t.language, Lang::En, "{}", e.name);
        assert_eq!(t.to_wire().language, "en");

        let t = l.update_tenant(&c, "acme", language("ja")).await.unwrap();
        assert_eq!(t.language, Lang::Ja, "{}", e.name);
        let stored = l.store.tenant_by_slug("acme").await.unwrap().unwrap();
        assert_eq!(stored.language, Lang::Ja, "{}", e.name);
        let audit = l
            .store
            .list_audit(&lanyard_core::model::AuditFilter {
                tenant: Some("acme".into()),
                kind: Some("tenant.updated".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        let last = audit.first().unwrap();
        assert!(
            last.details.contains("\"language\":\"ja\""),
            "{}",
            last.details
        );
        let before = audit.len();

        for bad in ["fr", "", "JA", "ja-JP"] {
            let err = l
                .update_tenant(&c, "acme", language(bad))
                .await
                .unwrap_err();
            assert_eq!(err.code(), "tenant.language_invalid", "{bad}");
        }
        let stored = l.store.tenant_by_slug("acme").await.unwrap().unwrap();
        assert_eq!(stored.language, Lang::Ja, "{}: nothing changed", e.name);
        let after = l
            .store
            .list_audit(&lanyard_core::model::AuditFilter {
                tenant: Some("acme".into()),
                kind: Some("tenant.updated".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(after.len(), before, "{}: no audit for a refusal", e.name);
        // Another field alone leaves the language as it is.
        let t = l
            .update_tenant(
                &c,
                "acme",
                proto::UpdateTenant {
                    name: Some("Acme KK".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!((t.name.as_str(), t.language), ("Acme KK", Lang::Ja));
    })
    .await;
}

#[tokio::test]
async fn a_mail_without_a_stated_language_takes_the_tenants() {
    each_backend(|e: Env| async move {
        let fx = fixture(&e, None).await;
        let l = &fx.l;
        let c = Ctx::cli();
        let site = l
            .create_site(&c, "acme", "docs.acme.example", None, true)
            .await
            .unwrap();
        l.set_contact(&c, "acme", "docs.acme.example", "ann@acme.example", true)
            .await
            .unwrap();
        l.update_tenant(&c, "acme", language("ja")).await.unwrap();
        // No stated language: the tenant's (Japanese).
        l.request_contact_link(&site.id, "ann@acme.example", "/", None)
            .await
            .unwrap();
        // A stated one wins.
        l.request_contact_link(&site.id, "ann@acme.example", "/", Some(Lang::En))
            .await
            .unwrap();
        let mut mail = outbox(l, &fx.t.id).await;
        mail.sort_by_key(|m| m.subject.is_ascii());
        assert_eq!(mail.len(), 2, "{}", e.name);
        assert!(
            mail[0].subject.contains("サインイン"),
            "{}",
            mail[0].subject
        );
        assert!(
            mail[1].subject.starts_with("Your sign-in link"),
            "{}",
            mail[1].subject
        );
    })
    .await;
}
