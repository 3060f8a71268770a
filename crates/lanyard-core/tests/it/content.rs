//! Private content in the store, on SQLite and PostgreSQL: sites (one host, one tenant),
//! resources saved twice at once, members added twice at once, and the sign-in handoff code
//! redeemed once even when two redemptions race.

use crate::harness::{each_backend, meta};
use lanyard_core::content::decide::{Audience, ResourceKind};
use lanyard_core::{Ctx, Error};
use lanyard_proto as proto;

const HOST: &str = "docs.acme.example";

#[tokio::test]
async fn sites_resources_members_and_handoffs_hold_under_races() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        let c = Ctx::cli();
        for slug in ["acme", "other"] {
            l.create_tenant(
                &c,
                proto::CreateTenant {
                    slug: slug.into(),
                    name: slug.into(),
                    session_lifetime_secs: None,
                },
            )
            .await
            .unwrap();
        }
        let site = l.create_site(&c, "acme", HOST, None, true).await.unwrap();
        // One host belongs to one tenant, in any spelling.
        let err = l
            .create_site(&c, "other", "DOCS.acme.example.", None, true)
            .await;
        assert!(
            matches!(err, Err(Error::SiteHostTaken(_))),
            "{}: {err:?}",
            e.name
        );
        // A site of another tenant is not found through this tenant.
        let err = l.admin_site(&c, "other", HOST).await;
        assert!(matches!(err, Err(Error::SiteNotFound(_))), "{}", e.name);

        // Two saves of one path at once: one row.
        let p = vec!["/race".to_owned()];
        let (a, b) = tokio::join!(
            l.set_resources(&c, "acme", HOST, ResourceKind::Page, &p, Audience::Sso, &[]),
            l.set_resources(
                &c,
                "acme",
                HOST,
                ResourceKind::Page,
                &p,
                Audience::Public,
                &[]
            ),
        );
        a.unwrap();
        b.unwrap();
        let rs = l.site_resources(&c, "acme", HOST).await.unwrap();
        assert_eq!(rs.len(), 1, "{}", e.name);

        // Two adds of one member (case folded) at once: one row, one "added".
        let list = l.create_list(&c, "acme", "partners").await.unwrap();
        let (x, y) = tokio::join!(
            l.set_member(&c, "acme", &list.id, "ann@acme.test", true),
            l.set_member(&c, "acme", &list.id, "Ann@Acme.Test", true),
        );
        assert_eq!(
            [x.unwrap(), y.unwrap()].iter().filter(|v| **v).count(),
            1,
            "{}",
            e.name
        );
        let t = l.store.tenant_by_slug("acme").await.unwrap().unwrap();
        assert_eq!(
            l.store
                .lists_with_member(&t.id, "ann@acme.test")
                .await
                .unwrap(),
            vec![list.id.clone()]
        );
        // Another tenant's list is not this tenant's.
        let err = l
            .set_member(&c, "other", &list.id, "x@acme.test", true)
            .await;
        assert!(
            matches!(err, Err(Error::ContentListNotFound(_))),
            "{}",
            e.name
        );

        // A handoff code redeemed by two requests at once: one site session.
        let u = l
            .create_user(
                &c,
                "acme",
                proto::CreateUser {
                    collaborator: false,
                    username: "ann".into(),
                    email: Some("ann@acme.test".into()),
                    display_name: None,
                    role: None,
                    password: None,
                    super_admin: false,
                },
            )
            .await
            .unwrap();
        let ns = l
            .open_session(&t, &u.id, "password", &meta("10.0.0.1"))
            .await
            .unwrap();
        let view = l.session("acme", &ns.token).await.unwrap();
        let (_, code) = l
            .content_handoff(&view, &site.id, "//evil.example")
            .await
            .unwrap();
        let (a, b) = tokio::join!(l.content_redeem(HOST, &code), l.content_redeem(HOST, &code));
        let won: Vec<_> = [a, b].into_iter().filter_map(|r| r.ok()).collect();
        assert_eq!(won.len(), 1, "{}", e.name);
        assert_eq!(
            won[0].1, "/",
            "an off-site return path becomes the site's root"
        );
        // Expired codes are refused (no sleeping: the clock moves).
        let (_, code) = l.content_handoff(&view, &site.id, "/x").await.unwrap();
        e.clock.advance(61);
        assert!(matches!(
            l.content_redeem(HOST, &code).await,
            Err(Error::ContentHandoffInvalid)
        ));
        // A code is bound to its site's host.
        let other = l
            .create_site(&c, "acme", "blog.acme.example", None, true)
            .await
            .unwrap();
        let (_, code) = l.content_handoff(&view, &other.id, "/x").await.unwrap();
        assert!(matches!(
            l.content_redeem(HOST, &code).await,
            Err(Error::ContentHandoffInvalid)
        ));
        assert!(l.content_redeem("blog.acme.example", &code).await.is_ok());
    })
    .await;
}
