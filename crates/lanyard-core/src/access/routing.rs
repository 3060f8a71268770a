//! Login routing: who may use a password and who must use SSO. One decision function, so that
//! the later rules (network masks, per-user exceptions) extend it rather than scatter.

use crate::model::{Tenant, User};

/// What a correct password leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRoute {
    /// Open a session.
    Allow,
    /// Refuse: this user signs in through SSO.
    RequireSso,
}

/// Decides whether `user` may sign in to `tenant` with a password. With SSO required, only
/// super admins may (they must be able to repair a broken IdP connection); and when no SSO
/// connection is enabled, nobody is locked out: passwords work again (after a connection is
/// disabled or removed, users restore access with the password reset they were sent).
pub fn password_route(tenant: &Tenant, user: &User, sso_connection_enabled: bool) -> PasswordRoute {
    if tenant.sso_required && sso_connection_enabled && !user.super_admin {
        PasswordRoute::RequireSso
    } else {
        PasswordRoute::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(sso_required: bool) -> Tenant {
        Tenant {
            id: "t".into(),
            slug: "t".into(),
            name: "T".into(),
            session_lifetime_secs: 3600,
            sso_required,
            sso_default_role: None,
            require_email_confirmation: false,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn only_super_admins_skip_required_sso() {
        let mut u = User::new("t", "ada".into(), 0);
        assert_eq!(
            password_route(&tenant(false), &u, true),
            PasswordRoute::Allow
        );
        assert_eq!(
            password_route(&tenant(true), &u, true),
            PasswordRoute::RequireSso
        );
        assert_eq!(
            password_route(&tenant(true), &u, false),
            PasswordRoute::Allow,
            "no enabled connection: nobody is locked out"
        );
        u.super_admin = true;
        assert_eq!(
            password_route(&tenant(true), &u, true),
            PasswordRoute::Allow
        );
    }
}
