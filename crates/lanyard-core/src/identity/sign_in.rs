//! A federated sign-in as one unit of work: provisioning decides (reads outside the
//! transaction, re-checked by the store's unique constraints), then the replay record, the
//! pending login, the provisioning changes, the session and the audit events commit in ONE
//! store transaction ([`crate::store::Store::commit_sign_in`]). The SAML ACS, the OIDC callback
//! and the JWT remote login all finish here.
//!
//! Two first sign-ins of the same new person at once: both plan an account, one commits, the
//! other's transaction fails on a unique constraint (federated identity, email, username) and
//! rolls back whole — its replay record and session too — and it is planned again as a
//! returning sign-in of the account the first created, and committed again.

use super::provisioning::{Plan, Provisioned, lost_a_race};
use crate::Lanyard;
use crate::audit::RequestMeta;
use crate::clock::UnixTime;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::Identity;
use crate::model::{AuditRecord, Connection, LinkPurpose, Tenant, User};
use crate::session::NewSession;
use crate::store::{PendingRef, ReplayRecord, SessionWrite, SignInCommit, SignInWrite};

/// What a sign-in commits besides provisioning, and the session it opens.
pub(crate) struct SignInRecord<'a> {
    /// The replay record of the accepted assertion or token.
    pub replay: Option<ReplayRecord<'a>>,
    /// The refusal when the replay record exists already (the protocol's own code).
    pub replayed: fn() -> Error,
    /// The pending login the answer consumes (SAML's InResponseTo).
    pub pending: Option<PendingRef<'a>>,
    /// The refusal when the pending login is gone.
    pub pending_gone: fn() -> Error,
    /// `saml`, `oidc` or `jwt`.
    pub method: &'a str,
    /// The IdP's SessionNotOnOrAfter.
    pub cap: Option<UnixTime>,
    /// The role and group claims kept with the session.
    pub groups: &'a [String],
    /// A further event about the signed-in user, committed with the sign-in.
    pub extra_audit: Option<&'a (dyn Fn(&User) -> AuditRecord + Sync)>,
}

impl Lanyard {
    /// Resolves `id` to a user (creating, updating or upgrading it) and, with `rec`, opens its
    /// session, all in one transaction with the replay record, the pending login and the audit
    /// events. Without `rec` only the provisioning changes commit ([`Lanyard::provision`]).
    /// Refusals decided before the commit write nothing.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn federated_sign_in(
        &self,
        tenant: &Tenant,
        c: &Connection,
        jit: bool,
        id: &Identity,
        invitation_id: Option<&str>,
        meta: &RequestMeta,
        rec: Option<&SignInRecord<'_>>,
    ) -> Result<(Provisioned, Option<NewSession>)> {
        let p = c.provisioning_settings()?;
        // Authentication strength first: nothing is created, linked or updated for a login the
        // connection does not accept.
        if !p.required_authn_contexts.is_empty()
            && !id
                .authn_contexts
                .iter()
                .any(|a| p.required_authn_contexts.contains(a))
        {
            let got = if id.authn_contexts.is_empty() {
                "none stated".to_owned()
            } else {
                id.authn_contexts.join(", ")
            };
            return Err(Error::MfaRequired { got });
        }
        let linked = self
            .store
            .federated_user(&tenant.id, &c.id, &id.federation_id)
            .await?;
        let invitation = match invitation_id {
            Some(i) => Some(
                self.store
                    .user_link(&tenant.id, i)
                    .await?
                    .filter(|l| l.purpose == LinkPurpose::Invitation)
                    .ok_or(Error::InvitationNotFound)?,
            ),
            None => None,
        };
        let first = match (linked, invitation.clone()) {
            (Some(u), inv) => {
                let plan = self.reconcile(tenant, c, &p, id, u, inv, meta).await?;
                return self.commit_plan(tenant, &c.id, plan, rec, meta).await;
            }
            (None, Some(inv)) => self.upgrade(tenant, c, id, inv, meta).await,
            (None, None) => {
                if !jit {
                    return Err(Error::FederatedUnknownUser {
                        tenant: tenant.slug.clone(),
                        connection: c.slug.clone(),
                        federation_id: id.federation_id.chars().take(256).collect(),
                    });
                }
                self.create_just_in_time(tenant, c, &p, id, meta).await
            }
        };
        let first = match first {
            Ok(plan) => self.commit_plan(tenant, &c.id, plan, rec, meta).await,
            Err(e) => Err(e),
        };
        match first {
            Err(e) if lost_a_race(&e) => {
                // Two sign-ins of the same new person (two tabs, two nodes) both saw no account
                // and both tried to create or link one; the other committed first (this one's
                // transaction rolled back whole). If the identity is linked now, this sign-in
                // is simply a returning one.
                match self
                    .store
                    .federated_user(&tenant.id, &c.id, &id.federation_id)
                    .await?
                {
                    Some(u) => {
                        tracing::debug!(
                            code = e.code(),
                            "sign-in raced another one for the same identity; joining the account it created"
                        );
                        let plan = self
                            .reconcile(tenant, c, &p, id, u, invitation, meta)
                            .await?;
                        self.commit_plan(tenant, &c.id, plan, rec, meta).await
                    }
                    None => Err(e),
                }
            }
            other => other,
        }
    }

    /// Commits `plan` (with `rec`: together with the sign-in's replay record, pending login and
    /// session, in one transaction), then marks what it touched in this node's session cache.
    async fn commit_plan(
        &self,
        tenant: &Tenant,
        connection_id: &str,
        plan: Plan,
        rec: Option<&SignInRecord<'_>>,
        meta: &RequestMeta,
    ) -> Result<(Provisioned, Option<NewSession>)> {
        let Plan {
            mut changes,
            outcome,
        } = plan;
        let Some(rec) = rec else {
            self.apply_changes(&changes).await?;
            return outcome.map(|p| (p, None));
        };
        let session = match &outcome {
            Ok(prov) => {
                if let Some(f) = rec.extra_audit {
                    changes.audit.push(f(&prov.user));
                }
                Some(self.new_session(
                    tenant,
                    &prov.user.id,
                    rec.method,
                    meta,
                    rec.cap,
                    Some((connection_id, rec.groups)),
                )?)
            }
            Err(_) => None,
        };
        let write = SignInWrite {
            replay: rec.replay,
            pending: rec.pending,
            changes: &changes,
            session: session.as_ref().map(|s| SessionWrite {
                session: &s.new.session,
                token_hash: &s.token_hash,
                audit: &s.audit,
            }),
            now: self.now(),
        };
        // IdP-initiated sign-ins start nowhere: without this their replay records would only
        // be purged by some other flow's start.
        self.purge_login_state_if_due().await;
        match self.store.commit_sign_in(&write).await? {
            SignInCommit::Committed => {}
            SignInCommit::Replayed => return Err((rec.replayed)()),
            SignInCommit::PendingGone => return Err((rec.pending_gone)()),
        }
        self.changes_seen(&changes);
        let prov = outcome?;
        Ok((prov, session.map(|s| s.new)))
    }

    /// A refused answer still uses up what it answered, as a committed sign-in would have: the
    /// pending login (single use, whatever the verdict) and, once the assertion or token
    /// verified, its replay record — so a refusal decided after verification (user disabled,
    /// unknown, email taken…) cannot be turned into a sign-in by posting the same answer again
    /// once the cause is gone. Not after a store failure: then nothing was decided, the
    /// sign-in's transaction rolled back whole, and the answer may be posted again. Best
    /// effort: the refusal stands either way.
    pub(crate) async fn spend_refused_answer(
        &self,
        e: &Error,
        pending: Option<PendingRef<'_>>,
        replay: Option<ReplayRecord<'_>>,
    ) {
        if matches!(e.kind(), ErrorKind::Unavailable | ErrorKind::Internal) {
            return;
        }
        if let Some(p) = pending
            && let Err(err) = self
                .store
                .take_pending_login(p.id, p.tenant_id, p.connection_id)
                .await
        {
            tracing::warn!(
                code = err.code(),
                "could not consume a refused answer's pending login"
            );
        }
        if let Some(r) = replay
            && let Err(err) = self
                .store
                .remember_assertion(r.connection_id, r.assertion_id, r.expires_at, self.now())
                .await
        {
            tracing::warn!(
                code = err.code(),
                "could not record a refused assertion as used"
            );
        }
    }
}
