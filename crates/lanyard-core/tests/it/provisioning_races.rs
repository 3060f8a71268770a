//! Two sign-ins of the same new person at the same moment (two browser tabs, or two nodes on one
//! PostgreSQL) both look up the identity, find nothing and try to create the account. Both must
//! succeed, into one account; a real conflict (another person's email) must still be refused.
//! Several tasks on a multi-threaded runtime start together, so lookups and writes interleave
//! on both stores; without the re-read in `provision`, rounds fail with `user.email_taken`,
//! `login.account_exists_use_invitation` or `saml.identity_already_linked`.

use crate::harness::{each_backend, meta};
use crate::provisioning::*;
use lanyard_core::identity::Identity;
use lanyard_core::identity::provisioning::Provisioned;
use std::collections::BTreeSet;

const ROUNDS: usize = 12;
const AT_ONCE: usize = 4;

/// Provisions `ids` concurrently, all released together; returns each outcome.
async fn at_once(f: &Fx, ids: Vec<Identity>) -> Vec<lanyard_core::Result<Provisioned>> {
    at_once_with(f, ids, None).await
}

/// The same, each sign-in carrying the upgrade invitation `invitation` (a link ID).
async fn at_once_with(
    f: &Fx,
    ids: Vec<Identity>,
    invitation: Option<String>,
) -> Vec<lanyard_core::Result<Provisioned>> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(ids.len()));
    let tasks: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let (l, t, c, barrier) = (f.l.clone(), f.t.clone(), f.c.clone(), barrier.clone());
            let invitation = invitation.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                l.provision(
                    &t,
                    &c,
                    true,
                    &id,
                    invitation.as_deref(),
                    &meta("198.51.100.1"),
                )
                .await
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_first_sign_ins_of_one_person_share_one_account() {
    each_backend(|e| async move {
        let f = fixture(&e, None).await;
        for round in 0..ROUNDS {
            let id = identity(
                &format!("00u-race-{round}"),
                Some(&format!("race{round}@acme.example")),
            );
            let outcomes = at_once(&f, vec![id; AT_ONCE]).await;
            let mut users = BTreeSet::new();
            let mut created = 0;
            for o in outcomes {
                let p = o.unwrap_or_else(|err| {
                    panic!("{}: round {round}: {} ({err})", e.name, err.code())
                });
                users.insert(p.user.id.clone());
                created += usize::from(p.created);
            }
            assert_eq!(users.len(), 1, "{}: round {round}: one account", e.name);
            assert_eq!(created, 1, "{}: round {round}: created once", e.name);
        }
        assert_eq!(f.users().await, ROUNDS, "{}", e.name);
        // One welcome mail per account: the losers' transactions left nothing behind.
        assert_eq!(f.outbox().await.len(), ROUNDS, "{}", e.name);
    })
    .await;
}

/// The re-read joins only the account linked to this very identity: two different people
/// whose IdP sends the same email at the same moment get one account and one refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_first_sign_ins_of_two_people_with_one_email_still_conflict() {
    each_backend(|e| async move {
        let f = fixture(&e, None).await;
        for round in 0..ROUNDS {
            let email = format!("shared{round}@acme.example");
            let outcomes = at_once(
                &f,
                vec![
                    identity(&format!("00u-a-{round}"), Some(&email)),
                    identity(&format!("00u-b-{round}"), Some(&email)),
                ],
            )
            .await;
            let ok = outcomes.iter().filter(|o| o.is_ok()).count();
            assert_eq!(ok, 1, "{}: round {round}: exactly one account", e.name);
            for o in outcomes.iter().filter_map(|o| o.as_ref().err()) {
                assert!(
                    matches!(
                        o.code(),
                        "login.account_exists_use_invitation"
                            | "login.username_taken"
                            | "user.email_taken"
                            | "user.username_taken"
                    ),
                    "{}: round {round}: {}",
                    e.name,
                    o.code()
                );
            }
        }
        assert_eq!(f.users().await, ROUNDS, "{}", e.name);
    })
    .await;
}

/// An invited password user who accepts the invitation in two tabs at once: both sign-ins land in
/// the invited account, which is linked once (the losing one finds the identity linked, or the
/// invitation used, and continues as a returning sign-in).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_invitation_accepted_twice_at_once_links_the_account_once() {
    each_backend(|e| async move {
        let f = fixture(&e, None).await;
        for round in 0..ROUNDS {
            let name = format!("jo{round}");
            let email = format!("{name}@acme.example");
            let jo = f.password_user(&name, &email, "support").await;
            let (_, inv) =
                f.l.create_invitations(
                    &lanyard_core::Ctx::cli(),
                    "acme",
                    lanyard_proto::CreateInvitations {
                        users: Some(vec![jo.id.clone()]),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            let token = inv[0].url.rsplit('/').next().unwrap().to_owned();
            let start = f.l.invitation("acme", &token).await.unwrap();
            let id = identity(&format!("00u-{name}"), Some(&email));
            let outcomes =
                at_once_with(&f, vec![id; AT_ONCE], Some(start.opened.link.id.clone())).await;
            let mut upgraded = 0;
            for o in outcomes {
                let p = o.unwrap_or_else(|err| {
                    panic!("{}: round {round}: {} ({err})", e.name, err.code())
                });
                assert_eq!(p.user.id, jo.id, "{}: round {round}", e.name);
                upgraded += usize::from(p.upgraded);
            }
            assert_eq!(upgraded, 1, "{}: round {round}: upgraded once", e.name);
            let u = f.user(&jo.id).await;
            assert_eq!(u.sso_state, lanyard_core::model::SsoState::Linked);
            assert_eq!(u.password_hash, None);
        }
    })
    .await;
}
