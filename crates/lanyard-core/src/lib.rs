//! Lanyard's domain: tenants, users, roles, sessions, API keys, SSO connections and the audit trail, the policies
//! that govern them, and the store they live in. No HTTP types here: the server adapts requests
//! into calls on [`Lanyard`] and maps [`Error`] onto responses in one place.

pub mod access;
pub mod admin;
pub mod audit;
pub mod clock;
pub mod connection;
pub mod console;
pub mod content;
pub mod domain;
pub mod error;
pub mod identity;
pub mod mail;
pub mod mail_text;
pub mod model;
pub mod netmask;
pub mod outbound;
pub mod provider;
pub mod secret;
pub mod session;
pub mod signin;
pub mod store;
pub mod validate;

pub use audit::{Actor, Ctx, RequestMeta};
pub use clock::{Clock, ManualClock, SystemClock, UnixTime};
pub use error::{Error, ErrorKind, Result};
pub use secret::MasterKey;
pub use store::Store;

use std::sync::Arc;

/// The domain service: the store, the clock and the keys, shared by every request handler.
#[derive(Clone)]
pub struct Lanyard {
    pub store: Store,
    clock: Arc<dyn Clock>,
    master_key: MasterKey,
    csrf_key: Arc<aws_lc_rs::hmac::Key>,
    idp_cache: Arc<signin::saml::IdpCache>,
    jwks_cache: Arc<signin::oidc::checks::JwksCache>,
    provider_keys: Arc<provider::keys::KeyCache>,
    /// Forward-auth's per-node cache of sites, resources and list memberships.
    content_cache: Arc<content::cache::DecisionCache>,
    sessions: Arc<session::cache::SessionCache>,
    /// The sign-in path's per-node cache of tenants and connections.
    settings: Arc<signin::settings_cache::SettingsCache>,
    /// Lanyard's public base URL, for links in emails.
    public_url: Arc<str>,
    /// The DNS server domain verification asks (`dns_resolver`).
    dns_resolver: Option<std::net::SocketAddr>,
    /// When this node next deletes expired pending logins and replay records.
    login_state_purge: Arc<signin::PurgeSchedule>,
    /// The OIDC login states this node issued, for their callbacks here.
    oidc_states: Arc<signin::oidc::issued::IssuedStates>,
}

/// The public URL links in emails use unless [`Lanyard::with_public_url`] sets another.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

const MASTER_KEY_CHECK: &str = "master_key_check";

impl Lanyard {
    /// Binds the domain to a migrated store. Refuses a master key other than the one the
    /// database was first used with, since every sealed secret would be unreadable.
    pub async fn new(store: Store, clock: Arc<dyn Clock>, master_key: MasterKey) -> Result<Self> {
        let sealed = master_key.seal("instance:master_key_check", b"lanyard");
        let stored = store.meta_put_if_absent(MASTER_KEY_CHECK, &sealed).await?;
        if master_key
            .open("instance:master_key_check", &stored)
            .is_err()
        {
            return Err(Error::MasterKeyMismatch);
        }
        let csrf_key = Arc::new(master_key.derive_mac_key("lanyard csrf v1"));
        Ok(Self {
            store,
            clock,
            master_key,
            csrf_key,
            idp_cache: Arc::default(),
            jwks_cache: Arc::default(),
            provider_keys: Arc::default(),
            content_cache: Arc::default(),
            // Off until the composition root sets the configured bound (`with_session_cache_ttl`).
            sessions: Arc::new(session::cache::SessionCache::new(std::time::Duration::ZERO)),
            // Off until the composition root sets the configured bound (`with_settings_cache_ttl`).
            settings: Arc::new(signin::settings_cache::SettingsCache::new(
                std::time::Duration::ZERO,
            )),
            public_url: Arc::from(DEFAULT_PUBLIC_URL),
            dns_resolver: None,
            login_state_purge: Arc::default(),
            oidc_states: Arc::default(),
        })
    }

    /// Sets the public base URL that emailed links (invitations, confirmations, resets) use.
    pub fn with_public_url(mut self, url: &str) -> Self {
        self.public_url = Arc::from(url.trim_end_matches('/'));
        self
    }

    /// Sets the staleness bound of forward-auth's per-node decision cache (zero: no cache).
    pub fn with_content_cache(mut self, bound: std::time::Duration) -> Self {
        self.content_cache = Arc::new(content::cache::DecisionCache::new(bound));
        self
    }

    /// Forward-auth's per-node decision cache (shared by clones).
    pub fn content_cache(&self) -> &content::cache::DecisionCache {
        &self.content_cache
    }

    /// Sets this node's session-cache staleness bound (`Duration::ZERO` turns the cache off):
    /// a session ended on another node is still accepted here for at most this long.
    pub fn with_session_cache_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.sessions = Arc::new(session::cache::SessionCache::new(ttl));
        self
    }

    /// This node's cache of session lookups (shared by clones).
    pub fn session_cache(&self) -> &session::cache::SessionCache {
        &self.sessions
    }

    /// Sets this node's settings-cache staleness bound (`Duration::ZERO` turns it off): a
    /// tenant or connection changed on another node is still used here for at most this long.
    pub fn with_settings_cache_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.settings = Arc::new(signin::settings_cache::SettingsCache::new(ttl));
        self
    }

    /// This node's cache of the tenants and connections the sign-in path reads (shared by
    /// clones). Every tenant or connection write through this node clears it after its commit.
    pub fn settings_cache(&self) -> &signin::settings_cache::SettingsCache {
        &self.settings
    }

    /// Sets the DNS server that domain verification asks for TXT records.
    pub fn with_dns_resolver(mut self, resolver: Option<std::net::SocketAddr>) -> Self {
        self.dns_resolver = resolver;
        self
    }

    pub fn dns_resolver(&self) -> Option<std::net::SocketAddr> {
        self.dns_resolver
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// OIDC providers' signing keys, per connection (this node's cache, shared by clones).
    pub fn jwks_cache(&self) -> &signin::oidc::checks::JwksCache {
        &self.jwks_cache
    }

    /// The OpenID provider's signing keys (this node's cache, shared by clones).
    pub fn provider_key_cache(&self) -> &provider::keys::KeyCache {
        &self.provider_keys
    }

    pub fn master_key(&self) -> &MasterKey {
        &self.master_key
    }

    pub(crate) fn csrf_key(&self) -> &aws_lc_rs::hmac::Key {
        &self.csrf_key
    }
}
