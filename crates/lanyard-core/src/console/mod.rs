//! The admin console's core (`/admin`) and the setup portal's (`/setup/{token}`): who is an
//! administrator, setup links ([`setup`]), and test sign-ins ([`test`]: a connection verified
//! exactly as a sign-in, then reported instead of provisioned). Every change a console page makes
//! goes through the same `Lanyard` function as its admin API call, with the console's actor
//! ([`Actor::Admin`]) or the link's ([`Actor::SetupLink`]), so it is authorised and audited alike.

pub mod guided_oidc;
pub mod setup;
pub mod test;

use crate::Lanyard;
use crate::audit::{Actor, Ctx, RequestMeta};
use crate::error::{ConsoleError, Error, Result};
use crate::model::{Tenant, User};

/// The built-in role whose holders administer their tenant in the console.
pub const ADMIN_ROLE: &str = "admin";

/// A signed-in administrator, resolved from a session of `tenant` (sessions are per tenant).
#[derive(Debug, Clone)]
pub struct ConsoleAdmin {
    pub user: User,
    /// The tenant the session belongs to.
    pub tenant: Tenant,
    /// A super admin: operator authority over every tenant.
    pub operator: bool,
}

impl ConsoleAdmin {
    /// The context console actions run with: operator authority for a super admin, the home
    /// tenant's for a tenant admin.
    pub fn ctx(&self, meta: &RequestMeta) -> Ctx {
        Ctx::new(
            Actor::Admin {
                id: self.user.id.clone(),
                tenant_id: (!self.operator).then(|| self.tenant.id.clone()),
            },
            meta.clone(),
        )
    }

    /// Whether this administrator may act on `tenant` (a tenant admin only on their own).
    pub fn may_administer(&self, tenant: &Tenant) -> bool {
        self.operator || self.tenant.id == tenant.id
    }
}

/// Whether a user may use the console: a super admin, or a holder of the `admin` role.
pub fn is_console_admin(u: &User) -> bool {
    !u.disabled && (u.super_admin || u.role.as_deref() == Some(ADMIN_ROLE))
}

impl Lanyard {
    /// The administrator behind a session token of `tenant_slug`. Session refusals keep their
    /// codes (`session.*`); a valid session of someone who is not an administrator is
    /// `console.not_admin`.
    pub async fn console_admin(&self, tenant_slug: &str, token: &str) -> Result<ConsoleAdmin> {
        let view = self.session(tenant_slug, token).await?;
        let user = self
            .store
            .user_by_id(&view.tenant_id, &view.user_id)
            .await?
            .ok_or(Error::NoSession)?;
        if !is_console_admin(&user) {
            return Err(ConsoleError::NotAdmin.into());
        }
        let tenant = self
            .store
            .tenant_by_id(&view.tenant_id)
            .await?
            .ok_or(Error::NoSession)?;
        Ok(ConsoleAdmin {
            operator: user.super_admin,
            user,
            tenant,
        })
    }
}

impl Lanyard {
    /// Who would be mailed a password reset if the connection `conn_slug` were turned off now:
    /// its users who have no password and no other way in (the consequence the console shows
    /// before the admin confirms). Read only.
    pub async fn disable_preview(
        &self,
        ctx: &Ctx,
        slug: &str,
        conn_slug: &str,
    ) -> Result<Vec<User>> {
        self.admin_tenant(ctx, slug).await?;
        let (t, c) = self.get_connection(ctx, slug, conn_slug).await?;
        self.store.users_only_on_connection(&t.id, &c.id).await
    }
}
