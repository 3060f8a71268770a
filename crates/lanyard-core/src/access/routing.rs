//! Login routing: where a sign-in attempt is sent (SSO or a password form), and whether a
//! password may open a session. Both are pure decision functions, so every entry point (the
//! generic `/login` page, the tenant URL, the direct page, the OpenID provider's authorize
//! endpoint, forward-auth, the admin console) asks the same table.
//!
//! **Where to send someone** ([`route`]), implementing the two tables of issue 12:
//!
//! Without network masks:
//!
//! | entry point | super admin | anyone else |
//! |---|---|---|
//! | generic page | [`Route::PasswordToConsole`] | [`Route::Sso`] |
//! | admin console | [`Route::PasswordToConsole`] | [`Route::UsernameThenSso`] |
//! | tenant URL | [`Route::TenantPage`] | [`Route::TenantPage`] |
//! | unauthenticated tenant page | [`Route::TenantPage`] | [`Route::TenantPage`] |
//! | direct page | [`Route::UsernameThenPassword`] | [`Route::UsernameThenPassword`] |
//!
//! With network masks (everyone, super admins included):
//!
//! | entry point | client inside a mask | outside every mask (or address uncertain) |
//! |---|---|---|
//! | generic page | [`Route::DirectPage`] | [`Route::DirectPage`] |
//! | admin console | as without masks | as without masks |
//! | tenant URL | [`Route::Sso`] | [`Route::UsernameThenPassword`] |
//! | unauthenticated tenant page | [`Route::Sso`] | [`Route::UsernameThenPassword`] |
//! | direct page | [`Route::UsernameThenPassword`] | [`Route::UsernameThenPassword`] |
//!
//! Without an enabled SSO connection nobody is sent to SSO: [`Route::Sso`] becomes
//! [`Route::UsernameThenPassword`] and [`Route::UsernameThenSso`] becomes
//! [`Route::UsernameThenPassword`]. An address that is uncertain (see
//! [`crate::access::client_ip::ClientAddr`]) or missing is outside every mask.
//!
//! **Whether a password opens a session** ([`password_route`]) is decided separately, after the
//! password was checked, and the routing above never relaxes it: "not sent to SSO" means the
//! password form is shown, not that the password is accepted. With "SSO required" and an enabled
//! connection only super admins and exempted users ([`crate::model::User::sso_exempt`]) get a
//! session from a password; a linked account without a password never does (it signs in
//! through its connection). So outside the masks a regular user of an SSO-required tenant sees
//! the password form, and a correct password is refused with `login.sso_required` (the page
//! offers the tenant's SSO buttons).

use crate::access::client_ip::ClientAddr;
use crate::model::{Tenant, User};
use crate::netmask::NetworkMasks;

/// Where a sign-in starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryPoint {
    /// The deployment's generic sign-in page, `/login`.
    GenericPage,
    /// The admin console, `/admin`.
    AdminConsole,
    /// The tenant URL, `/t/{tenant}/login`.
    TenantUrl,
    /// An unauthenticated request for one of a tenant's pages (forward-auth, the OpenID
    /// provider's authorize endpoint with `organization`).
    TenantPage,
    /// The direct sign-in page, `/t/{tenant}/login/direct`: never SSO.
    DirectPage,
}

/// Who is signing in, as far as routing cares. An unknown username is [`Person::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Person {
    SuperAdmin,
    Other,
}

impl Person {
    pub fn of(user: Option<&User>) -> Self {
        match user {
            Some(u) if u.super_admin => Self::SuperAdmin,
            _ => Self::Other,
        }
    }
}

/// Where to send the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The full username + password form, landing in the admin console; never SSO.
    PasswordToConsole,
    /// To the tenant's SSO sign-in (its connection's start, or its page of connections).
    Sso,
    /// Ask for the username, then send to SSO.
    UsernameThenSso,
    /// To the direct sign-in page.
    DirectPage,
    /// Not sent to SSO: username, then password (the direct page's form).
    UsernameThenPassword,
    /// The tenant's sign-in page as it is without masks: its SSO buttons and the password form.
    TenantPage,
}

/// What the routing decision reads about the tenant.
#[derive(Debug, Clone, Copy)]
pub struct TenantRouting<'a> {
    pub masks: &'a NetworkMasks,
    /// The tenant has at least one enabled SSO connection.
    pub sso_enabled: bool,
}

impl<'a> TenantRouting<'a> {
    pub fn of(tenant: &'a Tenant, sso_enabled: bool) -> Self {
        Self {
            masks: &tenant.network_masks,
            sso_enabled,
        }
    }
}

/// Whether `client` counts as inside one of `masks`: only a certain address can.
pub fn inside(masks: &NetworkMasks, client: Option<ClientAddr>) -> bool {
    client.is_some_and(|c| c.certain && masks.contains(c.ip))
}

/// The routing table: entry point × tenant settings × person × client address → route.
pub fn route(
    entry: EntryPoint,
    tenant: TenantRouting<'_>,
    person: Person,
    client: Option<ClientAddr>,
) -> Route {
    let masked = !tenant.masks.is_empty();
    let r = match (entry, masked, person) {
        (EntryPoint::DirectPage, _, _) => Route::UsernameThenPassword,
        (EntryPoint::GenericPage, true, _) => Route::DirectPage,
        (EntryPoint::GenericPage | EntryPoint::AdminConsole, _, Person::SuperAdmin) => {
            Route::PasswordToConsole
        }
        (EntryPoint::GenericPage, false, Person::Other) => Route::Sso,
        (EntryPoint::AdminConsole, _, Person::Other) => Route::UsernameThenSso,
        (EntryPoint::TenantUrl | EntryPoint::TenantPage, false, _) => Route::TenantPage,
        (EntryPoint::TenantUrl | EntryPoint::TenantPage, true, _) => {
            if inside(tenant.masks, client) {
                Route::Sso
            } else {
                Route::UsernameThenPassword
            }
        }
    };
    match r {
        Route::Sso | Route::UsernameThenSso if !tenant.sso_enabled => Route::UsernameThenPassword,
        r => r,
    }
}

/// What a correct password leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRoute {
    /// Open a session.
    Allow,
    /// Refuse: this user signs in through SSO.
    RequireSso,
}

/// Decides whether `user` may sign in to `tenant` with a password. With SSO required, only
/// super admins may (they must be able to repair a broken IdP connection), and users whose
/// connection was removed or disconnected until they link again (their password reset promised
/// a way in: [`User::sso_exempt`]); and when no SSO connection is enabled, nobody is locked out.
/// Network masks never change this answer (see the module documentation).
pub fn password_route(tenant: &Tenant, user: &User, sso_connection_enabled: bool) -> PasswordRoute {
    if tenant.sso_required && sso_connection_enabled && !user.super_admin && !user.sso_exempt {
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
            network_masks: NetworkMasks::default(),
            language: crate::mail_text::Lang::En,
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
        u.sso_exempt = true;
        assert_eq!(
            password_route(&tenant(true), &u, true),
            PasswordRoute::Allow,
            "a removed connection's reset exempts until the user links again"
        );
        u.sso_exempt = false;
        u.super_admin = true;
        assert_eq!(
            password_route(&tenant(true), &u, true),
            PasswordRoute::Allow
        );
    }

    fn addr(s: &str, certain: bool) -> Option<ClientAddr> {
        Some(ClientAddr {
            ip: s.parse().unwrap(),
            certain,
        })
    }

    /// Every cell of both tables, for both address families, with SSO on and off.
    #[test]
    fn every_cell_of_the_routing_table() {
        use EntryPoint as E;
        use Person::{Other, SuperAdmin};
        use Route as R;
        let none = NetworkMasks::default();
        let masks =
            NetworkMasks::parse(&["198.51.100.0/24".into(), "2001:db8:1::/48".into()]).unwrap();
        let inside_v4 = addr("198.51.100.7", true);
        let inside_v6 = addr("2001:db8:1::7", true);
        let outside_v4 = addr("203.0.113.7", true);
        let outside_v6 = addr("2001:db8:2::7", true);
        // (entry, masked, person, client, expected with SSO, expected without SSO)
        let mut cases = vec![];
        for client in [inside_v4, inside_v6, outside_v4, outside_v6, None] {
            cases.extend([
                (
                    E::GenericPage,
                    false,
                    SuperAdmin,
                    client,
                    R::PasswordToConsole,
                    R::PasswordToConsole,
                ),
                (
                    E::GenericPage,
                    false,
                    Other,
                    client,
                    R::Sso,
                    R::UsernameThenPassword,
                ),
                (
                    E::AdminConsole,
                    false,
                    SuperAdmin,
                    client,
                    R::PasswordToConsole,
                    R::PasswordToConsole,
                ),
                (
                    E::AdminConsole,
                    false,
                    Other,
                    client,
                    R::UsernameThenSso,
                    R::UsernameThenPassword,
                ),
                (
                    E::AdminConsole,
                    true,
                    SuperAdmin,
                    client,
                    R::PasswordToConsole,
                    R::PasswordToConsole,
                ),
                (
                    E::AdminConsole,
                    true,
                    Other,
                    client,
                    R::UsernameThenSso,
                    R::UsernameThenPassword,
                ),
                (
                    E::TenantUrl,
                    false,
                    Other,
                    client,
                    R::TenantPage,
                    R::TenantPage,
                ),
                (
                    E::TenantPage,
                    false,
                    SuperAdmin,
                    client,
                    R::TenantPage,
                    R::TenantPage,
                ),
                (
                    E::DirectPage,
                    false,
                    Other,
                    client,
                    R::UsernameThenPassword,
                    R::UsernameThenPassword,
                ),
            ]);
            for p in [SuperAdmin, Other] {
                cases.extend([
                    (
                        E::GenericPage,
                        true,
                        p,
                        client,
                        R::DirectPage,
                        R::DirectPage,
                    ),
                    (
                        E::DirectPage,
                        true,
                        p,
                        client,
                        R::UsernameThenPassword,
                        R::UsernameThenPassword,
                    ),
                ]);
            }
        }
        for p in [SuperAdmin, Other] {
            for e in [E::TenantUrl, E::TenantPage] {
                for client in [inside_v4, inside_v6] {
                    cases.push((e, true, p, client, R::Sso, R::UsernameThenPassword));
                }
                for client in [
                    outside_v4,
                    outside_v6,
                    None,
                    addr("198.51.100.7", false),
                    addr("::ffff:198.51.100.7", true),
                ] {
                    cases.push((
                        e,
                        true,
                        p,
                        client,
                        R::UsernameThenPassword,
                        R::UsernameThenPassword,
                    ));
                }
            }
        }
        for (entry, masked, person, client, with_sso, without_sso) in cases {
            let m = if masked { &masks } else { &none };
            for (sso_enabled, want) in [(true, with_sso), (false, without_sso)] {
                let t = TenantRouting {
                    masks: m,
                    sso_enabled,
                };
                assert_eq!(
                    route(entry, t, person, client),
                    want,
                    "{entry:?} masked={masked} {person:?} {client:?} sso={sso_enabled}"
                );
            }
        }
    }
}
