//! The registration audience and the per-node decision cache, on SQLite and PostgreSQL:
//! registered contacts' emailed links (sent only to contacts, limited per contact, single use
//! even when two redemptions race, bound to their site), and two `Lanyard` nodes on one store
//! seeing a list change and an audience change within the cache's staleness bound.

use crate::harness::{Env, each_backend, meta};
use crate::provisioning::{fixture, identity};
use lanyard_core::content::contacts::{LINK_LIMIT, LINK_TTL_SECS, Lang};
use lanyard_core::content::decide::{Audience, Decision, DenyReason, ResourceKind, SignInKind};
use lanyard_core::{Ctx, Error, Lanyard};
use std::sync::Arc;
use std::time::Duration;

const HOST: &str = "docs.acme.example";

async fn outbox(l: &Lanyard, tenant_id: &str) -> Vec<lanyard_core::model::OutboxMessage> {
    l.store.list_outbox(tenant_id, None, 100).await.unwrap()
}

fn link_token(body: &str) -> String {
    let at = body.find("?link=").unwrap() + "?link=".len();
    body[at..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn contact_links_go_only_to_contacts_are_limited_single_use_and_site_bound() {
    each_backend(|e: Env| async move {
        let fx = fixture(&e, None).await;
        let l = &fx.l;
        let c = Ctx::cli();
        let site = l.create_site(&c, "acme", HOST, None, true).await.unwrap();
        l.create_site(&c, "acme", "blog.acme.example", None, true)
            .await
            .unwrap();
        // Two racing registrations of one email leave one contact.
        let (a, b) = tokio::join!(
            l.set_contact(&c, "acme", HOST, "Ann@Acme.Example", true),
            l.set_contact(&c, "acme", HOST, "ann@acme.example", true),
        );
        assert!(a.unwrap() ^ b.unwrap(), "{}: exactly one added", e.name);
        assert_eq!(l.list_contacts(&c, "acme", HOST).await.unwrap().len(), 1);
        let (added, errors) = l
            .import_contacts(&c, "acme", HOST, "email\nbo@acme.example\nnot-an-email\n")
            .await
            .unwrap();
        assert_eq!((added, errors.len(), errors[0].0), (1, 1, 3), "{}", e.name);

        // An unknown email: the same answer, nothing written.
        l.request_contact_link(&site.id, "eve@evil.example", "/kb/a", Some(Lang::En))
            .await
            .unwrap();
        assert!(outbox(l, &fx.t.id).await.is_empty(), "{}", e.name);
        // A malformed one is refused (that reveals nothing about registration).
        let err = l
            .request_contact_link(&site.id, "nope", "/kb/a", Some(Lang::En))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "request.invalid_field");

        // A contact gets the link in the asked language, to the site's own callback.
        l.request_contact_link(&site.id, " ANN@acme.example ", "/kb/a?x=1", Some(Lang::Ja))
            .await
            .unwrap();
        let mail = outbox(l, &fx.t.id).await;
        assert_eq!(mail.len(), 1, "{}", e.name);
        assert_eq!(mail[0].to, "ann@acme.example");
        assert!(
            mail[0].subject.contains("サインイン"),
            "{}",
            mail[0].subject
        );
        assert!(
            mail[0]
                .body
                .contains(&format!("http://{HOST}/_lanyard/callback?link=")),
            "{}",
            mail[0].body
        );
        let token = link_token(&mail[0].body);

        // Per-contact limit: further requests send nothing, and answer the same.
        for _ in 0..LINK_LIMIT + 2 {
            l.request_contact_link(&site.id, "ann@acme.example", "/", Some(Lang::En))
                .await
                .unwrap();
        }
        assert_eq!(
            outbox(l, &fx.t.id).await.len(),
            usize::try_from(LINK_LIMIT).unwrap(),
            "{}",
            e.name
        );

        // Bound to its site: another host of the tenant cannot redeem it.
        let err = l
            .redeem_contact_link("blog.acme.example", &token)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ContentLinkInvalid), "{}", e.name);
        // Single use even when two redemptions race.
        let (a, b) = tokio::join!(
            l.redeem_contact_link(HOST, &token),
            l.redeem_contact_link(HOST, &token)
        );
        let ok: Vec<_> = [a, b].into_iter().filter_map(|r| r.ok()).collect();
        assert_eq!(ok.len(), 1, "{}: one redemption wins", e.name);
        let (cookie, ret) = &ok[0];
        assert_eq!(ret, "/kb/a?x=1");
        assert!(cookie.starts_with("c."));

        // The contact session reaches registration content only.
        let set = |path: &str, aud| {
            let (l, c, p) = (l.clone(), c.clone(), vec![path.to_owned()]);
            async move {
                l.set_resources(&c, "acme", HOST, ResourceKind::Article, &p, aud, &[])
                    .await
                    .unwrap()
            }
        };
        set("/kb/a", Audience::Registration).await;
        set("/kb/sso", Audience::Sso).await;
        let chk = l.content_check(HOST, "/kb/a", Some(cookie)).await.unwrap();
        match chk.decision {
            Decision::Allow(Some(v)) => {
                assert_eq!(v.email.as_deref(), Some("ann@acme.example"));
                assert!(v.user_id.starts_with("contact:"));
            }
            other => panic!("{}: {other:?}", e.name),
        }
        let chk = l
            .content_check(HOST, "/kb/sso", Some(cookie))
            .await
            .unwrap();
        assert_eq!(chk.decision, Decision::SignIn(SignInKind::Sso));
        // Not on another site of the tenant.
        let chk = l
            .content_check("blog.acme.example", "/kb/a", Some(cookie))
            .await
            .unwrap();
        assert_eq!(chk.decision, Decision::Allow(None), "unlisted there");

        // An expired link is refused.
        l.request_contact_link(&site.id, "bo@acme.example", "/", Some(Lang::En))
            .await
            .unwrap();
        let bo = outbox(l, &fx.t.id).await;
        let bo = bo.iter().find(|m| m.to == "bo@acme.example").unwrap();
        e.clock.advance(LINK_TTL_SECS + 1);
        let err = l
            .redeem_contact_link(HOST, &link_token(&bo.body))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "content.link_invalid");

        // Removing the contact ends their session.
        assert!(
            l.set_contact(&c, "acme", HOST, "ann@acme.example", false)
                .await
                .unwrap()
        );
        let chk = l.content_check(HOST, "/kb/a", Some(cookie)).await.unwrap();
        assert_eq!(
            chk.decision,
            Decision::SignIn(SignInKind::Registration),
            "{}",
            e.name
        );
    })
    .await;
}

/// Node A changes things; node B (its own cache, bound 1 s) sees them within the bound.
#[tokio::test]
async fn a_second_node_sees_list_and_audience_changes_within_the_staleness_bound() {
    each_backend(|e: Env| async move {
        let fx = fixture(&e, None).await;
        let a = &fx.l;
        let bound = Duration::from_millis(1000);
        let b = Lanyard::new(
            a.store.clone(),
            Arc::new(e.clock.clone()),
            a.master_key().clone(),
        )
        .await
        .unwrap()
        .with_content_cache(bound)
        .with_session_cache_ttl(bound);
        let a = &a.clone().with_session_cache_ttl(bound);
        let c = Ctx::cli();
        let site = a
            .create_site(&c, "acme", HOST, Some("okta"), true)
            .await
            .unwrap();
        let list = a.create_list(&c, "acme", "partners").await.unwrap();
        let p = vec!["/blog".to_owned()];
        a.set_resources(
            &c,
            "acme",
            HOST,
            ResourceKind::Blog,
            &p,
            Audience::SsoLists,
            std::slice::from_ref(&list.id),
        )
        .await
        .unwrap();
        // A visitor signed in through the site's connection, handed to the site.
        let user = fx
            .login(&identity("ann-1", Some("ann@acme.example")))
            .await
            .unwrap()
            .user;
        let ns = a
            .open_session_capped(
                &fx.t,
                &user.id,
                "saml",
                &meta("192.0.2.1"),
                None,
                Some((&fx.c.id, &[])),
            )
            .await
            .unwrap();
        let view = a.session("acme", &ns.token).await.unwrap();
        let (_, code) = a.content_handoff(&view, &site.id, "/blog").await.unwrap();
        let (token, _) = a.content_redeem(HOST, &code).await.unwrap();
        let decide = |n: &Lanyard| {
            let (n, t) = (n.clone(), token.clone());
            async move {
                n.content_check(HOST, "/blog/x", Some(&t))
                    .await
                    .unwrap()
                    .decision
            }
        };
        let not_on_list = Decision::Deny(DenyReason::NotOnList);
        assert_eq!(decide(a).await, not_on_list);
        assert_eq!(decide(&b).await, not_on_list, "{}: B cached it", e.name);

        // A list change on A: A at once (its own change cleared its cache); B within the bound.
        a.set_member(&c, "acme", &list.id, "ann@acme.example", true)
            .await
            .unwrap();
        assert!(
            matches!(decide(a).await, Decision::Allow(Some(_))),
            "{}",
            e.name
        );
        assert_eq!(decide(&b).await, not_on_list, "{}: still B's copy", e.name);
        tokio::time::sleep(bound + Duration::from_millis(100)).await;
        assert!(
            matches!(decide(&b).await, Decision::Allow(Some(_))),
            "{}",
            e.name
        );

        // An audience change on A: the same.
        a.set_resources(
            &c,
            "acme",
            HOST,
            ResourceKind::Blog,
            &p,
            Audience::Registration,
            &[],
        )
        .await
        .unwrap();
        let anon = |n: &Lanyard| {
            let n = n.clone();
            async move {
                n.content_check(HOST, "/blog/x", None)
                    .await
                    .unwrap()
                    .decision
            }
        };
        assert_eq!(anon(a).await, Decision::SignIn(SignInKind::Registration));
        assert_eq!(
            anon(&b).await,
            Decision::SignIn(SignInKind::Sso),
            "{}",
            e.name
        );
        tokio::time::sleep(bound + Duration::from_millis(100)).await;
        assert_eq!(
            anon(&b).await,
            Decision::SignIn(SignInKind::Registration),
            "{}",
            e.name
        );

        // The site session follows the session cache's contract (issue 17, §16): both nodes
        // have its row cached; a revocation on A ends it on A at once and on B within the bound.
        a.set_resources(&c, "acme", HOST, ResourceKind::Blog, &p, Audience::Sso, &[])
            .await
            .unwrap();
        tokio::time::sleep(bound + Duration::from_millis(100)).await;
        assert!(matches!(decide(a).await, Decision::Allow(Some(_))));
        assert!(matches!(decide(&b).await, Decision::Allow(Some(_))));
        a.revoke_session(&c, "acme", &ns.session.id).await.unwrap();
        let signed_out = Decision::SignIn(SignInKind::Sso);
        assert_eq!(decide(a).await, signed_out, "{}: at once on A", e.name);
        tokio::time::sleep(bound + Duration::from_millis(100)).await;
        assert_eq!(
            decide(&b).await,
            signed_out,
            "{}: on B within the bound",
            e.name
        );
    })
    .await;
}
